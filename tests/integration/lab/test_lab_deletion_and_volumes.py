"""What the lab does when things are deleted, as a real cluster would: Flux prunes what an
unsuspended Kustomization applied (and nothing for a suspended one), a volume whose claim is
gone is Released with its data kept (reclaimPolicy Retain) or removed (Delete), and a wipe
pod empties the host directory it mounts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from appliance_lab.testing import LabHandle

from appliance_cli.reset import wipe

KS = "kustomize.toolkit.fluxcd.io/v1/kustomizations"
HR = "helm.toolkit.fluxcd.io/v2/helmreleases"
ROOT = "/var/local-path-provisioner"


def _delete(lab: LabHandle, path: str) -> None:
    resp = lab.http().delete(path)
    assert resp.status_code == 200, resp.text


def _core_installed(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects(tiers=("platform", "core"))
    lab.wait_for(lambda: lab.ready(KS, "flux-system", "alga-core"), timeout=60, what="alga-core Ready")
    assert lab.get(HR, "alga-system", "alga-core") is not None


@pytest.mark.lab(scenario="healthy", speed=60)
def test_deleting_an_unsuspended_kustomization_prunes_what_it_applied(lab: LabHandle) -> None:
    _core_installed(lab)
    _delete(lab, "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/alga-core")
    lab.wait_for(lambda: lab.get(HR, "alga-system", "alga-core") is None, timeout=20, what="pruned")
    assert lab.get("apps/v1/deployments", "appliance-system", "appliance-status") is not None  # other tier


@pytest.mark.lab(scenario="healthy", speed=60)
def test_deleting_a_suspended_kustomization_leaves_everything(lab: LabHandle) -> None:
    _core_installed(lab)
    patch = lab.http().patch(
        "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/alga-platform",
        content=json.dumps({"spec": {"suspend": True}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patch.status_code == 200, patch.text
    _delete(lab, "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/alga-platform")
    # one more reconcile round happens while we look: nothing of the platform tier goes
    for _ in range(20):
        lab.lab.controllers.step()
    assert lab.get("apps/v1/deployments", "appliance-system", "appliance-status") is not None
    assert lab.get(KS, "flux-system", "alga-platform") is None


def _claim(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "vols"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "local-path",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }


def _consumer(name: str, claim: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "vols"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox:1.36"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}],
        },
    }


def _bound_volume(lab: LabHandle, claim: str) -> dict[str, Any]:
    lab.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vols"}})
    lab.apply(_claim(claim))
    lab.apply(_consumer(f"use-{claim}", claim))

    def bound() -> dict[str, Any] | None:
        pvc = lab.get("v1/persistentvolumeclaims", "vols", claim) or {}
        name = (pvc.get("spec") or {}).get("volumeName")
        return lab.get("v1/persistentvolumes", None, name) if name else None

    pv: dict[str, Any] = lab.wait_for(bound, timeout=30, what=f"{claim} bound")
    return pv


@pytest.mark.lab(scenario="healthy", speed=60)
@pytest.mark.parametrize("policy", ["Retain", "Delete"])
def test_a_volume_whose_claim_is_gone_follows_its_reclaim_policy(lab: LabHandle, policy: str) -> None:
    lab.apply(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "local-path"},
            "provisioner": "rancher.io/local-path",
            "volumeBindingMode": "WaitForFirstConsumer",
            "reclaimPolicy": policy,
        }
    )
    pv = _bound_volume(lab, "data")
    path = pv["spec"]["hostPath"]["path"]
    assert path.startswith(f"{ROOT}/pvc-") and path in lab.lab.controllers.ctx.host_dirs
    _delete(lab, "/api/v1/namespaces/vols/pods/use-data")
    _delete(lab, "/api/v1/namespaces/vols/persistentvolumeclaims/data")
    name = pv["metadata"]["name"]
    if policy == "Retain":
        lab.wait_for(
            lambda: (
                ((lab.get("v1/persistentvolumes", None, name) or {}).get("status") or {}).get("phase")
                == "Released"
            ),
            timeout=20,
            what="Released",
        )
        assert path in lab.lab.controllers.ctx.host_dirs  # the data stays on the node
    else:
        lab.wait_for(lambda: lab.get("v1/persistentvolumes", None, name) is None, timeout=20, what="deleted")
        assert path not in lab.lab.controllers.ctx.host_dirs


@pytest.mark.lab(scenario="healthy", speed=60)
def test_the_root_follows_the_provisioner_config(lab: LabHandle) -> None:
    lab.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "local-path-storage"}})
    lab.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "local-path-config", "namespace": "local-path-storage"},
            "data": {"config.json": json.dumps({"nodePathMap": [{"node": "x", "paths": ["/var/mnt/lp"]}]})},
        }
    )
    lab.apply(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "local-path"},
            "provisioner": "rancher.io/local-path",
            "volumeBindingMode": "WaitForFirstConsumer",
        }
    )
    pv = _bound_volume(lab, "elsewhere")
    assert pv["spec"]["hostPath"]["path"].startswith("/var/mnt/lp/pvc-")


@pytest.mark.lab(scenario="healthy", speed=60)
def test_the_wipe_pod_empties_what_it_mounts_sparing_kept_entries(lab: LabHandle) -> None:
    ctx = lab.lab.controllers.ctx
    ctx.host_dirs.update({f"{ROOT}/pvc-1_msp_db", f"{ROOT}/pvc-2_msp_redis", f"{ROOT}/pvc-3_other_keep"})
    ctx.host_dirs.add("/var/lib/elsewhere/x")  # outside the mounted path: never touched
    lab.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "local-path-storage"}})
    lab.apply(wipe.wipe_job(ROOT, ROOT, image="busybox:1.36", keep=["pvc-3_other_keep"]))

    def complete() -> bool:
        job = lab.get("batch/v1/jobs", "local-path-storage", wipe.WIPE_JOB_NAME) or {}
        return any(c.get("type") == "Complete" for c in (job.get("status") or {}).get("conditions") or [])

    lab.wait_for(complete, timeout=30, what="wipe Job complete")
    assert ctx.host_dirs == {f"{ROOT}/pvc-3_other_keep", "/var/lib/elsewhere/x"}
    (pod,) = lab.list_objects("v1/pods", "local-path-storage", labelSelector=f"job-name={wipe.WIPE_JOB_NAME}")
    log = lab.http().get(f"/api/v1/namespaces/local-path-storage/pods/{pod['metadata']['name']}/log").text
    assert wipe.parse_log(log.splitlines()) == wipe.WipeResult(removed=2, remaining=[], found=True)
