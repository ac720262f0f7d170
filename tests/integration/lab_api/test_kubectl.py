"""Fidelity: the real ``kubectl`` binary against the lab API with a kubeconfig from the lab."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from appliance_lab.apiserver import LabApiServer, write_kubeconfig
from appliance_lab.store import BY_KEY, Store

pytestmark = pytest.mark.kubectl

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  namespace: alga
data:
  a: "{value}"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: alga
spec:
  replicas: 1
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx:{value}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./flux/base/core
  prune: true
  sourceRef: {{kind: GitRepository, name: appliance}}
"""


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Kubectl:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail(
            "kubectl is not on PATH: the lab fidelity checks need the kubectl binary (with kustomize v5)"
        )
    cache = tmp_path / "kube-cache"

    def run(*args: str, config: Path = kubeconfig, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [binary, f"--kubeconfig={config}", f"--cache-dir={cache}", "--request-timeout=20s", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    return run


@pytest.fixture
def seeded(store: Store) -> Store:
    store.create(
        BY_KEY["v1/nodes"],
        {
            "metadata": {"name": "talos-lab"},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "nodeInfo": {"kubeletVersion": "v1.31.4"},
            },
        },
    )
    store.create(
        BY_KEY["v1/pods"],
        {
            "metadata": {"name": "db-0", "namespace": "alga"},
            "spec": {"containers": [{"name": "postgres", "image": "postgres:16"}], "nodeName": "talos-lab"},
            "status": {
                "phase": "Running",
                "containerStatuses": [
                    {"name": "postgres", "ready": True, "restartCount": 2, "state": {"running": {}}}
                ],
            },
        },
    )
    store.create(
        BY_KEY["kustomize.toolkit.fluxcd.io/v1/kustomizations"],
        {
            "metadata": {"name": "platform", "namespace": "flux-system"},
            "spec": {"path": "./flux/base/platform"},
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True", "message": "Applied revision: main@sha1:0a1b2c3"}
                ]
            },
        },
    )
    return store


def _table(out: str) -> list[list[str]]:
    return [line.split() for line in out.strip().splitlines()]


def test_get_namespaces(kubectl: Kubectl) -> None:
    rows = _table(kubectl("get", "ns").stdout)
    assert rows[0] == ["NAME", "STATUS", "AGE"]
    assert [(r[0], r[1]) for r in rows[1:]] == [
        ("alga", "Active"),
        ("default", "Active"),
        ("flux-system", "Active"),
        ("kube-system", "Active"),
    ]


def test_get_nodes(seeded: Store, kubectl: Kubectl) -> None:
    rows = _table(kubectl("get", "nodes").stdout)
    assert rows[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert rows[1][:3] == ["talos-lab", "Ready", "control-plane"] and rows[1][4] == "v1.31.4"


def test_get_pods_all_namespaces_json(seeded: Store, kubectl: Kubectl) -> None:
    doc = json.loads(kubectl("get", "pods", "-A", "-o", "json").stdout)
    assert doc["kind"] == "List" and doc["apiVersion"] == "v1"
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in doc["items"]] == [("alga", "db-0")]
    assert doc["items"][0]["status"]["containerStatuses"][0]["restartCount"] == 2


def test_get_pods_table(seeded: Store, kubectl: Kubectl) -> None:
    rows = _table(kubectl("get", "pods", "-A").stdout)
    assert rows[0] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert rows[1][:5] == ["alga", "db-0", "1/1", "Running", "2"]


def test_get_flux_kustomizations_by_full_name(seeded: Store, kubectl: Kubectl) -> None:
    out = kubectl("get", "kustomizations.kustomize.toolkit.fluxcd.io", "-A").stdout
    rows = _table(out)
    assert rows[0] == ["NAMESPACE", "NAME", "AGE", "READY", "STATUS"]
    assert rows[1][:2] == ["flux-system", "platform"] and rows[1][3] == "True"
    assert "Applied revision: main@sha1:0a1b2c3" in out
    assert "platform" in kubectl("get", "ks", "-n", "flux-system").stdout


def test_apply_client_side_creates_then_configures(store: Store, kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST.format(value="1"))
    out = kubectl("apply", "-f", str(manifest)).stdout
    assert out.splitlines() == [
        "configmap/demo created",
        "deployment.apps/web created",
        "kustomization.kustomize.toolkit.fluxcd.io/apps created",
    ]
    manifest.write_text(MANIFEST.format(value="2"))
    out = kubectl("apply", "-f", str(manifest)).stdout
    assert out.splitlines() == [
        "configmap/demo configured",
        "deployment.apps/web configured",
        "kustomization.kustomize.toolkit.fluxcd.io/apps unchanged",
    ]
    dep = store.get(BY_KEY["apps/v1/deployments"], "alga", "web")
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert store.get(BY_KEY["v1/configmaps"], "alga", "demo")["data"] == {"a": "2"}
    assert "unchanged" in kubectl("apply", "-f", str(manifest)).stdout


