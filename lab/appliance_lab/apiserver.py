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
import contextlib
import socket
import ssl
import struct
import threading
import time
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import yaml

from appliance_cli.env import Clock, SystemClock
from appliance_lab import api_discovery as disc
from appliance_lab import api_tables
from appliance_lab.api_counts import COUNTS_PATH, RequestCounter, request_verb
from appliance_lab.api_crud import CrudMixin
from appliance_lab.api_faults import Fault, FaultConfig, FaultInjector
from appliance_lab.api_http import (
    _PUBLIC_PATHS,
    KUBECONFIG_NAME,
    ApiError,
    _details,
    _Dropped,
    _dumps,
    _HTTPServer,
    _not_found_path,
    _qs,
    _qs_bool,
    _Route,
    parse_resource_path,
    status_object,
)
from appliance_lab.api_podio import PodIOMixin
from appliance_lab.api_tls import ServingCert, make_serving_cert
from appliance_lab.api_watch import WatchMixin
from appliance_lab.store import (
    RESOURCE_TYPES,
    ExecHandler,
    Obj,
    ResourceType,
    Store,
    StoreError,
)


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
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()  # outage windows count in the lab's time
        self.tls = tls
        self._cert: ServingCert | None = None
        self.token = token
        self.host = host
        self.port = port
        self.bookmark_interval = 60.0
        self.max_watch_seconds = 1800.0
        self._started_at = self.clock.monotonic()
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
        self.requests = RequestCounter()
        # bumped by ``drop_watches``: a stream opened before the bump is cut
        self.watch_epoch = 0

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
        self._started_at = self.clock.monotonic()
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
        self._injector = (
            FaultInjector(config, self._started_at, self.clock.monotonic) if config is not None else None
        )

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
        """The lab clock's ``monotonic()`` at start; outage windows are relative to it."""
        return self._started_at

    def request_counts(self) -> dict[str, int]:
        """Requests answered since start (or ``reset_request_counts``), by verb (``api_counts``)."""
        return self.requests.snapshot()

    def reset_request_counts(self) -> None:
        self.requests.reset()

    def drop_watches(self) -> int:
        """Cut every open watch stream mid-stream (no closing chunk), as a broken connection
        or a load balancer would; other connections stay up. How many streams were open."""
        with self._conns_lock:
            self.watch_epoch += 1
            watchers = list(self._watchers)
        for w in watchers:
            w.queue.put(None)  # wakes the stream, which sees the new epoch and drops
        return len(watchers)

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


class _Handler(CrudMixin, WatchMixin, PodIOMixin):
    """Routes each request to its concern (api_crud, api_watch, api_podio)."""

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    @property
    def lab(self) -> LabApiServer:
        """The server itself (the mixins see it as an ``api_http.LabServer``)."""
        return cast(LabApiServer, self.server.lab)

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
            self.lab.requests.add("other")
            self._send_json(200, disc.VERSION_INFO)
            return
        if path == COUNTS_PATH and method == "GET":
            self._send_json(200, {"counts": self.lab.request_counts()})
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
            self.lab.requests.add("other")
            self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        rt, sub = route.rt, route.subresource
        watch = _qs_bool(query, "watch")
        self.lab.requests.add(
            request_verb(method, collection=route.name is None, subresource=sub, watch=watch), rt.key
        )
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
