"""kstatus-like readiness per object kind: ready, progressing (waiting) or failed."""

from __future__ import annotations

from typing import Any, cast

import pytest

from appliance_cli.status.index import FluxObject, Job, Node, Pvc, Workload
from appliance_cli.status.readiness import (
    deployment_readiness,
    flux_readiness,
    job_readiness,
    node_readiness,
    pvc_readiness,
    statefulset_readiness,
)

from .builders import deployment, helm_release, job, kustomization, node, pvc, statefulset


def _d(**kw: Any) -> Workload:
    return cast(Workload, deployment("web", "img:1", **kw))


@pytest.mark.parametrize(
    ("obj", "state", "reason"),
    [
        (_d(), "ready", "Available"),
        (_d(ready=0), "progressing", "NotAvailable"),
        (_d(generation=3, observed=2), "progressing", "ObservedGenerationBehind"),
        (_d(ready=0, progress_deadline=True), "failed", "ProgressDeadlineExceeded"),
    ],
)
def test_deployment_readiness(obj: Workload, state: str, reason: str) -> None:
    r = deployment_readiness(obj)
    assert (r.state, r.reason) == (state, reason)


def test_deployment_with_old_replicas_is_still_rolling_out() -> None:
    d = _d()
    d["status"]["replicas"] = 2
    assert deployment_readiness(d).reason == "OldReplicasPending"


def test_statefulset_readiness() -> None:
    assert statefulset_readiness(cast(Workload, statefulset("db", "pg:16"))).ready
    assert statefulset_readiness(cast(Workload, statefulset("db", "pg:16", ready=0))).state == "progressing"
    assert deployment_readiness(None).state == "absent"


@pytest.mark.parametrize(
    ("state", "expected"), [("complete", "ready"), ("failed", "failed"), ("running", "progressing")]
)
def test_job_readiness(state: str, expected: str) -> None:
    assert job_readiness(cast(Job, job("j", state=state))).state == expected


@pytest.mark.parametrize(
    ("phase", "expected"), [("Bound", "ready"), ("Pending", "progressing"), ("Lost", "failed")]
)
def test_pvc_readiness(phase: str, expected: str) -> None:
    assert pvc_readiness(cast(Pvc, pvc("c", phase=phase))).state == expected


@pytest.mark.parametrize(
    ("obj", "state"),
    [
        (kustomization("alga-core"), "ready"),
        (
            kustomization(
                "alga-background",
                ready="False",
                reason="DependencyNotReady",
                message="dependency 'flux-system/alga-core' is not ready",
            ),
            "progressing",
        ),
        (
            kustomization(
                "alga-core", ready="Unknown", reason="Progressing", message="Reconciliation in progress"
            ),
            "progressing",
        ),
        (
            kustomization(
                "alga-core",
                ready="False",
                reason="BuildFailed",
                message="kustomize build failed: accumulating resources",
            ),
            "failed",
        ),
        (
            helm_release(
                "alga-core",
                ready="False",
                reason="InstallFailed",
                message="Helm install failed for release alga-system/alga-core with chart alga-core@0.1.0: "
                "context deadline exceeded",
                stalled={"reason": "RetriesExceeded", "message": "Failed to install after 1 attempt(s)"},
            ),
            "failed",
        ),
    ],
)
def test_flux_readiness(obj: dict[str, Any], state: str) -> None:
    assert flux_readiness(cast(FluxObject, obj)).state == state


def test_flux_ready_at_an_older_generation_is_still_progressing() -> None:
    ks = kustomization("alga-core")
    ks["metadata"]["generation"] = 2
    assert flux_readiness(cast(FluxObject, ks)).reason == "ObservedGenerationBehind"


def test_suspended_flux_object_is_not_ready_and_not_failed() -> None:
    hr = helm_release("temporal")
    hr["spec"]["suspend"] = True
    assert flux_readiness(cast(FluxObject, hr)).state == "progressing"


@pytest.mark.parametrize(
    ("status", "expected"), [("True", "ready"), ("False", "failed"), ("Unknown", "failed")]
)
def test_node_readiness(status: str, expected: str) -> None:
    assert node_readiness(cast(Node, node(status=status))).state == expected


def test_kustomization_waiting_for_its_source_is_progress_but_a_missing_path_fails() -> None:
    waiting = kustomization(
        "alga-platform",
        ready="False",
        reason="ArtifactFailed",
        message="Source artifact not found, retrying in 30s",
    )
    missing = kustomization(
        "alga-platform",
        ready="False",
        reason="ArtifactFailed",
        message="kustomization path not found: stat /tmp/kustomization-1/flux/base/platform: "
        "no such file or directory",
    )
    assert flux_readiness(cast(FluxObject, waiting)).state == "progressing"
    assert flux_readiness(cast(FluxObject, missing)).state == "failed"
