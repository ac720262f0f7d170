"""Readiness of one object from its live state (kstatus-like, written out explicitly).

Every function answers the same question for one kind: is it ready, still progressing
(waiting is not failing), or failed — with the reason and message it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from appliance_cli.status.index import (
    ContainerStatus,
    FluxObject,
    Job,
    Node,
    Pvc,
    Workload,
    condition,
)

State = Literal["ready", "progressing", "failed", "absent"]


@dataclass(frozen=True)
class Readiness:
    state: State
    reason: str = ""
    message: str = ""

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def failed(self) -> bool:
        return self.state == "failed"


ABSENT = Readiness("absent", "NotFound", "not created yet")

# Container waiting reasons that mean the container cannot start without a change.
FAILING_WAITING_REASONS: frozenset[str] = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
IMAGE_PULL_WAITING_REASONS: frozenset[str] = frozenset({"ImagePullBackOff", "ErrImagePull"})

# Flux Ready=False reasons that mean "waiting for something else", not failure.
FLUX_PROGRESS_REASONS: frozenset[str] = frozenset(
    {"DependencyNotReady", "Progressing", "ProgressingWithRetry", "Reconciling", "ArtifactInProgress"}
)


def _generation_observed(obj: Workload | FluxObject) -> bool:
    gen = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    if gen is None:
        return True
    return observed is not None and observed >= gen


def deployment_readiness(dep: Workload | None) -> Readiness:
    if dep is None:
        return ABSENT
    if not _generation_observed(dep):
        return Readiness("progressing", "ObservedGenerationBehind", "controller has not seen the latest spec")
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    want = spec.get("replicas", 1)
    progressing = condition(status, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Readiness("failed", "ProgressDeadlineExceeded", progressing.get("message", ""))
    updated = status.get("updatedReplicas", 0)
    ready = status.get("readyReplicas", 0)
    available = status.get("availableReplicas", 0)
    total = status.get("replicas", 0)
    if updated < want:
        return Readiness("progressing", "Updating", f"{updated} of {want} replicas updated")
    if total > updated:
        return Readiness(
            "progressing", "OldReplicasPending", f"{total - updated} old replicas pending termination"
        )
    if ready < want or available < want:
        return Readiness("progressing", "NotAvailable", f"{min(ready, available)} of {want} replicas ready")
    return Readiness("ready", "Available", f"{ready} of {want} replicas ready")


def statefulset_readiness(sts: Workload | None) -> Readiness:
    if sts is None:
        return ABSENT
    if not _generation_observed(sts):
        return Readiness("progressing", "ObservedGenerationBehind", "controller has not seen the latest spec")
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    want = spec.get("replicas", 1)
    ready = status.get("readyReplicas", 0)
    updated = status.get("updatedReplicas")
    if updated is not None and updated < want:
        return Readiness("progressing", "Updating", f"{updated} of {want} replicas updated")
    cur, upd = status.get("currentRevision"), status.get("updateRevision")
    if cur and upd and cur != upd and ready >= want:
        return Readiness("progressing", "RevisionRollout", f"rolling out revision {upd}")
    if ready < want:
        return Readiness("progressing", "NotReady", f"{ready} of {want} replicas ready")
    return Readiness("ready", "Ready", f"{ready} of {want} replicas ready")


def workload_readiness(obj: Workload | None, kind: str) -> Readiness:
    return statefulset_readiness(obj) if kind == "StatefulSet" else deployment_readiness(obj)


def job_readiness(job: Job | None) -> Readiness:
    if job is None:
        return ABSENT
    status = job.get("status") or {}
    complete = condition(status, "Complete")
    if complete and complete.get("status") == "True":
        return Readiness("ready", "Complete", complete.get("message", "") or "job complete")
    failed = condition(status, "Failed")
    if failed and failed.get("status") == "True":
        return Readiness("failed", failed.get("reason", "Failed"), failed.get("message", ""))
    if status.get("active"):
        return Readiness("progressing", "Running", "job running")
    return Readiness("progressing", "Pending", "job not started yet")


def pvc_readiness(pvc: Pvc | None) -> Readiness:
    if pvc is None:
        return ABSENT
    phase = (pvc.get("status") or {}).get("phase", "Pending")
    if phase == "Bound":
        return Readiness("ready", "Bound", "bound")
    if phase == "Lost":
        return Readiness("failed", "Lost", "the bound volume is lost")
    return Readiness("progressing", phase, "waiting for a volume")


def failing_waiting(cs: ContainerStatus) -> tuple[str, str] | None:
    waiting = (cs.get("state") or {}).get("waiting")
    if waiting and waiting.get("reason") in FAILING_WAITING_REASONS:
        return waiting.get("reason", ""), waiting.get("message", "")
    return None


def flux_readiness(obj: FluxObject | None) -> Readiness:
    """Ready/Reconciling/Stalled conditions and observedGeneration of a Flux object."""
    if obj is None:
        return ABSENT
    status = obj.get("status") or {}
    if (obj.get("spec") or {}).get("suspend"):
        return Readiness("progressing", "Suspended", "reconciliation is suspended")
    stalled = condition(status, "Stalled")
    ready = condition(status, "Ready")
    if stalled and stalled.get("status") == "True":
        msg = stalled.get("message", "")
        if ready and ready.get("status") == "False" and ready.get("message"):
            msg = (
                f"{ready.get('message')} ({msg})"
                if msg and msg not in ready.get("message", "")
                else ready.get("message", "")
            )
        return Readiness("failed", stalled.get("reason", "Stalled"), msg)
    if ready is None:
        return Readiness("progressing", "Pending", "not reconciled yet")
    reason, message = ready.get("reason", ""), ready.get("message", "")
    if ready.get("status") == "True":
        if not _generation_observed(obj):
            return Readiness("progressing", "ObservedGenerationBehind", "new generation not reconciled yet")
        return Readiness("ready", reason or "Succeeded", message)
    if ready.get("status") == "Unknown" or reason in FLUX_PROGRESS_REASONS:
        return Readiness("progressing", reason or "Reconciling", message)
    if reason == "ArtifactFailed" and "Source artifact not found" in message:
        # kustomize-controller waits for its source ("..., retrying in 30s"): not a failure of its own.
        return Readiness("progressing", "WaitingForSource", message)
    return Readiness("failed", reason or "NotReady", message)


def node_readiness(node: Node) -> Readiness:
    ready = condition(node.get("status") or {}, "Ready")
    if ready is None:
        return Readiness("progressing", "NoReadyCondition", "kubelet has not reported yet")
    if ready.get("status") == "True":
        return Readiness("ready", ready.get("reason", "KubeletReady"), ready.get("message", ""))
    return Readiness("failed", ready.get("reason", "NotReady"), ready.get("message", ""))


def login_probe_ok(status_code: int | None, location: str | None, login_url: str | None) -> bool:
    """2xx, or a 3xx to /msp/dashboard, /login or the same host."""
    if status_code is None:
        return False
    if 200 <= status_code < 300:
        return True
    if 300 <= status_code < 400 and location:
        from urllib.parse import urlsplit

        loc = urlsplit(location)
        path = loc.path.rstrip("/")
        if path.startswith("/msp/dashboard") or path == "/login" or path.startswith("/login/"):
            return True
        if not loc.netloc:
            return True  # relative: same host
        return bool(login_url) and loc.netloc == urlsplit(login_url or "").netloc
    return False
