"""`adapters.kube.KubeClient` against the lab API over real HTTPS (the official client underneath)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from appliance_lab.apiserver import LabApiServer, write_kubeconfig
from appliance_lab.store import BY_KEY, Store

from appliance_cli.adapters.kube import KubeClient, resource_path
from appliance_cli.adapters.kube_retry import RetryPolicy
from appliance_cli.adapters.kubeapi import key_for, plural_of
from appliance_cli.errors import (
    KubeConflict,
    KubeInvalid,
    KubeNotFound,
    KubeUnauthorized,
    KubeUnreachable,
    UsageError,
)

pytestmark = pytest.mark.timeout(60)
TOKEN = "kube-client-test-token-0123456789"


@pytest.fixture
def store() -> Store:
    s = Store()
    for ns in ("msp", "flux-system"):
        s.create(BY_KEY["v1/namespaces"], {"metadata": {"name": ns}})
    return s


@pytest.fixture
def lab(store: Store) -> Iterator[LabApiServer]:
    srv = LabApiServer(store, token=TOKEN).start()  # TLS with its own CA, as kubectl needs
    yield srv
    srv.stop()


@pytest.fixture
def kube(lab: LabApiServer, tmp_path: Path) -> KubeClient:
    return KubeClient.from_kubeconfig(lab.write_kubeconfig(tmp_path / "kubeconfig"))


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "msp"},
        "data": data,
    }


@pytest.mark.parametrize(
    ("kind", "plural"),
    [
        ("Pod", "pods"),
        ("Ingress", "ingresses"),
        ("NetworkPolicy", "networkpolicies"),
        ("Endpoints", "endpoints"),
        ("GitRepository", "gitrepositories"),
        ("HelmRelease", "helmreleases"),
        ("StorageClass", "storageclasses"),
    ],
)
def test_plural_of(kind: str, plural: str) -> None:
    assert plural_of(kind) == plural


@pytest.mark.parametrize(
    ("key", "ns", "name", "path"),
    [
        ("v1/pods", "msp", None, "/api/v1/namespaces/msp/pods"),
        ("v1/pods", None, None, "/api/v1/pods"),
        ("v1/nodes", "msp", "n1", "/api/v1/nodes/n1"),
        (
            "helm.toolkit.fluxcd.io/v2/helmreleases",
            "alga-system",
            "x",
            "/apis/helm.toolkit.fluxcd.io/v2/namespaces/alga-system/helmreleases/x",
        ),
    ],
)
def test_resource_path(key: str, ns: str | None, name: str | None, path: str) -> None:
    assert resource_path(key, ns, name) == path


def test_apply_get_patch_list_delete_roundtrip(kube: KubeClient) -> None:
    applied = kube.apply(_cm("a", x="1"))
    assert (
        applied["data"] == {"x": "1"}
        and applied["metadata"]["managedFields"][0]["manager"] == "appliance-cli"
    )
    assert kube.apply(_cm("a", x="2"))["data"] == {"x": "2"}
    assert kube.get("v1/configmaps", "msp", "a")["data"] == {"x": "2"}
    assert kube.patch_merge("v1/configmaps", "msp", "a", {"data": {"y": "3"}})["data"] == {"x": "2", "y": "3"}
    lst = kube.list_raw("v1/configmaps", "msp")
    assert lst["kind"] == "ConfigMapList" and [i["metadata"]["name"] for i in lst["items"]] == ["a"]
    assert kube.delete("v1/configmaps", "msp", "a") is not None
    assert kube.delete("v1/configmaps", "msp", "a") is None
    with pytest.raises(KubeNotFound):
        kube.delete("v1/configmaps", "msp", "a", missing_ok=False)


def test_a_delete_with_a_uid_precondition_spares_a_newer_incarnation(kube: KubeClient) -> None:
    first = kube.apply(_cm("p", x="1"))["metadata"]["uid"]
    assert kube.delete("v1/configmaps", "msp", "p") is not None
    second = kube.apply(_cm("p", x="2"))["metadata"]["uid"]
    assert second != first
    # the object of that name is another incarnation now: the server refuses, the object stays
    with pytest.raises(KubeConflict, match="Precondition failed: UID"):
        kube.delete("v1/configmaps", "msp", "p", uid=first)
    assert kube.get("v1/configmaps", "msp", "p")["data"] == {"x": "2"}
    assert kube.delete("v1/configmaps", "msp", "p", uid=second) is not None
    assert kube.delete("v1/configmaps", "msp", "p") is None


def test_custom_resources_and_selectors(kube: KubeClient) -> None:
    for name, tier in (("alga-core", "core"), ("alga-background", "background")):
        kube.apply(
            {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": name, "namespace": "flux-system", "labels": {"tier": tier}},
                "spec": {
                    "interval": "1m",
                    "path": "./x",
                    "prune": True,
                    "sourceRef": {"kind": "GitRepository", "name": "alga-appliance"},
                },
            }
        )
    key = "kustomize.toolkit.fluxcd.io/v1/kustomizations"
    assert [i["metadata"]["name"] for i in kube.list_raw(key, label_selector="tier=core")["items"]] == [
        "alga-core"
    ]
    got = kube.list_raw(key, field_selector="metadata.name=alga-background")["items"]
    assert [i["metadata"]["name"] for i in got] == ["alga-background"]
    page = kube.list_raw(key, limit=1)
    assert len(page["items"]) == 1 and page["metadata"].get("continue")


def test_errors_are_mapped(kube: KubeClient, lab: LabApiServer, tmp_path: Path) -> None:
    with pytest.raises(KubeNotFound):
        kube.get("v1/configmaps", "msp", "nope")
    kube.create(_cm("dup"))
    with pytest.raises(KubeConflict):
        kube.create(_cm("dup"))
    with pytest.raises(KubeInvalid):
        kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "msp"}})
    bad = KubeClient.from_kubeconfig(
        write_kubeconfig(tmp_path / "bad", lab.url, "wrong-token", ca_pem=lab.ca_pem)
    )
    with pytest.raises(KubeUnauthorized):
        bad.list_raw("v1/pods")


def test_unreachable_carries_the_real_error(tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:9", "x")
    # retried (a refused connection is transient), then the last attempt's real error; how
    # long the default policy keeps trying is test_kube_retry's business
    retry = RetryPolicy(attempts=2, initial_seconds=0.1)
    client = KubeClient.from_kubeconfig(kc, timeout=2, retry=retry)
    with pytest.raises(KubeUnreachable, match="Connection refused"):
        client.list_raw("v1/pods")
    assert client.retries == 1


def test_a_missing_kubeconfig_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="kubeconfig file not found"):
        KubeClient.from_kubeconfig(tmp_path / "nope")


def test_watch_streams_changes_from_a_resource_version(kube: KubeClient) -> None:
    rv = kube.list_raw("v1/configmaps", "msp")["metadata"]["resourceVersion"]
    seen: list[tuple[str, str]] = []

    def run() -> None:
        for etype, obj in kube.watch("v1/configmaps", "msp", resource_version=rv, timeout_seconds=3):
            if etype != "BOOKMARK":
                seen.append((etype, obj["metadata"]["name"]))
            if len(seen) >= 2:
                return

    t = threading.Thread(target=run)
    t.start()
    kube.create(_cm("w1"))
    kube.delete("v1/configmaps", "msp", "w1")
    t.join(timeout=10)
    assert seen == [("ADDED", "w1"), ("DELETED", "w1")]


def test_pod_logs_and_exec(kube: KubeClient, lab: LabApiServer, store: Store) -> None:
    store.create(
        BY_KEY["v1/pods"],
        {
            "metadata": {"name": "db-0", "namespace": "msp"},
            "spec": {"containers": [{"name": "postgres", "image": "postgres"}]},
            "status": {"phase": "Running"},
        },
    )
    lab.append_pod_log("msp", "db-0", "postgres", [f"line {i}" for i in range(100)])
    assert kube.pod_logs("msp", "db-0", "postgres", tail_lines=3) == ["line 97", "line 98", "line 99"]

    def handler(ns: str, pod: str, container: str, command: list[str]) -> tuple[str, str, int] | None:
        return ("7\n", "", 0) if command[0] == "psql" else ("", "boom\n", 3)

    lab.register_exec_handler(handler)
    assert kube.exec("msp", "db-0", "postgres", ["psql", "-c", "x"]) == ("7\n", "", 0)
    out, err, code = kube.exec("msp", "db-0", "postgres", ["false"])
    assert (out, err, code) == ("", "boom\n", 3)


def test_requests_are_counted(kube: KubeClient) -> None:
    before = kube.requests
    kube.list_raw("v1/pods")
    kube.list_raw("v1/nodes")
    assert kube.requests - before == 2
    assert key_for({"apiVersion": "apps/v1", "kind": "Deployment"}) == "apps/v1/deployments"
