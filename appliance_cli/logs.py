"""The logs of a catalog component, by component name: its current pods, the containers
that matter, redacted, and (followed) across pod and container restarts.

``ComponentLogs`` finds a component's pods (namespace and name prefix from the catalog;
pods of its bootstrap Job are not the component), picks the containers (the catalog's main
container when it names one, else every container of the pod), reads or follows them
through ``adapters.kube`` and hands out ``LogLine`` s with secrets redacted
(``status.redact``). A component with no running container gets its blocker from the same
collector and classifier as ``appliance status`` (``explain_not_running``) instead of an
empty stream. Nothing here prints: the CLI and the console give a sink.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from appliance_cli.adapters.kubeapi import KubeReader, Obj
from appliance_cli.catalog import Component, load_catalog
from appliance_cli.errors import ApplianceError, KubeError, KubeInvalid, KubeNotFound, UsageError
from appliance_cli.status.redact import redact

if TYPE_CHECKING:
    from appliance_cli.adapters.kube import KubeClient, LogStream
    from appliance_cli.adapters.kubeapi import KubeApi
    from appliance_cli.status.collect import KubeSource
    from appliance_cli.status.informer import WatchingKube
    from appliance_cli.status.model import Blocker, ComponentStatus

POLL_SECONDS = 1.0  # how often a follow looks for new pods and restarted containers
STOP_JOIN_SECONDS = 5.0

_SINCE_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_since(text: str) -> int:
    """``--since`` as seconds: ``30s``, ``5m``, ``2h``, ``1h30m`` (kubectl's duration form)."""
    m = _SINCE_RE.match(text.strip())
    if not text.strip() or m is None or not any(m.groups()):
        raise UsageError(f"{text!r} is not a duration (use e.g. 30s, 5m, 2h or 1h30m)", param="--since")
    h, mi, s = (int(g) if g else 0 for g in m.groups())
    seconds = h * 3600 + mi * 60 + s
    if seconds <= 0:
        raise UsageError("the duration must be longer than 0s", param="--since")
    return seconds


def find_component(name: str) -> Component:
    """The catalog component called ``name``; a ``UsageError`` listing the names otherwise."""
    catalog = load_catalog()
    try:
        return catalog.component(name)
    except KeyError:
        names = ", ".join(c.name for c in catalog.components)
        raise UsageError(f"no component named {name!r}; components: {names}", param="COMPONENT") from None


@dataclass(frozen=True)
class LogOptions:
    previous: bool = False
    since_seconds: int | None = None
    tail: int = -1  # lines per container; -1: all
    follow: bool = False


@dataclass(frozen=True)
class LogLine:
    pod: str
    container: str
    text: str

    @property
    def source(self) -> str:
        return f"{self.pod}/{self.container}"


class LogSource(KubeReader, Protocol):
    """What the logs need of the Kubernetes API (``adapters.kube.KubeClient``): the reads, and
    following a container's log."""

    def follow_pod_logs(
        self,
        namespace: str,
        pod: str,
        container: str,
        *,
        tail_lines: int = -1,
        since_seconds: int | None = None,
    ) -> LogStream: ...


@dataclass(frozen=True)
class ContainerRef:
    pod: str
    uid: str
    container: str
    restarts: int
    running: bool
    waiting: str | None  # the waiting reason (CrashLoopBackOff, ContainerCreating, ...)

    @property
    def instance(self) -> tuple[str, str, int]:
        return (self.uid, self.container, self.restarts)


@dataclass
class NotRunning:
    """Why a component shows no running container: its status and blockers (from the classifier)."""

    component: str
    status: ComponentStatus | None
    blockers: list[Blocker] = field(default_factory=list)
    error: str | None = None  # the status could not be collected

    def lines(self) -> list[str]:
        out = [f"{self.component} is not running."]
        if self.status is not None and self.status.message:
            out.append(f"  status: {self.status.status} — {self.status.message}")
        for b in self.blockers:
            out.append(f"  blocker {b.code} [{b.component}]: {b.reason}")
            out.append(f"    next: {b.next_action}")
        if self.error:
            out.append(f"  (status unavailable: {self.error})")
        if not self.blockers and not self.error:
            out.append(
                "  No blocker is known yet: it may still be starting ('appliance status' shows progress)."
            )
        return out


def _owned_by_job(pod: Obj) -> bool:
    return any(ref.get("kind") == "Job" for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])


