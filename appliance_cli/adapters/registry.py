"""OCI registry adapter: does a release's image tag exist? (distribution spec, read side).

One ``HEAD /v2/<repository>/manifests/<tag>`` per image, accepting the OCI index, OCI
manifest, Docker manifest list and Docker manifest v2 media types, so the registry answers
with the digest of whatever the tag points at without converting it.

Authentication follows the registry token flow generically (GHCR, Docker Hub, Harbor,
distribution, ...): a ``401`` with ``WWW-Authenticate: Bearer realm=..,service=..,scope=..``
leads to ``GET <realm>?service=..&scope=..`` (anonymous, or with Basic credentials from the
environment), and the request is retried with the bearer token. Tokens are cached per
scope, and once a registry has shown its challenge later images fetch their token before
the first request, saving a round trip. ``Basic`` challenges are answered with the
environment credentials.

Outcomes: ``present`` (with digest), ``missing`` (404 / MANIFEST_UNKNOWN / NAME_UNKNOWN),
``unauthorized`` (401/403 after the token flow), ``unreachable`` (DNS, connect, TLS,
timeout), ``error`` (any other answer). Only ``missing`` is a definite verdict.

Concurrency: threads over one ``httpx.Client`` (HTTP/1.1 keep-alive pool), not asyncio.
The callers (bootstrap phases, the CLI, the status service's worker threads) are
synchronous, and some run inside an event loop where ``asyncio.run`` is not allowed; a
small thread pool gives the same one-round-trip-per-wave behaviour for a handful of
requests, and the sync client's pool is thread-safe.

Credentials (never printed, logged or put into an error message):

* ``ALGA_REGISTRY_AUTH_<HOST>=<user>:<token>``, where ``<HOST>`` is the registry host (and
  port) upper-cased with every other character replaced by ``_``:
  ``ALGA_REGISTRY_AUTH_GHCR_IO``, ``ALGA_REGISTRY_AUTH_REGISTRY_EXAMPLE_COM_5000``.
* ``ALGA_REGISTRY_AUTH_FILE=<path>``: a Docker ``config.json`` (``auths.<host>.auth`` or
  ``username``/``password``); the per-host variables win.

Plain HTTP is used only for registries listed in ``insecure_registries`` (or
``ALGA_REGISTRY_INSECURE=host:port,...``); everything else is HTTPS. ``mirrors`` (or
``ALGA_REGISTRY_MIRRORS=ghcr.io=host:port,...``) sends a registry's requests to another
host (air-gapped mirrors, the lab); results still name the original reference, and the
scheme, challenge and credentials are those of the host contacted.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from appliance_cli.errors import UsageError
from appliance_cli.releases import ImageRef

if TYPE_CHECKING:
    import httpx

Outcome = Literal["present", "missing", "unauthorized", "unreachable", "error"]

MANIFEST_MEDIA_TYPES: tuple[str, ...] = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(MANIFEST_MEDIA_TYPES)
USER_AGENT = "alga-appliance-cli (registry preflight)"

AUTH_ENV_PREFIX = "ALGA_REGISTRY_AUTH_"
AUTH_FILE_ENV = "ALGA_REGISTRY_AUTH_FILE"
INSECURE_ENV = "ALGA_REGISTRY_INSECURE"
MIRRORS_ENV = "ALGA_REGISTRY_MIRRORS"

DEFAULT_TIMEOUT = 30.0  # whole check, seconds
DEFAULT_REQUEST_TIMEOUT = 10.0  # one HTTP request, seconds
DEFAULT_CONCURRENCY = 10
DEFAULT_MAX_ATTEMPTS = 4

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MISSING_CODES = frozenset({"MANIFEST_UNKNOWN", "NAME_UNKNOWN"})
_API_VERSION_HEADER = "docker-distribution-api-version"
_DOCKER_HUB_ALIASES = {"docker.io": "registry-1.docker.io", "index.docker.io": "registry-1.docker.io"}


# --------------------------------------------------------------------------- results


class ImageCheckResult(BaseModel):
    """What the registry said about one image reference."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    key: str
    image: str
    outcome: Outcome
    digest: str | None = None
    media_type: str | None = Field(None, alias="mediaType")
    status_code: int | None = Field(None, alias="statusCode")
    error: str | None = None
    attempts: int = 0
    seconds: float = 0.0
    checked_at: str = Field(alias="checkedAt")

    @property
    def definite(self) -> bool:
        """Only ``missing`` is a verdict about the image; the others are about the check."""
        return self.outcome == "missing"


