"""Where an appliance answers: the one rule for its login and status URLs.

Login: the operator's app URL when one is recorded, else what the target says (the lab
serves login on loopback), else ``http://<node-ip>:3000``. Status: what the target says,
else ``http://<node-ip>:8080``. Every caller (bootstrap, status, the status service)
resolves URLs here, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

LOGIN_PORT = 3000
STATUS_PORT = 8080


def host_url(node_ip: str, port: int) -> str:
    host = f"[{node_ip}]" if ":" in node_ip else node_ip
    return f"http://{host}:{port}"


@dataclass(frozen=True)
class Endpoints:
    node_ip: str | None
    app_url: str | None
    login_url: str | None
    status_url: str | None


def resolve(
    *,
    node_ip: str | None,
    app_url: str | None = None,
    target_login_url: str | None = None,
    target_status_url: str | None = None,
    login_port: int = LOGIN_PORT,
) -> Endpoints:
    login = app_url or target_login_url or (host_url(node_ip, login_port) if node_ip else None)
    status = target_status_url or (host_url(node_ip, STATUS_PORT) if node_ip else None)
    return Endpoints(node_ip=node_ip, app_url=app_url, login_url=login, status_url=status)
