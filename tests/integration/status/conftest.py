"""Fixtures: a lab API (plain HTTP on loopback) seeded with a healthy appliance, reached through a
recording proxy that counts requests and can refuse one path with 403; the site ``lab`` and its
status service run in this process."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from appliance_lab.apiserver import LabApiServer, write_kubeconfig
from appliance_lab.store import BY_KEY, Store, resource_for

from appliance_cli.site import Site
from appliance_cli.web.auth import AuthConfig
from appliance_cli.web.server import StatusServer
from tests.unit.status import builders
from tests.unit.web.conftest import start, wait_for

TOKEN = "lab-status-token-0123456789abcdef"
NAMESPACES = ("msp", "alga-system", "flux-system", "appliance-system", "kube-system")


def seed_healthy(store: Store) -> builders.Cluster:
    for ns in NAMESPACES:
        store.create(BY_KEY["v1/namespaces"], {"metadata": {"name": ns}})
    cluster = builders.healthy_cluster()
    for obj in cluster.objects.values():
        store.create(resource_for(obj["apiVersion"], obj["kind"]), obj)
    return cluster


def filler_pods(store: Store, n: int, *, start: int = 0) -> None:
    rt = BY_KEY["v1/pods"]
    for i in range(start, start + n):
        store.create(
            rt,
            {
                "metadata": {"name": f"filler-{i}", "namespace": "msp", "labels": {"app": "filler"}},
                "spec": {"containers": [{"name": "main", "image": "busybox"}]},
                "status": {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [
                        {"name": "main", "ready": True, "restartCount": 0, "state": {"running": {}}}
                    ],
                },
            },
        )


def lab_site(kubeconfig: str, status_token: str) -> Site:
    """The site ``lab`` in the test's appliance home, with this kubeconfig and status token."""
    s = Site.open("lab")
    s.write("kubeconfig", kubeconfig)
    s.write("status-token", status_token)
    return s


@contextmanager
def status_service(token: str, *, interval: float, published: bool = True) -> Iterator[StatusServer]:
    """The status service of site ``lab`` in this process, on a free loopback port, stopped on
    exit; with ``published``, entered once its first status is out (20 s at most)."""
    srv = start(None, token=token, interval=interval, auth_config=AuthConfig())  # the live collector
    try:
        if published:
            wait_for(lambda: srv.state.view().current is not None, timeout=20)
        yield srv
    finally:
        srv.stop()


@dataclass
class Proxy:
    """Forwards to the lab; counts requests; answers 403 for paths containing ``forbid``."""

    upstream_port: int
    forbid: str | None = None
    fail_once: set[str] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def count(self, prefix: str = "/api") -> int:
        with self.lock:
            return sum(1 for p in self.paths if p.startswith(prefix))

    def reset(self) -> None:
        with self.lock:
            self.paths.clear()


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            with proxy.lock:
                proxy.paths.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            failing = next((f for f in proxy.fail_once if f in self.path.split("?")[0]), None)
            if failing is not None:
                with proxy.lock:
                    proxy.fail_once.discard(failing)
                data = (
                    b'{"kind":"Status","apiVersion":"v1","status":"Failure",'
                    b'"reason":"ServiceUnavailable","code":503}'
                )
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if proxy.forbid and proxy.forbid in self.path.split("?")[0]:
                data = (
                    b'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,'
                    b'"message":"helmreleases.helm.toolkit.fluxcd.io is forbidden: User '
                    b'\\"system:serviceaccount:appliance-system:appliance-status\\" cannot list resource"}'
                )
                self.send_response(403)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = _forward
        do_POST = _forward
        do_PATCH = _forward
        do_DELETE = _forward

    return H


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def lab(store: Store) -> Iterator[LabApiServer]:
    srv = LabApiServer(store, token=TOKEN, tls=False)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def proxy(lab: LabApiServer) -> Iterator[Proxy]:
    p = Proxy(upstream_port=lab.port)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _handler(p))
    srv.daemon_threads = True
    p.server = srv
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield p
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def kubeconfig(proxy: Proxy, tmp_path: Path) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", proxy.url, TOKEN)


@pytest.fixture
def direct_kubeconfig(lab: LabApiServer, tmp_path: Path) -> Path:
    """A kubeconfig straight to the lab (exec needs a WebSocket upgrade the proxy does not relay)."""
    return write_kubeconfig(tmp_path / "kubeconfig-direct", lab.url, TOKEN)
