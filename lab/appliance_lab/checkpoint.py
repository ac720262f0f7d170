"""Checkpoint and restore of a running in-process lab: install once, go back to it per test.

A checkpoint holds everything a lab knows: the store's objects and container logs, what the
controllers remember privately (when each step started, pulled images, the node's volume
directories, Flux runs, the kubelet's containers), the database's tables and the simulated
Talos node. ``restore`` takes the running lab back to it without stopping a server: ports,
token, CA and kubeconfig stay the same.

Restoring is a set of writes, as on a real API server: every object that differs from the
checkpoint is written back with a new resourceVersion (ADDED or MODIFIED), every object the
checkpoint does not have is deleted (DELETED), and unchanged objects keep their version. So
a watch open across a restore sees events that take its cache exactly to the checkpoint,
and nothing has to relist.

Times in a checkpoint are the lab clock's monotonic seconds; restored later, every step the
checkpoint had started is simply further along (a settled install stays settled).
"""

from __future__ import annotations

import copy
import queue
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from appliance_lab.store import RESOURCE_TYPES, Obj, Store, copy_obj

if TYPE_CHECKING:
    from appliance_lab.controllers import LabControllers
    from appliance_lab.talos_sim import TalosSim


@dataclass(frozen=True)
class StoreCheckpoint:
    objects: dict[str, dict[tuple[str, str], Obj]]
    logs: dict[tuple[str, str, str], list[str]]
    prev_logs: dict[tuple[str, str, str], list[str]]
    log_instances: dict[tuple[str, str, str], int]
    resource_version: int


def checkpoint_store(store: Store) -> StoreCheckpoint:
    with store._lock:
        return StoreCheckpoint(
            # the stored objects themselves: the store never changes one in place
            objects={key: dict(objs) for key, objs in store._objects.items()},
            logs={k: list(v) for k, v in store._logs.items()},
            prev_logs={k: list(v) for k, v in store._prev_logs.items()},
            log_instances=dict(store._log_instances),
            resource_version=store._last_rv,
        )


def restore_store(store: Store, cp: StoreCheckpoint) -> int:
    """Write the store back to ``cp``; returns how many objects were written or deleted."""
    written = 0
    with store._lock:
        for rt in RESOURCE_TYPES:
            current = store._objects[rt.key]
            wanted = cp.objects[rt.key]
            for key in [k for k in current if k not in wanted]:
                gone = current.pop(key)
                store._sorted.pop(rt.key, None)
                rv = store._next_rv()
                gone = {**gone, "metadata": {**gone["metadata"], "resourceVersion": str(rv)}}
                store._publish(rt, "DELETED", gone, rv)
                written += 1
            for key, obj in wanted.items():
                cur = current.get(key)
                if cur is not None and _same(cur, obj):
                    continue
                rv = store._next_rv()
                new = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(rv)}}
                current[key] = new
                if cur is None:
                    store._sorted.pop(rt.key, None)
                    store._publish(rt, "ADDED", copy_obj(new), rv)
                else:
                    store._publish(rt, "MODIFIED", copy_obj(new), rv, cur)
                written += 1
        store._logs = {k: list(v) for k, v in cp.logs.items()}
        store._prev_logs = {k: list(v) for k, v in cp.prev_logs.items()}
        store._log_instances = dict(cp.log_instances)
    return written


def _same(cur: Obj, saved: Obj) -> bool:
    """Equal but for the resourceVersion (an object written back later differs only there)."""
    if cur == saved:
        return True
    meta_cur = {k: v for k, v in (cur.get("metadata") or {}).items() if k != "resourceVersion"}
    meta_saved = {k: v for k, v in (saved.get("metadata") or {}).items() if k != "resourceVersion"}
    if meta_cur != meta_saved:
        return False
    return {k: v for k, v in cur.items() if k != "metadata"} == {
        k: v for k, v in saved.items() if k != "metadata"
    }


@dataclass(frozen=True)
class ControllersCheckpoint:
    marks: dict[str, float]
    pulled_images: set[str]
    seeded_users: int
    host_dirs: set[str]
    kubernetes_up: bool
    kubelet: dict[str, Any]
    flux_runs: dict[str, Any]
    tables: dict[str, Any]
    dumps: int
    restores: int


def checkpoint_controllers(controllers: LabControllers) -> ControllersCheckpoint:
    with controllers.paused():
        ctx, kubelet, db = controllers.ctx, controllers.kubelet, controllers.database
        return ControllersCheckpoint(
            marks=dict(ctx._marks),
            pulled_images=set(ctx.pulled_images),
            seeded_users=ctx.seeded_users,
            host_dirs=set(ctx.host_dirs),
            kubernetes_up=ctx.kubernetes_up.is_set(),
            kubelet=copy.deepcopy(
                {
                    "containers": kubelet.containers,
                    "pod_ips": kubelet.pod_ips,
                    "interrupted": kubelet.interrupted,
                    "bootstrap_jobs": kubelet.bootstrap_jobs,
                }
            ),
            flux_runs=copy.deepcopy(controllers.flux.runs),
            tables=copy.deepcopy(db.tables),
            dumps=db.dumps,
            restores=db.restores,
        )


def restore_controllers(controllers: LabControllers, cp: ControllersCheckpoint) -> None:
    """Put the controllers' private state back (restore the store first, within the same
    ``controllers.paused()``, so no step sees one without the other)."""
    with controllers.paused():
        ctx, kubelet, db = controllers.ctx, controllers.kubelet, controllers.database
        with ctx._lock:
            ctx._marks = dict(cp.marks)
        ctx.pulled_images = set(cp.pulled_images)
        ctx.seeded_users = cp.seeded_users
        ctx.host_dirs = set(cp.host_dirs)
        if cp.kubernetes_up:
            ctx.kubernetes_up.set()
        else:
            ctx.kubernetes_up.clear()
        state = copy.deepcopy(cp.kubelet)
        kubelet.containers = state["containers"]
        kubelet.pod_ips = state["pod_ips"]
        kubelet.interrupted = state["interrupted"]
        kubelet.bootstrap_jobs = state["bootstrap_jobs"]
        controllers.flux.runs = copy.deepcopy(cp.flux_runs)
        db.tables = copy.deepcopy(cp.tables)
        db.dumps, db.restores = cp.dumps, cp.restores
        _drain(controllers.flux._deleted.queue)  # deletions before the restore are history now
        controllers.errors.clear()


def _drain(q: queue.Queue[Any]) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return


@dataclass(frozen=True)
class TalosCheckpoint:
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LabCheckpoint:
    """All of a lab's state (``Lab.checkpoint``)."""

    store: StoreCheckpoint
    controllers: ControllersCheckpoint
    talos: TalosCheckpoint


_TALOS_FIELDS = ("_applied_at", "_bootstrapped_at", "_config_text", "_pulled", "ca_b64", "kubeconfig_text")


def checkpoint_talos(sim: TalosSim) -> TalosCheckpoint:
    with sim._lock:
        return TalosCheckpoint({name: copy.deepcopy(getattr(sim, name)) for name in _TALOS_FIELDS})


def restore_talos(sim: TalosSim, cp: TalosCheckpoint) -> None:
    with sim._lock:
        for name, value in cp.fields.items():
            setattr(sim, name, copy.deepcopy(value))
