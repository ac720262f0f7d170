"""The status service's plain-HTTP listener, next to its HTTPS one.

It answers ``GET /healthz`` with ``ok`` (what Kubernetes probes and bootstrap's brief wait
ask; they carry no credential) and everything else with ``308 Permanent Redirect`` to the
same path on the HTTPS port, so a browser that was given ``http://<node>:8081`` lands on the
page. It never reads a request body, never sets a cookie and serves nothing else: no token,
session or status ever crosses it in clear.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_COMMON = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def redirect_host(host_header: str | None, fallback: str) -> str:
    """The host part of a ``Host`` header (port dropped) when it is a hostname or an IP
    address, else ``fallback`` (the address the request reached): never anything that could
    smuggle a path or another URL into ``Location``."""
    value = (host_header or "").strip()
    if value.startswith("["):  # [v6]:port
        inner, _, _rest = value[1:].partition("]")
        try:
            return f"[{ipaddress.IPv6Address(inner)}]"
        except ValueError:
            return _fallback(fallback)
    name = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    if name and _HOSTNAME.match(name):
        return name
    return _fallback(fallback)


def _fallback(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def plain_http_app(https_port: int) -> ASGIApp:
    """The ASGI app of the plain listener: ``/healthz``, else a 308 to ``https://<host>:<https_port>``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method = scope.get("method", "GET")
        headers = dict(scope.get("headers") or [])
        if scope.get("path") == "/healthz" and method in ("GET", "HEAD"):
            status, body = 200, b"ok"
            extra = [(b"content-type", b"text/plain; charset=utf-8")]
        else:
            server = scope.get("server") or ("127.0.0.1", 0)
            host = redirect_host(headers.get(b"host", b"").decode("latin-1"), str(server[0]))
            target = (scope.get("raw_path") or scope.get("path", "/").encode()).decode("latin-1")
            query = scope.get("query_string") or b""
            location = f"https://{host}:{https_port}{target}" + (
                f"?{query.decode('latin-1')}" if query else ""
            )
            status, body = 308, b""
            extra = [(b"location", location.encode("latin-1"))]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*extra, *_COMMON, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})

    return app
