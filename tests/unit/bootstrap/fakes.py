"""Fakes at the protocol edge for engine tests: an in-memory cluster that settles what is
applied, a Talos node, a Flux CLI, and a status function over the fake cluster."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance_cli.adapters.talos import (
    Disk,
    GenConfigRequest,
    GeneratedConfig,
    HealthResult,
    MaintenanceInfo,
)
from appliance_cli.bootstrap.actions import resource_key
from appliance_cli.bootstrap.context import Adapters, BootstrapContext
from appliance_cli.env import SiteEnv
from appliance_cli.errors import KubeNotFound
from appliance_cli.site import Site
from appliance_cli.status.model import StatusDocument

Obj = dict[str, Any]
COREFILE = (
    ".:53 {\n    errors\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n"
    "    cache 30\n}\n"
)


def _key(key: str, ns: str | None, name: str) -> tuple[str, str, str]:
    return (key, ns or "", name)


@dataclass
class FakeCluster:
    """A tiny API: objects by (resource key, namespace, name). Applied objects settle at once
    (Deployments ready, Pods Succeeded, Flux objects Ready) unless ``pod_outcome`` says otherwise."""

    objects: dict[tuple[str, str, str], Obj] = field(default_factory=dict)
    applies: list[str] = field(default_factory=list)
    writes: int = 0
    pod_outcome: Callable[[Obj], Obj | None] = lambda pod: None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.put(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": "node1"},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            }
        )
        self.put(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "coredns", "namespace": "kube-system"},
                "data": {"Corefile": COREFILE},
            }
        )
        self.put(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "coredns", "namespace": "kube-system", "generation": 1},
                "spec": {"replicas": 1},
                "status": {
                    "observedGeneration": 1,
                    "replicas": 1,
                    "readyReplicas": 1,
                    "availableReplicas": 1,
                    "updatedReplicas": 1,
                },
            }
        )

    def put(self, obj: Obj) -> None:
        meta = obj["metadata"]
        self.objects[_key(resource_key(obj), meta.get("namespace"), meta["name"])] = obj

    # KubeApi ----------------------------------------------------------------------------
    def list_raw(
        self,
        key: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        *,
        continue_token: str | None = None,
        timeout: float | None = None,
    ) -> Obj:
        items = [
            copy.deepcopy(o)
            for (k, ns, _), o in self.objects.items()
            if k == key and (namespace is None or ns == namespace)
        ]
        return {"kind": "List", "items": items}

    def get(self, key: str, namespace: str | None, name: str) -> Obj:
        try:
            return copy.deepcopy(self.objects[_key(key, namespace, name)])
        except KeyError:
            raise KubeNotFound(f"{key} {namespace}/{name} not found", status=404) from None

    def apply(self, obj: Obj, field_manager: str = "appliance-cli", force: bool = True) -> Obj:
        assert field_manager == "appliance-cli"
        with self.lock:
            self.writes += 1
            obj = copy.deepcopy(obj)
            self.applies.append(
                f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
            )
            kind = obj["kind"]
            if kind == "Deployment":
                obj["status"] = {
                    "observedGeneration": 1,
                    "replicas": 1,
                    "readyReplicas": 1,
                    "availableReplicas": 1,
                    "updatedReplicas": 1,
                }
            elif kind == "Pod":
                obj["status"] = self.pod_outcome(obj) or {"phase": "Succeeded"}
            elif kind in ("Kustomization", "GitRepository"):
                obj["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded"}]}
            self.put(obj)
            return obj

    def patch_merge(self, key: str, namespace: str | None, name: str, patch: Obj) -> Obj:
        self.writes += 1
        return self.get(key, namespace, name)

    def delete(self, key: str, namespace: str | None, name: str) -> None:
        self.writes += 1
        self.objects.pop(_key(key, namespace, name), None)

    def pod_logs(self, namespace: str, pod: str, container: str | None, tail_lines: int) -> str:
        return self.objects.get(_key("v1/pods", namespace, pod), {}).get("_logs", "")

    def count(self, kind: str, namespace: str | None = None) -> int:
        return sum(
            1
            for o in self.objects.values()
            if o["kind"] == kind and (namespace is None or o["metadata"].get("namespace") == namespace)
        )


@dataclass
class FakeTalos:
    calls: list[str] = field(default_factory=list)
    maintenance: bool = True
    configured: bool = False

    def maintenance_info(self, node_ip: str) -> MaintenanceInfo:
        self.calls.append("maintenance_info")
        if not self.maintenance:
            return MaintenanceInfo(reachable=False, error="connection refused")
        return MaintenanceInfo(
            reachable=True, disks=(Disk("/dev/sda", 256 * 2**30), Disk("/dev/sdb", 8 * 2**30))
        )

    def gen_config(self, request: GenConfigRequest, workdir: Path) -> GeneratedConfig:
        self.calls.append(f"gen_config {request.install_disk}")
        self.request = request
        return GeneratedConfig("version: v1alpha1\nmachine: {}\n", "context: test\n")

    def apply_config(self, node_ip: str, config_file: Path) -> None:
        self.calls.append("apply_config")
        self.maintenance, self.configured = False, True

    def secure_api_ready(self, node_ip: str, talosconfig: Path) -> bool:
        return self.configured

    def bootstrap_etcd(self, node_ip: str, talosconfig: Path) -> None:
        self.calls.append("bootstrap_etcd")

    def write_kubeconfig(self, node_ip: str, talosconfig: Path, out: Path) -> None:
        self.calls.append("write_kubeconfig")
        from appliance_cli.site import atomic_write

        atomic_write(out, FAKE_KUBECONFIG, mode=0o600)

    def health(self, node_ip: str, talosconfig: Path) -> HealthResult:
        return HealthResult(True, True)

    def pull_image(self, node_ip: str, talosconfig: Path, image: str) -> None:
        self.calls.append(f"pull_image {image}")


# A kubeconfig the Kubernetes client can load (the fakes never dial it).
FAKE_KUBECONFIG = """apiVersion: v1
kind: Config
current-context: fake
clusters:
- name: fake
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
users:
- name: fake
  user: {token: fake-token}