# --------------------------------------------------------------------------- references


def parse_image_reference(text: str) -> ImageRef:
    """``host[:port]/path[:tag|@digest]`` → ``ImageRef`` (Docker Hub short names normalised).

    A digest reference (``repo@sha256:…`` or ``repo:tag@sha256:…``) keeps the digest in ``tag``;
    :func:`display_reference` prints it back with ``@``.
    """
    name, sep, digest = text.partition("@")
    tag = digest if sep else ""
    if sep and ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]  # ``repo:tag@digest``: the digest is what is pulled
    if not sep:
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            name, tag = name.rsplit(":", 1)
        tag = tag or "latest"
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name if '/' in name else 'library/' + name}"
    if not tag or not name.split("/", 1)[1]:
        raise UsageError(f"{text!r} is not an image reference")
    return ImageRef(repository=name, tag=tag)


def display_reference(ref: ImageRef) -> str:
    return f"{ref.repository}@{ref.tag}" if ref.tag.startswith("sha256:") else ref.reference


def _api_host(registry: str) -> str:
    return _DOCKER_HUB_ALIASES.get(registry, registry)


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def auth_env_name(registry: str) -> str:
    """``ghcr.io`` → ``ALGA_REGISTRY_AUTH_GHCR_IO``."""
    return AUTH_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", registry.upper())


def _host_of_auth_key(key: str) -> str:
    key = re.sub(r"^[a-z]+://", "", key.strip())
    return key.split("/", 1)[0]


def credentials_from_env(env: Mapping[str, str] | None = None) -> dict[str, Credentials]:
    """Registry credentials keyed by registry host (as written in image references)."""
    env = os.environ if env is None else env
    found: dict[str, Credentials] = {}
    config_path = env.get(AUTH_FILE_ENV)
    if config_path:
        found.update(_credentials_from_docker_config(Path(config_path)))
    by_env_name = {auth_env_name(host): host for host in found}
    for name, value in env.items():
        if not name.startswith(AUTH_ENV_PREFIX) or name == AUTH_FILE_ENV or not value:
            continue
        user, sep, secret = value.partition(":")
        if not sep or not user or not secret:
            raise UsageError("must be '<user>:<token>' (value not shown)", param=name)
        host = by_env_name.get(name) or _host_from_env_name(name)
        found[host] = Credentials(user, secret)
    return found


def _host_from_env_name(name: str) -> str:
    """Best effort inverse of :func:`auth_env_name`; lookups match by env name anyway."""
    return name[len(AUTH_ENV_PREFIX) :].lower()


def _credentials_from_docker_config(path: Path) -> dict[str, Credentials]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(
            f"cannot read Docker config {path}: {type(exc).__name__}", param=AUTH_FILE_ENV
        ) from None
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        raise UsageError(f"{path} has no 'auths' object", param=AUTH_FILE_ENV)
    found: dict[str, Credentials] = {}
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            continue
        user, secret = entry.get("username"), entry.get("password")
        if isinstance(entry.get("auth"), str) and entry["auth"]:
            try:
                user, _, secret = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise UsageError(
                    f"{path}: auths.{key}.auth is not base64 user:password", param=AUTH_FILE_ENV
                ) from None
        if isinstance(user, str) and isinstance(secret, str) and user and secret:
            found[_host_of_auth_key(key)] = Credentials(user, secret)
    return found


def _lookup_credentials(creds: Mapping[str, Credentials], registry: str) -> Credentials | None:
    if registry in creds:
        return creds[registry]
    wanted = auth_env_name(registry)
    for host, value in creds.items():
        if auth_env_name(host) == wanted:
            return value
    return None


