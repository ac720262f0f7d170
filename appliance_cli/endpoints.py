"""Where an appliance answers: the one rule for its login and status URLs.

Login: the operator's app URL when one is recorded, else what the target says (the lab
serves login on loopback), else ``http://<node-ip>:3000``. Status: what the target says,
else ``https://<node-ip>:8080`` (the status page is served over TLS with the site's
certificate, see ``appliance_cli.tls``). Its plain-HTTP port, ``http://<node-ip>:8081``,
answers only ``/healthz`` (what Kubernetes probes and bootstrap's brief wait ask) and
redirects everything else to the HTTPS page; a target that serves the page itself answers
``/healthz`` on its status URL. Every caller (bootstrap, status, the status service)
resolves URLs here, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LOGIN_PORT = 3000
STATUS_PORT = 8080  # HTTPS
STATUS_HTTP_PORT = 8081  # plain HTTP: /healthz, and a 308 redirect to the HTTPS page


def host_url(node_ip: str, port: int, scheme: Literal["http", "https"] = "http") -> str:
    host = f"[{node_ip}]" if ":" in node_ip else node_ip
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class Endpoints:
    node_ip: str | None
    app_url: str | None
    login_url: str | None
    status_url: str | None
    # where the status service's /healthz answers without TLS (None when no node is known)
    status_health_url: str | None = None


def resolve(
    *,
    node_ip: str | None,
    app_url: str | None = None,
    target_login_url: str | None = None,
    target_status_url: str | None = None,
    login_port: int = LOGIN_PORT,
) -> Endpoints:
    login = app_url or target_login_url or (host_url(node_ip, login_port) if node_ip else None)
    status = target_status_url or (host_url(node_ip, STATUS_PORT, "https") if node_ip else None)
    health = target_status_url or (host_url(node_ip, STATUS_HTTP_PORT) if node_ip else None)
    return Endpoints(
        node_ip=node_ip, app_url=app_url, login_url=login, status_url=status, status_health_url=health
    )
