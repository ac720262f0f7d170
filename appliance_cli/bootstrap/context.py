"""One ``BootstrapContext`` passed to every phase: options, site, release, adapters, reporter,
actions (the do-or-record helper), journal, memoised lookups. No module-level state."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance_cli.adapters.kubeapi import KubeApi
from appliance_cli.bootstrap.actions import Actions
from appliance_cli.bootstrap.journal import Journal
from appliance_cli.bootstrap.options import BootstrapOptions
from appliance_cli.progress import EventState, ProgressEvent, Reporter
from appliance_cli.releases import Release
from appliance_cli.site import Site

if TYPE_CHECKING:
    from appliance_cli.adapters.flux import FluxAdapter
    from appliance_cli.adapters.talos import TalosAdapter
    from appliance_cli.endpoints import Endpoints
    from appliance_cli.env import Clock, SiteEnv
    from appliance_cli.status.collect import KubeSource
    from appliance_cli.status.image_preflight import ReleaseCheck
    from appliance_cli.status.model import StatusDocument
    from appliance_cli.status.snapshot import SeedUsersProbe
    from appliance_cli.tls import StatusCert


@dataclass
class Adapters:
    """The ports bootstrap is built from; ``bootstrap.defaults.default_adapters`` makes the real
    ones (through the composition root ``appliance_cli.env``), tests hand in fakes."""

    # Talos, Flux, endpoints, registry routing and clock of a site (appliance_cli.env)
    env: Callable[[Site], SiteEnv]
    # a client of the kubeconfig whose retries wait in the given clock (SiteEnv.retry_clock)
    kube: Callable[[Path, Clock | None], KubeApi]
    # collect + classify the site's status (None when the cluster cannot be asked yet)
    status: Callable[[BootstrapContext], StatusDocument | None]
    # the release image preflight (None: skipped)
    image_check: Callable[[BootstrapContext], ReleaseCheck | None]
    # GET <status url>/healthz once: (answered 200, what was seen)
    healthz: Callable[[str], tuple[bool, str]]


@dataclass
class RunState:
    """What one run learns and hands from step to step (typed; nothing else is stashed)."""

    stop: threading.Event = field(default_factory=threading.Event)
    flux_checked: bool = False
    flux_version: str | None = None
    smoke_pods: list[str] = field(default_factory=list)
    smoke_pvc: bool = False
    status_token: str | None = None  # the token the status service was deployed with
    new_token: str | None = None  # generated once per run when neither site nor cluster has one
    status_tls: StatusCert | None = None  # the status service's certificate (reused or made once)
    prepull: threading.Thread | None = None
    seed_users_seen: dict[str, SeedUsersProbe] = field(default_factory=dict)  # see CollectOptions


Announcer = Callable[[str], None]


@dataclass
class BootstrapContext:
    options: BootstrapOptions
    site: Site
    release: Release
    reporter: Reporter
    actions: Actions
    journal: Journal
    adapters: Adapters
    announce: Announcer  # the one way a line meant for the operator (URL + token) is shown
    phase: int | None = None
    phase_title: str | None = None
    warnings: list[str] = field(default_factory=list)
    final_status: StatusDocument | None = None
    state: RunState = field(default_factory=RunState)
    _kube: dict[Path, KubeApi] = field(default_factory=dict)
    _status_kube: dict[Path, KubeSource] = field(default_factory=dict)
    _env: SiteEnv | None = None

    # Paths ---------------------------------------------------------------------------------
    @property
    def kubeconfig_path(self) -> Path:
        return self.options.kubeconfig or self.site.kubeconfig

    @property
    def talosconfig_path(self) -> Path:
        return self.options.talosconfig or self.site.talosconfig

    # Ports ---------------------------------------------------------------------------------
    @property
    def env(self) -> SiteEnv:
        if self._env is None:
            self._env = self.adapters.env(self.site)
        return self._env

    def kube(self) -> KubeApi:
        path = self.kubeconfig_path
        if path not in self._kube:
            self._kube[path] = self.adapters.kube(path, self.env.retry_clock)
        return self._kube[path]

    def status_kube(self) -> KubeSource | None:
        """The client status collections use (the status retry policy and timeouts), one per
        kubeconfig for the run: its connections are kept between the waits' collections.
        None while the kubeconfig cannot be read."""
        path = self.kubeconfig_path
        if path not in self._status_kube:
            from appliance_cli.status.live import status_client

            client, _error = status_client(path, in_cluster=False)
            if client is None:
                return None
            self._status_kube[path] = client
        return self._status_kube[path]

    def forget_kube(self) -> None:
        """Forget the clients (the kubeconfig was written again)."""
        self._kube.clear()
        self._status_kube.clear()

    def talos(self) -> TalosAdapter:
        return self.env.talos

    def flux(self) -> FluxAdapter:
        return self.env.flux

    @property
    def endpoints(self) -> Endpoints:
        """Login and status URLs for this run (``--app-url`` and ``--node-ip`` first)."""
        return self.env.endpoints(node_ip=self.options.node_ip, app_url=self.options.app_url)

    @property
    def status_url(self) -> str:
        return self.endpoints.status_url or ""

    @property
    def status_health_url(self) -> str:
        """Where the status service answers ``/healthz`` without TLS (``appliance_cli.endpoints``)."""
        return self.endpoints.status_health_url or self.status_url

    @property
    def login_url(self) -> str:
        return self.endpoints.login_url or ""

    @property
    def appliance_branch(self) -> str:
        branch = self.journal.fact("applianceBranch")
        return str(branch) if branch else "main"

    @property
    def appliance_repo_url(self) -> str:
        url = self.options.repo_url or self.journal.fact("applianceRepoUrl")
        return str(url) if url else "https://github.com/Nine-Minds/alga-appliance.git"

    def status(self) -> StatusDocument | None:
        """Collect and classify the site's status now (the same brain as ``appliance status``)."""
        return self.adapters.status(self)

    # Reporting -----------------------------------------------------------------------------
    def report(self, step: str, state: EventState = "progress", **details: Any) -> None:
        self.reporter.emit(ProgressEvent(self.phase, self.phase_title, step, state, details))

    def warn(self, message: str, **details: Any) -> None:
        self.warnings.append(message)
        self.report(message, "warning", **details)

    @contextmanager
    def step(self, name: str, **details: Any) -> Iterator[None]:
        started = time.monotonic()
        self.report(name, "progress", **details)
        yield
        self.report(name, "done", seconds=round(time.monotonic() - started, 3))
