"""Controller paths not covered by the scenario flows: smoke pods, PVC binding, CoreDNS rollout,
the node, watch streams through the official client."""

from __future__ import annotations

from typing import Any

import pytest
from appliance_lab.testing import LabHandle

STORAGE_CLASS = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "local-path"},
    "provisioner": "rancher.io/local-path",
    "volumeBindingMode": "WaitForFirstConsumer",
}


def _smoke(kind: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"smoke-{kind}",
            "namespace": "appliance-system",
            "labels": {"appliance.alga-psa.io/smoke": kind},
        },
        "spec": {"restartPolicy": "Never", **spec},
    }


def _storage_objects() -> list[dict[str, Any]]:
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "appliance-storage-smoke", "namespace": "appliance-system"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "local-path",
            "resources": {"requests": {"storage": "64Mi"}},
        },
    }
    pod = _smoke(
        "storage",
        containers=[
            {
                "name": "storage",
                "image": "busybox:1.36",
                "volumeMounts": [{"name": "data", "mountPath": "/data", "subPath": "smoke"}],
            }
        ],
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "appliance-storage-smoke"}}],
    )
    return [pvc, pod]


def _phase(lab: LabHandle, name: str) -> str | None:
    pod = lab.get("v1/pods", "appliance-system", name)
    return ((pod or {}).get("status") or {}).get("phase")


@pytest.mark.lab(scenario="healthy", speed=60)
def test_smoke_pods_succeed_and_the_pvc_waits_for_its_consumer(lab: LabHandle) -> None:
    lab.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "appliance-system"}})
    lab.apply(STORAGE_CLASS)
    pvc, pod = _storage_objects()
    lab.apply(pvc)
    lab.wait_for(
        lambda: any(e["reason"] == "WaitForFirstConsumer" for e in lab.events("appliance-system")),
        what="WaitForFirstConsumer event",
    )
    ev = next(e for e in lab.events("appliance-system") if e["reason"] == "WaitForFirstConsumer")
    assert ev["message"] == "waiting for first consumer to be created before binding"
    got = lab.get("v1/persistentvolumeclaims", "appliance-system", "appliance-storage-smoke")
    assert got is not None and got["status"]["phase"] == "Pending"
    lab.apply(pod)
    for kind in ("dns", "https"):
        lab.apply(_smoke(kind, containers=[{"name": kind, "image": "busybox:1.36"}]))
    for name in ("smoke-dns", "smoke-https", "smoke-storage"):
        lab.wait_for(lambda n=name: _phase(lab, n) == "Succeeded", what=f"{name} Succeeded")
    done = lab.get("v1/pods", "appliance-system", "smoke-storage")
    assert done is not None
    term = done["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed")
    bound = lab.get("v1/persistentvolumeclaims", "appliance-system", "appliance-storage-smoke")
    assert bound is not None and bound["status"]["phase"] == "Bound"
    reasons = [
        e["reason"]
        for e in lab.events("appliance-system")
        if e["involvedObject"]["name"] == "appliance-storage-smoke"
    ]
    assert {"WaitForFirstConsumer", "Provisioning", "ProvisioningSucceeded"} <= set(reasons)


@pytest.mark.lab(scenario="postgres-subpath", speed=60)
def test_storage_smoke_pod_hits_the_subpath_error(lab: LabHandle) -> None:
    lab.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "appliance-system"}})
    lab.apply(STORAGE_CLASS)
    for obj in _storage_objects():
        lab.apply(obj)

    def waiting() -> Any:
        pod = lab.get("v1/pods", "appliance-system", "smoke-storage")
        for cs in ((pod or {}).get("status") or {}).get("containerStatuses") or []:
            return (cs.get("state") or {}).get("waiting", {}).get(
                "reason"
            ) == "CreateContainerConfigError" and cs
        return None

    cs = lab.wait_for(waiting, what="CreateContainerConfigError")
    assert cs["state"]["waiting"]["message"] == (
        'failed to create subPath directory for volumeMount "data" of container "storage"'
    )


@pytest.mark.lab(scenario="healthy", speed=60)
def test_coredns_rolls_out_after_a_restart_annotation(lab: LabHandle) -> None:
    def available() -> Any:
        d = lab.get("apps/v1/deployments", "kube-system", "coredns")
        conds = {c["type"]: c for c in ((d or {}).get("status") or {}).get("conditions", [])}
        ok = (
            conds.get("Available", {}).get("status") == "True"
            and conds.get("Progressing", {}).get("reason") == "NewReplicaSetAvailable"
        )
        return d if ok and d["status"].get("observedGeneration") == d["metadata"]["generation"] else None

    before = lab.wait_for(available, what="coredns available")
    cm = lab.get("v1/configmaps", "kube-system", "coredns")
    assert cm is not None and "forward . /etc/resolv.conf" in cm["data"]["Corefile"]
    old_pods = {p["metadata"]["name"] for p in lab.list_objects("v1/pods", "kube-system")}
    resp = lab.http().patch(
        "/apis/apps/v1/namespaces/kube-system/deployments/coredns",
        content='{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"now"}}}}}',
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert resp.status_code == 200
    after = lab.wait_for(
        lambda: (d := available()) and d["metadata"]["generation"] > before["metadata"]["generation"] and d,
        what="coredns rolled out",
    )
    assert after["status"]["updatedReplicas"] == 1
    rss = lab.list_objects("apps/v1/replicasets", "kube-system")
    assert sorted(rs["spec"]["replicas"] for rs in rss) == [0, 1]

    def old_gone() -> bool:
        return {p["metadata"]["name"] for p in lab.list_objects("v1/pods", "kube-system")}.isdisjoint(
            old_pods
        )

    lab.wait_for(old_gone, what="old coredns pod gone")


@pytest.mark.lab(scenario="healthy", speed=60)
def test_node_ready_and_pods_watched_with_the_official_client(lab: LabHandle) -> None:
    from kubernetes import client, watch

    api = lab.api_client()
    try:
        core = client.CoreV1Api(api)
        lab.wait_for(lambda: core.list_node().items, what="node")
        node = core.list_node().items[0]
        assert node.metadata.name == "talos-lab-cp1"
        assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
        assert node.status.node_info.os_image == "Talos (v1.12.0)"
        rv = core.list_namespaced_pod("kube-system").metadata.resource_version
        lab.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        lab.apply(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "namespace": "demo"},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            }
        )
        seen: list[str] = []
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_pod, "demo", resource_version=rv, timeout_seconds=10):
            pod = ev["object"]
            seen.append(pod.status.phase or "")
            if (
                pod.status.phase == "Running"
                and pod.status.container_statuses
                and pod.status.container_statuses[0].ready
            ):
                w.stop()
        assert seen[-1] == "Running" and "Pending" in seen
    finally:
        api.close()
