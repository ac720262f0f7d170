"""The lab's simulated Talos node, served as JSON over HTTP on loopback.

Life cycle, like a real single-node Talos machine:

``maintenance`` (insecure API: disk list, apply-config) → ``installing`` → ``rebooting`` →
``running`` (secure API: needs the talosconfig whose CA is the applied config's
``machine.ca``) → ``bootstrap`` once (etcd) → Kubernetes comes up a little later.

An applied machine config is validated document by document against the official Talos
schema (``<repo>/schemas/talos/config.schema.json``); an invalid one is refused
with a Talos-like ``InvalidArgument`` error and changes nothing.

Endpoints (all JSON; errors are ``{"error": "<talosctl-like message>"}``):

- ``GET  /healthz`` — the simulator itself (``{"state": ...}``), always answered.
- ``GET  /v1/maintenance/disks`` — insecure; only in maintenance mode.
- ``POST /v1/maintenance/apply-config`` ``{"config": "<multi-document YAML>"}`` — insecure.
- ``GET  /v1/version`` — secure (header ``X-Talos-CA``: the talosconfig context's ``ca``).
- ``POST /v1/bootstrap`` — secure; a second call is ``409`` AlreadyExists.
- ``GET  /v1/kubeconfig`` — secure; after bootstrap.
- ``GET  /v1/health`` — secure.
- ``POST /v1/images/pull`` ``{"image": "..."}`` — secure.

State lives in this object (the node is not a Kubernetes object); time advances lazily from
timestamps so no timer thread is needed. ``speed`` divides every duration.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import yaml

from appliance_cli.env import Clock, SystemClock
from appliance_cli.paths import REPO_ROOT

TalosState = Literal["maintenance", "installing", "rebooting", "running"]

UNAVAILABLE_REFUSED = (
    'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: '
    'dial tcp {addr}: connect: connection refused"'
)
CERT_REQUIRED = (
    'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication '
    'handshake failed: tls: certificate required"'
)
UNKNOWN_AUTHORITY = (
    'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication '
    'handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"'
)
MAINTENANCE_ONLY = "rpc error: code = Unimplemented desc = API is not implemented in maintenance mode"
ALREADY_BOOTSTRAPPED = "rpc error: code = AlreadyExists desc = etcd data directory is not empty"


def talos_schema_path() -> Path:
    """``<repo>/schemas/talos/config.schema.json`` (the committed upstream schema)."""
    return REPO_ROOT / "schemas" / "talos" / "config.schema.json"


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML SafeLoader with YAML 1.2 booleans: only true/false, so ``auto: off`` stays a string."""


_Yaml12Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_documents_yaml12(text: str) -> list[Any]:
    """Every non-empty document of ``text``, read with YAML 1.2 booleans."""
    return [d for d in yaml.load_all(text, Loader=_Yaml12Loader) if d is not None]


@cache
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(talos_schema_path().read_text())
    return data


def _def_for(doc: dict[str, Any]) -> str | None:
    defs: dict[str, Any] = _schema()["$defs"]
    if "kind" not in doc and "version" in doc:
        return "v1alpha1.Config"
    kind = doc.get("kind")
    for ref in _schema()["oneOf"]:
        name = ref["$ref"].rsplit("/", 1)[-1]
        props = defs[name].get("properties", {})
        if kind in (props.get("kind") or {}).get("enum", []):
            return str(name)
    return None


def validate_machine_config(text: str) -> list[str]:
    """Problems of a multi-document machine config (empty when valid), Talos-style wording."""
    from jsonschema import Draft202012Validator

    try:
        docs = load_documents_yaml12(text)
    except yaml.YAMLError as exc:
        return [f"failed to parse config: {exc}"]
    problems: list[str] = []
    legacy = 0
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict):
            problems.append(f"document {index}: not a mapping")
            continue
        name = _def_for(doc)
        label = str(doc.get("kind") or ("v1alpha1" if "version" in doc else f"document {index}"))
        if name is None:
            problems.append(
                f'unknown document type: apiVersion "{doc.get("apiVersion")}", kind "{doc.get("kind")}"'
            )
            continue
        if name == "v1alpha1.Config":
            legacy += 1
        schema = {"$schema": _schema()["$schema"], "$defs": _schema()["$defs"], "$ref": f"#/$defs/{name}"}
        for err in sorted(Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path)):
            path = ".".join(str(p) for p in err.absolute_path) or "(root)"
            problems.append(f"{label}: {path}: {err.message}")
    if legacy == 0:
        problems.append("machine config is missing the v1alpha1 document (version: v1alpha1)")
    elif legacy > 1:
        problems.append("duplicate v1alpha1 document")
    return problems


