"""Container rules: configuration errors and the causes found in a crashing container."""

from __future__ import annotations

import re

from appliance_cli.status.index import SnapshotIndex, iter_container_statuses, key_of
from appliance_cli.status.model import Evidence
from appliance_cli.status.rules.app import key_log_line
from appliance_cli.status.rules.registry import Finding, RepairSpec, finding, pod_subject, rule
from appliance_cli.status.rules.signals import (
    Crash,
    crashes,
    event_evidence,
    log_evidence,
    object_evidence,
    pods_with_crashes,
)
from appliance_cli.status.rules.storage import SUBPATH

CONFIG_ERROR = re.compile(
    r'(?:secret|configmap) "[^"]+" not found|couldn\'t find key \S+ in (?:Secret|ConfigMap) \S+'
)
TEMPORAL_SCHEMA = re.compile(
    r"sql schema version compatibility check failed|unable to read (?:DB )?schema version"
    r"|relation \"schema_version\" does not exist"
)
SERVICE_LINK = re.compile(r"cannot unmarshal !!str `tcp://[^`]*` into int")


@rule(
    code="container_config_error",
    title="Container configuration missing",
    layer="config",
    rank=120,
    meaning=(
        "The kubelet cannot build the container's environment or mounts: a referenced Secret, "
        "ConfigMap or key does not exist (CreateContainerConfigError)."
    ),
    signals=(
        "container waiting reason CreateContainerConfigError, message 'secret \"x\" not found'",
        'Warning Failed event "Error: configmap \\"x\\" not found"',
        "couldn't find key DB_PASSWORD in Secret msp/db-credentials",
    ),
    remediation=(
        "Create the missing Secret/ConfigMap (bootstrap writes the appliance ones: re-run it in "
        "recover mode) or fix the name in the values."
    ),
    next_action="Create the missing Secret or ConfigMap (re-run bootstrap in recover mode).",
)
def container_config_error(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    for pod in index.unsettled_pods:
        for cs in iter_container_statuses(pod):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") != "CreateContainerConfigError":
                continue
            msg = waiting.get("message", "")
            if SUBPATH.search(msg):
                continue  # storage_pvc_subpath_failed owns it
            evidence = [object_evidence(pod, "Pod", "CreateContainerConfigError", msg)]
            for te in reversed(index.events_for(pod)):
                if te.reason == "Failed" and CONFIG_ERROR.search(te.message):
                    evidence.append(event_evidence(pod, te))
                    msg = msg or te.message
                    break
            named = CONFIG_ERROR.search(msg)
            detail = named.group(0) if named else (msg or "configuration error")
            out.append(
                finding(
                    "container_config_error",
                    **pod_subject(index, pod),
                    reason=f"Container {cs.get('name')!r} cannot start: {detail}",
                    evidence=evidence,
                )
            )
    return out


def _excerpt(text: str, limit: int = 240) -> str:
    """The matched log text from the match on, without JSON quoting noise, bounded."""
    one = " ".join(text.replace('\\"', '"').split()).rstrip('",}')
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _log_cause(index: SnapshotIndex, code: str, pattern: re.Pattern[str], what: str) -> list[Finding]:
    out: list[Finding] = []
    for pod in pods_with_crashes(index):
        for crash in crashes(index, pod):
            m = next((m for line in reversed(crash.logs) if (m := pattern.search(line))), None)
            if m is None:
                continue
            hit = _excerpt(m.string[m.start() :])
            out.append(
                finding(
                    code,
                    **pod_subject(index, pod),
                    reason=f"{what}: {hit.strip()}",
                    evidence=[log_evidence(pod, crash.container.get("name", ""), crash.logs)],
                )
            )
    return out


@rule(
    code="temporal_schema_uninitialized",
    title="Temporal database schema missing",
    layer="app",
    rank=150,
    meaning=(
        "Temporal starts against a database whose schema was never created (auto-setup disabled "
        "or the schema job did not run), exits, and crash-loops."
    ),
    signals=(
        'log tail: "sql schema version compatibility check failed: unable to read DB schema version '
        'keyspace/database: temporal error: pq: relation \\"schema_version\\" does not exist"',
        'log tail: "unable to read schema version"',
    ),
    remediation=(
        "Run Temporal's schema setup against the database (temporal-sql-tool setup-schema / "
        "update-schema for both temporal and temporal_visibility) or enable the chart's schema "
        "job, then restart the temporal pod."
    ),
    next_action="Initialise the Temporal schema (temporal-sql-tool setup-schema), then restart temporal.",
    repair=RepairSpec(
        "reapply_fix",
        (
            "Check that the layout's Temporal autosetup fix (a HelmRelease postRenderer) is "
            "in the applied temporal HelmRelease; if not (an install older than the fix), "
            "apply the current layout's postRenderers to it and release it again. When the "
            "fix is there, the cause is elsewhere: nothing is changed."
        ),
        touches=("HelmRelease",),
    ),
)
def temporal_schema_uninitialized(index: SnapshotIndex) -> list[Finding]:
    return _log_cause(
        index, "temporal_schema_uninitialized", TEMPORAL_SCHEMA, "Temporal schema not initialised"
    )


@rule(
    code="service_link_collision",
    title="Service-link environment collision",
    layer="app",
    rank=160,
    meaning=(
        "Kubernetes injects <SERVICE>_PORT=tcp://ip:port variables for every Service; a Service "
        "named like the app's own setting (e.g. 'temporal' → TEMPORAL_PORT) overrides a number "
        "with a URL and the app fails to parse its config."
    ),
    signals=('log tail: "cannot unmarshal !!str `tcp://10.96.12.7:7233` into int"',),
    remediation="Set enableServiceLinks: false on the pod spec (chart value), or rename the Service.",
    next_action="Set enableServiceLinks: false for this workload, then let it restart.",
    repair=RepairSpec(
        "reapply_fix",
        (
            "Check that the layout's enableServiceLinks: false fix (a HelmRelease "
            "postRenderer) is in the applied HelmRelease; if not (an install older than the "
            "fix), apply the current layout's postRenderers to it and release it again. "
            "When the fix is there, the cause is elsewhere: nothing is changed."
        ),
        touches=("HelmRelease",),
    ),
)
def service_link_collision(index: SnapshotIndex) -> list[Finding]:
    return _log_cause(
        index, "service_link_collision", SERVICE_LINK, "Service-link variable collides with config"
    )


def _oom(crash: Crash) -> bool:
    return crash.terminated.get("reason") == "OOMKilled"


@rule(
    code="oom_killed",
    title="Container killed for memory",
    layer="resources",
    rank=170,
    meaning="The container exceeded its memory limit and the kernel killed it (exit code 137).",
    signals=("lastState.terminated.reason OOMKilled, exitCode 137",),
    remediation=(
        "Raise the container's memory limit in the values (or give the machine more memory), "
        "then let it restart."
    ),
    next_action="Raise this container's memory limit (or add memory to the machine).",
    repair=RepairSpec(
        "show_crash",
        (
            "No blind restart: shows the container's last log lines and its memory limit. A "
            "memory increase is offered only when the values profile allows one; today's "
            "profile sets no such headroom, so raise the limit in the values yourself."
        ),
        mutates=False,
    ),
)
def oom_killed(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    for pod in pods_with_crashes(index):
        for crash in crashes(index, pod):
            if not _oom(crash):
                continue
            ns, name = key_of(pod)
            cname = crash.container.get("name", "")
            t = crash.terminated
            out.append(
                finding(
                    "oom_killed",
                    **pod_subject(index, pod),
                    reason=f"Container {cname!r} of {name} was OOMKilled (exit {t.get('exitCode', 137)}), "
                    f"{crash.container.get('restartCount', 0)} restarts",
                    evidence=[
                        Evidence(
                            kind="Pod",
                            namespace=ns,
                            name=name,
                            reason="OOMKilled",
                            message=f"container {cname} terminated: OOMKilled, exit code "
                            f"{t.get('exitCode', 137)}",
                            timestamp=t.get("finishedAt"),
                        )
                    ],
                )
            )
    return out


@rule(
    code="crash_loop",
    title="Container crash-looping",
    layer="container",
    rank=180,
    meaning=(
        "A container keeps exiting and Kubernetes restarts it with back-off. This is a symptom: "
        "a cause found in its last state or log tail (OOM, Temporal schema, service links) is "
        "reported instead and outranks it."
    ),
    signals=(
        'container waiting reason CrashLoopBackOff "back-off 5m0s restarting failed container=..."',
        "lastState.terminated exitCode != 0",
    ),
    remediation=(
        "Read the container's last log lines (shown as evidence; 'appliance support-bundle' "
        "collects them) and fix the error they name."
    ),
    next_action="Read the container's last log lines (evidence) and fix the error they show.",
    generic=True,
    repair=RepairSpec(
        "show_crash",
        (
            "No blind restart: shows the container's last log lines, exit code and memory "
            "limit, so the error they name can be fixed."
        ),
        mutates=False,
    ),
)
def crash_loop(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    for pod in pods_with_crashes(index):
        for crash in crashes(index, pod):
            ns, name = key_of(pod)
            cname = crash.container.get("name", "")
            t = crash.terminated
            last_line = _excerpt(key_log_line(crash.logs)) if crash.logs else ""
            evidence = [
                Evidence(
                    kind="Pod",
                    namespace=ns,
                    name=name,
                    reason=crash.waiting_reason or t.get("reason"),
                    message=f"container {cname}: exit code {t.get('exitCode', '?')}, "
                    f"{crash.container.get('restartCount', 0)} restarts",
                )
            ]
            if crash.logs:
                evidence.append(log_evidence(pod, cname, crash.logs))
            out.append(
                finding(
                    "crash_loop",
                    **pod_subject(index, pod),
                    reason=f"Container {cname!r} of {name} keeps crashing"
                    + (f": {last_line}" if last_line else f" (exit code {t.get('exitCode', '?')})"),
                    evidence=evidence,
                )
            )
    return out
