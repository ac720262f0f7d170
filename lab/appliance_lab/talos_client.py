"""Lab implementations of the Talos and Flux adapters.

``LabTalosAdapter`` speaks to the simulated node of ``lab.talos_sim`` over HTTP; it stands
where ``TalosctlAdapter`` runs ``talosctl``. ``LabFluxAdapter`` stands where the ``flux`` CLI
is: its install manifests are the Flux CRDs shipped in ``schemas/flux`` plus the
four controller Deployments. The CLI reaches these only through
the composition root (``appliance_cli.env``) when a live lab owns the site.
"""

from __future__ import annotations

import base64
import copy
import functools
import os
import secrets
import ssl
from pathlib import Path
from typing import Any

import yaml

from appliance_cli import yamltext
from appliance_cli.adapters.talos import (
    Disk,
    GenConfigRequest,
    GeneratedConfig,
    HealthResult,
    MaintenanceInfo,
)
from appliance_cli.errors import CommandError, UsageError
from appliance_cli.paths import REPO_ROOT
from appliance_cli.site import atomic_write
from appliance_lab.talos_sim import fake_pem_b64

Obj = dict[str, Any]
TALOS_CONTEXT = "alga-lab"
FLUX_VERSION = "v2.7.3"
FLUX_CONTROLLERS: dict[str, str] = {
    "source-controller": "ghcr.io/fluxcd/source-controller:v1.7.3",
    "kustomize-controller": "ghcr.io/fluxcd/kustomize-controller:v1.7.2",
    "helm-controller": "ghcr.io/fluxcd/helm-controller:v1.4.3",
    "notification-controller": "ghcr.io/fluxcd/notification-controller:v1.7.4",
}


def flux_crd_dir() -> Path:
    return REPO_ROOT / "schemas" / "flux"


@functools.cache
def _flux_crds(directory: Path) -> tuple[Obj, ...]:
    """The CustomResourceDefinitions shipped in ``directory``, parsed once per process (the
    files are part of the checkout; each caller gets its own copies)."""
    crds: list[Obj] = []
    for path in sorted(directory.glob("*.yaml")):
        for doc in yamltext.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                crds.append(doc)
    return tuple(crds)


@functools.cache
def _verify_context() -> ssl.SSLContext:
    """One default TLS context per process: an ``httpx.Client`` built without one loads the
    system's CA bundle again each time (tens of milliseconds); the simulated node speaks plain
    HTTP on loopback anyway."""
    return ssl.create_default_context()


# --------------------------------------------------------------------------- talosconfig