def invalid_argument(problems: list[str]) -> str:
    n = len(problems)
    body = "".join(f"\t* {p}\n" for p in problems)
    return (
        "rpc error: code = InvalidArgument desc = configuration validation failed: "
        f"{n} error{'s' if n != 1 else ''} occurred:\n{body}\n"
    )


@dataclass(frozen=True)
class SimDisk:
    dev_path: str = "/dev/sda"
    size_bytes: int = 128 * 1000**3
    model: str = "QEMU HARDDISK"
    transport: str = "virtio"
    readonly: bool = False


class TalosError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class TalosTimings:
    """Seconds at speed 1."""

    install: float = 20.0
    reboot: float = 10.0
    kubernetes_start: float = 8.0


@dataclass
class TalosSim:
    """One simulated node. Thread-safe; durations are divided by ``speed``."""

    node_ip: str = "127.0.0.1"
    talos_version: str = "v1.12.0"
    speed: float = 1.0
    timings: TalosTimings = field(default_factory=TalosTimings)
    disks: tuple[SimDisk, ...] = (SimDisk(),)
    kubeconfig_text: str = ""
    ca_b64: str | None = None  # the machine CA (set by an applied config)
    on_bootstrap: Callable[[], None] | None = None
    clock: Clock = field(default_factory=SystemClock)  # the lab's time (a test may make it virtual)
    _applied_at: float | None = None
    _bootstrapped_at: float | None = None
    _config_text: str | None = None
    _pulled: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- state -------------------------------------------------------------------------------
    def _scaled(self, seconds: float) -> float:
        return seconds / self.speed

    @property
    def state(self) -> TalosState:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> TalosState:
        if self._applied_at is None:
            return "maintenance"
        elapsed = self.clock.monotonic() - self._applied_at
        if elapsed < self._scaled(self.timings.install):
            return "installing"
        if elapsed < self._scaled(self.timings.install + self.timings.reboot):
            return "rebooting"
        return "running"

    @property
    def bootstrapped(self) -> bool:
        with self._lock:
            return self._bootstrapped_at is not None

    def kubernetes_up(self) -> bool:
        """Whether the API server and kubelet would be up by now (some seconds after bootstrap)."""
        with self._lock:
            if self._bootstrapped_at is None:
                return False
            up_for = self.clock.monotonic() - self._bootstrapped_at
            return up_for >= self._scaled(self.timings.kubernetes_start)

    @property
    def applied_config(self) -> str | None:
        with self._lock:
            return self._config_text

    @property
    def pulled_images(self) -> list[str]:
        with self._lock:
            return list(self._pulled)

    def preinstall(self, ca_b64: str) -> None:
        """Start as an installed, bootstrapped node (``appliance lab up --bootstrapped``)."""
        with self._lock:
            self.ca_b64 = ca_b64
            now = self.clock.monotonic()
            self._applied_at = now - self._scaled(self.timings.install + self.timings.reboot) - 1
            self._bootstrapped_at = now - self._scaled(self.timings.kubernetes_start) - 1
        if self.on_bootstrap is not None:
            self.on_bootstrap()

    # -- insecure API ------------------------------------------------------------------------
    def _require_maintenance(self) -> None:
        state = self._state_locked()
        if state == "maintenance":
            return
        if state in ("installing", "rebooting"):
            raise TalosError(503, UNAVAILABLE_REFUSED.format(addr=f"{self.node_ip}:50000"))
        raise TalosError(401, CERT_REQUIRED)

    def list_disks(self) -> list[dict[str, Any]]:
        with self._lock:
            self._require_maintenance()
            return [
                {
                    "devPath": d.dev_path,
                    "size": d.size_bytes,
                    "model": d.model,
                    "transport": d.transport,
                    "readonly": d.readonly,
                }
                for d in self.disks
            ]

    def apply_config(self, text: str) -> None:
        with self._lock:
            self._require_maintenance()
        problems = validate_machine_config(text)
        docs = [] if problems else load_documents_yaml12(text)
        legacy = next((d for d in docs if isinstance(d, dict) and "version" in d and "kind" not in d), {})
        machine = legacy.get("machine") or {}
        if not problems:
            disk = (machine.get("install") or {}).get("disk")
            if disk and disk not in {d.dev_path for d in self.disks}:
                problems.append(f"specified install disk does not exist: {disk!r}")
            if machine.get("type") not in ("controlplane", "init"):
                problems.append(
                    f"this single-node appliance needs machine.type controlplane, got {machine.get('type')!r}"
                )
            if not (machine.get("ca") or {}).get("crt"):
                problems.append("machine.ca.crt is required")
        if problems:
            raise TalosError(400, invalid_argument(problems))
        with self._lock:
            self._require_maintenance()
            self.ca_b64 = str(machine["ca"]["crt"])
            self._config_text = text
            self._applied_at = self.clock.monotonic()

    # -- secure API --------------------------------------------------------------------------
    def _require_secure(self, ca_b64: str | None) -> None:
        state = self._state_locked()
        if state == "maintenance":
            raise TalosError(503, MAINTENANCE_ONLY)
        if state != "running":
            raise TalosError(503, UNAVAILABLE_REFUSED.format(addr=f"{self.node_ip}:50000"))
        if not ca_b64 or ca_b64 != self.ca_b64:
            raise TalosError(401, UNKNOWN_AUTHORITY)

    def version(self, ca_b64: str | None) -> dict[str, Any]:
        with self._lock:
            self._require_secure(ca_b64)
            return {"node": self.node_ip, "tag": self.talos_version, "arch": "amd64", "platform": "metal"}

    def bootstrap(self, ca_b64: str | None) -> None:
        with self._lock:
            self._require_secure(ca_b64)
            if self._bootstrapped_at is not None:
                raise TalosError(409, ALREADY_BOOTSTRAPPED)
            self._bootstrapped_at = self.clock.monotonic()
        if self.on_bootstrap is not None:
            self.on_bootstrap()

    def kubeconfig(self, ca_b64: str | None) -> str:
        with self._lock:
            self._require_secure(ca_b64)
            if self._bootstrapped_at is None:
                raise TalosError(
                    503,
                    "rpc error: code = Unavailable desc = kubeconfig is not available yet: "
                    "the cluster is not bootstrapped (run talosctl bootstrap)",
                )
            return self.kubeconfig_text

    def health(self, ca_b64: str | None) -> dict[str, Any]:
        with self._lock:
            self._require_secure(ca_b64)
        up = self.kubernetes_up()
        checks = [
            {"name": "waiting for etcd to be healthy", "ok": self.bootstrapped},
            {"name": "waiting for apid to be ready", "ok": True},
            {"name": "waiting for kubelet to be healthy", "ok": up},
            {"name": "waiting for all k8s nodes to report ready", "ok": up},
        ]
        return {"healthy": all(c["ok"] for c in checks), "checks": checks}

    def pull_image(self, ca_b64: str | None, image: str) -> None:
        with self._lock:
            self._require_secure(ca_b64)
            self._pulled.append(image)


