"""The lab's Kubernetes API over real HTTP, serving the in-memory ``Store``.

Real paths, JSON shapes and status codes for the subset the CLI, the status service, the
official ``kubernetes`` client and ``kubectl`` use: discovery, list/get/create/replace/patch
(JSON merge, strategic merge, JSON patch, server-side apply)/delete, ``status``
subresources, ``watch=true`` streams, pod logs and pod exec over WebSocket
(``v4.channel.k8s.io``). Every error is a ``Status`` object. Bearer-token auth; optional
fault injection (``api_faults``). See docs/lab-api.md.

Built on ``http.server`` with one thread per connection: the store is synchronous, watch
streams block on a queue, and a dropped connection is simply a closed socket.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from appliance_lab import api_discovery as disc
from appliance_lab import api_patch, api_protobuf, api_tables
from appliance_lab.api_defaults import apply_create_defaults
from appliance_lab.api_faults import Fault, FaultConfig, FaultInjector
from appliance_lab.api_selectors import BadRequest, combine, field_matcher, label_matcher
from appliance_lab.api_tls import ServingCert, make_serving_cert
from appliance_lab.store import (
    RESOURCE_TYPES,
    ExecHandler,
    Expired,
    NotFound,
    Obj,
    ResourceType,
    Store,
    StoreError,
    now_rfc3339,
)

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
    lab: LabApiServer
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


class LabApiServer:
    """A Kubernetes API server for the lab, on loopback, in a background thread.

    ``faults`` may be replaced at any time (``server.faults = FaultConfig(...)`` or ``None``).
    ``bookmark_interval`` (seconds) paces BOOKMARK events on watches that ask for them.
    """

    def __init__(
        self,
        store: Store,
        *,
        token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultConfig | None = None,
        tls: bool = True,
    ) -> None:
        self.store = store
        self.tls = tls
        self._cert: ServingCert | None = None
        self.token = token
        self.host = host
        self.port = port
        self.bookmark_interval = 60.0
        self.max_watch_seconds = 1800.0
        self._started_at = time.monotonic()
        self._faults: FaultConfig | None = faults
        self._injector: FaultInjector | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._streams = 0
        self._watchers: set[Any] = set()
        self._cache: dict[tuple[str, str, str], tuple[str, bytes]] = {}

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> LabApiServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self.port), _Handler, bind_and_activate=False)
        if ":" in self.host:
            httpd.socket.close()
            httpd.address_family = socket.AF_INET6
            httpd.socket = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            httpd.server_bind()
            httpd.server_activate()
        except OSError:
            httpd.server_close()
            raise
        if self.tls:
            if self._cert is None:
                self._cert = make_serving_cert(
                    tuple(dict.fromkeys((self.host, "127.0.0.1", "::1", "localhost")))
                )
            httpd.tls_context = self._cert.server_context()
        httpd.lab = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._started_at = time.monotonic()
        self._stopping.clear()
        self.faults = self._faults
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"lab-api:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd = self._httpd
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._conns_lock:
            watchers = list(self._watchers)
        for w in watchers:
            self.store.stop_watch(w)  # wakes the stream, which then ends cleanly
        # streams notice the stop within half a second and end cleanly; then cut the rest
        deadline = time.monotonic() + 2.0
        while self._streams and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> LabApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def faults(self) -> FaultConfig | None:
        return self._faults

    @faults.setter
    def faults(self, config: FaultConfig | None) -> None:
        self._faults = config
        self._injector = FaultInjector(config, self._started_at) if config is not None else None

    @property
    def ca_pem(self) -> bytes | None:
        """PEM of the CA that signed the serving certificate (``None`` without TLS or before start)."""
        return self._cert.ca_pem if self._cert is not None else None

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """An ``ssl`` context trusting this server, for plain HTTP clients such as httpx."""
        return self._cert.client_context() if self._cert is not None else None

    def kubeconfig_yaml(self) -> str:
        """The kubeconfig text for this server: URL, token and CA."""
        return kubeconfig_yaml(self.url, self.token, ca_pem=self.ca_pem)

    def write_kubeconfig(self, path: Path | str) -> Path:
        """The kubeconfig for this server: URL, token and CA (mode 0600)."""
        return write_kubeconfig(path, self.url, self.token, ca_pem=self.ca_pem)

    @property
    def started_at(self) -> float:
        """``time.monotonic()`` at start; outage windows are relative to it."""
        return self._started_at

    # -- conveniences for the simulated controllers --------------------------------------------
    def register_exec_handler(self, handler: ExecHandler) -> None:
        self.store.register_exec_handler(handler)

    def append_pod_log(self, namespace: str, pod: str, container: str, lines: list[str]) -> None:
        self.store.append_pod_log(namespace, pod, container, lines)

    # -- internals -----------------------------------------------------------------------------
    def _stream_count(self, delta: int) -> None:
        with self._conns_lock:
            self._streams += delta

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def obj_bytes(self, rt: ResourceType, obj: Obj) -> bytes:
        """Serialized object, cached by resourceVersion (stored objects are never mutated in place)."""
        meta = obj.get("metadata") or {}
        key = (rt.key, str(meta.get("namespace", "")), str(meta.get("name", "")))
        rv = str(meta.get("resourceVersion", ""))
        hit = self._cache.get(key)
        if hit is not None and hit[0] == rv:
            return hit[1]
        data = _dumps(obj)
        self._cache[key] = (rv, data)
        size = len(self._cache)
        # entries of deleted objects linger; now and then, forget everything if they dominate
        if size % 4096 == 0 and size > 2 * sum(self.store.count(t) for t in RESOURCE_TYPES) + 4096:
            self._cache.clear()
        return data


def kubeconfig_yaml(url: str, token: str, *, ca_pem: bytes | None = None) -> str:
    """Kubeconfig text whose cluster, user and context are all named ``alga-lab``.

    With ``ca_pem`` the cluster carries ``certificate-authority-data``; an ``https`` URL without
    it is marked ``insecure-skip-tls-verify`` (prefer ``LabApiServer.kubeconfig_yaml``).
    """
    cluster: dict[str, Any] = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    elif url.startswith("https://"):
        cluster["insecure-skip-tls-verify"] = True
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": KUBECONFIG_NAME, "cluster": cluster}],
        "users": [{"name": KUBECONFIG_NAME, "user": {"token": token}}],
        "contexts": [
            {"name": KUBECONFIG_NAME, "context": {"cluster": KUBECONFIG_NAME, "user": KUBECONFIG_NAME}}
        ],
        "current-context": KUBECONFIG_NAME,
        "preferences": {},
    }
    return str(yaml.safe_dump(doc, sort_keys=False))


def write_kubeconfig(path: Path | str, url: str, token: str, *, ca_pem: bytes | None = None) -> Path:
    """Write ``kubeconfig_yaml(url, token, ca_pem=…)`` to ``path`` with mode 0600."""
    from appliance_cli.site import atomic_write

    p = Path(path)
    atomic_write(p, kubeconfig_yaml(url, token, ca_pem=ca_pem), mode=0o600)
    return p


# ------------------------------------------------------------------------------------------------
# Routing
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lab-apiserver"
    sys_version = ""
    timeout = 300
    server: _HTTPServer
    _body: bytes | None = None

    # quiet: the lab never prints
    def log_message(self, format: str, *args: Any) -> None:
        return

    def version_string(self) -> str:
        return "lab-apiserver"

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()
        self.server.lab._track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.lab._track(self.connection, False)

    @property
    def lab(self) -> LabApiServer:
        return self.server.lab

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- plumbing ------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        """The request body, read once (``_dispatch`` reads it up front so keep-alive stays in sync)."""
        if self._body is None:
            self._body = self._read_body_raw()
        return self._body

    def _read_body_raw(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        # end the headers and add the body in the same buffer: one write, one segment train
        buf: list[bytes] = self.__dict__["_headers_buffer"]
        buf.append(b"\r\n")
        if self.command != "HEAD":
            buf.append(body)
        self.flush_headers()

    def _send_json(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(code, obj if isinstance(obj, bytes) else _dumps(obj), headers=headers)

    def _send_error(self, err: StoreError) -> None:
        if isinstance(err, ApiError):
            body = status_object(err.code, err.reason, err.message, err.details)
            self._send_json(err.code, body, err.headers)
        else:
            self._send_json(
                err.code, status_object(err.code, err.reason, err.message, getattr(err, "details", None))
            )

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = parse_qs(url.query, keep_blank_values=True)
        lab = self.lab
        self._body = None
        try:
            self._read_body()
            injector = lab._injector
            if injector is not None:
                decision = injector.decide(path)
                if decision.latency_s:
                    time.sleep(decision.latency_s)
                if decision.fault is Fault.OUTAGE:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    raise _Dropped()
                if decision.fault is Fault.DROP:
                    raise _Dropped()
                if decision.fault is Fault.ERROR:
                    self._read_body()
                    if decision.code == 503:
                        raise ApiError(
                            503,
                            "ServiceUnavailable",
                            "the server is currently unable to handle the request",
                            {},
                        )
                    raise ApiError(
                        decision.code,
                        "InternalError",
                        "Internal error occurred: etcdserver: request timed out",
                        {"causes": [{"message": "etcdserver: request timed out"}]},
                    )
                if decision.fault is Fault.THROTTLE:
                    self._read_body()
                    secs = injector.config.retry_after_s
                    raise ApiError(
                        429,
                        "TooManyRequests",
                        "Too many requests, please try again later.",
                        {"retryAfterSeconds": secs},
                        {"Retry-After": str(secs)},
                    )
            if path not in _PUBLIC_PATHS:
                auth = self.headers.get("Authorization", "")
                if auth != f"Bearer {lab.token}":
                    self._read_body()
                    raise ApiError(401, "Unauthorized", "Unauthorized")
            self._route(path, query)
        except _Dropped:
            self._drop()
        except StoreError as err:
            self._send_error(err)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # the server must answer, as the real one does, with a Status
            self._send_error(ApiError(500, "InternalError", f"Internal error occurred: {exc}"))

    # -- routes --------------------------------------------------------------------------------
    def _route(self, path: str, query: dict[str, list[str]]) -> None:
        method = self.command
        if path in ("/readyz", "/livez", "/healthz"):
            self._send(200, b"ok", "text/plain; charset=utf-8")
            return
        if path == "/version":
            self._send_json(200, disc.VERSION_INFO)
            return
        if method == "GET":
            doc = self._discovery(path)
            if doc is not None:
                self._send_json(200, doc)
                return
        if path == "/openapi/v3" or path.startswith("/openapi/v3/"):
            doc = disc.openapi_v3(path)
            if doc is None:
                raise _not_found_path()
            self._send_json(200, doc)
            return
        if path.startswith("/openapi/"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        route = parse_resource_path(path)
        if route is None:
            self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        rt, sub = route.rt, route.subresource
        if sub is None:
            if route.name is None:
                self._collection(route, method, query)
            else:
                self._item(route, method, query)
        elif sub == "status" and disc.has_status_subresource(rt):
            self._item(route, method, query)
        elif sub == "log" and rt.kind == "Pod" and method == "GET":
            self._pod_log(route, query)
        elif sub == "exec" and rt.kind == "Pod" and method in ("GET", "POST"):
            self._pod_exec(route, query)
        elif sub in ("log", "exec") and rt.kind == "Pod":
            raise ApiError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
            )
        else:
            raise _not_found_path()

    def _discovery(self, path: str) -> Obj | None:
        if path == "/api":
            return disc.api_versions()
        if path == "/apis":
            return disc.api_group_list()
        if path == "/api/v1":
            return disc.api_resource_list("", "v1")
        parts = [p for p in path.split("/") if p]
        if parts[0] == "apis" and len(parts) == 2:
            doc = disc.api_group(parts[1])
            if doc is None:
                raise _not_found_path()
            return doc
        if parts[0] == "apis" and len(parts) == 3:
            doc = disc.api_resource_list(parts[1], parts[2])
            if doc is None:
                raise _not_found_path()
            return doc
        return None

    def _collection(self, route: _Route, method: str, query: dict[str, list[str]]) -> None:
        if method in ("GET", "HEAD"):
            if _qs_bool(query, "watch"):
                self._watch(route, query)
            else:
                self._list(route, query)
        elif method == "POST":
            self._create(route, query)
        elif method == "DELETE":
            self._delete_collection(route, query)
        else:
            raise ApiError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
            )

    def _item(self, route: _Route, method: str, query: dict[str, list[str]]) -> None:
        rt, name = route.rt, str(route.name)
        store = self.lab.store
        try:
            if method in ("GET", "HEAD"):
                if _qs_bool(query, "watch"):
                    q = dict(query)
                    q["fieldSelector"] = [f"metadata.name={name}"]
                    self._watch(_Route(rt, route.namespace, None, None), q)
                    return
                obj = store.get_ref(rt, route.namespace, name)
                if self._wants_table():
                    self._send_json(
                        200,
                        api_tables.table(
                            rt,
                            [obj],
                            store.resource_version,
                            single=True,
                            include_object=_qs(query, "includeObject") or "Metadata",
                        ),
                    )
                    return
                self._send_json(200, self.lab.obj_bytes(rt, obj))
            elif method == "PUT":
                self._replace(route, query)
            elif method == "PATCH":
                self._patch(route, query)
            elif method == "DELETE" and route.subresource is None:
                self._delete(route, query)
            else:
                raise ApiError(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                    {},
                )
        except ApiError:
            raise
        except StoreError as err:
            details = {**_details(rt, name), **(getattr(err, "details", None) or {})}
            raise ApiError(err.code, err.reason, err.message, details) from err

    def _wants_table(self) -> bool:
        return "as=Table" in self.headers.get("Accept", "")

    def _body_json(self) -> Obj:
        """The request body as an object: JSON, YAML or Kubernetes protobuf, by Content-Type."""
        raw = self._read_body()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if ctype == api_protobuf.MEDIA_TYPE:
                data: Any = api_protobuf.decode_object(raw)
            elif ctype == "application/yaml":
                data = yaml.safe_load(raw) if raw.strip() else None
            else:
                data = json.loads(raw or b"null")
        except api_protobuf.UnsupportedKind as exc:
            raise ApiError(415, "UnsupportedMediaType", str(exc), {}) from None
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, "BadRequest", f"error decoding body: {exc}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "BadRequest", "Object 'Kind' is missing in request body")
        return data

    # -- list ----------------------------------------------------------------------------------
    def _matcher(self, rt: ResourceType, query: dict[str, list[str]]) -> Callable[[Obj], bool] | None:
        try:
            return combine(
                label_matcher(_qs(query, "labelSelector")),
                field_matcher(_qs(query, "fieldSelector"), rt.kind),
            )
        except BadRequest as err:
            raise ApiError(400, "BadRequest", err.message) from None

    def _list(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt = route.rt
        lab = self.lab
        matcher = self._matcher(rt, query)
        limit = _qs_int(query, "limit") or 0
        token = _qs(query, "continue")
        after = _decode_continue(token, rt.namespaced) if token else None
        keys, lookup, rv = lab.store.scan(rt, route.namespace, after)
        out: list[Obj] = []
        cont_key: tuple[str, str] | None = None
        n = len(keys)
        i = 0
        while i < n:
            key = keys[i]
            i += 1
            obj = lookup(key)
            if obj is None or (matcher is not None and not matcher(obj)):
                continue
            out.append(obj)
            if limit and len(out) >= limit:
                if i < n:
                    cont_key = key
                break
        meta: Obj = {"resourceVersion": str(rv)}
        if cont_key is not None:
            meta["continue"] = _encode_continue(rv, cont_key)
            if matcher is None:
                meta["remainingItemCount"] = n - i
        if self._wants_table():
            self._send_json(
                200,
                api_tables.table(
                    rt, out, rv, meta=meta, include_object=_qs(query, "includeObject") or "Metadata"
                ),
            )
            return
        head = _dumps({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta})[:-1]
        body = b"".join((head, b',"items":[', b",".join(lab.obj_bytes(rt, o) for o in out), b"]}"))
        self._send_json(200, body)

    # -- create / replace / patch / delete -----------------------------------------------------
    def _check_type(self, rt: ResourceType, obj: Obj) -> None:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not kind:
            # like the real decoder: a missing kind/apiVersion defaults to the URL's
            obj["kind"] = kind = rt.kind
        if api_version and api_version != rt.api_version:
            raise ApiError(
                400,
                "BadRequest",
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rt.api_version})",
            )
        if kind != rt.kind:
            raise ApiError(
                400,
                "BadRequest",
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})",
            )

    def _create(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt = route.rt
        obj = self._body_json()
        self._check_type(rt, obj)
        meta = obj.setdefault("metadata", {})
        if route.namespace and meta.get("namespace") and meta["namespace"] != route.namespace:
            raise ApiError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        validate_name(rt, obj)
        prepare_create(rt, obj)
        api_patch.record_update(obj, None, self._manager(query, "create"), "Update")
        dry = _is_dry_run(query)
        store = self._store_for(query, rt, route.namespace or meta.get("namespace"), meta.get("name"))
        try:
            created = store.create(rt, obj, route.namespace)
        except StoreError as err:
            raise ApiError(err.code, err.reason, err.message, _details(rt, meta.get("name"))) from err
        if dry:
            created["metadata"].pop("resourceVersion", None)
            self._send_json(201, created)
            return
        self._send_json(201, self.lab.obj_bytes(rt, created))

    def _store_for(
        self, query: dict[str, list[str]], rt: ResourceType, namespace: str | None, name: str | None
    ) -> Store:
        """The lab's store, or for ``dryRun=All`` a scratch copy of what the request touches."""
        dry = query.get("dryRun") or []
        if any(v != "All" for v in dry):
            raise ApiError(400, "BadRequest", f"Invalid dry run value: {dry}")
        if not dry:
            return self.lab.store
        return self.lab.store.dry_run_copy(rt, namespace if rt.namespaced else None, name)

    def _answer_write(
        self, rt: ResourceType, query: dict[str, list[str]], obj: Obj, before: Obj | None
    ) -> None:
        if _is_dry_run(query):
            if before is not None:
                obj["metadata"]["resourceVersion"] = before["metadata"]["resourceVersion"]
            self._send_json(200, obj)
        else:
            self._send_json(200, self.lab.obj_bytes(rt, obj))

    def _manager(self, query: dict[str, list[str]], verb: str) -> str:
        explicit = _qs(query, "fieldManager")
        if explicit:
            return explicit
        agent = self.headers.get("User-Agent", "")
        base = agent.split("/", 1)[0] if agent else "unknown"
        if base == "kubectl" or base.startswith("kubectl"):
            return {"create": "kubectl-create", "update": "kubectl-replace", "patch": "kubectl-patch"}.get(
                verb, base
            )
        return base or "unknown"

    def _replace(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt, name = route.rt, str(route.name)
        obj = self._body_json()
        self._check_type(rt, obj)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise ApiError(
                400,
                "BadRequest",
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})",
            )
        if route.namespace and meta.get("namespace") and meta["namespace"] != route.namespace:
            raise ApiError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the request",
            )
        store = self._store_for(query, rt, route.namespace, name)
        before = store.try_get(rt, route.namespace, name)
        manager = self._manager(query, "update")
        if route.subresource == "status":
            new = store.replace(rt, route.namespace, name, obj, subresource="status")
        else:
            cur = store.get_ref(rt, route.namespace, name)
            if disc.has_status_subresource(rt) and rt.kind != "Namespace":
                # the main resource ignores status; only …/status writes it
                if "status" in cur:
                    obj["status"] = cur["status"]
                else:
                    obj.pop("status", None)
            api_patch.record_update(obj, cur, manager, "Update")
            new = store.replace(rt, route.namespace, name, obj)
        self._answer_write(rt, query, new, before)

    def _patch(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt, name = route.rt, str(route.name)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        raw = self._read_body()
        store = self._store_for(query, rt, route.namespace, name)
        before = store.try_get(rt, route.namespace, name)
        force = _qs_bool(query, "force")
        status_only = route.subresource == "status"
        if ctype == api_patch.APPLY:
            manager = _qs(query, "fieldManager") or ""
            if not manager:
                raise ApiError(
                    400,
                    "BadRequest",
                    "PATCH /apply requires fieldManager to be set in the query parameters",
                )
            applied = api_patch.decode_apply(raw)
            self._check_type(rt, applied)
            a_meta = applied.get("metadata") or {}
            if a_meta.get("name") and a_meta["name"] != name:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"the name of the object ({a_meta['name']}) does not match the name on the URL ({name})",
                )
            if before is None:
                if status_only:
                    raise ApiError(
                        404, "NotFound", f'{_group_res(rt)} "{name}" not found', _details(rt, name)
                    )
                obj = api_patch.apply_create(applied, manager, rt.api_version)
                obj.setdefault("metadata", {})["name"] = name
                validate_name(rt, obj)
                prepare_create(rt, obj)
                try:
                    created = store.create(rt, obj, route.namespace)
                except StoreError as err:
                    raise ApiError(err.code, err.reason, err.message, _details(rt, name)) from err
                if _is_dry_run(query):
                    created["metadata"].pop("resourceVersion", None)
                    self._send_json(201, created)
                else:
                    self._send_json(201, self.lab.obj_bytes(rt, created))
                return

            def do_apply(cur: Obj) -> None:
                result = api_patch.apply(
                    cur, applied, manager, force, rt.api_version, status_only=status_only
                )
                _swap(cur, result, status_only, rt)

            new = store.mutate(rt, route.namespace, name, do_apply)
            self._answer_write(rt, query, new, before)
            return
        if ctype not in api_patch.PATCH_TYPES:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: "
                f"{', '.join((*api_patch.PATCH_TYPES, api_patch.APPLY))}",
                {},
            )
        manager = self._manager(query, "patch")

        def do_patch(cur: Obj) -> None:
            result = api_patch.patch(cur, raw, ctype, rt.kind)
            sent_rv = (result.get("metadata") or {}).get("resourceVersion")
            if sent_rv and sent_rv != cur["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {_group_res(rt)} "{name}": '
                    "the object has been modified; "
                    "please apply your changes to the latest version and try again",
                    _details(rt, name),
                )
            if not status_only:
                api_patch.record_update(result, cur, manager, "Update")
            _swap(cur, result, status_only, rt)

        new = store.mutate(rt, route.namespace, name, do_patch)
        self._answer_write(rt, query, new, before)

    def _delete(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt, name = route.rt, str(route.name)
        raw = self._read_body()
        opts: Obj = {}
        if raw.strip():
            with contextlib.suppress(ValueError):
                loaded = json.loads(raw)
                if isinstance(loaded, dict):
                    opts = loaded
        policy = _qs(query, "propagationPolicy") or opts.get("propagationPolicy") or "Background"
        if policy not in ("Background", "Foreground", "Orphan"):
            raise ApiError(
                422,
                "Invalid",
                f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "{policy}": '
                'supported values: "Foreground", "Background", "Orphan", "nil"',
            )
        store = self.lab.store
        precond = opts.get("preconditions") or {}
        if precond:
            cur = store.get_ref(rt, route.namespace, name)
            for field in ("uid", "resourceVersion"):
                want = precond.get(field)
                label = "UID" if field == "uid" else "ResourceVersion"
                if want and want != cur["metadata"].get(field):
                    raise ApiError(
                        409,
                        "Conflict",
                        f"Precondition failed: {label} in precondition: {want}, "
                        f"{label} in object meta: {cur['metadata'].get(field)}",
                        _details(rt, name),
                    )
        if _is_dry_run(query):
            cur = store.get_ref(rt, route.namespace, name)
            self._send_json(200, self.lab.obj_bytes(rt, cur))
            return
        gone = store.delete(rt, route.namespace, name)
        if policy != "Orphan":
            collect_dependents(store, gone)
        if rt.kind in ("Namespace", "Pod"):
            # The real server answers with the object, now terminating (deletion is graceful).
            meta = gone["metadata"]
            meta["deletionTimestamp"] = now_rfc3339()
            if rt.kind == "Pod":
                meta["deletionGracePeriodSeconds"] = 30
            else:
                gone.setdefault("status", {})["phase"] = "Terminating"
            self._send_json(200, gone)
            return
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {**_details(rt, name), "uid": gone["metadata"].get("uid")},
        }
        self._send_json(200, body)

    def _delete_collection(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt = route.rt
        self._read_body()
        if rt.kind == "Namespace":
            raise ApiError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
            )
        matcher = self._matcher(rt, query)
        store = self.lab.store
        items, _ = store.snapshot(rt, route.namespace)
        deleted: list[Obj] = []
        for (ns, name), obj in items:
            if matcher is not None and not matcher(obj):
                continue
            with contextlib.suppress(NotFound):
                gone = store.delete(rt, ns or None, name)
                collect_dependents(store, gone)
                deleted.append(gone)
        body = {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": str(store.resource_version)},
            "items": deleted,
        }
        self._send_json(200, body)

    # -- watch ---------------------------------------------------------------------------------
    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            if isinstance(self.connection, ssl.SSLSocket):
                # a client waiting on a streamed answer sends nothing: readable means closed
                return True
            return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True

    def _watch(self, route: _Route, query: dict[str, list[str]]) -> None:
        rt = route.rt
        lab = self.lab
        store = lab.store
        matcher = self._matcher(rt, query)
        rv_raw = _qs(query, "resourceVersion") or ""
        timeout = _qs_int(query, "timeoutSeconds")
        duration = float(timeout) if timeout is not None and timeout > 0 else lab.max_watch_seconds
        bookmarks = _qs_bool(query, "allowWatchBookmarks")
        initial: list[Obj] = []
        expired: Expired | None = None
        watcher = None
        # the store's watcher sees every change of the type; selectors are applied here, on both
        # the new and the previous object, so objects that stop matching leave with DELETED
        send_initial = _qs_bool(query, "sendInitialEvents")
        if send_initial and not bookmarks:
            raise ApiError(
                422,
                "Invalid",
                'ListOptions.meta.k8s.io "" is invalid: allowWatchBookmarks: Forbidden: '
                "allowWatchBookmarks must be set to true when sendInitialEvents is specified",
            )
        initial_rv = 0
        if rv_raw in ("", "0") or send_initial:
            initial, watcher = store.watch_with_initial(rt, route.namespace, None)
            initial_rv = store.resource_version
            if matcher is not None:
                initial = [o for o in initial if matcher(o)]
        else:
            try:
                since = int(rv_raw)
            except ValueError:
                raise ApiError(400, "BadRequest", f'invalid resource version "{rv_raw}"') from None
            try:
                watcher = store.watch(rt, route.namespace, None, since=since)
            except Expired as err:
                expired = err
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.close_connection = True

        as_table = self._wants_table()
        include = _qs(query, "includeObject") or "Metadata"

        def event(etype: str, obj: Obj | bytes) -> bytes:
            body = obj if isinstance(obj, bytes) else _dumps(obj)
            return b'{"type":"' + etype.encode() + b'","object":' + body + b"}\n"

        def payload(obj: Obj, deleted: bool = False) -> bytes:
            # kubectl get -w asks for Table rows; each event then carries a one-row Table
            if as_table:
                return _dumps(api_tables.table(rt, [obj], 0, single=True, include_object=include))
            return _dumps(obj) if deleted else lab.obj_bytes(rt, obj)

        lab._stream_count(1)
        if watcher is not None:
            with lab._conns_lock:
                lab._watchers.add(watcher)
        try:
            if expired is not None:
                self._write_chunk(event("ERROR", status_object(410, "Expired", expired.message)))
            for obj in initial:
                self._write_chunk(event("ADDED", payload(obj)))
            if send_initial:
                # the streaming-list protocol (WatchList): a bookmark marks the end of the initial state
                end = {
                    "kind": rt.kind,
                    "apiVersion": rt.api_version,
                    "metadata": {
                        "resourceVersion": str(initial_rv),
                        "annotations": {"k8s.io/initial-events-end": "true"},
                    },
                }
                self._write_chunk(event("BOOKMARK", end))
            deadline = time.monotonic() + duration
            next_bookmark = time.monotonic() + lab.bookmark_interval
            while watcher is not None and not lab._stopping.is_set():
                now = time.monotonic()
                if now >= deadline:
                    break
                injector = lab._injector
                if injector is not None and injector.in_outage():
                    raise _Dropped()
                if bookmarks and now >= next_bookmark:
                    mark = {
                        "kind": rt.kind,
                        "apiVersion": rt.api_version,
                        "metadata": {"resourceVersion": str(store.resource_version)},
                    }
                    self._write_chunk(event("BOOKMARK", mark))
                    next_bookmark = now + lab.bookmark_interval
                wait = min(deadline - now, 0.5, max(next_bookmark - now, 0.01) if bookmarks else 0.5)
                try:
                    ev = watcher.queue.get(timeout=max(wait, 0.001))
                except Exception:  # queue.Empty
                    if self._client_gone():
                        break
                    continue
                if ev is None:
                    break
                etype = _selected_type(ev.type, ev.object, ev.previous, matcher)
                if etype is None:
                    continue
                self._write_chunk(event(etype, payload(ev.object, ev.type == "DELETED")))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            lab._stream_count(-1)
            if watcher is not None:
                with lab._conns_lock:
                    lab._watchers.discard(watcher)
                store.stop_watch(watcher)

    # -- pods/log ------------------------------------------------------------------------------
    def _pick_container(self, pod: Obj, container: str | None) -> str:
        spec = pod.get("spec") or {}
        names = [c.get("name") for c in spec.get("containers") or []]
        init_names = [c.get("name") for c in spec.get("initContainers") or []]
        pod_name = pod["metadata"]["name"]
        if container:
            if names and container not in names and container not in init_names:
                raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {pod_name}")
            return container
        if len(names) == 1:
            return str(names[0])
        if not names:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {pod_name}")
        raise ApiError(
            400,
            "BadRequest",
            f"a container name must be specified for pod {pod_name}, "
            f"choose one of: [{' '.join(map(str, names))}]",
        )

    def _pod_log(self, route: _Route, query: dict[str, list[str]]) -> None:
        store = self.lab.store
        ns, name = route.namespace or "default", str(route.name)
        try:
            pod = store.get_ref(route.rt, ns, name)
        except NotFound as err:
            raise ApiError(404, "NotFound", err.message, _details(route.rt, name)) from err
        container = self._pick_container(pod, _qs(query, "container"))
        previous = _qs_bool(query, "previous")
        lines = store.pod_log(ns, name, container, previous)
        if lines is None:
            if previous:
                raise ApiError(
                    400,
                    "BadRequest",
                    f'previous terminated container "{container}" in pod "{name}" not found',
                )
            waiting = _waiting_reason(pod, container)
            if waiting:
                raise ApiError(
                    400,
                    "BadRequest",
                    f'container "{container}" in pod "{name}" is waiting to start: '
                    + _WAITING_WORDS.get(waiting, waiting),
                )
            lines = []
        tail = _qs_int(query, "tailLines")
        if tail is not None and tail >= 0:
            lines = lines[-tail:] if tail else []
        if not _qs_bool(query, "follow"):
            text = "".join(line + "\n" for line in lines)
            limit = _qs_int(query, "limitBytes")
            data = text.encode()
            if limit:
                data = data[:limit]
            self._send(200, data, "text/plain")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        sent = len(store.pod_log(ns, name, container) or [])
        # As with the kubelet, a follow ends when the container instance it reads ends (it
        # terminated, or restarted with a new log) or the pod goes away.
        was_running = _container_running(pod, container)
        instance = store.pod_log_instance(ns, name, container)
        try:
            if lines:
                self._write_chunk("".join(line + "\n" for line in lines).encode())
            while not self.lab._stopping.is_set() and not self._client_gone():
                time.sleep(0.1)
                current = store.try_get(route.rt, ns, name)
                if current is None:
                    break
                cur = store.pod_log(ns, name, container) or []
                now = store.pod_log_instance(ns, name, container)
                if now != instance:  # read after the log: what ``cur`` holds is still this instance's
                    ended = store.pod_log(ns, name, container, previous=True) or []
                    if now == instance + 1 and len(ended) > sent:  # its last words
                        self._write_chunk("".join(line + "\n" for line in ended[sent:]).encode())
                    break
                if len(cur) > sent:
                    self._write_chunk("".join(line + "\n" for line in cur[sent:]).encode())
                    sent = len(cur)
                if was_running and not _container_running(current, container):
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass

    # -- pods/exec (WebSocket, channel.k8s.io) ------------------------------------------------------
    def _pod_exec(self, route: _Route, query: dict[str, list[str]]) -> None:
        store = self.lab.store
        ns, name = route.namespace or "default", str(route.name)
        self._read_body()
        try:
            pod = store.get_ref(route.rt, ns, name)
        except NotFound as err:
            raise ApiError(404, "NotFound", err.message, _details(route.rt, name)) from err
        container = self._pick_container(pod, _qs(query, "container"))
        command = query.get("command") or []
        if not command:
            raise ApiError(400, "BadRequest", "you must specify at least 1 command")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not self.headers.get(
            "Sec-WebSocket-Key"
        ):
            raise ApiError(
                400,
                "BadRequest",
                "Upgrade request required",
                {"causes": [{"message": "Upgrade request required"}]},
            )
        phase = (pod.get("status") or {}).get("phase")
        if phase and phase != "Running":
            raise ApiError(
                400, "BadRequest", f'unable to upgrade connection: container not found ("{container}")'
            )
        offered = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        wants_stdin = _qs_bool(query, "stdin") is True
        # v5 adds the stdin close signal; a command that reads stdin needs it to see the end
        preference: tuple[str, ...] = (
            "v4.channel.k8s.io",
            "v5.channel.k8s.io",
            "v3.channel.k8s.io",
            "channel.k8s.io",
        )
        if wants_stdin:
            preference = ("v5.channel.k8s.io", *(p for p in preference if p != "v5.channel.k8s.io"))
        proto = next((p for p in preference if p in offered), None)
        key = self.headers["Sec-WebSocket-Key"].strip()
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        if proto:
            self.send_header("Sec-WebSocket-Protocol", proto)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        stdin = self._ws_read_stdin() if wants_stdin else None
        result = store.run_exec(ns, name, container, list(command), stdin=stdin)
        if result is None:
            exe = command[0]
            result = (
                "",
                f'OCI runtime exec failed: exec failed: unable to start container process: exec: "{exe}": '
                "executable file not found in $PATH: unknown\n",
                126,
            )
        stdout, stderr, code = result
        try:
            if stdout and _qs_bool(query, "stdout") is not False:
                raw = stdout if isinstance(stdout, bytes) else stdout.encode()
                for start in range(0, len(raw), _WS_CHUNK):
                    self._ws_send(1, raw[start : start + _WS_CHUNK])
            if stderr:
                self._ws_send(2, stderr.encode())
            if code == 0:
                outcome: Obj = {"metadata": {}, "status": "Success"}
            else:
                outcome = {
                    "metadata": {},
                    "status": "Failure",
                    "message": f"command terminated with non-zero exit code: error executing command "
                    f"[{' '.join(command)}], exit code {code}",
                    "reason": "NonZeroExitCode",
                    "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
                }
            self._ws_send(3, _dumps(outcome))
            self._ws_frame(0x8, (1000).to_bytes(2, "big"))
            self._ws_drain_until_close()
        except OSError:
            pass

    def _ws_frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            header = bytes([0x80 | opcode, n])
        elif n < 65536:
            header = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
        else:
            header = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
        self.wfile.write(header + payload)
        self.wfile.flush()

    def _ws_send(self, channel: int, data: bytes) -> None:
        self._ws_frame(0x2, bytes([channel]) + data)

    def _ws_read_frame(self) -> tuple[int, bytes] | None:
        """One client frame (opcode, unmasked payload); ``None`` when the connection ends."""
        head = self.rfile.read(2)
        if len(head) < 2:
            return None
        opcode = head[0] & 0x0F
        length = head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(self.rfile.read(2), "big")
        elif length == 127:
            length = int.from_bytes(self.rfile.read(8), "big")
        mask = self.rfile.read(4) if head[1] & 0x80 else b""
        payload = self.rfile.read(length)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return opcode, payload

    def _ws_read_stdin(self) -> bytes:
        """Channel 0 until the client closes it (v5: ``[255, 0]``) or the connection (60 s bound)."""
        self.connection.settimeout(60.0)
        chunks: list[bytes] = []
        try:
            while (frame := self._ws_read_frame()) is not None:
                opcode, payload = frame
                if opcode == 0x8 or payload[:2] == bytes([255, 0]):
                    break
                if opcode in (0x1, 0x2) and payload[:1] == b"\x00":
                    chunks.append(payload[1:])
        except (TimeoutError, OSError):
            pass
        return b"".join(chunks)

    def _ws_drain_until_close(self) -> None:
        """Read the client's frames (stdin, resize) until its close frame or 2 s pass."""
        self.connection.settimeout(2.0)
        try:
            while True:
                head = self.rfile.read(2)
                if len(head) < 2:
                    return
                opcode = head[0] & 0x0F
                length = head[1] & 0x7F
                if length == 126:
                    length = int.from_bytes(self.rfile.read(2), "big")
                elif length == 127:
                    length = int.from_bytes(self.rfile.read(8), "big")
                if head[1] & 0x80:
                    self.rfile.read(4)
                self.rfile.read(length)
                if opcode == 0x8:
                    return
        except (TimeoutError, OSError):
            return


