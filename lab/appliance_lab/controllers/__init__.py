"""The lab's simulated controllers, run in one background thread of the lab process.

They work only through ``lab.store`` (no second copy of state); see each module.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from appliance_cli.env import Clock
from appliance_lab.controllers.base import Ctx
from appliance_lab.controllers.endpoints import Endpoints
from appliance_lab.controllers.flux import Flux
from appliance_lab.controllers.kubelet import Kubelet
from appliance_lab.controllers.workloads import Workloads
from appliance_lab.database import LabDatabase
from appliance_lab.scenario import Scenario
from appliance_lab.store import Store

log = logging.getLogger(__name__)


class LabControllers:
    """kubelet, workload controllers, local-path provisioner, Flux, endpoints — ticking together."""

    def __init__(
        self,
        store: Store,
        scenario: Scenario,
        *,
        speed: float = 1.0,
        kubeconfig: Path | None = None,
        site_id: str = "lab",
        release_version: str = "1.0-rc5",
        tick: float = 0.05,
        clock: Clock | None = None,
    ) -> None:
        self.ctx = Ctx(store, scenario, speed, release_version, clock=clock)
        self.kubelet = Kubelet(self.ctx)
        self.workloads = Workloads(self.ctx)
        self.flux = Flux(self.ctx)
        self.endpoints = Endpoints(self.ctx, kubeconfig=kubeconfig, site_id=site_id)
        self.database = LabDatabase(self.ctx)
        store.register_stdin_exec_handler(self.database.exec_handler)
        self.tick = tick
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by stop() and by writes from other threads
        self._steps = threading.RLock()  # held by a step; ``paused()`` holds it between steps
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def bring_up_kubernetes(
        self, kubernetes_version: str = "v1.31.4", talos_version: str = "v1.12.0"
    ) -> None:
        """What bootstrapping the Talos node starts: the node object, system namespaces, CoreDNS."""
        self.workloads.bring_up(kubernetes_version, talos_version)

    def step(self) -> None:
        """One pass of every controller (tests may call it directly)."""
        with self._steps:
            for part in (self.workloads, self.kubelet, self.flux, self.endpoints):
                try:
                    part.reconcile()
                except Exception as exc:
                    msg = f"{type(part).__name__}: {type(exc).__name__}: {exc}"
                    if len(self.errors) < 100:
                        self.errors.append(msg)
                    log.exception("lab controller error")

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No controller step runs inside (checkpoint and restore of the lab's state)."""
        with self._steps:
            yield

    # A step that wrote something is followed at once by the next one, up to this many in a
    # row, before the loop waits again: what a write sets off (a ReplicaSet's pod, its
    # scheduling, its status) follows it without a tick's delay per link, as a real
    # controller reacts to a watch event, and a step that writes every time cannot spin.
    BURST = 8
    # A lab where nothing happens (an installed appliance between tests, a test busy with a
    # browser) steps less and less often, down to this interval: every step that changed
    # nothing doubles the wait. Anyone else's write to the store wakes the loop at once, and a
    # timed stage still wakes it when it ends, so only changes outside the store (the
    # registry's or the Talos node's) wait for the next step.
    IDLE_MAX = 0.2

    def _loop(self) -> None:
        ctx, store = self.ctx, self.ctx.store
        me = threading.current_thread()

        def woken_by_others() -> None:
            if threading.current_thread() is not me:
                self._wake.set()

        store.add_write_listener(woken_by_others)
        try:
            burst = 0
            idle = delay = self.tick
            while True:
                ctx.clock.wait(self._wake, delay)
                if self._stop.is_set():
                    return
                self._wake.clear()
                before = store.resource_version
                ctx.next_due = math.inf
                self.step()
                wrote = store.resource_version != before
                burst = burst + 1 if wrote and burst < self.BURST else 0
                idle = self.tick if wrote else min(idle * 2, self.IDLE_MAX)
                # the next step: at once after a write; else after the idle wait, or earlier
                # when a timed stage (an image pull, a container start) ends before it
                delay = 0.0 if 0 < burst < self.BURST else min(idle, ctx.next_due - ctx.monotonic())
        finally:
            store.remove_write_listener(woken_by_others)

    @property
    def thread(self) -> threading.Thread | None:
        """The thread stepping the controllers while they run."""
        return self._thread

    def start(self) -> LabControllers:
        if self._thread is None:
            self._stop.clear()
            self._wake.clear()
            self._thread = threading.Thread(target=self._loop, name="lab-controllers", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.endpoints.stop()
