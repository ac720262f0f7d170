"""``StatusServer``: the status web service with its one collector loop.

One loop per process collects and classifies every ``interval`` seconds and publishes the
result to a shared ``StatusState``; requests only read that state. When a collection
fails, the last good state stays published and the page says how old it is.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from appliance_cli.errors import UsageError
from appliance_cli.status.model import StatusDocument
from appliance_cli.status.snapshot import ClusterSnapshot
from appliance_cli.web.auth import AuthConfig, Authenticator
from appliance_cli.web.state import StatusState

if TYPE_CHECKING:
    from appliance_cli.adapters.talos import HealthResult
    from appliance_cli.status.collect import CollectOptions, KubeSource
    from appliance_cli.status.informer import InformerSet
    from appliance_cli.status.snapshot import EventsCollection

log = logging.getLogger("appliance_cli.web.server")

Collect = Callable[[], tuple[ClusterSnapshot, StatusDocument]]
NODE_IP_ENV = "ALGA_APPLIANCE_NODE_IP"
LOGIN_URL_ENV = "ALGA_APPLIANCE_LOGIN_URL"
# a request's line and headers must arrive within this many seconds (web.protocol)
HEADER_TIMEOUT_SECONDS = 10.0
KUBE_TIMEOUT_SECONDS = 5.0
STOP_WAIT_SECONDS = 0.5  # how long a stop waits for a collection in flight
# the collector loop recomputes at most this often, whatever the rate of changes
MIN_RECOMPUTE_GAP = 0.05
MAX_RECOMPUTE_GAP = 1.0
# a watch request of the service's informers ends (and is made again) after this long
INFORMER_WATCH_SECONDS = 120


# what the kubernetes client's in-cluster configuration reads (kubernetes.config.incluster_config)
SERVICE_HOST_ENV = "KUBERNETES_SERVICE_HOST"
SERVICE_PORT_ENV = "KUBERNETES_SERVICE_PORT"
SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def check_in_cluster() -> None:
    """``--in-cluster`` outside a pod is bad input (exit 2), not a service that serves nothing."""
    missing = [env for env in (SERVICE_HOST_ENV, SERVICE_PORT_ENV) if not os.environ.get(env)]
    if not SERVICE_ACCOUNT_TOKEN.is_file():
        missing.append(str(SERVICE_ACCOUNT_TOKEN))
    if missing:
        raise UsageError(
            f"not running inside a Kubernetes pod (missing {', '.join(missing)})",
            param="--in-cluster",
            hint="outside the cluster leave out --in-cluster (the site's kubeconfig is used)",
        )


def check_proxies(values: Sequence[str]) -> tuple[str, ...]:
    """``--trusted-proxy`` values as addresses or networks; anything else is bad input."""
    out: list[str] = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise UsageError(f"{value!r} is not an IP address or CIDR", param="--trusted-proxy") from None
    return tuple(out)


def request_timeout(interval: float) -> float:
    """The bound on each Kubernetes request (connect, and each read) of one collection: half
    the interval, between 1 and 5 seconds, so a hung API shows as unreachable in the next
    collection instead of after a long wait."""
    return min(KUBE_TIMEOUT_SECONDS, max(1.0, interval / 2))


class BoundedCheck:
    """A slow check (``talosctl health`` waits up to minutes) run at most one at a time and
    waited for at most ``timeout`` seconds: a check still running is not started again, and
    until it answers the last answer stands (or, before any, "no answer within …")."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._running: threading.Thread | None = None
        self._done = threading.Event()
        self._result: HealthResult | None = None
        self._last: HealthResult | None = None

    def __call__(self, check: Callable[[], HealthResult]) -> HealthResult:
        from appliance_cli.adapters.talos import HealthResult

        with self._lock:
            if self._running is None or not self._running.is_alive():
                done = threading.Event()
                self._done = done

                def run() -> None:
                    try:
                        result = check()
                    except Exception as exc:  # an adapter failing is state too
                        result = HealthResult(reachable=False, healthy=False, error=str(exc)[:300])
                    with self._lock:
                        self._result = self._last = result
                    done.set()

                self._result = None
                self._running = threading.Thread(target=run, name="status-talos-health", daemon=True)
                self._running.start()
            done = self._done
        if done.wait(self.timeout):
            with self._lock:
                if self._result is not None:
                    return self._result
        with self._lock:
            if self._last is not None:
                return self._last
        return HealthResult(
            reachable=False,
            healthy=False,
            error=f"the Talos health check did not answer within {self.timeout:g}s",
        )