# ------------------------------------------------------------------------------------------------
# Object helpers
# ------------------------------------------------------------------------------------------------
def _selected_type(
    etype: str, obj: Obj, previous: Obj | None, matcher: Callable[[Obj], bool] | None
) -> str | None:
    """The event type a selector watch sees (``None``: not at all), as the real watch cache does."""
    if matcher is None:
        return etype
    now = matcher(obj)
    if etype != "MODIFIED":
        return etype if now else None
    before = matcher(previous) if previous is not None else now
    if now and before:
        return "MODIFIED"
    if now:
        return "ADDED"
    if before:
        return "DELETED"
    return None


def _group_res(rt: ResourceType) -> str:
    return f"{rt.plural}.{rt.group}" if rt.group else rt.plural


def _is_dry_run(query: dict[str, list[str]]) -> bool:
    return "All" in (query.get("dryRun") or [])


# the kubelet's wording for the common pending failures (validateContainerLogStatus)
_WAITING_WORDS = {
    "ErrImagePull": "image can't be pulled",
    "ImagePullBackOff": "trying and failing to pull image",
}


def _container_running(pod: Obj, container: str) -> bool:
    status = pod.get("status") or {}
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if cs.get("name") == container:
            return "running" in (cs.get("state") or {})
    return False


def _waiting_reason(pod: Obj, container: str) -> str | None:
    status = pod.get("status") or {}
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if cs.get("name") == container:
            waiting = (cs.get("state") or {}).get("waiting")
            return str(waiting.get("reason") or "ContainerCreating") if waiting else None
    if status.get("phase") in (None, "Pending"):
        return "ContainerCreating"
    return None


