"""``appliance restore --from FILE``: put a database backup back.

The plan (shown first, and all a dry run does): the archive (path, size, sha256, checked
against its record), the app workloads that write to the database and their replicas now,
then the steps — stop those workloads (replicas 0, wait until their pods are gone), stream
the archive into ``pg_restore`` in the database pod (one transaction), start them again
with their replicas, wait for login, and check the seed-user count.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance_cli.bootstrap.actions import Actions
from appliance_cli.bootstrap.waits import Seen, wait_for_status, wait_until
from appliance_cli.catalog import load_catalog
from appliance_cli.errors import ActionRequired, KubeError, UsageError
from appliance_cli.lock import site_lock
from appliance_cli.progress import ProgressEvent, Reporter
from appliance_cli.site import Site
from appliance_cli.status.model import LOGIN_STATES
from appliance_cli.upgrade import backup as bk
from appliance_cli.upgrade import cluster as cl
from appliance_cli.upgrade import history
from appliance_cli.upgrade.engine import default_adapters, make_context
from appliance_cli.upgrade.model import BackupRecord, HistoryEntry

if TYPE_CHECKING:
    from appliance_cli.status.model import StatusDocument

DEPLOY_KEY = "apps/v1/deployments"
STOP_BOUND = 300.0
LOGIN_BOUND = 900.0
TOTAL_STEPS = 4
TITLES = {1: "Stop the app", 2: "Restore the database", 3: "Start the app", 4: "Verify"}


@dataclass
class RestorePlan:
    site_id: str
    archive: Path
    sha256: str
    size_bytes: int
    record: BackupRecord | None
    release_version: str
    workloads: list[tuple[str, str, int]] = field(default_factory=list)  # namespace, name, replicas

    def lines(self) -> list[str]:
        made = (
            f", taken {self.record.created_at} at release {self.record.release_version}"
            if self.record
            else ""
        )
        out = [
            f"Restore plan for site {self.site_id} (release {self.release_version} running):",
            f"  archive {self.archive} ({self.size_bytes} bytes, sha256 {self.sha256}{made})",
            "  1. stop the app: "
            + (
                ", ".join(f"{ns}/{name} (replicas {n} → 0)" for ns, name, n in self.workloads)
                or "nothing runs"
            )
            + f"; wait up to {STOP_BOUND:g}s until their pods are gone",
            f"  2. restore database {bk.DATABASE}: {' '.join(bk.RESTORE_COMMAND)} in "
            f"{'/'.join(bk.db_pod()[:2])} with the archive on stdin (all or nothing); "
            "the database's current contents are replaced",
            "  3. start the app: "
            + (", ".join(f"{ns}/{name} → {n}" for ns, name, n in self.workloads) or "-"),
            f"  4. verify: login ready (up to {LOGIN_BOUND:g}s) and seed users present",
        ]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "siteId": self.site_id,
            "archive": str(self.archive),
            "sha256": self.sha256,
            "sizeBytes": self.size_bytes,
            "releaseVersion": self.release_version,
            "backup": self.record.model_dump(by_alias=True, exclude={"config"}) if self.record else None,
            "workloads": [{"namespace": ns, "name": n, "replicas": r} for ns, n, r in self.workloads],
        }


def _app_workloads(kube: Any) -> list[tuple[str, str, int]]:
    """Deployments of the app's own images in the app namespace (they write to the database)."""
    out: list[tuple[str, str, int]] = []
    for c in load_catalog().components:
        if c.workload.kind != "Deployment" or not c.image_key or c.tier == "platform":
            continue
        live = cl.get_or_none(kube, DEPLOY_KEY, c.namespace, c.workload.name)
        if live is not None:
            out.append((c.namespace, c.workload.name, int((live.get("spec") or {}).get("replicas", 1))))
    return out


def plan_restore(site: Site, archive: Path) -> RestorePlan:
    from appliance_cli.env import open_env

    if not site.kubeconfig.is_file():
        raise UsageError(
            f"site {site.site_id!r} has no kubeconfig: nothing to restore into", param="--site-id"
        )
    path, record = bk.resolve_archive(site, archive)
    digest = bk.verify_archive(path, record)
    env = open_env(site)
    kube = env.kube()
    try:
        selection = cl.read_selection(kube)
        workloads = _app_workloads(kube)
    except KubeError as exc:
        raise ActionRequired(f"cannot read the appliance's cluster: {exc.message}") from exc
    version = selection.get("releaseVersion") or ""
    if not version:
        raise ActionRequired("no installed release found (no alga-system/appliance-release-selection)")
    return RestorePlan(
        site_id=site.site_id,
        archive=path,
        sha256=digest,
        size_bytes=path.stat().st_size,
        record=record,
        release_version=version,
        workloads=workloads,
    )


