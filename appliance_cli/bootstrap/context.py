"""One ``BootstrapContext`` passed to every phase: options, site, release, adapters, reporter,
actions (the do-or-record helper), journal, memoised lookups. No module-level state."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from appliance_cli.bootstrap.actions import Actions
from appliance_cli.bootstrap.journal import Journal
from appliance_cli.bootstrap.options import BootstrapOptions
from appliance_cli.progress import EventState, ProgressEvent, Reporter
from appliance_cli.releases import Release
from appliance_cli.site import Site

if TYPE_CHECKING:
    from appliance_cli.adapters.flux import FluxAdapter
    from appliance_cli.adapters.talos import TalosAdapter
    from appliance_cli.status.image_preflight import ReleaseCheck
    from appliance_cli.status.model import StatusDocument


class KubeApi(Protocol):
    """What bootstrap and reset need from ``adapters.kube.KubeClient`` (plain JSON in and out)."""

    def list_raw(
        self,
        key: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]: ...

    def get(self, key: str, namespace: str | None, name: str) -> dict[str, Any]: ...

    def apply(self, obj: dict[str, Any], field_manager: str = ..., force: bool = ...) -> dict[str, Any]: ...

    def patch_merge(
        self, key: str, namespace: str | None, name: str, patch: dict[str, Any]
    ) -> dict[str, Any]: ...

    def delete(
        self,
        key: str,
        namespace: str | None,
        name: str,
        *,
        missing_ok: bool = ...,
        propagation: str | None = ...,
    ) -> Any: ...

    def create(self, obj: dict[str, Any]) -> dict[str, Any]: ...

    def pod_logs(
        self, namespace: str, pod: str, container: str | None = None, tail_lines: int = 50
    ) -> list[str]: ...


@dataclass
class Adapters:
    """Factories for everything outside the process; tests hand in fakes."""

    talos: Callable[[Site], TalosAdapter]
    flux: Callable[[Site], FluxAdapter]
    kube: Callable[[Path], KubeApi]
    # collect + classify the site's status (None when the cluster cannot be asked yet)
    status: Callable[[BootstrapContext], StatusDocument | None]
    is_lab: Callable[[Site], bool]
    lab_info: Callable[[Site], dict[str, Any]]
    # the release image preflight (None: skipped, e.g. the lab has no registry)
    image_check: Callable[[BootstrapContext], ReleaseCheck | None]
    # GET <status url>/healthz once: (answered 200, what was seen)
    healthz: Callable[[str], tuple[bool, str]]


def default_adapters() -> Adapters:
    """Real or lab adapters, chosen by ``adapters.factory`` (imported lazily)."""

    def talos(site: Site) -> TalosAdapter:
        from appliance_cli.adapters import factory

        return factory.talos_adapter(site)

    def flux(site: Site) -> FluxAdapter:
        from appliance_cli.adapters import factory

        adapter: FluxAdapter = factory.flux_adapter(site)
        return adapter

    def kube(path: Path) -> KubeApi:
        from appliance_cli.adapters.kube import KubeClient  # type: ignore[import-not-found,unused-ignore]

        client: KubeApi = KubeClient.from_kubeconfig(path)
        return client

    def is_lab(site: Site) -> bool:
        try:
            from appliance_cli.adapters import factory
        except ImportError:
            return False
        return bool(factory.is_lab(site))

    def lab_info(site: Site) -> dict[str, Any]:
        from appliance_cli.adapters import factory

        return factory.lab_info(site) or {}

    from appliance_cli.bootstrap.phases.p2_status import healthz_probe
    from appliance_cli.bootstrap.phases.p3_core import default_image_check
    from appliance_cli.bootstrap.waits import live_status

    return Adapters(
        talos=talos,
        flux=flux,
        kube=kube,
        status=live_status,
        is_lab=is_lab,
        lab_info=lab_info,
        image_check=default_image_check,
        healthz=healthz_probe,
    )


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
    _memo: dict[str, Any] = field(default_factory=dict)

    # Paths ---------------------------------------------------------------------------------
    @property
    def kubeconfig_path(self) -> Path:
        return self.options.kubeconfig or self.site.kubeconfig

    @property
    def talosconfig_path(self) -> Path:
        return self.options.talosconfig or self.site.talosconfig

    # Memoised lookups ------------------------------------------------------------------------
    def _memoised(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def kube(self) -> KubeApi:
        path = self.kubeconfig_path
        client: KubeApi = self._memoised(f"kube:{path}", lambda: self.adapters.kube(path))
        return client

    def forget_kube(self) -> None:
        for key in [k for k in self._memo if k.startswith("kube:")]:
            del self._memo[key]

    def talos(self) -> TalosAdapter:
        adapter: TalosAdapter = self._memoised("talos", lambda: self.adapters.talos(self.site))
        return adapter

    def flux(self) -> FluxAdapter:
        adapter: FluxAdapter = self._memoised("flux", lambda: self.adapters.flux(self.site))
        return adapter

    @property
    def is_lab(self) -> bool:
        return bool(self._memoised("is_lab", lambda: self.adapters.is_lab(self.site)))

    @property
    def lab_info(self) -> dict[str, Any]:
        info: dict[str, Any] = self._memoised("lab_info", lambda: self.adapters.lab_info(self.site))
        return info

    @property
    def status_url(self) -> str:
        url = self.lab_info.get("statusUrl") if self.is_lab else None
        return str(url) if url else self.options.status_url

    @property
    def login_url(self) -> str:
        """``--app-url``; in the lab, the login URL the lab serves; else http://<node-ip>:3000."""
        if self.options.app_url:
            return self.options.app_url
        url = self.lab_info.get("loginUrl") if self.is_lab else None
        return str(url) if url else self.options.effective_app_url

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
