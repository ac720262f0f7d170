"""The Kubernetes API over HTTP(S): one urllib3 connection pool per client, TLS from the
kubeconfig (``adapters.kubeconfig.KubeSettings``), JSON in and out, no ``kubernetes`` package.

``KubeTransport.request`` sends one request with bounded connect and read timeouts and
hands back the urllib3 response (read whole, or left open for streams: watches, followed
logs). urllib3 never retries on its own (``retries=False``): ``adapters.kube_retry`` decides,
and only for calls that are safe to repeat.

Failures become the project's errors: an HTTP error answer through ``error_for``
(``KubeNotFound``, ``KubeConflict``, ``KubeForbidden``, ``KubeUnauthorized``, ``KubeInvalid``,
``KubeUnreachable`` for 429/5xx with the server's ``Retry-After``), a connection that cannot
be made or breaks as ``KubeUnreachable`` carrying the real connection error text
(``Connection refused``, a certificate that does not verify …).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

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
    from urllib3 import BaseHTTPResponse, PoolManager

    from appliance_cli.adapters.kubeconfig import KubeSettings

# Callers list in parallel (status collection, reset planning): keep a connection per thread
# instead of a handful, which drops connections on small machines and costs a TLS handshake each.
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
    """The innermost useful message of a urllib3/socket error (``Connection refused`` …)."""
    reason = getattr(exc, "reason", None)
    if reason is not None and reason is not exc:
        return transport_text(reason) if isinstance(reason, BaseException) else str(reason)
    return str(exc) or type(exc).__name__


def unreachable(text: str, exc: BaseException) -> KubeUnreachable:
    err = KubeUnreachable(text)
    err.transient, err.timed_out = transport_failure(exc)
    return err


def _pool(settings: KubeSettings) -> PoolManager:
    import urllib3

    kw: dict[str, Any] = {"num_pools": 4, "maxsize": POOL_MAXSIZE, "block": False, "retries": False}
    if settings.secure:
        kw["ssl_context"] = settings.ssl_context()
        if settings.tls_server_name:
            kw["server_hostname"] = settings.tls_server_name
        if not settings.verify:
            # insecure-skip-tls-verify is the kubeconfig's explicit choice (kubectl says nothing)
            warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    proxy = settings.proxy_url
    if proxy and proxy.startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager

        return SOCKSProxyManager(proxy, **kw)
    if proxy:
        return urllib3.ProxyManager(proxy, **kw)
    return urllib3.PoolManager(**kw)


class KubeTransport:
    """Requests to one API server; thread-safe (the pool hands a connection per thread)."""

    def __init__(self, settings: KubeSettings) -> None:
        self.settings = settings
        self._pool = _pool(settings)

    @property
    def server(self) -> str:
        return self.settings.server

    def close(self) -> None:
        self._pool.clear()

    def url(self, path: str, query: Sequence[tuple[str, Any]] | None = None) -> str:
        return self.settings.server + path + (f"?{urlencode(list(query))}" if query else "")

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
    ) -> BaseHTTPResponse:
        """One request; a 2xx answer is returned (read whole unless ``stream``), anything else
        raised as the project's error."""
        from urllib3 import Timeout as Urllib3Timeout
        from urllib3.exceptions import HTTPError as Urllib3Error

        headers: dict[str, str] = {"Accept": "application/json", "User-Agent": "appliance-cli"}
        headers.update(self.settings.auth_headers())
        data: bytes | None = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type or "application/json"
        connect, read = (timeout, timeout) if isinstance(timeout, int | float) else timeout
        try:
            resp = self._pool.request(
                method,
                self.url(path, query),
                body=data,
                headers=headers,
                timeout=Urllib3Timeout(connect=connect, read=read),
                preload_content=False,
                redirect=False,
            )
        except (Urllib3Error, OSError) as exc:
            raise unreachable(
                f"Kubernetes API at {self.server} is unreachable: {transport_text(exc)}", exc
            ) from exc
        if not 200 <= resp.status <= 299:
            try:
                answer = resp.read()
            except (Urllib3Error, OSError):
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
            except (Urllib3Error, OSError) as exc:
                raise unreachable(
                    f"Kubernetes API at {self.server} dropped the answer: {transport_text(exc)}", exc
                ) from exc
            finally:
                resp.release_conn()
        return resp


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
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