def mirrors_from_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``ALGA_REGISTRY_MIRRORS=ghcr.io=mirror.example:5000,...`` → ``{"ghcr.io": "mirror.example:5000"}``."""
    env = os.environ if env is None else env
    found: dict[str, str] = {}
    for item in env.get(MIRRORS_ENV, "").split(","):
        if not item.strip():
            continue
        source, sep, target = item.strip().partition("=")
        if not sep or not source or not target or "/" in target:
            raise UsageError(f"{item.strip()!r} is not 'registry=host[:port]'", param=MIRRORS_ENV)
        found[source] = target
    return found


def insecure_from_env(env: Mapping[str, str] | None = None) -> frozenset[str]:
    env = os.environ if env is None else env
    return frozenset(h.strip() for h in env.get(INSECURE_ENV, "").split(",") if h.strip())


# --------------------------------------------------------------------------- challenges


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer" | "basic" | other, lower-cased
    params: Mapping[str, str]


_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_www_authenticate(header: str) -> Challenge | None:
    """``Bearer realm="…",service="…",scope="…"`` → ``Challenge`` (first challenge only)."""
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m or m.end() == pos:
            break
        quoted, bare = m.group(2), m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare or ""
        pos = m.end()
    return Challenge(scheme.lower(), params)


# --------------------------------------------------------------------------- errors


class _Secrets:
    """Every secret value the checker handles, so error text can be scrubbed of them."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if value and len(value) >= 4:
            with self._lock:
                self._values.add(value)

    def scrub(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            text = text.replace(value, "***")
        return re.sub(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{16,}", r"\1 ***", text)


class _Transient(Exception):
    """A retryable answer (429/5xx); carries the response and its Retry-After."""

    def __init__(self, response: httpx.Response, retry_after: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after


class _Verdict(Exception):
    """Stop the flow for this image with this outcome."""

    def __init__(self, outcome: Outcome, error: str, status_code: int | None = None) -> None:
        super().__init__(error)
        self.outcome: Outcome = outcome
        self.error = error
        self.status_code = status_code


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or HTTP-date); ``None`` when absent/garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _cause_chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def describe_transport_error(exc: BaseException) -> tuple[str, bool]:
    """A one-line description of a transport failure, and whether retrying can help."""
    import httpx

    chain = list(_cause_chain(exc))
    detail = str(exc) or type(exc).__name__
    if any(isinstance(e, socket.gaierror) for e in chain) or re.search(
        r"Name or service not known|nodename nor servname|getaddrinfo|Temporary failure in name resolution"
        r"|No address associated with hostname",
        detail,
    ):
        return f"DNS lookup failed: {detail}", False
    if any(isinstance(e, ssl.SSLError) for e in chain) or "SSL" in detail or "certificate" in detail:
        return f"TLS error: {detail}", False
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timed out: {detail}", True
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out waiting for the registry ({type(exc).__name__}): {detail}", False
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in detail.lower():
        return f"connection refused: {detail}", True
    if isinstance(exc, httpx.ConnectError):
        return f"connect failed: {detail}", True
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return f"connection dropped: {detail}", True
    return f"{type(exc).__name__}: {detail}", False


# --------------------------------------------------------------------------- checker


@dataclass
class _Token:
    value: str
    expires_at: float


@dataclass
class _Attempts:
    count: int = 0


class RegistryChecker:
    """Checks image references against their registries; reuse it to reuse tokens.

    ``timeout`` bounds the whole :meth:`check` (retries and waits included);
    ``request_timeout`` bounds one HTTP request. ``transport`` is for tests only.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        insecure_registries: Iterable[str] | None = None,
        credentials: Mapping[str, Credentials] | None = None,
        mirrors: Mapping[str, str] | None = None,
        backoff_initial: float = 0.25,
        backoff_max: float = 4.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if timeout <= 0 or request_timeout <= 0:
            raise UsageError("must be a positive number of seconds", param="--timeout")
        if concurrency < 1:
            raise UsageError("must be at least 1", param="concurrency")
        self.timeout = timeout
        self.request_timeout = request_timeout
        self.concurrency = concurrency
        self.max_attempts = max(1, max_attempts)
        self.insecure = frozenset(insecure_from_env() if insecure_registries is None else insecure_registries)
        self.credentials = dict(credentials_from_env() if credentials is None else credentials)
        self.mirrors = dict(mirrors_from_env() if mirrors is None else mirrors)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._transport = transport
        self._secrets = _Secrets()
        for cred in self.credentials.values():
            self._secrets.add(cred.password)
            self._secrets.add(cred.basic_header().split(" ", 1)[1])
        self._tokens: dict[tuple[str, str, str], _Token] = {}
        self._token_locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._challenges: dict[str, Challenge] = {}
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self.token_requests = 0

    # -- lifecycle

    def __enter__(self) -> RegistryChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http(self) -> httpx.Client:
        import httpx

        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    http1=True,
                    http2=False,
                    verify=_tls_context(),
                    follow_redirects=True,
                    max_redirects=5,
                    trust_env=False,
                    transport=self._transport,
                    limits=httpx.Limits(
                        max_connections=self.concurrency * 2,
                        max_keepalive_connections=self.concurrency * 2,
                        keepalive_expiry=30.0,
                    ),
                    headers={"User-Agent": USER_AGENT},
                )
            return self._client

    # -- public

    def check(self, images: Mapping[str, ImageRef]) -> list[ImageCheckResult]:
        """Check every image concurrently; results in the order of ``images``."""
        from concurrent.futures import ThreadPoolExecutor

        if not images:
            return []
        deadline = time.monotonic() + self.timeout
        items = list(images.items())
        workers = min(self.concurrency, len(items))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="registry-check") as pool:
            futures = [pool.submit(self.check_one, key, ref, deadline) for key, ref in items]
            return [f.result() for f in futures]

    def check_one(self, key: str, ref: ImageRef, deadline: float | None = None) -> ImageCheckResult:
        deadline = deadline if deadline is not None else time.monotonic() + self.timeout
        started = time.monotonic()
        attempts = _Attempts()
        shown = display_reference(ref)
        checked_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        def result(outcome: Outcome, **kw: object) -> ImageCheckResult:
            error = kw.pop("error", None)
            return ImageCheckResult.model_validate(
                {
                    "key": key,
                    "image": shown,
                    "outcome": outcome,
                    "error": self._secrets.scrub(str(error)) if error else None,
                    "attempts": attempts.count,
                    "seconds": round(time.monotonic() - started, 4),
                    "checkedAt": checked_at,
                    **kw,
                }
            )

        import httpx

        try:
            response = self._manifest_request(ref, "HEAD", deadline, attempts)
            if response.status_code in (405, 501):  # a registry without HEAD on manifests
                response = self._manifest_request(ref, "GET", deadline, attempts)
            return self._classify(response, ref, deadline, attempts, result)
        except _Verdict as v:
            return result(v.outcome, error=v.error, statusCode=v.status_code)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # redirect loops, malformed URLs, ...
            return result("error", error=f"{type(exc).__name__}: {exc}")

    # -- classification

    def _classify(
        self,
        response: httpx.Response,
        ref: ImageRef,
        deadline: float,
        attempts: _Attempts,
        result: Callable[..., ImageCheckResult],
    ) -> ImageCheckResult:
        status = response.status_code
        media_type = (response.headers.get("content-type") or "").split(";")[0].strip() or None
        if 200 <= status < 300:
            digest = response.headers.get("docker-content-digest")
            if not digest:
                digest = self._digest_by_get(ref, deadline, attempts, response)
            return result("present", digest=digest, mediaType=media_type, statusCode=status)
        codes = _error_codes(response)
        if status == 404 or codes & _MISSING_CODES:
            registry_like = bool(codes) or _API_VERSION_HEADER in response.headers
            if not codes and response.request.method == "HEAD":
                # A HEAD 404 has no body: one GET fetches the registry's error code.
                got = self._quiet_get(ref, deadline, attempts)
                if got is not None and got.status_code == status:
                    codes = _error_codes(got)
                    registry_like = registry_like or bool(codes) or _API_VERSION_HEADER in got.headers
            if not registry_like:
                # A web server's 404 page is not a registry's verdict about the image.
                return result(
                    "error",
                    error=f"HTTP {status} without a registry error code (is this a registry API?)",
                    statusCode=status,
                )
            what = ", ".join(f"{c.lower().replace('_', ' ')} ({c})" for c in sorted(codes)) or "not found"
            return result("missing", error=f"HTTP {status}: {what}", statusCode=status)
        if status in (401, 403):
            detail = ", ".join(sorted(codes)) or ("denied" if status == 403 else "authentication required")
            return result("unauthorized", error=f"HTTP {status}: {detail}", statusCode=status)
        suffix = f" after {attempts.count} attempts" if attempts.count > 1 else ""
        detail = f" ({', '.join(sorted(codes))})" if codes else ""
        if status == 429:
            retry_after = response.headers.get("retry-after")
            detail += f" (rate limited; Retry-After {retry_after} s)" if retry_after else " (rate limited)"
        return result("error", error=f"HTTP {status}{detail}{suffix}", statusCode=status)

    def _digest_by_get(
        self, ref: ImageRef, deadline: float, attempts: _Attempts, response: httpx.Response
    ) -> str | None:
        if response.request.method == "GET":
            return "sha256:" + hashlib.sha256(response.content).hexdigest()
        try:
            got = self._manifest_request(ref, "GET", deadline, attempts)
        except _Verdict:
            return None
        if 200 <= got.status_code < 300:
            return (
                got.headers.get("docker-content-digest")
                or "sha256:" + hashlib.sha256(got.content).hexdigest()
            )
        return None

    def _quiet_get(self, ref: ImageRef, deadline: float, attempts: _Attempts) -> httpx.Response | None:
        try:
            return self._manifest_request(ref, "GET", deadline, attempts)
        except _Verdict:
            return None

    # -- the request with authentication

    def _scheme(self, registry: str) -> str:
        return "http" if registry in self.insecure else "https"

    def _manifest_request(
        self, ref: ImageRef, method: str, deadline: float, attempts: _Attempts
    ) -> httpx.Response:
        # The host actually contacted: a configured mirror, else the registry of the reference.
        # Scheme, challenges and credentials all belong to that host.
        registry = self.mirrors.get(ref.registry, ref.registry)
        host = _api_host(registry)
        url = f"{self._scheme(registry)}://{host}/v2/{ref.path}/manifests/{ref.tag}"
        scope = f"repository:{ref.path}:pull"
        headers = {"Accept": ACCEPT}
        auth = self._preauth(registry, scope, deadline, attempts)
        if auth:
            headers["Authorization"] = auth
        response = self._send(method, url, headers, deadline, attempts)
        fetched_fresh = False
        for _round in range(2):
            if response.status_code != 401:
                return response
            challenge = parse_www_authenticate(response.headers.get("www-authenticate", ""))
            if challenge is None or challenge.scheme not in ("bearer", "basic"):
                return response
            with self._lock:
                self._challenges[registry] = challenge
            if challenge.scheme == "basic":
                creds = _lookup_credentials(self.credentials, registry)
                if creds is None:
                    raise _Verdict(
                        "unauthorized",
                        f"HTTP 401: registry requires credentials (set {auth_env_name(registry)})",
                        401,
                    )
                if headers.get("Authorization", "").startswith("Basic "):
                    return response  # our credentials were refused
                headers["Authorization"] = creds.basic_header()
            else:
                if fetched_fresh:
                    return response  # a token fetched just now for this scope was refused
                used = headers.get("Authorization", "")
                stale = used[len("Bearer ") :] if used.startswith("Bearer ") else None
                wanted = challenge.params.get("scope") or scope
                token, fetched_fresh = self._token(
                    registry, challenge, wanted, deadline, attempts, stale=stale
                )
                if token == stale:
                    return response
                headers["Authorization"] = f"Bearer {token}"
            response = self._send(method, url, headers, deadline, attempts)
        return response

    def _preauth(self, registry: str, scope: str, deadline: float, attempts: _Attempts) -> str | None:
        """Authorization for a first request to a registry whose challenge is already known."""
        with self._lock:
            challenge = self._challenges.get(registry)
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            creds = _lookup_credentials(self.credentials, registry)
            return creds.basic_header() if creds else None
        token, _ = self._token(registry, challenge, scope, deadline, attempts, stale=None)
        return f"Bearer {token}"

    def _token(
        self,
        registry: str,
        challenge: Challenge,
        scope: str,
        deadline: float,
        attempts: _Attempts,
        *,
        stale: str | None,
    ) -> tuple[str, bool]:
        """A bearer token for ``scope`` (cached per realm, service and scope), and whether it
        was fetched by this call. ``stale`` is a token the registry just refused: it is
        replaced unless another thread has replaced it already."""
        realm = challenge.params.get("realm")
        if not realm:
            raise _Verdict("error", "registry sent a Bearer challenge without a realm")
        service = challenge.params.get("service", "")
        cache_key = (realm, service, scope)
        with self._lock:
            lock = self._token_locks.setdefault(cache_key, threading.Lock())
        with lock:  # one fetch per scope at a time; the others wait and reuse it
            with self._lock:
                cached = self._tokens.get(cache_key)
            if cached and cached.value != stale and cached.expires_at > time.monotonic():
                return cached.value, False
            token = self._fetch_token(registry, realm, service, scope, deadline, attempts)
            with self._lock:
                self._tokens[cache_key] = token
            return token.value, True

    def _fetch_token(
        self, registry: str, realm: str, service: str, scope: str, deadline: float, attempts: _Attempts
    ) -> _Token:
        params = {"scope": scope}
        if service:
            params["service"] = service
        headers: dict[str, str] = {}
        creds = _lookup_credentials(self.credentials, registry)
        # Credentials travel in clear only to a realm the operator marked insecure or to loopback.
        realm_host = host_of(realm)
        if creds is not None and (
            realm.startswith("https://") or realm_host in self.insecure or _is_loopback(realm_host)
        ):
            headers["Authorization"] = creds.basic_header()
            params["account"] = creds.username
        with self._lock:
            self.token_requests += 1
        response = self._send("GET", realm, headers, deadline, attempts, params=params)
        if response.status_code in (401, 403):
            who = "the credentials" if creds else "anonymous access"
            raise _Verdict(
                "unauthorized",
                f"token request refused (HTTP {response.status_code}) for {who}",
                response.status_code,
            )
        if response.status_code != 200:
            raise _Verdict(
                "error", f"token request answered HTTP {response.status_code}", response.status_code
            )
        try:
            body = response.json()
            value = body.get("token") or body.get("access_token")
            expires_in = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            raise _Verdict("error", "token endpoint answered something that is not a token") from None
        if not isinstance(value, str) or not value:
            raise _Verdict("error", "token endpoint answered without a token")
        self._secrets.add(value)
        return _Token(value, time.monotonic() + max(1.0, expires_in - 5.0))

    # -- one request with retries

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        deadline: float,
        attempts: _Attempts,
        *,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        import httpx
        from tenacity import RetryCallState, Retrying, retry_if_exception

        client = self._http()

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, _Transient):
                return True
            return isinstance(exc, httpx.TransportError) and describe_transport_error(exc)[1]

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Transient) and exc.retry_after is not None:
                return exc.retry_after
            return float(min(self.backoff_max, self.backoff_initial * 2 ** (state.attempt_number - 1)))

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= self.max_attempts:
                return True
            # Give up when the wait would leave no time for the next request to answer.
            return time.monotonic() + (state.upcoming_sleep or 0.0) + 0.05 >= deadline

        def once() -> httpx.Response:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise httpx.ReadTimeout("time bound for the check exceeded before a request could be sent")
            attempts.count += 1
            timeout = min(self.request_timeout, remaining)
            response = client.request(
                method, url, headers=dict(headers), params=params, timeout=httpx.Timeout(timeout)
            )
            if response.status_code in _RETRY_STATUSES:
                raise _Transient(response, parse_retry_after(response.headers.get("retry-after")))
            return response

        try:
            for attempt in Retrying(retry=retry_if_exception(retryable), wait=wait, stop=stop, reraise=True):
                with attempt:
                    return once()
        except _Transient as exc:
            return exc.response
        except httpx.TransportError as exc:
            text, _ = describe_transport_error(exc)
            suffix = f" (after {attempts.count} attempts)" if attempts.count > 1 else ""
            raise _Verdict("unreachable", f"{host_of(url)}: {text}{suffix}") from None
        raise AssertionError("unreachable: tenacity always returns or raises")  # pragma: no cover


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """System trust store plus certifi's bundle; built once per process (it takes ~30 ms)."""
    import certifi

    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    return context


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    return name in ("localhost", "::1") or name.startswith("127.")


def host_of(url: str) -> str:
    return re.sub(r"^[a-z]+://", "", url).split("/", 1)[0]


def _error_codes(response: httpx.Response) -> set[str]:
    if response.request.method == "HEAD":
        return set()
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return set()
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return set()
    return {str(e.get("code")) for e in errors if isinstance(e, dict) and e.get("code")}


def check_images(
    images: Mapping[str, ImageRef],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    insecure_registries: Iterable[str] | None = None,
    credentials: Mapping[str, Credentials] | None = None,
    mirrors: Mapping[str, str] | None = None,
    checker: RegistryChecker | None = None,
) -> list[ImageCheckResult]:
    """Check each image of ``images`` (key → reference) against its registry.

    Returns one result per image, in order. Never raises for registry trouble (that is an
    outcome); raises ``UsageError`` only for malformed credential or mirror variables.
    """
    if checker is not None:
        return checker.check(images)
    with RegistryChecker(
        timeout=timeout,
        request_timeout=min(request_timeout, timeout),
        concurrency=concurrency,
        insecure_registries=insecure_registries,
        credentials=credentials,
        mirrors=mirrors,
    ) as owned:
        return owned.check(images)
