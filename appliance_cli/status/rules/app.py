"""Application rules: the bootstrap Job, seed data and the login probe."""

from __future__ import annotations

import re
from dataclasses import dataclass

from appliance_cli.catalog import Component
from appliance_cli.status.index import FluxObject, Job, SnapshotIndex, key_of
from appliance_cli.status.model import Evidence
from appliance_cli.status.readiness import (
    Readiness,
    flux_readiness,
    job_readiness,
    login_probe_ok,
    workload_readiness,
)
from appliance_cli.status.rules.registry import Finding, RepairSpec, finding, rule
from appliance_cli.status.rules.signals import log_evidence, object_evidence

ERROR_LINE = re.compile(r"\b(?:error|fatal|panic|exception)\b", re.IGNORECASE)
STACK_FRAME = re.compile(r"^\s+at |^\s*File \"|^goroutine ")


def key_log_line(lines: list[str]) -> str:
    """The line of a log tail that names the error (last error line that is not a stack frame)."""
    for line in reversed(lines):
        if ERROR_LINE.search(line) and not STACK_FRAME.search(line):
            return line.strip()
    return lines[-1].strip() if lines else ""


def login_component(index: SnapshotIndex) -> Component | None:
    return next((c for c in index.catalog.components if c.login_port), None)


def bootstrap_component(index: SnapshotIndex) -> Component | None:
    return next((c for c in index.catalog.components if c.bootstrap_job_prefix), None)


@dataclass(frozen=True)
class BootstrapState:
    job: Job | None
    job_readiness: Readiness
    # the component's HelmRelease is Ready at its current revision, or a failed upgrade left the
    # previous revision deployed and serving
    helm_ready: bool
    seed_count: int | None

    @property
    def seeded(self) -> bool:
        return self.seed_count is not None and self.seed_count > 0

    @property
    def done(self) -> bool:
        """Job complete, or Job gone with the HelmRelease Ready: and users seeded, either way."""
        if self.job_readiness.ready:
            return self.seeded
        return self.job is None and self.helm_ready and self.seeded


def at_current_revision(hr: FluxObject | None) -> bool:
    """HelmRelease Ready, and its latest release is the revision it last attempted, deployed."""
    if hr is None or not flux_readiness(hr).ready:
        return False
    status = hr.get("status") or {}
    attempted = status.get("lastAttemptedRevision")
    history = status.get("history") or []
    if not attempted or not history:
        return True
    latest = history[0]
    return latest.get("chartVersion") == attempted and latest.get("status", "deployed") == "deployed"


def serving_previous_revision(hr: FluxObject | None) -> bool:
    """The latest Helm action failed (an upgrade) while an earlier revision is still deployed.

    Helm leaves the previous release ``deployed`` when an upgrade fails, and helm-controller
    records both in ``status.history`` (newest first): that revision, bootstrapped when it was
    installed, keeps serving. A failed *install* has no deployed revision; an upgrade still in
    progress has no failed entry on top — neither counts.
    """
    if hr is None or (hr.get("spec") or {}).get("suspend"):
        return False
    history = (hr.get("status") or {}).get("history") or []
    return (
        bool(history)
        and history[0].get("status") == "failed"
        and any(h.get("status") == "deployed" for h in history[1:])
    )


def bootstrap_state(index: SnapshotIndex) -> BootstrapState:
    comp = bootstrap_component(index)
    jobs = index.bootstrap_jobs(comp) if comp else []
    job = jobs[0] if jobs else None
    hr_name = comp.helm_release if comp else None
    hr = index.helm_releases.get(hr_name or "")
    helm_ready = at_current_revision(hr) or serving_previous_revision(hr)
    seed = index.snapshot.probes.seed_users
    return BootstrapState(job, job_readiness(job), helm_ready, seed.count if seed else None)