def validate_name(rt: ResourceType, obj: Obj) -> None:
    import re

    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not name:
        if meta.get("generateName"):
            return
        raise ApiError(
            422,
            "Invalid",
            f'{rt.kind} "" is invalid: metadata.name: Required value: name or generateName is required',
            {
                "kind": rt.plural,
                **({"group": rt.group} if rt.group else {}),
                "causes": [
                    {
                        "reason": "FieldValueRequired",
                        "message": "Required value: name or generateName is required",
                        "field": "metadata.name",
                    }
                ],
            },
        )
    if len(name) > 253 or not re.fullmatch(_DNS1123, name):
        msg = (
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character "
            "(e.g. 'example.com', "
            "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
        raise ApiError(
            422,
            "Invalid",
            f'{rt.kind} "{name}" is invalid: metadata.name: {msg}',
            {
                "name": name,
                **({"group": rt.group} if rt.group else {}),
                "kind": rt.kind,
                "causes": [{"reason": "FieldValueInvalid", "message": msg, "field": "metadata.name"}],
            },
        )


def prepare_create(rt: ResourceType, obj: Obj) -> None:
    """What the real API server does to an object on create: system fields reset, defaults filled."""
    meta = obj.setdefault("metadata", {})
    for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"):
        meta.pop(k, None)
    if disc.has_status_subresource(rt):
        # like the real strategies: status is not writable on create (controllers fill it in)
        obj.pop("status", None)
    apply_create_defaults(rt, obj)


def collect_dependents(store: Store, owner: Obj) -> None:
    """Background garbage collection: delete objects whose ownerReferences point at ``owner``."""
    uid = owner["metadata"].get("uid")
    ns = owner["metadata"].get("namespace")
    pending = [uid]
    while pending:
        owner_uid = pending.pop()
        for rt in RESOURCE_TYPES:
            if not rt.namespaced and ns:
                # namespaced owners cannot own cluster-scoped objects
                continue
            items, _ = store.snapshot(rt, ns if rt.namespaced else None)
            for (ons, oname), obj in items:
                refs = obj.get("metadata", {}).get("ownerReferences") or []
                if any(r.get("uid") == owner_uid for r in refs):
                    with contextlib.suppress(NotFound):
                        gone = store.delete(rt, ons or None, oname)
                        pending.append(gone["metadata"].get("uid"))


def _swap(cur: Obj, result: Obj, status_only: bool, rt: ResourceType) -> None:
    """Write a patch result into ``cur`` in place (inside ``Store.mutate``)."""
    if status_only:
        if "status" in result:
            cur["status"] = result["status"]
        else:
            cur.pop("status", None)
        managed = (result.get("metadata") or {}).get("managedFields")
        if managed is not None:
            cur.setdefault("metadata", {})["managedFields"] = managed
        return
    keep_status = disc.has_status_subresource(rt) and rt.kind != "Namespace"
    status = cur.get("status")
    cur.clear()
    cur.update(result)
    cur["apiVersion"] = rt.api_version
    cur["kind"] = rt.kind
    if keep_status:
        if status is None:
            cur.pop("status", None)
        else:
            cur["status"] = status
    cur.setdefault("metadata", {})


__all__ = [
    "KUBECONFIG_NAME",
    "ApiError",
    "FaultConfig",
    "LabApiServer",
    "kubeconfig_yaml",
    "parse_resource_path",
    "status_object",
    "write_kubeconfig",
]
