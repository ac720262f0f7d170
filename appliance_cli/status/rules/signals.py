"""Shared signal readers: real kubelet/containerd/Flux wordings and where to find them."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from appliance_cli.status.index import (
    ContainerStateTerminated,
    ContainerStatus,
    Pod,
    SnapshotIndex,
    TimedEvent,
    iter_container_statuses,
    key_of,
    meta,
)
from appliance_cli.status.model import Evidence
from appliance_cli.status.readiness import IMAGE_PULL_WAITING_REASONS

# Resolver failures as Go's net package words them (Flux sources, containerd, apps).
DNS_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Go's resolver: "lookup <host> on <server>:53: <cause>" (misbehaving, refused, timeout, ...).
    re.compile(r"lookup \S+ on \S+:53: "),
    re.compile(r"lookup \S+: (?:no such host|server misbehaving|Temporary failure in name resolution)"),
    re.compile(r"read udp \S+->\S+:53: i/o timeout"),
    re.compile(r"dial udp \S+:53: connect: connection refused"),
)
# Node.js / glibc temporary resolver failure, as apps log it.
TEMPORARY_DNS = re.compile(r"getaddrinfo EAI_AGAIN \S+|Temporary failure in name resolution")
# containerd: `rpc error: code = NotFound desc = failed to pull and unpack image "X":
# failed to resolve reference "X": X: not found`; registries also say `manifest unknown`.
NOT_FOUND_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"code = NotFound desc = failed to pull and unpack image"),
    re.compile(r"failed to resolve reference \"[^\"]+\": [^:]+(?::[^:]+)?: not found"),
    re.compile(r"manifest unknown"),
    re.compile(r"manifest for \S+ not found"),
)
AUTH_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b401 Unauthorized\b"),
    re.compile(r"\b403 Forbidden\b"),
    re.compile(r"unexpected status(?: from \w+ request to \S+)?: 40[13]\b"),
    re.compile(r"pull access denied"),
    re.compile(r"authentication required"),
    re.compile(r"denied: (?:requested access|permission)"),
)
# Registry rate limiting: containerd `failed to copy: httpReadSeeker: failed open: unexpected status
# code https://registry-1.docker.io/v2/<repo>/manifests/sha256:…: 429 Too Many Requests - Server
# message: toomanyrequests: You have reached your pull rate limit. …`.
RATE_LIMIT_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b429 Too Many Requests\b"),
    re.compile(r"\btoomanyrequests\b"),
    re.compile(r"unexpected status(?: code)?(?: from \w+ request to)? \S+: 429\b"),
)
INTERRUPTED_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"unexpected EOF"),
    re.compile(r"connection reset by peer"),
    re.compile(r"context canceled"),
    re.compile(r"i/o timeout"),
    re.compile(r"TLS handshake timeout"),
    re.compile(r"connect: connection refused"),
    re.compile(r"broken pipe"),
    re.compile(r"code = DeadlineExceeded"),
    re.compile(r"http2: (?:server sent GOAWAY|stream closed)"),
    # a transient registry error: containerd's `failed to resolve reference "X": unexpected
    # status from HEAD request to https://<registry>/v2/...: 503 Service Unavailable`
    re.compile(r"unexpected status(?: code)?(?: from \w+ request to)? \S+: 50[0234]\b"),
    re.compile(r"\b50[234] (?:Bad Gateway|Service Unavailable|Gateway Timeout)\b"),
)
BACKOFF_PULL = re.compile(r'Back-off pulling image "([^"]+)"')
PULLING = re.compile(r'Pulling image "([^"]+)"')
PULLED = re.compile(r'(?:Successfully pulled image|Container image) "([^"]+)"')

# A container that restarted and runs but is not ready counts as failing after this many restarts.
RESTARTS_BEFORE_FAILING = 3

PullCause = Literal["dns", "rate_limited", "interrupted", "unauthorized", "not_found", "unknown"]


def matches(text: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
    return any(p.search(text) for p in patterns)


def classify_pull_error(message: str) -> PullCause:
    """The cause of one image pull failure message (network first, then rate limiting, then
    not found, then auth, then interrupted)."""
    if matches(message, DNS_PATTERNS):
        return "dns"
    if matches(message, RATE_LIMIT_PATTERNS):
        return "rate_limited"
    if matches(message, NOT_FOUND_PATTERNS) and not matches(message, AUTH_PATTERNS):
        return "not_found"
    if matches(message, AUTH_PATTERNS):
        return "unauthorized"
    if matches(message, INTERRUPTED_PATTERNS):
        return "interrupted"
    return "unknown"


def event_evidence(pod_or_obj: Mapping[str, Any], te: TimedEvent, kind: str = "Event") -> Evidence:
    ns, name = key_of(pod_or_obj)
    inv = te.event.get("involvedObject") or {}
    return Evidence(
        kind=kind,
        namespace=inv.get("namespace") or ns or None,
        name=inv.get("name") or name or None,
        reason=te.reason or None,
        message=te.message,
        timestamp=te.time.strftime("%Y-%m-%dT%H:%M:%SZ") if te.time else None,
    )


def object_evidence(obj: Mapping[str, Any], kind: str, reason: str, message: str) -> Evidence:
    ns, name = key_of(obj)
    return Evidence(
        kind=kind, namespace=ns or None, name=name or None, reason=reason or None, message=message
    )


@dataclass(frozen=True)
class PullFailure:
    pod: Pod
    container: str
    image: str
    cause: PullCause
    message: str  # the most specific message found
    evidence: tuple[Evidence, ...]


def pull_failures(index: SnapshotIndex, pod: Pod) -> Iterator[PullFailure]:
    """Containers of a live pod stuck pulling (ErrImagePull/ImagePullBackOff), with their cause.

    On recent Kubernetes the back-off only says ``Back-off pulling image "X"``; the cause is
    in the pod's own (UID-matched) ``Failed`` events, newest first. Worked out once per pod
    and snapshot (several rules ask).
    """
    return iter(index.derived("pull_failures", pod, lambda: list(_pull_failures(index, pod))))


def pods_with_pull_failures(index: SnapshotIndex) -> list[Pod]:
    """The unsettled pods that have a pull failure, in their order (once per snapshot): what a
    rule over pull failures needs to look at, instead of every unsettled pod."""
    pods = index.unsettled_pods
    return index.derived("pods_with_pull_failures", pods, lambda: _having(index, pods, "pull_failures"))


def pods_with_crashes(index: SnapshotIndex) -> list[Pod]:
    """The unsettled pods with a failing container (``crashes``), in their order (once per snapshot)."""
    pods = index.unsettled_pods
    return index.derived("pods_with_crashes", pods, lambda: _having(index, pods, "crashes"))


def _having(index: SnapshotIndex, pods: list[Pod], what: Literal["pull_failures", "crashes"]) -> list[Pod]:
    """The pods with a pull failure (or a crash). What is found is remembered for the pod as
    ``pull_failures``/``crashes`` would; most pods have none, and they skip that bookkeeping
    (asked again later, they are worked out again: the same empty answer)."""
    work = _pull_failures if what == "pull_failures" else _crashes
    out: list[Pod] = []
    for pod in pods:
        found: list[Any] = list(work(index, pod))
        if found:
            index.derived(what, pod, lambda found=found: found)  # type: ignore[misc]
            out.append(pod)
    return out


def pods_with_pull_failures_or_crashes(index: SnapshotIndex) -> list[Pod]:
    pulls, crashed = set(map(id, pods_with_pull_failures(index))), set(map(id, pods_with_crashes(index)))
    return [p for p in index.unsettled_pods if id(p) in pulls or id(p) in crashed]


def _pull_failures(index: SnapshotIndex, pod: Pod) -> Iterator[PullFailure]:
    for cs in iter_container_statuses(pod):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") not in IMAGE_PULL_WAITING_REASONS:
            continue
        image = cs.get("image", "")
        wmsg = waiting.get("message", "")
        ns, name = key_of(pod)
        evidence = [
            Evidence(kind="Pod", namespace=ns, name=name, reason=waiting.get("reason"), message=wmsg or "")
        ]
        cause = classify_pull_error(wmsg)
        message = wmsg
        if cause == "unknown":
            for te in reversed(index.events_for(pod)):
                if te.reason != "Failed" or te.message.startswith("Error: "):
                    continue
                if image and image not in te.message:
                    continue
                c = classify_pull_error(te.message)
                if c != "unknown":
                    cause, message = c, te.message
                    evidence.append(event_evidence(pod, te))
                    break
        yield PullFailure(pod, cs.get("name", ""), image, cause, message, tuple(evidence))


def active_pull(index: SnapshotIndex, pod: Pod, cs: ContainerStatus) -> TimedEvent | None:
    """The ``Pulling image`` event of a container still being created, if its pull is in progress."""
    state = cs.get("state") or {}
    if state.get("running") or state.get("terminated"):
        return None
    waiting = state.get("waiting") or {}
    if waiting.get("reason") not in (None, "", "ContainerCreating", "PodInitializing"):
        return None
    image = cs.get("image", "")
    latest: TimedEvent | None = None
    for te in index.events_for(pod):
        if te.reason == "Pulling":
            m = PULLING.search(te.message)
            if m and (not image or m.group(1) == image):
                latest = te
        elif latest is not None and te.reason in ("Pulled", "Failed", "BackOff") and image in te.message:
            latest = None
    return latest


def is_job_pod(pod: Pod) -> bool:
    return any(r.get("kind") == "Job" for r in meta(pod).get("ownerReferences") or [])


@dataclass(frozen=True)
class Crash:
    pod: Pod
    container: ContainerStatus
    terminated: ContainerStateTerminated
    waiting_reason: str
    logs: list[str]


def crashes(index: SnapshotIndex, pod: Pod) -> Iterator[Crash]:
    """Containers that are failing now (crash loop, or terminated with an error and not running).

    A container that crashed earlier but runs and is ready now is healthy: no crash. Worked
    out once per pod and snapshot (several rules ask).
    """
    return iter(index.derived("crashes", pod, lambda: list(_crashes(index, pod))))


def _crashes(index: SnapshotIndex, pod: Pod) -> Iterator[Crash]:
    if is_job_pod(pod) or (pod.get("status") or {}).get("phase") == "Succeeded":
        return
    for cs in iter_container_statuses(pod):
        state = cs.get("state") or {}
        waiting = state.get("waiting") or {}
        term_now = state.get("terminated")
        last = (cs.get("lastState") or {}).get("terminated")
        crash_waiting = waiting.get("reason") in ("CrashLoopBackOff", "RunContainerError")
        failing = False
        if crash_waiting or (term_now is not None and term_now.get("exitCode", 0) != 0):
            failing = True
        elif state.get("running") and not cs.get("ready") and last and last.get("exitCode", 0) != 0:
            # Restarted after a crash and not ready yet: still failing until proven otherwise.
            failing = cs.get("restartCount", 0) >= RESTARTS_BEFORE_FAILING
        if not failing:
            continue
        terminated = term_now if term_now and term_now.get("exitCode", 0) != 0 else (last or {})
        yield Crash(pod, cs, terminated, waiting.get("reason", ""), index.pod_logs(pod, cs.get("name", "")))


def tail(lines: list[str], n: int = 5) -> str:
    return "\n".join(lines[-n:])


def log_evidence(pod: Pod, container: str, lines: list[str], n: int = 5) -> Evidence:
    ns, name = key_of(pod)
    return Evidence(kind="PodLog", namespace=ns, name=f"{name}/{container}", message=tail(lines, n))