class ComponentLogs:
    def __init__(self, kube: LogSource, component: Component, *, redact_extra: Iterable[str] = ()) -> None:
        self.kube = kube
        self.component = component
        self._extra = tuple(e for e in redact_extra if e)

    # -- what to read ------------------------------------------------------------------------
    def pods(self) -> list[Obj]:
        """The component's current pods (oldest first), not those of its bootstrap Job."""
        catalog = load_catalog()
        ns = self.component.namespace
        items = self.kube.list_raw("v1/pods", ns).get("items") or []
        mine = []
        for pod in items:
            meta = pod.get("metadata") or {}
            owner = catalog.component_for_pod(ns, str(meta.get("name", "")))
            if owner is None or owner.name != self.component.name or _owned_by_job(pod):
                continue
            if meta.get("deletionTimestamp"):
                continue
            mine.append(pod)
        return sorted(mine, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp") or ""))

    def containers(self, pod: Obj) -> list[ContainerRef]:
        """The containers worth reading: the catalog's main container if it names one, else all."""
        meta = pod.get("metadata") or {}
        spec_names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
        main = self.component.workload.container
        names = [main] if main and main in spec_names else spec_names
        statuses = {
            str(cs.get("name")): cs for cs in (pod.get("status") or {}).get("containerStatuses") or []
        }
        refs = []
        for name in names:
            cs = statuses.get(name) or {}
            state = cs.get("state") or {}
            refs.append(
                ContainerRef(
                    pod=str(meta.get("name")),
                    uid=str(meta.get("uid") or meta.get("name")),
                    container=name,
                    restarts=int(cs.get("restartCount") or 0),
                    running="running" in state,
                    waiting=str((state.get("waiting") or {}).get("reason") or "") or None,
                )
            )
        return refs

    def refs(self) -> list[ContainerRef]:
        return [ref for pod in self.pods() for ref in self.containers(pod)]

    def _line(self, ref: ContainerRef, text: str) -> LogLine:
        return LogLine(ref.pod, ref.container, redact(text, extra=self._extra))

    # -- one read --------------------------------------------------------------------------
    def read(self, options: LogOptions) -> tuple[list[LogLine], list[ContainerRef]]:
        """Every chosen container's lines (``--previous``: of the instance before), and the refs."""
        refs = self.refs()
        out: list[LogLine] = []
        for ref in refs:
            try:
                lines = self.kube.pod_logs(
                    self.component.namespace,
                    ref.pod,
                    ref.container,
                    tail_lines=options.tail,
                    previous=options.previous,
                    since_seconds=options.since_seconds,
                )
            except (KubeInvalid, KubeNotFound):
                continue  # waiting to start, no previous instance, or the pod just went
            out.extend(self._line(ref, text) for text in lines)
        return out, refs

    # -- following ------------------------------------------------------------------------
    def follow(
        self,
        options: LogOptions,
        sink: Callable[[LogLine], None],
        stop: threading.Event,
        *,
        on_idle: Callable[[list[ContainerRef]], None] | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        """Stream lines into ``sink`` until ``stop`` is set, across pod and container restarts.

        Every ``poll_seconds`` the pods are listed again; each running container instance
        (pod uid, container, restart count) gets one follow stream. The first instances seen
        start with ``options.tail`` lines, later ones (a restart, a new pod) from their first
        line. ``on_idle`` is called once whenever no chosen container is running (the caller
        explains why); ``sink`` is called from stream threads, one line at a time.
        """
        lock = threading.Lock()
        seen: set[tuple[str, str, int]] = set()
        streams: dict[tuple[str, str, int], LogStream] = {}
        threads: list[threading.Thread] = []
        first_round = True
        idle_reported = False

        def emit(line: LogLine) -> None:
            with lock:
                if not stop.is_set():
                    sink(line)

        def pump(ref: ContainerRef, tail: int) -> None:
            try:
                stream = self.kube.follow_pod_logs(
                    self.component.namespace,
                    ref.pod,
                    ref.container,
                    tail_lines=tail,
                    since_seconds=options.since_seconds,
                )
            except ApplianceError:
                with lock:
                    seen.discard(ref.instance)  # try again on the next round
                return
            with lock:
                streams[ref.instance] = stream
            if stop.is_set():
                stream.close()
            try:
                for text in stream:
                    emit(self._line(ref, text))
            except KubeError:
                pass  # a broken stream: the container's next instance gets a new one
            finally:
                with lock:
                    streams.pop(ref.instance, None)

        try:
            while not stop.is_set():
                try:
                    refs = self.refs()
                except KubeError:
                    refs = []
                running = [r for r in refs if r.running]
                if not running and on_idle is not None and not idle_reported:
                    on_idle(refs)
                idle_reported = not running
                for ref in running:
                    with lock:
                        if ref.instance in seen:
                            continue
                        seen.add(ref.instance)
                    tail = options.tail if first_round else -1
                    t = threading.Thread(target=pump, args=(ref, tail), daemon=True, name=f"logs {ref.pod}")
                    t.start()
                    threads.append(t)
                first_round = False
                threads = [t for t in threads if t.is_alive()]
                stop.wait(poll_seconds)
        finally:
            with lock:
                open_streams = list(streams.values())
            for s in open_streams:
                s.close()
            for t in threads:
                t.join(STOP_JOIN_SECONDS)


def open_component_logs(
    site_id: str, component: str, *, kubeconfig: Path | None = None, timeout: float = 10.0
) -> ComponentLogs:
    """The logs of ``component`` on a site's cluster (its kubeconfig, or ``kubeconfig``)."""
    from appliance_cli.env import open_env
    from appliance_cli.site import Site

    comp = find_component(component)
    site = Site.open(site_id)
    path = kubeconfig or site.kubeconfig
    if not path.is_file():
        param = "--kubeconfig" if kubeconfig else "--site-id"
        raise UsageError(
            f"no kubeconfig at {path}: site {site_id!r} has no cluster yet",
            param=param,
            hint="run 'appliance bootstrap' first (or 'appliance lab up'), or pass --kubeconfig",
        )
    env = open_env(site)
    token = site.read("status-token")
    return ComponentLogs(env.kube(path, timeout=timeout), comp, redact_extra=(token,) if token else ())


def explain_not_running(site_id: str, component: str, *, kubeconfig: Path | None = None) -> NotRunning:
    """Why ``component`` does not run: its status and blockers, as ``appliance status`` sees them.

    Blockers of the component come first; when it has none of its own, the appliance's
    login-blocking top blockers are what hold it back (a web pod waits for the database).
    """
    from appliance_cli.status.live import collect_status

    try:
        doc = collect_status(site_id, kubeconfig=kubeconfig)
    except ApplianceError as exc:
        return NotRunning(component, None, error=exc.message)
    status = next((c for c in doc.components if c.name == component), None)
    own = [b for b in doc.top_blockers if b.component == component]
    blockers = own or [b for b in doc.top_blockers if b.login_blocking][:3]
    return NotRunning(component, status, blockers)


if TYPE_CHECKING:

    def _client_is_every_port(client: KubeClient) -> tuple[KubeApi, KubeSource, LogSource, WatchingKube]:
        """Checked by mypy: the one client implements every Kubernetes port the tool declares."""
        return client, client, client, client