class _Handler(BaseHTTPRequestHandler):
    server: _SimHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        try:
            obj = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return obj if isinstance(obj, dict) else {}

    def _handle(self, method: str) -> None:
        sim = self.server.sim
        ca = self.headers.get("X-Talos-CA")
        path = self.path.split("?", 1)[0]
        try:
            if method == "GET" and path == "/healthz":
                self._send(200, {"state": sim.state, "bootstrapped": sim.bootstrapped})
            elif method == "GET" and path == "/v1/maintenance/disks":
                self._send(200, {"disks": sim.list_disks()})
            elif method == "POST" and path == "/v1/maintenance/apply-config":
                sim.apply_config(str(self._body().get("config", "")))
                self._send(200, {"message": "Applied configuration without a reboot", "mode": "REBOOT"})
            elif method == "GET" and path == "/v1/version":
                self._send(200, sim.version(ca))
            elif method == "POST" and path == "/v1/bootstrap":
                sim.bootstrap(ca)
                self._send(200, {})
            elif method == "GET" and path == "/v1/kubeconfig":
                self._send(200, {"kubeconfig": sim.kubeconfig(ca)})
            elif method == "GET" and path == "/v1/health":
                self._send(200, sim.health(ca))
            elif method == "POST" and path == "/v1/images/pull":
                sim.pull_image(ca, str(self._body().get("image", "")))
                self._send(200, {})
            else:
                self._send(404, {"error": f"rpc error: code = Unimplemented desc = unknown method {path}"})
        except TalosError as exc:
            self._send(exc.code, {"error": exc.message})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


class _SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    sim: TalosSim


class TalosSimServer:
    """Serves a ``TalosSim`` on loopback in a background thread."""

    def __init__(self, sim: TalosSim, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.host = host
        self.port = port
        self._httpd: _SimHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> TalosSimServer:
        httpd = _SimHTTPServer((self.host, self.port), _Handler)
        httpd.sim = self.sim
        self._httpd = httpd
        self.port = int(httpd.server_address[1])
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="talos-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def fake_pem(label: str, seed: bytes) -> str:
    """A well-formed PEM block with random content (the lab's stand-in for key material)."""
    body = base64.b64encode(seed * (48 // max(1, len(seed)) + 1))[: 64 * 6].decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def fake_pem_b64(label: str) -> str:
    import os

    return base64.b64encode(fake_pem(label, os.urandom(48)).encode()).decode()
