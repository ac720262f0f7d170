"""Real HTTP endpoints behind the simulated node, and the seed-users exec handler.

- Login: when Deployment ``msp/alga-core-sebastian`` is available, the lab answers the login
  URL like the app (``GET /`` → ``307`` to ``/msp/dashboard``). Its port is reserved when the
  lab starts (bound, not listening), so before that a probe gets "connection refused" exactly
  like a node whose web pod is not up yet.
- Status: when Deployment ``appliance-system/appliance-status`` is available, the lab runs the
  package's own status web service (``appliance_cli.web.server.StatusServer``) against the lab
  API with the token of Secret ``appliance-system/appliance-status-auth``.
- Exec: ``psql ... select count(*) from users`` in ``msp/db-0`` container ``postgres``.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from appliance_lab.controllers.base import DEPLOYMENTS, JOBS, PODS, SECRETS, Ctx, is_true
from appliance_lab.controllers.charts import DB_CONTAINER

LOGIN_DEPLOYMENT = ("msp", "alga-core-sebastian")
STATUS_DEPLOYMENT = ("appliance-system", "appliance-status")


class _LoginHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._reply(307, b"", {"Location": "/msp/dashboard"})
        elif path in ("/msp/dashboard", "/auth/signin", "/login"):
            self._reply(200, b"<!doctype html><title>Alga PSA</title><h1>Sign in to Alga PSA</h1>")
        elif path in ("/api/healthz", "/healthz"):
            self._reply(200, b"ok")
        else:
            self._reply(404, b"<!doctype html><title>404</title>")

    def do_HEAD(self) -> None:
        self.do_GET()


class _ReservedServer:
    """An HTTP server whose port is bound at once but which listens only when ``open()``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0) -> None:
        self.httpd = HTTPServer((host, port), handler, bind_and_activate=False)
        self.httpd.allow_reuse_address = True
        self.httpd.server_bind()
        self.port = int(self.httpd.server_address[1])
        self.host = host
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def open(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            return
        self.httpd.server_activate()
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"lab-endpoint:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()


def _reserve_port(host: str = "127.0.0.1") -> socket.socket:
    """A socket bound to a free port and not listening: nobody else can take the port (a probe
    there is refused) until it is closed, right before the status service binds it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    return s


class Endpoints:
    def __init__(self, ctx: Ctx, *, kubeconfig: Path | None, site_id: str) -> None:
        self.ctx = ctx
        self.kubeconfig = kubeconfig
        self.site_id = site_id
        self.login = _ReservedServer(_LoginHandler)
        self._status_reservation: socket.socket | None = _reserve_port()
        self.status_port = int(self._status_reservation.getsockname()[1])
        self.status_server: Any = None
        ctx.store.register_exec_handler(self.exec_handler)

    @property
    def login_url(self) -> str:
        return self.login.url

    @property
    def status_url(self) -> str:
        return f"http://127.0.0.1:{self.status_port}"

    def _available(self, ns: str, name: str) -> bool:
        d = self.ctx.store.try_get_ref(DEPLOYMENTS, ns, name)
        return d is not None and is_true(d, "Available")

    def reconcile(self) -> None:
        if not self.login.open and self._available(*LOGIN_DEPLOYMENT):
            self.login.start()
        if self.status_server is None and self._available(*STATUS_DEPLOYMENT):
            self._start_status()

    def _start_status(self) -> None:
        token = ""
        secret = self.ctx.store.try_get(SECRETS, "appliance-system", "appliance-status-auth")
        if secret is not None:
            raw = (secret.get("data") or {}).get("token")
            if raw:
                token = base64.b64decode(raw).decode(errors="replace").strip()
            else:
                token = str((secret.get("stringData") or {}).get("token", ""))
        from appliance_cli.web.server import StatusServer

        self._release_status_port()
        self.status_server = StatusServer(
            kubeconfig=self.kubeconfig,
            in_cluster=False,
            token=token,
            host="127.0.0.1",
            port=self.status_port,
            site_id=self.site_id,
        )
        self.status_server.start()

    def _release_status_port(self) -> None:
        if self._status_reservation is not None:
            self._status_reservation.close()
            self._status_reservation = None

    def stop(self) -> None:
        self.login.stop()
        self._release_status_port()
        if self.status_server is not None:
            with contextlib.suppress(Exception):
                self.status_server.stop()

    # -- exec ------------------------------------------------------------------------------
    def exec_handler(
        self, namespace: str, pod: str, container: str, command: list[str]
    ) -> tuple[str, str, int] | None:
        if (
            (namespace, pod, container) != ("msp", "db-0", DB_CONTAINER)
            or not command
            or command[0] != "psql"
        ):
            return None
        sql = command[-1].lower()
        p = self.ctx.store.try_get(PODS, namespace, pod)
        if p is None or not is_true(p, "Ready"):
            return (
                "",
                'psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
                "No such file or directory\n\tIs the server running locally and accepting connections "
                "on that socket?\n",
                2,
            )
        if "from users" not in sql:
            return ("", f"ERROR:  lab: unsupported query: {command[-1]}\n", 1)
        seeded = self.ctx.seeded_users
        if not seeded:
            jobs = self.ctx.store.list(JOBS, "msp")[0]
            if any(
                j["metadata"]["name"].startswith("alga-core-sebastian-bootstrap-") and is_true(j, "Complete")
                for j in jobs
            ):
                seeded = self.ctx.seeded_users = self.ctx.scenario.seed_users
        if not seeded:
            return (
                "",
                'ERROR:  relation "users" does not exist\nLINE 1: select count(*) from users\n'
                "                             ^\n",
                1,
            )
        return (f"{seeded}\n", "", 0)