def talosconfig_yaml(*, endpoint: str, node: str, ca_b64: str, context: str = TALOS_CONTEXT) -> str:
    """A talosconfig whose context points at ``endpoint`` (``host:port``) with fake client certs."""
    doc = {
        "context": context,
        "contexts": {
            context: {
                "endpoints": [endpoint],
                "nodes": [node],
                "ca": ca_b64,
                "crt": fake_pem_b64("CERTIFICATE"),
                "key": fake_pem_b64("ED25519 PRIVATE KEY"),
            }
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


def read_talosconfig_ca(path: Path) -> str | None:
    """The ``ca`` of the talosconfig's current context (what the secure API checks)."""
    try:
        doc = yamltext.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read talosconfig: {exc}", param="--talosconfig") from exc
    ctx = (doc.get("contexts") or {}).get(doc.get("context") or "") or {}
    ca = ctx.get("ca")
    return str(ca) if ca else None


# --------------------------------------------------------------------------- machine config


def _token(a: int, b: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return (
        "".join(secrets.choice(alphabet) for _ in range(a))
        + "."
        + "".join(secrets.choice(alphabet) for _ in range(b))
    )


def _merge(base: Obj, patch: Obj) -> Obj:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def controlplane_document(request: GenConfigRequest, *, ca_b64: str) -> Obj:
    """A realistic v1alpha1 controlplane document (fake but well-formed key material)."""
    k8s = request.kubernetes_version
    sans = list(dict.fromkeys([request.node_ip, *request.additional_sans]))
    return {
        "version": "v1alpha1",
        "debug": False,
        "machine": {
            "type": "controlplane",
            "token": _token(6, 16),
            "ca": {"crt": ca_b64, "key": fake_pem_b64("ED25519 PRIVATE KEY")},
            "certSANs": sans,
            "kubelet": {
                "image": f"ghcr.io/siderolabs/kubelet:{k8s}",
                "defaultRuntimeSeccompProfileEnabled": True,
                "disableManifestsDirectory": True,
            },
            "network": {},
            "install": {"disk": request.install_disk, "image": request.installer_image, "wipe": False},
            "features": {
                "diskQuotaSupport": True,
                "kubePrism": {"enabled": True, "port": 7445},
                "hostDNS": {"enabled": True, "forwardKubeDNSToHost": False},
            },
            "nodeLabels": {"node.kubernetes.io/exclude-from-external-load-balancers": ""},
        },
        "cluster": {
            "id": base64.b64encode(os.urandom(32)).decode(),
            "secret": base64.b64encode(os.urandom(32)).decode(),
            "controlPlane": {"endpoint": request.endpoint},
            "clusterName": request.cluster_name,
            "network": {
                "dnsDomain": "cluster.local",
                "podSubnets": ["10.244.0.0/16"],
                "serviceSubnets": ["10.96.0.0/12"],
            },
            "token": _token(6, 16),
            "secretboxEncryptionSecret": base64.b64encode(os.urandom(32)).decode(),
            "ca": {"crt": fake_pem_b64("CERTIFICATE"), "key": fake_pem_b64("EC PRIVATE KEY")},
            "aggregatorCA": {"crt": fake_pem_b64("CERTIFICATE"), "key": fake_pem_b64("EC PRIVATE KEY")},
            "serviceAccount": {"key": fake_pem_b64("EC PRIVATE KEY")},
            "apiServer": {"image": f"registry.k8s.io/kube-apiserver:{k8s}", "certSANs": sans},
            "controllerManager": {"image": f"registry.k8s.io/kube-controller-manager:{k8s}"},
            "proxy": {"image": f"registry.k8s.io/kube-proxy:{k8s}"},
            "scheduler": {"image": f"registry.k8s.io/kube-scheduler:{k8s}"},
            "discovery": {"enabled": True, "registries": {"kubernetes": {"disabled": True}, "service": {}}},
            "etcd": {"ca": {"crt": fake_pem_b64("CERTIFICATE"), "key": fake_pem_b64("EC PRIVATE KEY")}},
            "allowSchedulingOnControlPlanes": True,
        },
    }


# --------------------------------------------------------------------------- Talos adapter


class LabTalosAdapter:
    """``TalosAdapter`` against the lab's simulated node at ``talos_url``."""

    def __init__(self, talos_url: str, *, timeout: float = 10.0) -> None:
        self.talos_url = talos_url.rstrip("/")
        self.timeout = timeout

    # -- HTTP ----------------------------------------------------------------------------------
    def _call(
        self, method: str, path: str, *, talosconfig: Path | None = None, body: Obj | None = None
    ) -> tuple[int, Obj]:
        import httpx

        headers = {}
        if talosconfig is not None:
            ca = read_talosconfig_ca(talosconfig)
            if ca:
                headers["X-Talos-CA"] = ca
        with httpx.Client(timeout=self.timeout, verify=_verify_context()) as client:
            resp = client.request(method, self.talos_url + path, headers=headers, json=body)
        try:
            data = resp.json()
        except ValueError:
            data = {"error": resp.text}
        return resp.status_code, data if isinstance(data, dict) else {}

    def _checked(self, argv: list[str], method: str, path: str, **kw: Any) -> Obj:
        import httpx

        try:
            code, data = self._call(method, path, **kw)
        except httpx.HTTPError as exc:
            raise CommandError(f"{argv[1]} failed: {exc}", argv=argv, returncode=1, stderr=str(exc)) from exc
        if code >= 400:
            msg = str(data.get("error") or f"HTTP {code}")
            raise CommandError(f"{argv[1]} failed: {msg}", argv=argv, returncode=1, stderr=msg)
        return data

    # -- TalosAdapter --------------------------------------------------------------------------
    def maintenance_info(self, node_ip: str) -> MaintenanceInfo:
        import httpx

        try:
            code, data = self._call("GET", "/v1/maintenance/disks")
        except httpx.HTTPError as exc:
            return MaintenanceInfo(reachable=False, error=str(exc) or type(exc).__name__)
        if code >= 400:
            return MaintenanceInfo(reachable=False, error=str(data.get("error") or f"HTTP {code}"))
        disks = tuple(
            Disk(
                dev_path=str(d["devPath"]),
                size_bytes=int(d["size"]),
                model=str(d.get("model", "")),
                transport=str(d.get("transport", "")),
                readonly=bool(d.get("readonly", False)),
            )
            for d in data.get("disks", [])
        )
        return MaintenanceInfo(reachable=True, disks=disks)

    def gen_config(self, request: GenConfigRequest, workdir: Path) -> GeneratedConfig:
        ca_b64 = fake_pem_b64("CERTIFICATE")
        doc = controlplane_document(request, ca_b64=ca_b64)
        for patch in request.patches:
            for p in yaml.safe_load_all(patch):
                if isinstance(p, dict):
                    doc = _merge(doc, p)
        parts = [yaml.safe_dump(doc, sort_keys=False)]
        parts.extend(d.strip() + "\n" for d in request.extra_documents if d.strip())
        controlplane = "---\n".join(parts)
        endpoint = self.talos_url.removeprefix("http://").removeprefix("https://")
        talosconfig = talosconfig_yaml(endpoint=endpoint, node=request.node_ip, ca_b64=ca_b64)
        return GeneratedConfig(controlplane_yaml=controlplane, talosconfig_yaml=talosconfig)

    def apply_config(self, node_ip: str, config_file: Path) -> None:
        argv = ["talosctl", "apply-config", "--insecure", "--nodes", node_ip, "--file", str(config_file)]
        try:
            text = config_file.read_text()
        except OSError as exc:
            raise UsageError(f"cannot read machine config: {exc}", param=str(config_file)) from exc
        self._checked(argv, "POST", "/v1/maintenance/apply-config", body={"config": text})

    def secure_api_ready(self, node_ip: str, talosconfig: Path) -> bool:
        import httpx

        try:
            code, _ = self._call("GET", "/v1/version", talosconfig=talosconfig)
        except httpx.HTTPError:
            return False
        return code == 200

    def bootstrap_etcd(self, node_ip: str, talosconfig: Path) -> None:
        import httpx

        argv = ["talosctl", "--talosconfig", str(talosconfig), "--nodes", node_ip, "bootstrap"]
        try:
            code, data = self._call("POST", "/v1/bootstrap", talosconfig=talosconfig)
        except httpx.HTTPError as exc:
            raise CommandError(f"bootstrap failed: {exc}", argv=argv, returncode=1, stderr=str(exc)) from exc
        if code == 409 or code < 400:
            return  # AlreadyExists: the node was bootstrapped before
        msg = str(data.get("error") or f"HTTP {code}")
        raise CommandError(f"bootstrap failed: {msg}", argv=argv, returncode=1, stderr=msg)

    def write_kubeconfig(self, node_ip: str, talosconfig: Path, out: Path) -> None:
        argv = ["talosctl", "--talosconfig", str(talosconfig), "--nodes", node_ip, "kubeconfig", str(out)]
        data = self._checked(argv, "GET", "/v1/kubeconfig", talosconfig=talosconfig)
        atomic_write(out, str(data["kubeconfig"]), mode=0o600)

    def health(self, node_ip: str, talosconfig: Path) -> HealthResult:
        import httpx

        try:
            code, data = self._call("GET", "/v1/health", talosconfig=talosconfig)
        except httpx.HTTPError as exc:
            return HealthResult(reachable=False, healthy=False, error=str(exc) or type(exc).__name__)
        if code >= 400:
            return HealthResult(reachable=code != 503, healthy=False, error=str(data.get("error")))
        failing = [c["name"] for c in data.get("checks", []) if not c.get("ok")]
        return HealthResult(
            reachable=True, healthy=bool(data.get("healthy")), error="; ".join(failing) or None
        )

    def pull_image(self, node_ip: str, talosconfig: Path, image: str) -> None:
        argv = ["talosctl", "--talosconfig", str(talosconfig), "--nodes", node_ip, "image", "pull", image]
        self._checked(argv, "POST", "/v1/images/pull", talosconfig=talosconfig, body={"image": image})


# --------------------------------------------------------------------------- Flux adapter


def _flux_labels(component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/instance": "flux-system",
        "app.kubernetes.io/part-of": "flux",
        "app.kubernetes.io/version": FLUX_VERSION,
        "control-plane": "controller",
    }


def flux_controller_deployment(name: str, image: str) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "flux-system", "labels": _flux_labels(name)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "serviceAccountName": name,
                    "terminationGracePeriodSeconds": 10,
                    "containers": [
                        {
                            "name": "manager",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "args": [
                                "--events-addr=http://notification-controller.flux-system.svc.cluster.local./",
                                "--watch-all-namespaces=true",
                                "--log-level=info",
                                "--log-encoding=json",
                            ],
                            "ports": [{"containerPort": 8080, "name": "http-prom", "protocol": "TCP"}],
                            "readinessProbe": {"httpGet": {"path": "/readyz", "port": "healthz"}},
                        }
                    ],
                },
            },
        },
    }


class LabFluxAdapter:
    """``FluxAdapter`` for the lab: what ``flux install --export`` would print."""

    def check_cli(self) -> str:
        return FLUX_VERSION.removeprefix("v")

    def install_manifests(self, version: str | None = None) -> list[Obj]:
        objs: list[Obj] = [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "flux-system",
                    "labels": {
                        "app.kubernetes.io/instance": "flux-system",
                        "app.kubernetes.io/part-of": "flux",
                    },
                },
            }
        ]
        objs += copy.deepcopy(list(_flux_crds(flux_crd_dir())))
        for name, image in FLUX_CONTROLLERS.items():
            objs.append(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": "flux-system", "labels": _flux_labels(name)},
                }
            )
            objs.append(flux_controller_deployment(name, image))
        return objs