contexts:
- name: fake
  context: {cluster: fake, user: fake}
"""


class FakeFlux:
    def __init__(self) -> None:
        self.installs = 0

    def check_cli(self) -> str:
        return "2.4.0"

    def install_manifests(self, version: str | None) -> list[Obj]:
        self.installs += 1
        return [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}},
            *[
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": n, "namespace": "flux-system"},
                    "spec": {"replicas": 1},
                }
                for n in ("source-controller", "kustomize-controller", "helm-controller")
            ],
        ]


def status_doc(
    state: str = "fully_healthy", *, blockers: list[Obj] | None = None, ready: dict[str, bool] | None = None
) -> StatusDocument:
    tiers = {t: True for t in ("platform", "core", "bootstrap", "login", "background", "fullHealth")}
    tiers.update(ready or {})
    return StatusDocument.model_validate(
        {
            "siteId": "t",
            "timestamp": "2026-01-01T00:00:00Z",
            "release": {},
            "urls": {"statusUrl": "http://10.0.0.5:8080", "loginUrl": "http://10.0.0.5:3000"},
            "rollup": {"state": state, "message": "m", "nextAction": "n"},
            "tiers": {k: {"ready": v, "status": "healthy" if v else "progressing"} for k, v in tiers.items()},
            "topBlockers": blockers or [],
        }
    )


@dataclass
class Harness:
    cluster: FakeCluster = field(default_factory=FakeCluster)
    talos: FakeTalos = field(default_factory=FakeTalos)
    flux: FakeFlux = field(default_factory=FakeFlux)
    doc: Callable[[BootstrapContext], StatusDocument | None] = lambda ctx: status_doc()
    status_calls: int = 0

    def adapters(self) -> Adapters:
        def status(ctx: BootstrapContext) -> StatusDocument | None:
            self.status_calls += 1
            return self.doc(ctx)

        return Adapters(
            env=lambda site: SiteEnv(site=site, make_talos=lambda: self.talos, make_flux=lambda: self.flux),
            kube=lambda path, clock: self.cluster,
            status=status,
            image_check=lambda ctx: None,
            healthz=lambda url: (True, f"{url}/healthz answered 200"),
        )


def site_files(site: Site) -> dict[str, bytes]:
    if not site.root.exists():
        return {}
    return {
        str(p.relative_to(site.root)): p.read_bytes() for p in sorted(site.root.rglob("*")) if p.is_file()
    }
