"""The composition root: the typed ports that every operation on a site is built from.

``open_env(site)`` returns a ``SiteEnv``: Talos, Flux and Kubernetes adapters, the registry
routing for image checks, a clock, and the site's endpoints (login and status URLs,
resolved once by ``endpoints.resolve``). Bootstrap, status, reset, upgrade, repair and the
status service take a ``SiteEnv`` and never ask what stands behind it.

Real hardware gets the real adapters (``talosctl``, ``flux``, the kubernetes client). Other
targets — the lab, a simulated appliance in its own package — register themselves through
the ``alga_appliance.targets`` entry point; a target *claims* a site (the lab: a ``lab.json``
naming a live lab process) and supplies its own Talos and Flux adapters and endpoint
hints. Nothing outside the adapters and the target's own package knows which one it got.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from appliance_cli import endpoints as _endpoints
from appliance_cli.site import Site

if TYPE_CHECKING:
    from appliance_cli.adapters.flux import FluxAdapter
    from appliance_cli.adapters.kube import KubeClient
    from appliance_cli.adapters.talos import TalosAdapter
    from appliance_cli.releases import Release

TARGETS_GROUP = "alga_appliance.targets"
COMMANDS_GROUP = "alga_appliance.commands"


# Clock ------------------------------------------------------------------------------------
class Clock(Protocol):
    """Time as the waits see it; tests hand in a clock they control."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def now(self) -> datetime: ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Sleep up to ``seconds`` or until ``event`` is set; True when it was set."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def now(self) -> datetime:
        return datetime.now(UTC)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))


class ScaledClock(SystemClock):
    """The clock of a target whose own timeline runs ``scale`` times faster than the wall
    clock (the lab at ``--speed 60`` pulls a 60 s image in 1 s): waits poll at the target's
    pace, so they notice a change as soon as the target makes it. Bounds stay in wall-clock
    seconds (``monotonic`` is not scaled): a busy machine that slows the target down never
    turns into a false timeout. Never used for real hardware.

    ``min_real_sleep`` keeps a scaled poll from spinning the CPU."""

    def __init__(self, scale: float, *, min_real_sleep: float = 0.05) -> None:
        if not scale > 0:
            raise ValueError("scale must be positive")
        self.scale = scale
        self.min_real_sleep = min_real_sleep

    def sleep(self, seconds: float) -> None:
        time.sleep(self._real(seconds))

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(self._real(seconds))

    def _real(self, seconds: float) -> float:
        return max(self.min_real_sleep, seconds / self.scale) if seconds > 0 else 0.0


# Targets ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetInfo:
    """What a registered target says about a site it owns."""

    name: str
    node_ip: str | None = None
    login_url: str | None = None
    status_url: str | None = None
    # host:port of a plain-HTTP registry that answers for every registry of a release
    registry_mirror: str | None = None
    # how many times faster than the wall clock the target's own timeline runs (the lab's --speed)
    time_scale: float = 1.0
    # release manifests this target offers besides releases/ (the lab's own test releases)
    releases_dir: Path | None = None
    # the target's own clock when the CLI must share it (an in-process simulation in tests);
    # None: the wall clock, scaled by ``time_scale``
    clock: Clock | None = None


class Target(Protocol):
    """A non-hardware target, registered under the ``alga_appliance.targets`` entry point."""

    def claims(self, site: Site) -> TargetInfo | None:
        """``TargetInfo`` when this target owns ``site``, else ``None``."""
        ...

    def talos(self, site: Site, info: TargetInfo) -> TalosAdapter: ...

    def flux(self, site: Site, info: TargetInfo) -> FluxAdapter: ...


@functools.cache
def _target_factories() -> tuple[Callable[[], Target], ...]:
    """The installed packages' target factories, looked up once per process (reading every
    package's entry points takes milliseconds, and the status service opens a site's ports
    for every collection)."""
    from importlib.metadata import entry_points

    return tuple(ep.load() for ep in entry_points(group=TARGETS_GROUP))


