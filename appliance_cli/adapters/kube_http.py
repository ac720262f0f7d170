"""The Kubernetes API over HTTP(S): the standard library's ``http.client``, one pool of
kept-alive connections per client, TLS from the kubeconfig (``adapters.kubeconfig.KubeSettings``),
JSON in and out, no ``kubernetes`` package and no HTTP client package (importing one costs
every ``appliance status`` more than its requests).

``KubeTransport.request`` sends one request with bounded connect and read timeouts and
hands back a ``KubeResponse`` (read whole, or left open for streams: watches, followed
logs). Nothing is retried here: ``adapters.kube_retry`` decides, and only for calls that are
safe to repeat. An ``http://`` ``proxy-url`` is used as kubectl does (``CONNECT`` for an
``https`` server, with the URL's user and password as ``Proxy-Authorization``); other proxy
schemes are refused when the kubeconfig is read.

Failures become the project's errors: an HTTP error answer through ``error_for``
(``KubeNotFound``, ``KubeConflict``, ``KubeForbidden``, ``KubeUnauthorized``, ``KubeInvalid``,
``KubeUnreachable`` for 429/5xx with the server's ``Retry-After``), a connection that cannot
be made or breaks as ``KubeUnreachable`` carrying the real connection error text
(``Connection refused``, a certificate that does not verify …).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import select
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode, urlsplit

from appliance_cli.adapters.kube_retry import parse_retry_after, transport_failure
from appliance_cli.errors import (
    KubeConflict,
    KubeError,
    KubeForbidden,
    KubeInvalid,
    KubeNotFound,
    KubeUnauthorized,
    KubeUnreachable,
)

if TYPE_CHECKING:
    from appliance_cli.adapters.kubeconfig import KubeSettings

# Idle connections kept per client. Callers list in parallel (status collection, reset
# planning): a connection per thread is kept instead of a handful, which would cost a TLS
# handshake for each request beyond them.
POOL_MAXSIZE = 32

Timeout = float | tuple[float, float | None]


def _status_message(body: bytes | str | None) -> str:
    if not body:
        return ""
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        return text.strip()[:300]
    if isinstance(data, dict):
        return str(data.get("message") or data.get("reason") or "")[:300]
    return ""


def error_for(
    status: int, reason: str, body: bytes | str | None, what: str, *, retry_after: str | None = None
) -> KubeError:
    """The project error for an HTTP error answer of the API server."""
    msg = _status_message(body) or reason or f"HTTP {status}"
    text = f"{what}: {msg}"
    cls: type[KubeError]
    if status == 404:
        cls = KubeNotFound
    elif status == 409:
        cls = KubeConflict
    elif status == 403:
        cls = KubeForbidden
    elif status == 401:
        cls = KubeUnauthorized
    elif status in (400, 422):
        cls = KubeInvalid
    elif status in (429, 500, 502, 503, 504):
        cls = KubeUnreachable
    else:
        cls = KubeError
    err = cls(text, status=status, reason=reason)
    if isinstance(err, KubeUnreachable):
        err.retry_after = parse_retry_after(retry_after)
    return err


def transport_text(exc: BaseException) -> str:
    """The innermost useful message of a socket/TLS/HTTP failure (``Connection refused`` …)."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException) and reason is not exc:
        return transport_text(reason)
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, ssl.SSLError):
        return exc.strerror  # "Connection refused", not "[Errno 111] Connection refused"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without an answer"
    return str(exc) or type(exc).__name__


def unreachable(text: str, exc: BaseException) -> KubeUnreachable:
    err = KubeUnreachable(text)
    err.transient, err.timed_out = transport_failure(exc)
    return err


