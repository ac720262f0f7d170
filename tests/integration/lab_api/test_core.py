"""The lab API over real HTTP with the official client: auth, discovery, list/get/create/delete."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store
from kubernetes.client import ApiException

from .conftest import TOKEN


def _pod(
    name: str, ns: str = "alga", labels: dict[str, str] | None = None, phase: str = "Running"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {"containers": [{"name": "app", "image": "alga/app:1"}], "nodeName": "talos-lab"},
        "status": {"phase": phase},
    }


def test_kubeconfig_is_private_and_names_everything_alga_lab(kubeconfig: Path, server: LabApiServer) -> None:
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    doc = yaml.safe_load(kubeconfig.read_text())
    assert doc["current-context"] == "alga-lab"
    cluster = doc["clusters"][0]
    assert cluster["name"] == "alga-lab" and cluster["cluster"]["server"] == server.url
    assert base64.b64decode(cluster["cluster"]["certificate-authority-data"]) == server.ca_pem
    assert doc["users"][0] == {"name": "alga-lab", "user": {"token": TOKEN}}
    assert server.url.startswith("https://127.0.0.1:")


def test_kubeconfig_text_matches_the_written_file(server: LabApiServer, kubeconfig: Path) -> None:
    assert server.kubeconfig_yaml() == kubeconfig.read_text()


def test_plain_http_server_for_local_tools(store: Store, tmp_path: Path) -> None:
    srv = LabApiServer(store, token=TOKEN, tls=False).start()
    try:
        assert srv.url.startswith("http://127.0.0.1:") and srv.ca_pem is None
        doc = yaml.safe_load(srv.write_kubeconfig(tmp_path / "kc").read_text())
        assert doc["clusters"][0]["cluster"] == {"server": srv.url}
        r = httpx.get(f"{srv.url}/api/v1/namespaces", headers={"Authorization": f"Bearer {TOKEN}"})
        assert [i["metadata"]["name"] for i in r.json()["items"]] == [
            "alga",
            "default",
            "flux-system",
            "kube-system",
        ]
    finally:
        srv.stop()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_requests_without_the_token_get_401_status(
    http: httpx.Client, server: LabApiServer, headers: dict[str, str]
) -> None:
    r = http.get(f"{server.url}/api/v1/namespaces", headers=headers)
    assert r.status_code == 401
    assert r.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


def test_official_client_reports_401_without_token(server: LabApiServer, tmp_path: Path) -> None:
    from kubernetes import client

    ca = tmp_path / "ca.crt"
    ca.write_bytes(server.ca_pem or b"")
    cfg = client.Configuration(host=server.url)
    cfg.ssl_ca_cert = str(ca)
    with client.ApiClient(cfg) as api, pytest.raises(ApiException) as exc:
        client.CoreV1Api(api).list_namespace()
    assert exc.value.status == 401


@pytest.mark.parametrize("path", ["/readyz", "/livez", "/healthz", "/version"])
def test_health_and_version_are_public(http: httpx.Client, server: LabApiServer, path: str) -> None:
    r = http.get(server.url + path)
    assert r.status_code == 200


def test_version_is_realistic(api_client: Any) -> None:
    from kubernetes import client

    info = client.VersionApi(api_client).get_code()
    assert (info.git_version, info.major, info.minor) == ("v1.31.4", "1", "31")


def test_discovery_lists_groups_and_resources(http: httpx.Client, server: LabApiServer) -> None:
    h = {"Authorization": f"Bearer {TOKEN}"}
    api = http.get(f"{server.url}/api", headers=h).json()
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]
    groups = http.get(f"{server.url}/apis", headers=h).json()
    assert groups["kind"] == "APIGroupList"
    names = {g["name"] for g in groups["groups"]}
    assert {
        "apps",
        "batch",
        "kustomize.toolkit.fluxcd.io",
        "helm.toolkit.fluxcd.io",
        "apiextensions.k8s.io",
    } <= names
    core = http.get(f"{server.url}/api/v1", headers=h).json()
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["namespaced"] is True and by_name["pods"]["shortNames"] == ["po"]
    assert "watch" in by_name["pods"]["verbs"]
    assert {"pods/log", "pods/exec", "pods/status"} <= set(by_name)
    assert by_name["namespaces"]["namespaced"] is False
    assert "configmaps/status" not in by_name
    hr = http.get(f"{server.url}/apis/helm.toolkit.fluxcd.io/v2", headers=h).json()
    assert hr["groupVersion"] == "helm.toolkit.fluxcd.io/v2"
    assert [r["kind"] for r in hr["resources"] if r["name"] == "helmreleases"] == ["HelmRelease"]
    assert http.get(f"{server.url}/apis/nope.example.com/v1", headers=h).status_code == 404


def test_create_get_list_delete_configmap(core: Any) -> None:
    created = core.create_namespaced_config_map("alga", {"metadata": {"name": "cfg"}, "data": {"a": "1"}})
    assert created.metadata.uid and int(created.metadata.resource_version) > 0
    got = core.read_namespaced_config_map("cfg", "alga")
    assert got.data == {"a": "1"} and got.metadata.uid == created.metadata.uid
    listed = core.list_namespaced_config_map("alga")
    assert [c.metadata.name for c in listed.items] == ["cfg"]
    assert int(listed.metadata.resource_version) >= int(created.metadata.resource_version)
    core.delete_namespaced_config_map("cfg", "alga")
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("cfg", "alga")
    assert exc.value.status == 404
    body = json.loads(exc.value.body)
    assert body["reason"] == "NotFound" and body["details"] == {"name": "cfg", "kind": "configmaps"}
    assert body["message"] == 'configmaps "cfg" not found'


def test_create_twice_is_already_exists(core: Any) -> None:
    core.create_namespaced_secret("alga", {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_secret("alga", {"metadata": {"name": "s"}})
    assert exc.value.status == 409
    assert json.loads(exc.value.body)["reason"] == "AlreadyExists"
    secret = core.read_namespaced_secret("s", "alga")
    assert secret.data == {"k": "dg=="} and secret.type == "Opaque"


@pytest.mark.parametrize(
    ("name", "reason", "code"),
    [("Bad_Name", "Invalid", 422), ("", "Invalid", 422)],
)
def test_invalid_names_are_rejected_with_invalid_status(core: Any, name: str, reason: str, code: int) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("alga", {"metadata": {"name": name}})
    assert exc.value.status == code
    assert json.loads(exc.value.body)["reason"] == reason


def test_create_in_missing_namespace_is_not_found(core: Any) -> None:
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map("nope", {"metadata": {"name": "x"}})
    assert exc.value.status == 404
    assert json.loads(exc.value.body)["message"] == 'namespaces "nope" not found'


def test_cluster_scoped_and_cross_namespace_lists(store: Store, core: Any) -> None:
    store.create(BY_KEY["v1/pods"], _pod("a", "alga"))
    store.create(BY_KEY["v1/pods"], _pod("b", "kube-system"))
    assert {n.metadata.name for n in core.list_namespace().items} >= {"alga", "kube-system"}
    assert [p.metadata.name for p in core.list_pod_for_all_namespaces().items] == ["a", "b"]
    assert [p.metadata.name for p in core.list_namespaced_pod("kube-system").items] == ["b"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["web-1", "web-2"]),
        ("app==web", ["web-1", "web-2"]),
        ("app!=web", ["db-0", "plain"]),
        ("app in (db, worker)", ["db-0"]),
        ("app notin (web)", ["db-0", "plain"]),
        ("tier", ["db-0", "web-1"]),
        ("!tier", ["plain", "web-2"]),
        ("app=web,tier=front", ["web-1"]),
    ],
)
def test_label_selectors(store: Store, core: Any, selector: str, expected: list[str]) -> None:
    store.create(BY_KEY["v1/pods"], _pod("web-1", labels={"app": "web", "tier": "front"}))
    store.create(BY_KEY["v1/pods"], _pod("web-2", labels={"app": "web"}))
    store.create(BY_KEY["v1/pods"], _pod("db-0", labels={"app": "db", "tier": "data"}))
    store.create(BY_KEY["v1/pods"], _pod("plain"))
    got = core.list_namespaced_pod("alga", label_selector=selector)
    assert [p.metadata.name for p in got.items] == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("status.phase=Running", ["a"]),
        ("status.phase!=Running", ["b"]),
        ("metadata.name=b", ["b"]),
        ("metadata.namespace=alga,spec.nodeName=talos-lab", ["a", "b"]),
    ],
)
def test_field_selectors_on_pods(store: Store, core: Any, selector: str, expected: list[str]) -> None:
    store.create(BY_KEY["v1/pods"], _pod("a"))
    store.create(BY_KEY["v1/pods"], _pod("b", phase="Pending"))
    assert [
        p.metadata.name for p in core.list_namespaced_pod("alga", field_selector=selector).items
    ] == expected


def test_field_selector_on_event_involved_object(store: Store, core: Any) -> None:
    for i, (kind, name) in enumerate([("Pod", "db-0"), ("Pod", "web"), ("Job", "db-0")]):
        store.create(
            BY_KEY["v1/events"],
            {
                "metadata": {"name": f"e{i}", "namespace": "alga"},
                "involvedObject": {"kind": kind, "name": name},
                "reason": "Pulling",
                "type": "Normal",
            },
        )
    got = core.list_namespaced_event(
        "alga", field_selector="involvedObject.name=db-0,involvedObject.kind=Pod"
    )
    assert [e.metadata.name for e in got.items] == ["e0"]


def test_unsupported_field_selector_is_bad_request(core: Any) -> None:
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map("alga", field_selector="data.x=1")
    assert exc.value.status == 400
    assert json.loads(exc.value.body)["message"] == "field label not supported: data.x"


def test_limit_and_continue_page_through_everything(store: Store, core: Any) -> None:
    for i in range(7):
        store.create(BY_KEY["v1/pods"], _pod(f"p{i}"))
    names: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_pod("alga", limit=3, _continue=token)
        pages += 1
        names += [p.metadata.name for p in page.items]
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 7 - len(names)
    assert names == [f"p{i}" for i in range(7)] and pages == 3


def test_namespace_delete_cascades(store: Store, core: Any) -> None:
    store.create(BY_KEY["v1/pods"], _pod("a"))
    core.create_namespaced_config_map("alga", {"metadata": {"name": "c"}})
    ns = core.delete_namespace("alga")
    assert ns["kind"] == "Namespace" if isinstance(ns, dict) else ns.kind == "Namespace"
    assert store.count(BY_KEY["v1/pods"]) == 0 and store.count(BY_KEY["v1/configmaps"]) == 0
    with pytest.raises(ApiException) as exc:
        core.read_namespace("alga")
    assert exc.value.status == 404


def test_delete_collects_owned_objects_unless_orphaned(store: Store, apps: Any, core: Any) -> None:
    rs = store.create(
        BY_KEY["apps/v1/replicasets"], {"metadata": {"name": "web-1", "namespace": "alga"}, "spec": {}}
    )
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": rs["metadata"]["uid"]}
    store.create(
        BY_KEY["v1/pods"],
        {**_pod("web-1-x"), "metadata": {"name": "web-1-x", "namespace": "alga", "ownerReferences": [owner]}},
    )
    apps.delete_namespaced_replica_set("web-1", "alga", propagation_policy="Orphan")
    assert store.count(BY_KEY["v1/pods"]) == 1
    rs = store.create(
        BY_KEY["apps/v1/replicasets"], {"metadata": {"name": "web-2", "namespace": "alga"}, "spec": {}}
    )
    owner = {**owner, "name": "web-2", "uid": rs["metadata"]["uid"]}
    store.create(
        BY_KEY["v1/pods"],
        {**_pod("web-2-x"), "metadata": {"name": "web-2-x", "namespace": "alga", "ownerReferences": [owner]}},
    )
    apps.delete_namespaced_replica_set("web-2", "alga")
    assert [p.metadata.name for p in core.list_namespaced_pod("alga").items] == ["web-1-x"]


def test_flux_custom_resources_round_trip(custom: Any) -> None:
    body = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "core", "namespace": "flux-system"},
        "spec": {
            "interval": "10m",
            "path": "./flux/base/core",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "appliance"},
        },
    }
    custom.create_namespaced_custom_object(
        "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations", body
    )
    got = custom.get_namespaced_custom_object(
        "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations", "core"
    )
    assert got["spec"]["path"] == "./flux/base/core" and got["metadata"]["generation"] == 1
    listed = custom.list_cluster_custom_object("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
    assert listed["kind"] == "KustomizationList" and [i["metadata"]["name"] for i in listed["items"]] == [
        "core"
    ]


def test_unknown_resource_path_is_not_found_status(http: httpx.Client, server: LabApiServer) -> None:
    r = http.get(f"{server.url}/api/v1/widgets", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404 and r.json()["reason"] == "NotFound"


def test_server_stop_releases_port(store: Store) -> None:
    srv = LabApiServer(store, token=TOKEN).start()
    url = srv.url
    assert httpx.get(url + "/readyz", verify=srv.client_ssl_context()).text == "ok"
    srv.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/readyz", timeout=2, verify=False)
