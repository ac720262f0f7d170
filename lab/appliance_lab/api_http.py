"""HTTP plumbing of the lab's Kubernetes API: errors as ``Status`` objects, query parsing,
continue tokens, the threaded server, and resource paths (``/api/v1/namespaces/x/pods``)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import socket
import ssl
import struct
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol

from appliance_lab.store import (
    RESOURCE_TYPES,
    Obj,
    ResourceType,
    StoreError,
)

if TYPE_CHECKING:
    import threading

    from appliance_lab.api_faults import FaultInjector
    from appliance_lab.store import Store


class LabServer(Protocol):
    """What the request handlers use of the server that owns them (``apiserver.LabApiServer``)."""

    store: Store
    bookmark_interval: float
    max_watch_seconds: float
    watch_epoch: int
    _injector: FaultInjector | None
    _stopping: threading.Event
    _conns_lock: threading.Lock
    _watchers: set[Any]

    def obj_bytes(self, rt: ResourceType, obj: Obj) -> bytes: ...

    def _track(self, conn: socket.socket, add: bool) -> None: ...

    def _stream_count(self, delta: int) -> None: ...


KUBECONFIG_NAME = "alga-lab"
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_WS_CHUNK = 64 * 1024  # stdout frames of at most this many bytes
_PUBLIC_PATHS = frozenset({"/readyz", "/livez", "/healthz", "/version"})
_DNS1123 = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"


class ApiError(StoreError):
    """An error answered as a ``Status`` with an explicit code, reason and details."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Obj | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.details = details
        self.headers = headers or {}


class _Dropped(Exception):
    """Close the connection without an answer (fault injection, outage)."""


def status_object(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
    body: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _details(rt: ResourceType, name: str | None) -> Obj:
    d: Obj = {}
    if name:
        d["name"] = name
    if rt.group:
        d["group"] = rt.group
    d["kind"] = rt.plural
    return d


def _qs_bool(query: dict[str, list[str]], key: str) -> bool:
    return (query.get(key) or ["false"])[-1].lower() in ("true", "1")


def _qs(query: dict[str, list[str]], key: str) -> str | None:
    vals = query.get(key)
    return vals[-1] if vals else None


def _qs_int(query: dict[str, list[str]], key: str) -> int | None:
    raw = _qs(query, key)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "BadRequest", f'invalid value "{raw}" for {key}') from None


def _encode_continue(rv: int, key: tuple[str, str]) -> str:
    start = f"{key[0]}/{key[1]}\x00" if key[0] else f"{key[1]}\x00"
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str, namespaced: bool) -> tuple[str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        start = str(data["start"]).rstrip("\x00")
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError(
            400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion"
        ) from None
    if namespaced and "/" in start:
        ns, name = start.split("/", 1)
        return (ns, name)
    return ("", start)


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    request_queue_size = 128
    allow_reuse_address = True
    lab: LabServer
    tls_context: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        injector = self.lab._injector
        if injector is not None and injector.in_outage():
            # the API is "down": reset the connection before a byte is exchanged
            _reset(sock)
            raise OSError("lab API outage window")
        # answers are written in one piece; without this, Nagle + delayed ACK cost 40 ms each
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls_context is not None:
            # the handshake happens in the connection's own thread (see _Handler.setup)
            sock = self.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that goes away mid-request is not the server's problem; the lab never prints
        return


# ------------------------------------------------------------------------------------------------
class _Route:
    __slots__ = ("name", "namespace", "rt", "subresource")

    def __init__(
        self, rt: ResourceType, namespace: str | None, name: str | None, subresource: str | None
    ) -> None:
        self.rt = rt
        self.namespace = namespace
        self.name = name
        self.subresource = subresource


_PLURALS: dict[tuple[str, str], dict[str, ResourceType]] = {}
for _t in RESOURCE_TYPES:
    _PLURALS.setdefault((_t.group, _t.version), {})[_t.plural] = _t


def _not_found_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def parse_resource_path(path: str) -> _Route | None:
    """Map ``/api/v1/...`` or ``/apis/<g>/<v>/...`` to a resource route; ``None`` when not a resource path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api" and parts[1] == "v1":
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    plurals = _PLURALS.get((group, version))
    if plurals is None:
        raise _not_found_path()
    namespace: str | None = None
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
    ):
        namespace, rest = rest[1], rest[2:]
    rt = plurals.get(rest[0])
    if rt is None or len(rest) > 3:
        raise _not_found_path()
    if namespace is not None and not rt.namespaced:
        raise _not_found_path()
    name = rest[1] if len(rest) >= 2 else None
    sub = rest[2] if len(rest) == 3 else None
    if name is not None and rt.namespaced and namespace is None:
        raise _not_found_path()
    return _Route(rt, namespace, name, sub)