class _Connection(http.client.HTTPConnection):
    """One connection to the API server, or through an HTTP proxy's ``CONNECT`` tunnel; TLS
    with the kubeconfig's trust, client certificate and server name (``tls-server-name``)."""

    def __init__(
        self, host: str, port: int, *, tls: ssl.SSLContext | None, server_hostname: str | None, timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self._tls = tls
        self._server_hostname = server_hostname

    def connect(self) -> None:
        super().connect()  # TCP (TCP_NODELAY set), then the proxy tunnel when there is one
        if self._tls is not None and self.sock is not None:
            self.sock = self._tls.wrap_socket(self.sock, server_hostname=self._server_hostname)


def _dropped(conn: _Connection) -> bool:
    """True when an idle kept-alive connection cannot carry another request: gone, or
    readable (the server closed it, or sent something unasked)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class KubeResponse:
    """One answer of the API server: ``status``, ``reason``, ``headers``, and the body, read
    whole (``data``) or as it arrives (``stream``). ``release_conn`` hands a connection whose
    answer was read to the end back to the pool (any other is closed)."""

    def __init__(self, transport: KubeTransport, conn: _Connection, raw: http.client.HTTPResponse) -> None:
        self._transport = transport
        self._conn: _Connection | None = conn
        self._raw = raw
        self._data: bytes | None = None
        self.status = raw.status
        self.reason = raw.reason
        self.headers = raw.headers

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self._raw.read()
        return self._data

    def stream(self, amt: int = 65536) -> Iterator[bytes]:
        """The body in pieces of at most ``amt`` bytes as they arrive, until it ends."""
        while True:
            chunk = self._raw.read1(amt)
            if not chunk:
                return
            yield chunk

    def release_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._raw.isclosed() and conn.sock is not None:
            self._transport._checkin(conn)
        else:
            conn.close()

    def close(self) -> None:
        """Close the connection (an answer left mid-stream cannot serve another request)."""
        conn, self._conn = self._conn, None
        self._raw.close()
        if conn is not None:
            conn.close()

    def shutdown(self) -> None:
        """Wake a reader blocked on this answer in another thread (it sees the end)."""
        conn = self._conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class KubeTransport:
    """Requests to one API server; thread-safe (a connection per request, kept alive in a pool)."""

    def __init__(self, settings: KubeSettings) -> None:
        self.settings = settings
        parts = urlsplit(settings.server)
        self._prefix = parts.path.rstrip("/")
        self._tls = settings.ssl_context()
        self._proxy = urlsplit(settings.proxy_url) if settings.proxy_url else None
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    @property
    def server(self) -> str:
        return self.settings.server

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _new(self, connect_timeout: float) -> _Connection:
        s = self.settings
        if self._proxy is None:
            return _Connection(
                s.hostname, s.port, tls=self._tls, server_hostname=s.server_hostname, timeout=connect_timeout
            )
        proxy = self._proxy
        conn = _Connection(
            proxy.hostname or "",
            proxy.port or 80,
            tls=self._tls,
            server_hostname=s.server_hostname,
            timeout=connect_timeout,
        )
        if s.secure:
            conn.set_tunnel(s.hostname, s.port, headers=self._proxy_headers())
        return conn

    def _proxy_headers(self) -> dict[str, str]:
        proxy = self._proxy
        if proxy is None or proxy.username is None:
            return {}
        raw = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
        return {"Proxy-Authorization": "Basic " + base64.b64encode(raw).decode()}

    def _checkout(self) -> _Connection | None:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not _dropped(conn):
                    return conn
                conn.close()
        return None

    def _checkin(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < POOL_MAXSIZE:
                self._idle.append(conn)
                return
        conn.close()

    def _target(self, path: str, query: Sequence[tuple[str, Any]] | None) -> str:
        """The request target: the path (an absolute URL when a proxy forwards plain HTTP)."""
        target = self._prefix + path + (f"?{urlencode(list(query))}" if query else "")
        if self._proxy is not None and not self.settings.secure:
            parts = urlsplit(self.settings.server)
            return f"{parts.scheme}://{parts.netloc}{target}"
        return target

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        timeout: Timeout = 10.0,
        stream: bool = False,
        what: str = "",
    ) -> KubeResponse:
        """One request; a 2xx answer is returned (read whole unless ``stream``), anything else
        raised as the project's error."""
        headers: dict[str, str] = {"Accept": "application/json", "User-Agent": "appliance-cli"}
        headers.update(self.settings.auth_headers())
        if self._proxy is not None and not self.settings.secure:
            headers.update(self._proxy_headers())
        data: bytes | None = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type or "application/json"
        connect, read = (timeout, timeout) if isinstance(timeout, int | float) else timeout
        conn = self._checkout()
        try:
            if conn is None:
                conn = self._new(connect)
                conn.connect()
            assert conn.sock is not None
            conn.sock.settimeout(read)
            conn.request(method, self._target(path, query), body=data, headers=headers)
            raw = conn.getresponse()
        except (http.client.HTTPException, OSError) as exc:
            if conn is not None:
                conn.close()
            raise unreachable(
                f"Kubernetes API at {self.server} is unreachable: {transport_text(exc)}", exc
            ) from exc
        resp = KubeResponse(self, conn, raw)
        if not 200 <= resp.status <= 299:
            try:
                answer = resp.data
            except (http.client.HTTPException, OSError):
                answer = b""
            finally:
                resp.release_conn()
            raise error_for(
                resp.status,
                str(resp.reason or ""),
                answer,
                what or f"{method} {path}",
                retry_after=_header(resp.headers, "Retry-After"),
            )
        if not stream:
            try:
                _ = resp.data  # read whole and kept (``.data``)
            except (http.client.HTTPException, OSError) as exc:
                resp.close()
                raise unreachable(
                    f"Kubernetes API at {self.server} dropped the answer: {transport_text(exc)}", exc
                ) from exc
            resp.release_conn()
        return resp


def _header(headers: http.client.HTTPMessage | Mapping[str, str] | None, name: str) -> str | None:
    return headers.get(name) if headers is not None else None


def json_object(data: bytes) -> dict[str, Any]:
    """The JSON object of an answer body; ``KubeError`` if it is not one."""
    try:
        parsed = json.loads(data)
    except (ValueError, TypeError) as exc:
        raise KubeError(f"malformed answer from the Kubernetes API: {exc}") from exc
    if not isinstance(parsed, dict):
        raise KubeError("malformed answer from the Kubernetes API: not an object")
    return parsed
