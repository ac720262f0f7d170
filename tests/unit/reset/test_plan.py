"""The reset plan from what the cluster answered (pure): the real objects, in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from appliance_cli.errors import UsageError
from appliance_cli.reset.plan import plan_from
from appliance_cli.reset.render import plan_lines

ROOT = "/var/local-path-provisioner"


def _pv(
    name: str, ns: str, claim: str, size: str, *, phase: str = "Bound", root: str = ROOT
) -> dict[str, Any]:
    """A PersistentVolume as rancher.io/local-path provisions it."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": name,
            "annotations": {
                "local.path.provisioner/selected-node": "talos-cp1",
                "pv.kubernetes.io/provisioned-by": "rancher.io/local-path",
            },
            "finalizers": ["kubernetes.io/pv-protection"],
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "capacity": {"storage": size},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns, "name": claim},
            "hostPath": {"path": f"{root}/{name}_{ns}_{claim}", "type": "DirectoryOrCreate"},
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "local-path",
            "volumeMode": "Filesystem",
        },
        "status": {"phase": phase},
    }


def _meta(kind: str, ns: str | None, name: str, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"kind": kind, "metadata": meta, **extra}


def _local_path_config(root: str = ROOT, image: str = "busybox:1.36") -> dict[str, Any]:
    return _meta(
        "ConfigMap",
        "local-path-storage",
        "local-path-config",
        data={
            "config.json": json.dumps(
                {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": [root]}]}
            ),
            "helperPod.yaml": f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: helper-pod\nspec:\n"
            f"  containers:\n    - name: helper-pod\n      image: {image}\n",
        },
    )


def _installed(**overrides: Any) -> dict[str, Any]:
    seen: dict[str, Any] = {
        "gitrepos": [
            _meta("GitRepository", "flux-system", "alga-appliance", spec={"suspend": False}),
            _meta("GitRepository", "flux-system", "alga-psa-charts", spec={}),
            _meta("GitRepository", "flux-system", "someone-elses", spec={}),
        ],
        "kustomizations": [
            _meta("Kustomization", "flux-system", n, spec={"prune": True})
            for n in ("alga-platform", "alga-core")
        ]
        + [_meta("Kustomization", "flux-system", "alga-background", spec={"suspend": True})],
        "helmreleases": [_meta("HelmRelease", "alga-system", "alga-core", spec={})],
        "namespaces": [
            _meta("Namespace", None, n, status={"phase": "Active"})
            for n in (
                "default",
                "kube-system",
                "flux-system",
                "local-path-storage",
                "appliance-system",
                "alga-system",
                "msp",
            )
        ],
        "pods": [_meta("Pod", "msp", f"p{i}") for i in range(4)] + [_meta("Pod", "kube-system", "coredns-1")],
        "pvcs": [
            _meta("PersistentVolumeClaim", "msp", "db-data-db-0"),
            _meta("PersistentVolumeClaim", "msp", "r"),
        ],
        "configmaps": [_meta("ConfigMap", "alga-system", f"values-{i}") for i in range(3)],
        "pvs": [
            _pv("pvc-aa", "msp", "db-data-db-0", "30Gi"),
            _pv("pvc-bb", "msp", "redis-data-redis-0", "5Gi", phase="Released"),
            _pv("pvc-cc", "monitoring", "prometheus-data", "10Gi"),
        ],
        "localpath": _local_path_config(),
        "wipejob": None,
        "status": _meta("Deployment", "appliance-system", "appliance-status"),
        "secret": True,
    }
    seen.update(overrides)
    return seen


def test_the_plan_names_the_real_objects_in_order() -> None:
    plan = plan_from(
        _installed(), site_id="site-a", server="https://10.0.0.5:6443", site_dir=Path("/h/site-a")
    )
    assert [f.ref for f in plan.flux] == [
        "Kustomization flux-system/alga-background",
        "Kustomization flux-system/alga-core",
        "Kustomization flux-system/alga-platform",
        "GitRepository flux-system/alga-appliance",
        "GitRepository flux-system/alga-psa-charts",
    ]  # not someone else's GitRepository
    assert [(n.name, n.pods, n.pvcs, n.config_maps) for n in plan.namespaces] == [
        ("msp", 4, 2, 0),
        ("alga-system", 0, 0, 3),
    ]
    assert [(v.name, v.claim, v.size, v.phase) for v in plan.volumes] == [
        ("pvc-aa", "msp/db-data-db-0", "30Gi", "Bound"),
        ("pvc-bb", "msp/redis-data-redis-0", "5Gi", "Released"),
    ]
    assert plan.wipe.path == ROOT and plan.wipe.image == "busybox:1.36"
    assert plan.wipe.keep == ["pvc-cc_monitoring_prometheus-data"]  # another namespace's volume stays
    assert plan.wipe.known_entries == ["pvc-aa_msp_db-data-db-0", "pvc-bb_msp_redis-data-redis-0"]
    assert [s.title for s in plan.steps] == [
        "Pause Flux",
        "Remove the Flux objects",
        "Delete the application",
        "Delete the data volumes",
        "Wipe the data directory",
        "Verify",
    ]
    assert plan.status_service and plan.status_token and plan.holds_data


def test_the_printed_plan_reads_without_kubernetes_knowledge() -> None:
    plan = plan_from(
        _installed(), site_id="site-a", server="https://10.0.0.5:6443", site_dir=Path("/h/site-a")
    )
    text = "\n".join(plan_lines(plan))
    for expected in (
        "Reset plan for site site-a",
        "namespace msp: 4 pods, 2 volume claims, 0 ConfigMaps",
        "PersistentVolume pvc-aa: 30Gi for claim msp/db-data-db-0, on the node at "
        "/var/local-path-provisioner/pvc-aa_msp_db-data-db-0",
        "Run Job appliance-reset-wipe in namespace local-path-storage (image busybox:1.36, privileged) "
        "that empties /var/local-path-provisioner on the node",
        "It keeps:",
        "Status service: Deployment appliance-system/appliance-status (present)",
        "Site directory: /h/site-a",
    ):
        assert expected in text, expected


def test_root_and_image_follow_the_provisioner_config() -> None:
    seen = _installed(
        localpath=_local_path_config("/var/mnt/local-path", "registry.local/busybox:1.36.1"),
        pvs=[_pv("pvc-aa", "msp", "db-data-db-0", "30Gi", root="/var/mnt/local-path")],
    )
    plan = plan_from(seen, site_id="s", server="x", site_dir=None)
    assert (plan.wipe.path, plan.wipe.image) == ("/var/mnt/local-path", "registry.local/busybox:1.36.1")
    assert plan.wipe.known_entries == ["pvc-aa_msp_db-data-db-0"]
    assert all(k.what != "Site directory" for k in plan.keep)


def test_a_removed_storage_namespace_is_created_again_for_the_wipe() -> None:
    seen = _installed()
    seen["namespaces"] = [n for n in seen["namespaces"] if n["metadata"]["name"] != "local-path-storage"]
    plan = plan_from(seen, site_id="s", server="x", site_dir=None)
    assert plan.wipe.create_namespace
    assert "namespace local-path-storage (created again first, privileged)" in plan.steps[4].description
    assert not plan_from(_installed(), site_id="s", server="x", site_dir=None).wipe.create_namespace


def test_without_the_config_the_installed_defaults_apply() -> None:
    plan = plan_from(_installed(localpath=None), site_id="s", server="x", site_dir=None)
    assert (plan.wipe.path, plan.wipe.image) == (ROOT, "busybox:1.36")


@pytest.mark.parametrize("root", ["/", "/etc", "/var"])
def test_a_provisioner_root_that_would_widen_the_wipe_is_refused(root: str) -> None:
    with pytest.raises(UsageError, match="refusing"):
        plan_from(_installed(localpath=_local_path_config(root)), site_id="s", server="x", site_dir=None)


def test_an_already_reset_cluster_has_nothing_left_but_the_wipe() -> None:
    seen = _installed(
        gitrepos=[],
        kustomizations=[],
        helmreleases=[],
        pods=[],
        pvcs=[],
        configmaps=[],
        pvs=[],
        namespaces=[_meta("Namespace", None, "default")],
    )
    plan = plan_from(seen, site_id="s", server="x", site_dir=None)
    assert not plan.holds_data
    assert plan.steps[0].objects == ["none left"] and plan.steps[3].objects == ["none left"]
    assert "No appliance data is left" in "\n".join(plan_lines(plan))


def test_plan_json_is_camel_case_data() -> None:
    plan = plan_from(_installed(), site_id="s", server="x", site_dir=None)
    data = json.loads(plan.to_json())
    assert data["siteId"] == "s" and data["wipe"]["jobName"] == "appliance-reset-wipe"
    assert data["namespaces"][0] == {
        "name": "msp",
        "pods": 4,
        "pvcs": 2,
        "configMaps": 0,
        "terminating": False,
    }
    assert data["volumes"][0]["hostPath"] == "/var/local-path-provisioner/pvc-aa_msp_db-data-db-0"
    assert [s["number"] for s in data["steps"]] == [1, 2, 3, 4, 5, 6]
