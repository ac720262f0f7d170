"""Replace, the four PATCH flavours, server-side apply conflicts and status subresources."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from appliance_lab.store import BY_KEY, Store
from kubernetes.client import ApiException

from .conftest import TOKEN

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


def _deployment(name: str = "coredns", ns: str = "kube-system") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"k8s-app": "kube-dns"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-dns"}},
                "spec": {
                    "containers": [
                        {
                            "name": "coredns",
                            "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        },
                        {"name": "sidecar", "image": "busybox:1"},
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
                },
            },
        },
    }


def _body(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    return json.loads(exc.value.body)  # type: ignore[no-any-return]


def test_replace_with_stale_resource_version_conflicts(core: Any) -> None:
    cm = core.create_namespaced_config_map("alga", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    cm.data = {"a": "2"}
    updated = core.replace_namespaced_config_map("c", "alga", cm)
    assert updated.data == {"a": "2"}
    assert int(updated.metadata.resource_version) > int(cm.metadata.resource_version)
    cm.data = {"a": "3"}  # still carries the old resourceVersion
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("c", "alga", cm)
    body = _body(exc)
    assert exc.value.status == 409 and body["reason"] == "Conflict"
    assert body["details"] == {"name": "c", "kind": "configmaps"}
    assert "the object has been modified" in body["message"]


def test_replace_of_missing_object_is_not_found(core: Any) -> None:
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("gone", "alga", {"metadata": {"name": "gone"}, "data": {}})
    assert exc.value.status == 404


def test_merge_patch_sets_and_removes_keys(core: Any) -> None:
    core.create_namespaced_config_map("alga", {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}})
    out = core.patch_namespaced_config_map("c", "alga", {"data": {"b": None, "c": "3"}}, _content_type=MERGE)
    assert out.data == {"a": "1", "c": "3"}


def test_strategic_merge_restarts_coredns_by_annotation(apps: Any) -> None:
    apps.create_namespaced_deployment("kube-system", _deployment())
    patch = {
        "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}
    }
    out = apps.patch_namespaced_deployment("coredns", "kube-system", patch, _content_type=STRATEGIC)
    tpl = out.spec.template
    assert tpl.metadata.annotations == {"kubectl.kubernetes.io/restartedAt": "now"}
    assert [c.name for c in tpl.spec.containers] == ["coredns", "sidecar"]
    assert out.metadata.generation == 2


def test_strategic_merge_merges_lists_by_name(apps: Any) -> None:
    apps.create_namespaced_deployment("kube-system", _deployment())
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "coredns", "image": "coredns:v2", "env": [{"name": "B", "value": "20"}]},
                        {"name": "sidecar", "$patch": "delete"},
                    ],
                    "volumes": [{"name": "extra", "emptyDir": {}}],
                }
            }
        }
    }
    out = apps.patch_namespaced_deployment("coredns", "kube-system", patch, _content_type=STRATEGIC)
    spec = out.spec.template.spec
    assert [(c.name, c.image) for c in spec.containers] == [("coredns", "coredns:v2")]
    assert [(e.name, e.value) for e in spec.containers[0].env] == [("A", "1"), ("B", "20")]
    assert [v.name for v in spec.volumes] == ["config", "extra"]


def test_merge_patch_replaces_lists(apps: Any) -> None:
    apps.create_namespaced_deployment("kube-system", _deployment())
    patch = {"spec": {"template": {"spec": {"volumes": [{"name": "only", "emptyDir": {}}]}}}}
    out = apps.patch_namespaced_deployment("coredns", "kube-system", patch, _content_type=MERGE)
    assert [v.name for v in out.spec.template.spec.volumes] == ["only"]


def test_strategic_merge_is_refused_for_custom_resources(
    http: httpx.Client, custom: Any, server: Any
) -> None:
    body = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "alga-core", "namespace": "alga"},
        "spec": {"interval": "5m"},
    }
    custom.create_namespaced_custom_object("helm.toolkit.fluxcd.io", "v2", "alga", "helmreleases", body)
    r = http.patch(
        f"{server.url}/apis/helm.toolkit.fluxcd.io/v2/namespaces/alga/helmreleases/alga-core",
        json={"spec": {"suspend": True}},
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": STRATEGIC},
    )
    assert r.status_code == 415 and r.json()["reason"] == "UnsupportedMediaType"
    out = custom.patch_namespaced_custom_object(
        "helm.toolkit.fluxcd.io", "v2", "alga", "helmreleases", "alga-core", {"spec": {"suspend": True}}
    )
    assert out["spec"] == {"interval": "5m", "suspend": True}


def test_json_patch_operations_and_failed_test(core: Any) -> None:
    core.create_namespaced_config_map("alga", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    ops = [
        {"op": "add", "path": "/data/b", "value": "2"},
        {"op": "replace", "path": "/data/a", "value": "10"},
        {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}},
    ]
    out = core.patch_namespaced_config_map("c", "alga", ops, _content_type=JSON_PATCH)
    assert out.data == {"a": "10", "b": "2"} and out.metadata.labels == {"x": "y"}
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map(
            "c", "alga", [{"op": "test", "path": "/data/a", "value": "1"}], _content_type=JSON_PATCH
        )
    assert exc.value.status == 422 and _body(exc)["reason"] == "Invalid"
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map(
            "c", "alga", [{"op": "remove", "path": "/data/missing"}], _content_type=JSON_PATCH
        )
    assert exc.value.status == 422


def test_patch_of_missing_object_is_not_found(core: Any) -> None:
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map("nope", "alga", {"data": {}}, _content_type=MERGE)
    assert exc.value.status == 404 and _body(exc)["details"]["name"] == "nope"


def _apply(core: Any, data: dict[str, str], manager: str, force: bool = False) -> Any:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "alga"},
        "data": data,
    }
    return core.patch_namespaced_config_map(
        "cfg", "alga", body, field_manager=manager, force=force, _content_type=APPLY
    )


def test_server_side_apply_creates_then_tracks_managers(core: Any) -> None:
    created = _apply(core, {"a": "1"}, "appliance")
    assert created.data == {"a": "1"}
    mf = created.metadata.managed_fields
    assert [(m.manager, m.operation) for m in mf] == [("appliance", "Apply")]
    assert mf[0].fields_v1 == {"f:data": {"f:a": {}}}
    # a second manager co-owns a field by applying the same value: no conflict
    co = _apply(core, {"a": "1", "b": "2"}, "other")
    assert co.data == {"a": "1", "b": "2"}
    assert {m.manager for m in co.metadata.managed_fields} == {"appliance", "other"}


def test_server_side_apply_conflict_without_force_is_409(core: Any) -> None:
    _apply(core, {"a": "1"}, "appliance")
    with pytest.raises(ApiException) as exc:
        _apply(core, {"a": "2"}, "intruder")
    body = _body(exc)
    assert exc.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "appliance" using v1: .data.a'
    assert body["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "appliance" using v1',
            "field": ".data.a",
        }
    ]
    assert core.read_namespaced_config_map("cfg", "alga").data == {"a": "1"}
    forced = _apply(core, {"a": "2"}, "intruder", force=True)
    assert forced.data == {"a": "2"}
    owners = {m.manager: m.fields_v1 for m in forced.metadata.managed_fields}
    assert owners == {"intruder": {"f:data": {"f:a": {}}}}


def test_server_side_apply_conflicts_with_an_update_manager(core: Any) -> None:
    core.create_namespaced_config_map(
        "alga", {"metadata": {"name": "cfg"}, "data": {"a": "1"}}, field_manager="kubectl-create"
    )
    with pytest.raises(ApiException) as exc:
        _apply(core, {"a": "9"}, "appliance")
    assert exc.value.status == 409
    assert '"kubectl-create"' in _body(exc)["message"]


def test_server_side_apply_removes_fields_it_stopped_applying(core: Any) -> None:
    _apply(core, {"a": "1", "b": "2"}, "appliance")
    out = _apply(core, {"a": "1"}, "appliance")
    assert out.data == {"a": "1"}


def test_apply_requires_field_manager(http: httpx.Client, server: Any) -> None:
    r = http.patch(
        f"{server.url}/api/v1/namespaces/alga/configmaps/x",
        content=b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": APPLY},
    )
    assert r.status_code == 400 and r.json()["reason"] == "BadRequest"


def test_unknown_patch_type_is_415(http: httpx.Client, server: Any) -> None:
    r = http.patch(
        f"{server.url}/api/v1/namespaces/alga/configmaps/x",
        content=b"{}",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/plain"},
    )
    assert r.status_code == 415 and r.json()["reason"] == "UnsupportedMediaType"


def test_status_subresource_is_separate_from_spec(store: Store, apps: Any) -> None:
    apps.create_namespaced_deployment("kube-system", _deployment())
    # writing status through the main resource is ignored
    dep = apps.read_namespaced_deployment("coredns", "kube-system")
    dep.status = {"readyReplicas": 5}
    dep.spec.replicas = 2
    replaced = apps.replace_namespaced_deployment("coredns", "kube-system", dep)
    assert replaced.spec.replicas == 2 and (replaced.status is None or replaced.status.ready_replicas is None)
    out = apps.patch_namespaced_deployment_status(
        "coredns", "kube-system", {"status": {"readyReplicas": 1, "replicas": 1}}, _content_type=MERGE
    )
    assert out.status.ready_replicas == 1 and out.spec.replicas == 2
    got = apps.read_namespaced_deployment_status("coredns", "kube-system")
    assert got.status.ready_replicas == 1
    got.status.ready_replicas = 0
    got.spec.replicas = 7  # ignored by the status endpoint
    put = apps.replace_namespaced_deployment_status("coredns", "kube-system", got)
    assert put.status.ready_replicas == 0 and put.spec.replicas == 2
    raw = store.get(BY_KEY["apps/v1/deployments"], "kube-system", "coredns")
    assert raw["metadata"]["generation"] == 2


def test_configmaps_have_no_status_subresource(http: httpx.Client, core: Any, server: Any) -> None:
    core.create_namespaced_config_map("alga", {"metadata": {"name": "c"}})
    r = http.get(
        f"{server.url}/api/v1/namespaces/alga/configmaps/c/status",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert r.status_code == 404


def test_server_dry_run_answers_without_writing(store: Store, core: Any) -> None:
    before = store.resource_version
    preview = core.create_namespaced_config_map(
        "alga", {"metadata": {"name": "dry"}, "data": {"a": "1"}}, dry_run="All"
    )
    assert preview.metadata.uid and preview.data == {"a": "1"}
    assert store.try_get(BY_KEY["v1/configmaps"], "alga", "dry") is None
    core.create_namespaced_config_map("alga", {"metadata": {"name": "real"}, "data": {"a": "1"}})
    rv = store.resource_version
    patched = core.patch_namespaced_config_map(
        "real", "alga", {"data": {"a": "2"}}, dry_run="All", _content_type=MERGE
    )
    assert patched.data == {"a": "2"} and patched.metadata.resource_version == str(rv)
    applied = _apply_dry(core)
    assert applied.data == {"a": "9"}
    assert store.get(BY_KEY["v1/configmaps"], "alga", "real")["data"] == {"a": "1"}
    assert store.resource_version == rv > before
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("alga", {"metadata": {"name": "real"}}, dry_run="All")
    assert exc.value.status == 409


def _apply_dry(core: Any) -> Any:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "real", "namespace": "alga"},
        "data": {"a": "9"},
    }
    return core.patch_namespaced_config_map(
        "real", "alga", body, field_manager="m", force=True, dry_run="All", _content_type=APPLY
    )


def test_delete_collection_by_label(core: Any) -> None:
    for name, app in (("a", "web"), ("b", "web"), ("c", "db")):
        core.create_namespaced_config_map("alga", {"metadata": {"name": name, "labels": {"app": app}}})
    core.delete_collection_namespaced_config_map("alga", label_selector="app=web")
    assert [c.metadata.name for c in core.list_namespaced_config_map("alga").items] == ["c"]


def test_create_fills_in_the_real_defaults(core: Any, apps: Any) -> None:
    dep = apps.create_namespaced_deployment("kube-system", _deployment())
    assert dep.spec.replicas == 1 and dep.spec.strategy.type == "RollingUpdate"
    c = dep.spec.template.spec.containers[0]
    assert (c.image_pull_policy, dep.spec.template.spec.restart_policy) == ("IfNotPresent", "Always")
    svc = core.create_namespaced_service(
        "alga", {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    )
    assert svc.spec.type == "ClusterIP" and svc.spec.cluster_ip.startswith("10.")
    assert (svc.spec.ports[0].protocol, svc.spec.ports[0].target_port) == ("TCP", 80)
    pvc = core.create_namespaced_persistent_volume_claim(
        "alga",
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    )
    assert pvc.status.phase == "Pending" and pvc.spec.volume_mode == "Filesystem"


def test_server_side_apply_to_the_status_subresource(custom: Any) -> None:
    body = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "core", "namespace": "flux-system"},
        "spec": {"path": "./core"},
    }
    custom.create_namespaced_custom_object(
        "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations", body
    )
    status = {
        **body,
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded"}]},
    }
    out = custom.patch_namespaced_custom_object_status(
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "flux-system",
        "kustomizations",
        "core",
        status,
        field_manager="kustomize-controller",
        _content_type=APPLY,
    )
    assert out["status"]["conditions"][0]["status"] == "True"
    assert out["spec"] == {"path": "./core"} and out["metadata"]["generation"] == 1
    entry = next(m for m in out["metadata"]["managedFields"] if m["manager"] == "kustomize-controller")
    assert entry["subresource"] == "status" and entry["operation"] == "Apply"