class LiveCollector:
    """Collect + classify for the service: one reused Kubernetes client and, on it, an
    ``InformerSet`` (both rebuilt when the kubeconfig file changes), no exec, every request
    bounded by ``request_timeout``.

    Collections read the informers' caches: at a steady state a status costs no LIST, only
    the log tails of failing containers whose status changed and, when nothing was heard from
    the API for an interval, one GET that proves it still answers (``InformerSet.check_alive``:
    a hung or stopped API shows as unreachable within one interval, as before). A watch that
    broke and is not back yet makes its resources unavailable (every one: unreachable).
    ``wait_for_change`` lets the loop sleep until the caches change.

    ``secrets`` gives what must never be shown besides what the redactor finds on its own:
    the status token (the service's current one), to which the client's bearer token is added.
    """

    def __init__(
        self,
        *,
        site_id: str,
        kubeconfig: Path | None,
        in_cluster: bool,
        interval: float = 5.0,
        secrets: Callable[[], Sequence[str]] = tuple,
    ) -> None:
        self.site_id = site_id
        self.kubeconfig = kubeconfig
        self.in_cluster = in_cluster
        self.interval = interval
        self.timeout = request_timeout(interval)
        self.secrets = secrets
        self._informers: InformerSet | None = None
        self._generation = 0  # of the informers, when the last collection began
        # the last merged events, reused while their lists are unchanged (one per informer set)
        self._events_seen: dict[tuple[str, ...], tuple[dict[str, Any], EventsCollection]] = {}
        self._client: KubeSource | None = None
        self._client_error: str | None = None
        self._client_source: tuple[str, int, int, int] | None = None
        self._app_url: str | None = None
        self._talos = BoundedCheck(self.timeout)

    def _kubeconfig_path(self) -> Path:
        from appliance_cli.site import Site

        return self.kubeconfig or Site.open(self.site_id).kubeconfig

    @staticmethod
    def _file_id(path: Path) -> tuple[str, int, int, int] | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return (str(path), st.st_mtime_ns, st.st_size, st.st_ino)

    def _kube(self) -> KubeSource | None:
        from appliance_cli.adapters.kube import KubeClient
        from appliance_cli.adapters.kube_retry import STATUS_RETRY
        from appliance_cli.errors import ApplianceError

        path = None if self.in_cluster else self._kubeconfig_path()
        source = self._file_id(path) if path is not None else None
        if self._client is not None and path is not None and source != self._client_source:
            # the kubeconfig changed (the API moved, new credentials): build a new client
            self.close()
            close = getattr(self._client, "close", None)
            if callable(close):
                close()
            self._client = None
        if self._client is None:
            try:
                if path is None:
                    self._client = KubeClient.in_cluster(timeout=self.timeout, retry=STATUS_RETRY)
                else:
                    self._client = KubeClient.from_kubeconfig(path, timeout=self.timeout, retry=STATUS_RETRY)
                self._client_error = None
                self._client_source = source
            except ApplianceError as exc:
                self._client_error = str(exc)
        return self._client

    def _source(self, kube: KubeSource | None) -> KubeSource | None:
        """The informers on ``kube`` (started, and waited for up to one request bound, on first use)."""
        from appliance_cli.status.collect import APPLIANCE_LABEL_SELECTOR
        from appliance_cli.status.informer import InformerSet

        if kube is None or not callable(getattr(kube, "watch", None)):
            return kube
        if self._informers is None or self._informers.kube is not kube:
            self.close()
            self._events_seen = {}
            self._informers = InformerSet(
                kube,
                label_selectors={"v1/configmaps": APPLIANCE_LABEL_SELECTOR},
                watch_timeout=INFORMER_WATCH_SECONDS,
            ).start()
            self._informers.wait_synced(self.timeout)
        # a KubeSource whose request count is the client's (read-only: hence the cast)
        return cast("KubeSource", self._informers)

    def wait_for_change(self, timeout: float, stop: threading.Event) -> None:
        """Return when the cluster changed since the last collection began, ``timeout`` passed
        or ``stop`` was set."""
        informers = self._informers
        if informers is None:
            stop.wait(timeout)
            return
        informers.wait_for_change(self._generation, timeout, stop)

    def close(self) -> None:
        """Stop the informers (their threads end when their current watch request does)."""
        if self._informers is not None:
            self._informers.stop()
            self._informers = None

    def _options(self) -> CollectOptions:
        from appliance_cli.status.collect import CollectOptions

        if self.in_cluster:
            from appliance_cli import endpoints

            urls = endpoints.resolve(
                node_ip=os.environ.get(NODE_IP_ENV) or None,
                app_url=os.environ.get(LOGIN_URL_ENV) or self._app_url,
            )
            return CollectOptions(
                site_id=self.site_id,
                node_ip=urls.node_ip,
                app_url=self._app_url,
                login_url=urls.login_url,
                status_url=urls.status_url,
                exec_seed_probe=False,
                site_id_from_facts=True,
            )
        from appliance_cli.site import Site
        from appliance_cli.status.live import site_options

        options = site_options(Site.open(self.site_id), exec_seed_probe=False)
        talos = options.talos_health
        if talos is None:
            return options
        return replace(options, talos_health=lambda: self._talos(talos))

    def __call__(self) -> tuple[ClusterSnapshot, StatusDocument]:
        from appliance_cli.status.collect import collect
        from appliance_cli.status.live import classify_live, with_client_secrets

        kube = self._kube()
        source = self._source(kube)
        informers = self._informers
        if informers is not None:
            self._generation = informers.generation
            informers.check_alive(quiet_for=self.interval)
        options = self._options()
        extra = tuple(x for x in self.secrets() if x and x not in options.redact_extra)
        options = with_client_secrets(
            replace(options, redact_extra=(*options.redact_extra, *extra), events_seen=self._events_seen),
            kube,
        )
        snap = collect(source, options, kube_error=self._client_error)
        if self.in_cluster and self._app_url is None:
            for cm in snap.items("v1/configmaps"):
                if (cm.get("metadata") or {}).get("name") == "appliance-release-selection":
                    self._app_url = (cm.get("data") or {}).get("appUrl") or None
        return snap, classify_live(snap)