@dataclass
class RestoreOutcome:
    seed_users: int | None
    rollup: str
    seconds: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"seedUsers": self.seed_users, "rollup": self.rollup, "seconds": self.seconds}


def execute_restore(
    site: Site,
    plan: RestorePlan,
    *,
    reporter: Reporter,
    stop: threading.Event | None = None,
) -> RestoreOutcome:
    """Carry the plan out under the site lock."""
    from appliance_cli.env import open_env

    stop = stop or threading.Event()
    env = open_env(site)
    release = env.release(plan.release_version)
    ctx = make_context(
        site,
        env,
        release,
        reporter=reporter,
        actions=Actions(dry_run=False),
        adapters=default_adapters(env),
        announce=lambda _line: None,
        node_ip=None,
        config_dir=None,
        stop=stop,
    )
    client = env.kube()
    seconds: dict[str, float] = {}

    def emit(n: int, state: str, **details: Any) -> None:
        ctx.phase, ctx.phase_title = n, TITLES[n]
        reporter.emit(ProgressEvent(n, TITLES[n], TITLES[n], state, {"scope": "phase", **details}))  # type: ignore[arg-type]

    def scale(replicas: dict[tuple[str, str], int]) -> None:
        for (ns, name), n in replicas.items():
            client.patch_merge(DEPLOY_KEY, ns, name, {"spec": {"replicas": n}})

    def pods_gone() -> Seen:
        left: list[str] = []
        pods = client.list_raw("v1/pods", load_catalog().namespaces.app).get("items") or []
        prefixes = tuple(f"{name}-" for _ns, name, _n in plan.workloads)
        for pod in pods:
            name = str(pod["metadata"]["name"])
            if name.startswith(prefixes) and "-bootstrap-" not in name:
                left.append(name)
        return Seen(not left, f"running: {', '.join(left)}" if left else "app pods gone")

    with site_lock(site, "restore"):
        t0 = time.monotonic()
        emit(1, "start")
        scale({(ns, name): 0 for ns, name, _n in plan.workloads})
        wait_until(ctx, "app pods gone", pods_gone, bound_seconds=STOP_BOUND, classify=False, stop=stop)
        seconds["stop"] = round(time.monotonic() - t0, 3)
        emit(1, "done", seconds=seconds["stop"])
        try:
            emit(2, "start")
            seconds["restore"] = bk.restore_database(client, plan.archive)
            emit(2, "done", seconds=seconds["restore"])
        finally:  # the app comes back whether or not the restore went through
            t1 = time.monotonic()
            emit(3, "start")
            scale({(ns, name): n for ns, name, n in plan.workloads})
            emit(3, "done", seconds=round(time.monotonic() - t1, 3))
        t2 = time.monotonic()
        emit(4, "start")

        def login(doc: StatusDocument) -> Seen:
            ok = doc.tiers.login.ready or doc.rollup.state in LOGIN_STATES
            return Seen(ok, f"login: {doc.tiers.login.status} ({doc.rollup.state})")

        doc = wait_for_status(ctx, "login ready after the restore", login, bound_seconds=LOGIN_BOUND)
        users = bk.seed_users(client)
        seconds["verify"] = round(time.monotonic() - t2, 3)
        emit(4, "done", seconds=seconds["verify"])
        if not users:
            raise ActionRequired(
                f"the restored database has no seed users (count: {users})",
                hint="the archive may predate the app's bootstrap; restore a later backup",
            )
        history.record(
            site,
            HistoryEntry(
                kind="restore",
                at=bk.rfc3339(),
                result="succeeded",
                to_version=plan.release_version,
                backup_id=plan.record.id if plan.record else None,
                message=f"{plan.archive.name} ({plan.size_bytes} bytes); {users} seed users",
            ),
            kube=client,
        )
    return RestoreOutcome(seed_users=users, rollup=doc.rollup.state if doc else "unknown", seconds=seconds)