def registered_targets() -> list[Target]:
    return [factory() for factory in _target_factories()]


# The ports of one site ----------------------------------------------------------------------
@dataclass
class SiteEnv:
    """The ports of one site. ``make_talos``/``make_flux`` are called once, on first use."""

    site: Site
    make_talos: Callable[[], TalosAdapter]
    make_flux: Callable[[], FluxAdapter]
    info: TargetInfo | None = None
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def talos(self) -> TalosAdapter:
        return self.make_talos()

    @cached_property
    def flux(self) -> FluxAdapter:
        return self.make_flux()

    def kube(self, kubeconfig: Path | None = None, *, timeout: float | None = None) -> KubeClient:
        """A Kubernetes client for ``kubeconfig`` (default: the site's)."""
        from appliance_cli.adapters.kube import KubeClient

        path = kubeconfig or self.site.kubeconfig
        clock = self.retry_clock
        if timeout is None:
            return KubeClient.from_kubeconfig(path, clock=clock)
        return KubeClient.from_kubeconfig(path, timeout=timeout, clock=clock)

    @property
    def retry_clock(self) -> Clock | None:
        """The time a Kubernetes client's retries wait in: the wall clock (``None``), unless the
        target shares its own clock (an in-process simulation on virtual time, whose outages
        pass in that time). Never ``clock`` itself: a ``ScaledClock`` would shorten the
        back-off, not the outage."""
        return self.info.clock if self.info is not None else None

    @property
    def registry_mirror(self) -> str | None:
        """Where image checks go instead of the release's registries (``None``: the real ones)."""
        return self.info.registry_mirror if self.info else None

    def release(self, version: str) -> Release:
        """A release manifest: ``releases/<version>`` first, then the target's own releases."""
        from appliance_cli.errors import ReleaseError
        from appliance_cli.releases import load_release

        try:
            return load_release(version)
        except ReleaseError:
            extra = self.info.releases_dir if self.info else None
            if extra is None or not (extra / version / "release.json").is_file():
                raise
            return load_release(version, root=extra)

    @property
    def node_ip(self) -> str | None:
        return self.site.read("node-ip") or (self.info.node_ip if self.info else None)

    def endpoints(self, *, node_ip: str | None = None, app_url: str | None = None) -> _endpoints.Endpoints:
        """Login and status URLs: explicit values first, then the site's records, then the target."""
        return _endpoints.resolve(
            node_ip=node_ip or self.node_ip,
            app_url=app_url or self.site.read("app-url"),
            target_login_url=self.info.login_url if self.info else None,
            target_status_url=self.info.status_url if self.info else None,
        )


def _real_talos() -> TalosAdapter:
    from appliance_cli.adapters.talosctl import TalosctlAdapter

    return TalosctlAdapter()


def _real_flux() -> FluxAdapter:
    from appliance_cli.adapters.flux import FluxCliAdapter

    return FluxCliAdapter()


def _target_env(site: Site, target: Target, info: TargetInfo, clock: Clock) -> SiteEnv:
    def talos() -> TalosAdapter:
        return target.talos(site, info)

    def flux() -> FluxAdapter:
        return target.flux(site, info)

    return SiteEnv(site=site, make_talos=talos, make_flux=flux, info=info, clock=clock)


def open_env(site: Site, *, clock: Clock | None = None) -> SiteEnv:
    """The ports for ``site``: a registered target's when one claims it, else real hardware."""
    for target in registered_targets():
        info = target.claims(site)
        if info is not None:
            if clock is None:
                clock = info.clock
            if clock is None:
                clock = ScaledClock(info.time_scale) if info.time_scale != 1.0 else SystemClock()
            return _target_env(site, target, info, clock)
    return SiteEnv(site=site, make_talos=_real_talos, make_flux=_real_flux, clock=clock or SystemClock())