def test_apply_server_side_and_conflicts(store: Store, kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST.format(value="1"))
    out = kubectl("apply", "--server-side", "-f", str(manifest)).stdout
    assert out.count("serverside-applied") == 3
    cm = store.get(BY_KEY["v1/configmaps"], "alga", "demo")
    assert [(m["manager"], m["operation"]) for m in cm["metadata"]["managedFields"]] == [("kubectl", "Apply")]
    manifest.write_text(MANIFEST.format(value="2"))
    clash = kubectl("apply", "--server-side", "--field-manager=intruder", "-f", str(manifest), check=False)
    assert clash.returncode == 1
    assert 'Apply failed with 1 conflict: conflict with "kubectl" using v1: .data.a' in clash.stderr
    assert store.get(BY_KEY["v1/configmaps"], "alga", "demo")["data"] == {"a": "1"}
    kubectl("apply", "--server-side", "--field-manager=intruder", "--force-conflicts", "-f", str(manifest))
    assert store.get(BY_KEY["v1/configmaps"], "alga", "demo")["data"] == {"a": "2"}


def test_delete_objects_and_namespace(store: Store, kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST.format(value="1"))
    kubectl("apply", "-f", str(manifest))
    out = kubectl("delete", "-f", str(manifest)).stdout
    assert out.splitlines() == [
        'configmap "demo" deleted',
        'deployment.apps "web" deleted',
        'kustomization.kustomize.toolkit.fluxcd.io "apps" deleted',
    ]
    kubectl("create", "configmap", "left", "-n", "alga", "--from-literal=x=1")
    assert kubectl("delete", "ns", "alga").stdout.strip() == 'namespace "alga" deleted'
    assert store.try_get(BY_KEY["v1/configmaps"], "alga", "left") is None
    missing = kubectl("get", "cm", "left", "-n", "alga", check=False)
    # kubectl itself asks for the namespace after a 404 and reports that it is gone
    assert missing.returncode == 1 and 'namespaces "alga" not found' in missing.stderr


def test_logs_tail(seeded: Store, kubectl: Kubectl) -> None:
    seeded.append_pod_log("alga", "db-0", "postgres", [f"line {i}" for i in range(5)])
    assert kubectl("logs", "-n", "alga", "db-0", "--tail=2").stdout == "line 3\nline 4\n"


def test_kubeconfig_without_the_token_is_refused(
    server: LabApiServer, kubectl: Kubectl, tmp_path: Path
) -> None:
    bad = write_kubeconfig(tmp_path / "bad", server.url, "not-the-token", ca_pem=server.ca_pem)
    proc = kubectl("get", "ns", config=bad, check=False)
    assert proc.returncode == 1
    assert "You must be logged in to the server" in proc.stderr
    assert yaml.safe_load(bad.read_text())["users"][0]["user"]["token"] == "not-the-token"


def test_exec_runs_the_registered_handler(seeded: Store, kubectl: Kubectl) -> None:
    seeded.register_exec_handler(lambda ns, pod, c, cmd: ("3\n", "", 0) if cmd[:1] == ["psql"] else None)
    ok = kubectl("exec", "-n", "alga", "db-0", "--", "psql", "-tAc", "select count(*) from users")
    assert ok.stdout == "3\n"
    missing = kubectl("exec", "-n", "alga", "db-0", "--", "nope", check=False)
    assert missing.returncode == 126
    assert 'exec: "nope": executable file not found in $PATH' in missing.stderr


def test_get_watch_prints_rows_as_objects_change(seeded: Store, kubeconfig: Path, tmp_path: Path) -> None:
    import queue
    import threading

    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail(
            "kubectl is not on PATH: the lab fidelity checks need the kubectl binary (with kustomize v5)"
        )
    proc = subprocess.Popen(
        [
            binary,
            f"--kubeconfig={kubeconfig}",
            f"--cache-dir={tmp_path / 'c'}",
            "get",
            "pods",
            "-n",
            "alga",
            "-w",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        assert lines.get(timeout=20).split()[:3] == ["NAME", "READY", "STATUS"]
        assert lines.get(timeout=20).split()[:3] == ["db-0", "1/1", "Running"]
        # the rows above come from the list; the watch resumes from its resourceVersion
        seeded.mutate(BY_KEY["v1/pods"], "alga", "db-0", lambda p: p["status"].update(phase="Failed"))
        assert lines.get(timeout=20).split()[:3] == ["db-0", "1/1", "Failed"]
    finally:
        proc.kill()
        proc.wait(timeout=10)