class CollectorLoop:
    """Collects, classifies and publishes: again as soon as the cluster changed (when the
    collector can say so: ``LiveCollector.wait_for_change``), at least once per ``interval``
    (the login probe and the ages in the document move with time, and a hung API must show),
    and never more often than every ``min_gap`` seconds (a burst of changes is one collection)."""

    def __init__(self, collect: Collect, state: StatusState, interval: float) -> None:
        self.collect = collect
        self.state = state
        self.interval = interval
        self.min_gap = min(MAX_RECOMPUTE_GAP, max(MIN_RECOMPUTE_GAP, interval / 5))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        from appliance_cli.web.diagnostics import diagnostics

        try:
            snap, doc = self.collect()
            self.state.publish(doc, diagnostics(snap, doc), snap)
        except Exception as exc:  # keep the last good state; say what went wrong
            from appliance_cli.status.redact import redact

            error = redact(f"{type(exc).__name__}: {exc}")
            log.warning("status collection failed: %s", error)
            self.state.fail(error)

    def _loop(self) -> None:
        wait_for_change = getattr(self.collect, "wait_for_change", None)
        while not self._stop.is_set():
            started = time.monotonic()
            self.run_once()
            left = max(0.05, self.interval - (time.monotonic() - started))
            if not callable(wait_for_change):
                self._stop.wait(left)
                continue
            wait_for_change(left, self._stop)
            self._stop.wait(max(0.0, self.min_gap - (time.monotonic() - started)))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="status-collector", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Stop after the collection in flight, without waiting for it (``stop`` waits)."""
        self._stop.set()

    def stop(self, *, wait: float = STOP_WAIT_SECONDS) -> None:
        """Stop collecting. A collection in flight (a LIST an unanswering API holds until its
        read timeout) is waited for at most ``wait`` seconds, then left to its daemon threads:
        Ctrl-C stops the service at once, whatever the API does. Stopping again does not
        wait again."""
        self.request_stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=wait)
        close = getattr(self.collect, "close", None)
        if callable(close):
            close()


class StatusServer:
    """The status service: uvicorn on ``host:port`` in a background thread plus the collector loop."""

    def __init__(
        self,
        *,
        kubeconfig: Path | None,
        in_cluster: bool,
        token: str,
        host: str,
        port: int,
        site_id: str,
        interval: float = 5.0,
        collect: Collect | None = None,
        auth_config: AuthConfig | None = None,
        token_file: Path | None = None,
        trusted_proxies: Sequence[str] = (),
        header_timeout: float = HEADER_TIMEOUT_SECONDS,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        http_port: int | None = None,
    ) -> None:
        self.host = host
        # With a certificate: HTTPS on ``port`` and, on ``http_port``, plain HTTP for /healthz
        # and a redirect (web.plain_http). Without one: plain HTTP on ``port`` only.
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.http_port = http_port if tls_cert is not None else None
        # X-Forwarded-For names the client only when the connection comes from one of these
        # (default none: the peer address is the client, whatever headers it sends).
        self.trusted_proxies = tuple(trusted_proxies)
        self.header_timeout = header_timeout
        self.port = port
        self.site_id = site_id
        self.state = StatusState(interval)
        self.auth = Authenticator(token=token, config=auth_config or AuthConfig(), token_file=token_file)
        self.loop = CollectorLoop(
            collect
            or LiveCollector(
                site_id=site_id,
                kubeconfig=kubeconfig,
                in_cluster=in_cluster,
                interval=interval,
                secrets=lambda: (self.auth.token,),
            ),
            self.state,
            interval,
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._plain: Any = None
        self._plain_thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        from appliance_cli.endpoints import host_url

        return host_url(self.host, self.port, "https" if self.tls_cert is not None else "http")

    @property
    def http_url(self) -> str | None:
        """The plain-HTTP listener (``/healthz`` and the redirect), when serving HTTPS."""
        from appliance_cli.endpoints import host_url

        return host_url(self.host, self.http_port) if self.http_port is not None else None

    def _uvicorn(self, app: Any = None, port: int | None = None) -> Any:
        import uvicorn

        from appliance_cli.web.app import create_app
        from appliance_cli.web.protocol import protocol_class

        config = uvicorn.Config(
            app if app is not None else create_app(self.state, self.auth),
            host=self.host,
            port=self.port if port is None else port,
            http=protocol_class(self.header_timeout),
            access_log=False,  # uvicorn's access log prints query strings; ours logs the path only
            log_level="warning",
            server_header=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            proxy_headers=bool(self.trusted_proxies),
            forwarded_allow_ips=list(self.trusted_proxies) or None,
        )
        if app is None and self.tls_cert is not None and self.tls_key is not None:
            from appliance_cli.tls import server_context

            config.load()  # then our context (TLS >= 1.2) replaces whatever uvicorn would build
            config.ssl = server_context(self.tls_cert, self.tls_key)
        return uvicorn.Server(config)

    def _bind(self, port: int) -> Any:
        import socket

        # Bind here, in the caller's thread: a busy port is an OSError for the caller, not a
        # message in a background thread.
        # IPPROTO_TCP (not 0): asyncio then sets TCP_NODELAY on every accepted connection.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, port))
        except OSError as exc:
            sock.close()
            raise OSError(
                exc.errno, f"the status service could not listen on {self.host}:{port}: {exc.strerror}"
            ) from exc
        return sock

    def start(self, *, timeout: float = 15.0) -> StatusServer:
        """Start serving in a background thread; return once listening."""
        server = self._uvicorn()
        sock = self._bind(self.port)
        plain_sock = None
        if self.http_port is not None:
            try:
                plain_sock = self._bind(self.http_port)
            except OSError:
                sock.close()
                raise
        self.port = sock.getsockname()[1]
        server.config.port = self.port
        sockets = [sock]
        self._server = server
        if plain_sock is not None:
            from appliance_cli.web.plain_http import plain_http_app

            self.http_port = plain_sock.getsockname()[1]
            self._plain = self._uvicorn(plain_http_app(self.port), self.http_port)
            self._plain_thread = threading.Thread(
                target=self._plain.run,
                kwargs={"sockets": [plain_sock]},
                name=f"status-http-plain:{self.http_port}",
                daemon=True,
            )
            self._plain_thread.start()
        self.loop.start()
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": sockets}, name=f"status-http:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not (server.started and (self._plain is None or self._plain.started)):
            if not self._thread.is_alive() or (self._plain_thread and not self._plain_thread.is_alive()):
                self.stop()
                raise OSError(f"the status service could not listen on {self.host}:{self.port}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the status service did not start within {timeout:.0f}s")
            time.sleep(0.01)
        return self

    def serve_forever(self) -> None:
        """Run until Ctrl-C (``appliance serve-status``); starts the server unless it runs already."""
        if self._server is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        self.loop.request_stop()  # the collector winds down while the listeners close
        for server in (self._server, self._plain):
            if server is not None:
                server.should_exit = True
        for thread in (self._thread, self._plain_thread):
            if thread is not None:
                thread.join(timeout=10)
        self.loop.stop()
        self._server = None
        self._thread = None
        self._plain = None
        self._plain_thread = None

    def __enter__(self) -> StatusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