@rule(
    code="bootstrap_job_failed",
    title="Bootstrap Job failed",
    layer="app",
    rank=130,
    meaning=(
        "The chart's one-time bootstrap Job (migrations and seed data) failed all its retries, "
        "so Alga has no schema or users and cannot log in."
    ),
    signals=(
        'Job condition Failed=True reason BackoffLimitExceeded "Job has reached the specified backoff limit"',
        "log tail of the Job's pod (e.g. migration error, 'password authentication failed for user')",
    ),
    remediation=(
        "Read the Job's log tail (evidence). Fix its cause (database reachable, credentials, "
        "migrations), delete the failed Job and reconcile the alga-core HelmRelease so it runs again."
    ),
    next_action=(
        "Read the bootstrap Job log tail, fix its cause, then delete the Job and reconcile alga-core."
    ),
    repair=RepairSpec(
        "rerun_bootstrap",
        (
            "Delete the failed bootstrap Job (and its pods), then ask helm-controller to "
            "release alga-core again (reconcile.fluxcd.io/requestedAt with forceAt, and "
            "resetAt when the release is stalled), so the chart runs the Job again. Run it "
            "once the cause in the Job's log is fixed."
        ),
        touches=("Job", "Pod", "HelmRelease"),
    ),
)
def bootstrap_job_failed(index: SnapshotIndex) -> list[Finding]:
    comp = bootstrap_component(index)
    state = bootstrap_state(index)
    if comp is None or state.job is None or not state.job_readiness.failed:
        return []
    _ns, name = key_of(state.job)
    evidence = [object_evidence(state.job, "Job", state.job_readiness.reason, state.job_readiness.message)]
    last_line = ""
    pods = sorted(index.pods_by_job.get(name, []), key=lambda p: key_of(p)[1])
    for pod in pods:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            lines = index.pod_logs(pod, cs.get("name", ""))
            if lines:
                evidence.append(log_evidence(pod, cs.get("name", ""), lines, n=10))
                last_line = key_log_line(lines)
    reason = f"Bootstrap Job {name} failed ({state.job_readiness.reason})"
    if last_line:
        reason += f": {last_line}"
    return [finding("bootstrap_job_failed", component=comp, reason=reason, evidence=evidence)]


@rule(
    code="seed_data_missing",
    title="No users seeded",
    layer="app",
    rank=140,
    meaning=(
        "Bootstrap finished but the database has no users (server.users count is 0), so nobody can log in."
    ),
    signals=("seed probe: SELECT count(*) FROM users = 0 after the bootstrap Job completed",),
    remediation=(
        "Re-run the bootstrap Job (delete it and reconcile the alga-core HelmRelease) and check "
        "its log for skipped seeds; a 'recover' bootstrap on an existing database skips seeding."
    ),
    next_action="Re-run the bootstrap Job (delete it and reconcile alga-core) and check its seed output.",
    repair=RepairSpec(
        "rerun_bootstrap",
        (
            "Re-run the app bootstrap with seeding: delete the bootstrap Job if it is still "
            "there and release alga-core again so the chart runs it. When the values say "
            "bootstrap.mode recover (which skips seeds) nothing is changed and repair says "
            "so."
        ),
        touches=("Job", "Pod", "HelmRelease"),
    ),
)
def seed_data_missing(index: SnapshotIndex) -> list[Finding]:
    comp = bootstrap_component(index)
    state = bootstrap_state(index)
    if comp is None or state.seed_count != 0:
        return []
    if not (state.job_readiness.ready or (state.job is None and state.helm_ready)):
        return []  # bootstrap has not finished: nothing is missing yet
    seed = index.snapshot.probes.seed_users
    return [
        finding(
            "seed_data_missing",
            component=comp,
            reason="Bootstrap finished but no users exist in the database",
            evidence=[
                Evidence(
                    kind="Probe",
                    name="seedUsers",
                    reason=seed.source if seed else None,
                    message="server.users count = 0",
                )
            ],
        )
    ]


@rule(
    code="login_probe_failed",
    title="Login page does not answer",
    layer="app",
    rank=190,
    meaning=(
        "The web workload is ready but an HTTP GET of the login URL fails or answers with an "
        "error (not 2xx, and not a redirect to /msp/dashboard, /login or the same host). While "
        "the web workload is still starting this is waiting, not a blocker."
    ),
    signals=(
        "login probe statusCode 5xx/4xx, or a redirect to another host",
        'login probe error "connection refused" / "timed out"',
    ),
    remediation=(
        "Check the app URL the bootstrap set (--app-url) matches how you reach the node, and the "
        "web container's log for errors (NEXTAUTH_URL mismatch gives redirect loops)."
    ),
    next_action="Check --app-url matches the address you use, and the alga-core web log.",
)
def login_probe_failed(index: SnapshotIndex) -> list[Finding]:
    comp = login_component(index)
    probe = index.snapshot.probes.login
    if comp is None or probe is None:
        return []
    if not workload_readiness(index.workload(comp), comp.workload.kind).ready:
        return []  # waiting, not failing
    login_url = index.snapshot.site.app_url or probe.url
    if login_probe_ok(probe.status_code, probe.location, login_url):
        return []
    if probe.error:
        detail = probe.error
    elif probe.status_code is not None:
        detail = f"HTTP {probe.status_code}" + (f" → {probe.location}" if probe.location else "")
    else:
        detail = "no answer"
    return [
        finding(
            "login_probe_failed",
            component=comp,
            reason=f"Login page {probe.url or login_url} failed: {detail}",
            evidence=[Evidence(kind="Probe", name="login", message=f"GET {probe.url}: {detail}")],
        )
    ]
