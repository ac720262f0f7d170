"""``appliance upgrade``: plan, preflight, backup, rollout by tier, rollback, history.

The steps (docs/upgrade.md):

0. **Preflight** (changes nothing): the target manifest (schema-valid, loaded like bootstrap
   loads it); Talos and Kubernetes versions equal to what runs (otherwise a refusal naming
   the supported path); every image of the target in its registry (a missing core image
   refuses, a missing background image warns); the appliance login-ready now; free space for
   the backup. The site lock is held from here on.
1. **Backup**: custom-format ``pg_dump`` of ``server`` streamed over exec into
   ``<site>/backups/`` (0600, sha256 and size recorded) plus the configuration it ran with.
2. **Core**: the core values ConfigMaps, the release selection and the platform/core tier
   Kustomizations, applied only where they differ; a reconcile requested for the core
   HelmReleases; gate: the HelmReleases handled the request and are Ready, the login pods all
   run the new image, and the status classifier says login is possible. A known
   login-blocking blocker ends the gate at once (the bootstrap waits), a timeout too.
3. **Background**: the background values and Kustomization, a reconcile request, then
   background ready or a known background issue — never a rollback.
4. **Verify**: the final classified status, the history record.

When the core gate fails: **rollback** — the configuration from the backup applied back, the
database restored from the backup when the new release's bootstrap Job ran (its migrations
may have changed the schema), a reconcile requested, and login awaited at the previous
release; exit 1 naming what failed.

The journal (``upgrade.json``) makes a killed run resumable: ``appliance upgrade`` with the
same target continues from it (same reconcile token, same backup). Every state change goes
through the bootstrap do-or-record helper, so ``--dry-run`` prints the same steps and writes
nothing, not even local files.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from appliance_cli import fluxlayout
from appliance_cli.bootstrap.actions import Actions, PlannedAction, object_ref
from appliance_cli.bootstrap.context import Adapters, BootstrapContext
from appliance_cli.bootstrap.facts import facts_configmap
from appliance_cli.bootstrap.journal import Journal
from appliance_cli.bootstrap.options import BootstrapOptions
from appliance_cli.bootstrap.phases.base import BlockerFound, WaitTimeout
from appliance_cli.bootstrap.waits import Seen, wait_for_status
from appliance_cli.errors import (
    EXIT_ACTION_REQUIRED,
    EXIT_OK,
    ActionRequired,
    ApplianceError,
    Interrupted,
    KubeError,
    UsageError,
)
from appliance_cli.lock import site_lock
from appliance_cli.progress import ProgressEvent, Reporter
from appliance_cli.site import Site
from appliance_cli.status.model import LOGIN_STATES
from appliance_cli.upgrade import backup as bk
from appliance_cli.upgrade import cluster as cl
from appliance_cli.upgrade import history
from appliance_cli.upgrade.model import (
    BackupRecord,
    HistoryEntry,
    StepName,
    StepRecord,
    UpgradeJournal,
    backup_dir,
    load_journal,
    save_journal,
)

if TYPE_CHECKING:
    from appliance_cli.adapters.kube import KubeClient
    from appliance_cli.env import SiteEnv
    from appliance_cli.releases import Release
    from appliance_cli.status.model import StatusDocument

TOTAL_STEPS = 4
STEP_TITLES: dict[int, str] = {0: "Preflight", 1: "Backup", 2: "Core", 3: "Background", 4: "Verify"}
STEP_NAMES: dict[int, StepName] = {0: "preflight", 1: "backup", 2: "core", 3: "background"}
Channel = Literal["candidate", "stable"]


class UpgradeOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    release_version: str
    site_id: str
    config_dir: Path | None = None
    node_ip: str | None = None
    dry_run: bool = False
    core_bound: float = 1800.0
    background_bound: float = 900.0
    rollback_bound: float = 1800.0


@dataclass
class UpgradeResult:
    exit_code: int
    from_version: str
    to_version: str
    state: str
    plan: list[PlannedAction] = field(default_factory=list)
    backup: BackupRecord | None = None
    applied: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    status: StatusDocument | None = None
    warnings: list[str] = field(default_factory=list)
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "exitCode": self.exit_code,
            "fromVersion": self.from_version,
            "toVersion": self.to_version,
            "state": self.state,
            "applied": self.applied,
            "timings": self.timings,
            "backup": self.backup.model_dump(by_alias=True, exclude={"config"}) if self.backup else None,
            "rollup": self.status.rollup.state if self.status else None,
            "warnings": self.warnings,
            "message": self.message,
            "plan": [a.to_json() for a in self.plan],
        }


# Channels ------------------------------------------------------------------------------------
def resolve_channel(channel: str) -> str:
    """``releases/channels/<channel>.json`` → the release version it points at."""
    from appliance_cli.paths import releases_dir

    if channel not in ("candidate", "stable"):
        raise UsageError(f"unknown channel {channel!r}: use candidate or stable", param="--channel")
    path = releases_dir() / "channels" / f"{channel}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}", param="--channel") from exc
    version = data.get("releaseVersion") if isinstance(data, dict) else None
    if not version:
        note = data.get("note") if isinstance(data, dict) else None
        raise UsageError(
            f"channel {channel} names no release{': ' + str(note) if note else ''}",
            param="--channel",
            hint="name one with --release-version",
        )
    return str(version)


# The run ---------------------------------------------------------------------------------------
def default_adapters(env: SiteEnv) -> Adapters:
    from appliance_cli.bootstrap.defaults import default_adapters

    base = default_adapters()
    return Adapters(
        env=lambda _site: env,
        kube=base.kube,
        status=base.status,
        image_check=base.image_check,
        healthz=base.healthz,
    )


def host_upgrade_problems(target: Release, previous: Release) -> list[str]:
    """The Talos/Kubernetes changes ``target`` needs, each with the talosctl command of the
    supported path (this command does not run them)."""
    problems: list[str] = []
    if target.talos.version != previous.talos.version:
        problems.append(
            f"Talos {previous.talos.version} → {target.talos.version} "
            f"(talosctl upgrade --nodes <node-ip> --image {target.talos.installer_image})"
        )
    if target.kubernetes.version != previous.kubernetes.version:
        problems.append(
            f"Kubernetes {previous.kubernetes.version} → {target.kubernetes.version} "
            f"(talosctl upgrade-k8s --nodes <node-ip> --to {target.kubernetes.version.removeprefix('v')})"
        )
    return problems


def make_context(
    site: Site,
    env: SiteEnv,
    release: Release,
    *,
    reporter: Reporter,
    actions: Actions,
    adapters: Adapters,
    announce: Callable[[str], None],
    node_ip: str | None,
    config_dir: Path | None,
    stop: threading.Event,
) -> BootstrapContext:
    """A bootstrap context for ``release`` on ``site`` (mode recover): the day-2 commands use
    bootstrap's waits, status collection and do-or-record helper through it. Its bootstrap
    journal is read only."""
    ip = node_ip or env.node_ip
    if not ip:
        raise UsageError("the site records no node IP", param="--node-ip", hint="pass --node-ip")
    opts = BootstrapOptions(
        bootstrap_mode="recover",
        release_version=release.version,
        node_ip=ip,
        site_id=site.site_id,
        config_dir=config_dir,
        dry_run=actions.dry_run,
    )
    ctx = BootstrapContext(
        options=opts,
        site=site,
        release=release,
        reporter=reporter,
        actions=actions,
        journal=Journal(site.journal_file, site.site_id, dry_run=True),
        adapters=adapters,
        announce=announce,
    )
    ctx.state.stop = stop
    return ctx


class Upgrade:
    """One ``appliance upgrade`` (or its plan): the runner owns the control flow."""

    def __init__(
        self,
        options: UpgradeOptions,
        *,
        reporter: Reporter,
        announce: Callable[[str], None],
        stop: threading.Event | None = None,
        adapters: Adapters | None = None,
    ) -> None:
        from appliance_cli.env import open_env

        self.options = options
        self.reporter = reporter
        self.announce = announce
        self.stop = stop or threading.Event()
        self.site = Site.open(options.site_id, config_dir=options.config_dir)
        if not self.site.kubeconfig.is_file():
            raise UsageError(
                f"site {options.site_id!r} has no kubeconfig: there is no installed appliance to upgrade",
                param="--site-id",
                hint="install it first with 'appliance bootstrap'",
            )
        self.env = open_env(self.site)
        self.target = self.env.release(options.release_version)
        self.adapters = adapters or default_adapters(self.env)
        self.actions = Actions(dry_run=options.dry_run)
        self.warnings: list[str] = []
        self.timings: dict[str, float] = {}
        self.ctx = self._context(self.target)
        self.previous: Release | None = None
        self.journal: UpgradeJournal | None = None
        self.backup: BackupRecord | None = None
        self.image_checks: list[dict[str, Any]] | None = None
        self._persist = False

    # -- plumbing -----------------------------------------------------------------------------
    def _context(self, release: Release) -> BootstrapContext:
        return make_context(
            self.site,
            self.env,
            release,
            reporter=self.reporter,
            actions=self.actions,
            adapters=self.adapters,
            announce=self.announce,
            node_ip=self.options.node_ip,
            config_dir=self.options.config_dir,
            stop=self.stop,
        )

    @property
    def kube(self) -> Any:
        return self.ctx.kube()

    def client(self) -> KubeClient:
        """The real client (exec streams need it)."""
        return self.env.kube(self.ctx.kubeconfig_path)

    def _emit(self, number: int | None, state: str, step: str | None = None, **details: Any) -> None:
        title = self.ctx.phase_title if number is not None and number == self.ctx.phase else None
        title = title or (STEP_TITLES.get(number) if number is not None else None)
        scope = {"scope": "phase"} if step is None else {}
        self.reporter.emit(ProgressEvent(number, title, step or title or "", state, {**scope, **details}))  # type: ignore[arg-type]

    def _info(self, step: str, state: str = "info", **details: Any) -> None:
        self.reporter.emit(ProgressEvent(self.ctx.phase, self.ctx.phase_title, step, state, details))  # type: ignore[arg-type]

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        self._info(message, "warning")

    def _save(self) -> None:
        # nothing is written before the preflight passed (a refused upgrade leaves no trace)
        if self.journal is not None and self._persist and not self.options.dry_run:
            save_journal(self.site, self.journal)

    @contextmanager
    def _step(self, number: int, *, title: str | None = None, name: StepName | None = None) -> Iterator[None]:
        name = name or STEP_NAMES.get(number)
        self.ctx.phase, self.ctx.phase_title = number, title or STEP_TITLES[number]
        self.actions.phase = number
        self._emit(number, "start")
        t0 = time.monotonic()
        if name and self.journal is not None:
            self.journal.steps[name] = StepRecord(state="running", started_at=bk.rfc3339())
            self._save()
        try:
            yield
        except KeyboardInterrupt:
            self._finish_step(name, "interrupted", t0, "interrupted (Ctrl-C)")
            self._emit(number, "failed", reason="interrupted")
            raise
        except ApplianceError as exc:
            self._finish_step(name, "failed", t0, exc.message)
            self._emit(number, "failed", reason=exc.message)
            raise
        seconds = self._finish_step(name, "done", t0, None)
        self._emit(number, "done", seconds=seconds)

    def _finish_step(self, name: StepName | None, state: Any, t0: float, message: str | None) -> float:
        seconds = round(time.monotonic() - t0, 3)
        key = name or STEP_TITLES.get(self.ctx.phase or 0, "step").lower()
        self.timings[key] = round(self.timings.get(key, 0.0) + seconds, 3)
        if name and self.journal is not None:
            rec = self.journal.steps.get(name) or StepRecord(state=state)
            self.journal.steps[name] = rec.model_copy(
                update={"state": state, "finished_at": bk.rfc3339(), "seconds": seconds, "message": message}
            )
            self.journal.timings = dict(self.timings)
            self._save()
        return seconds

    # -- reading the site ----------------------------------------------------------------------
    def _current_version(self) -> str:
        try:
            selection = cl.read_selection(self.kube)
        except KubeError as exc:
            raise ActionRequired(
                f"cannot read the appliance's cluster: {exc.message}", hint="see 'appliance status'"
            ) from exc
        version = selection.get("releaseVersion") or self.ctx.journal.data.release_version
        if not version:
            raise ActionRequired(
                "no installed release found (no alga-system/appliance-release-selection)",
                hint="install with 'appliance bootstrap' first",
            )
        return version

    def _intent(self) -> cl.Intent:
        return cl.recorded_intent(
            cl.read_selection(self.kube),
            site_app_url=self.site.read("app-url"),
            repo_url=self.ctx.appliance_repo_url,
            branch=self.ctx.appliance_branch,
        )

    # -- entry points ----------------------------------------------------------------------------
    def run(self) -> UpgradeResult:
        started = time.monotonic()
        current = self._current_version()
        if self.options.dry_run:
            return self._plan(current, started)
        with site_lock(self.site, "upgrade"):
            return self._run_locked(current, started)

    def _start_or_resume(self, current: str) -> tuple[UpgradeJournal, bool]:
        existing = load_journal(self.site)
        if existing is not None and existing.state in ("running", "rolling_back"):
            if existing.to_version != self.target.version:
                raise UsageError(
                    f"an upgrade from {existing.from_version} to {existing.to_version} was interrupted "
                    "and must finish first; nothing was changed",
                    param="--release-version",
                    hint=f"run: appliance upgrade --site-id {self.site.site_id} "
                    f"--release-version {existing.to_version}",
                )
            return existing, True
        now = bk.rfc3339()
        journal = UpgradeJournal(
            id=bk.now_id(),
            from_version=current,
            to_version=self.target.version,
            token=f"upgrade-{self.target.version}-{bk.now_id()}",
            started_at=now,
        )
        return journal, False

    def _run_locked(self, current: str, started: float) -> UpgradeResult:
        journal, resumed = self._start_or_resume(current)
        self.journal = journal
        self.previous = self.env.release(journal.from_version)
        intent = self._intent()
        if resumed:
            self._info(f"resuming the interrupted upgrade {journal.from_version} → {journal.to_version}")
        elif current == self.target.version and not self._changes(intent):
            return self._already_there(started)
        self._persist = resumed
        try:
            if journal.state == "rolling_back":
                return self._rollback(intent, started, None)
            self._preflight(resumed)
            self._persist = True
            self._save()
            self._backup()
            self._adopt_image_checks()
            try:
                self._core(intent)
            except (BlockerFound, WaitTimeout) as exc:
                return self._rollback(intent, started, exc)
            self._background(intent)
            return self._verify(started)
        except KeyboardInterrupt:
            raise Interrupted(
                f"upgrade to {self.target.version} interrupted; its journal records where it stopped",
                hint=f"continue with: appliance upgrade --site-id {self.site.site_id} "
                f"--release-version {self.target.version}",
            ) from None

    # -- steps ------------------------------------------------------------------------------------
    def _changes(self, intent: cl.Intent) -> list[dict[str, Any]]:
        objs = cl.desired_objects(self.target, intent, "core") + cl.desired_objects(
            self.target, intent, "background"
        )
        return [o for o in objs if cl.changed(self.kube, o)]

    def _already_there(self, started: float) -> UpgradeResult:
        with self._step(0):
            doc = self.ctx.status()
            state = doc.rollup.state if doc else "unknown"
            self._info(f"already at {self.target.version}: nothing to apply (rollup {state})", "done")
        code = EXIT_OK if doc is not None and doc.rollup.state in LOGIN_STATES else EXIT_ACTION_REQUIRED
        return UpgradeResult(
            exit_code=code,
            from_version=self.target.version,
            to_version=self.target.version,
            state="unchanged",
            applied=0,
            status=doc,
            timings={"total": round(time.monotonic() - started, 3)},
            message=f"already at {self.target.version}; 0 objects applied",
        )

    def _preflight(self, resumed: bool) -> None:
        assert self.previous is not None
        with self._step(0):
            self._info(f"release {self.target.version}: manifest valid against the release schema", "done")
            self._check_versions(self.previous)
            self._check_images()
            if resumed:
                self._info("resumed: the login check of the first run stands", "done")
            elif not self.options.dry_run:
                doc = self.ctx.status()
                if doc is None or doc.rollup.state not in LOGIN_STATES:
                    state = doc.rollup.state if doc else "unknown (status not available)"
                    raise ActionRequired(
                        f"the appliance is not login-ready now ({state}); an upgrade starts only "
                        "from a working appliance; nothing was changed",
                        hint="see 'appliance status' for the blocker, and 'appliance repair' to fix it",
                    )
                self._info(f"login ready now ({doc.rollup.state})", "done")
            if self.journal is not None and self.journal.backup_id:
                return
            try:
                size = bk.database_size(self.client())
            except ActionRequired:
                if not self.options.dry_run:
                    raise
                self._info("database size unknown (cannot exec into the database now)")
                return
            free, want = bk.check_free_space(self.site, size)
            self._info(
                f"free space for the backup: {free // 2**20} MiB free, {want // 2**20} MiB needed", "done"
            )

    def _check_versions(self, previous: Release) -> None:
        t = self.target
        problems = host_upgrade_problems(t, previous)
        if problems:
            raise ActionRequired(
                f"release {t.version} needs a host upgrade this command does not run: "
                + "; ".join(problems)
                + "; nothing was changed",
                hint="upgrade Talos and Kubernetes first with the talosctl commands named, then run the "
                "app upgrade again",
            )
        self._info(f"Talos {t.talos.version} and Kubernetes {t.kubernetes.version} as running", "done")

    def _check_images(self) -> None:
        assert self.previous is not None
        for key, ref in sorted(self.target.images.items()):
            old = self.previous.images.get(key)
            change = (
                f"{old.reference} → {ref.reference}" if old and old != ref else f"{ref.reference} (unchanged)"
            )
            self.actions.note(f"image {key}: {change}")
        check = self.adapters.image_check(self.ctx)
        if check is None:
            self._info("release image check skipped (no registry to ask)")
            return
        self.image_checks = [c.model_dump(by_alias=True) for c in check.image_checks]
        for f in check.warnings:
            self._warn(f"{f.image}: {f.message} — {f.next_action}")
        if check.blocking:
            names = ", ".join(f.image for f in check.blocking)
            raise ActionRequired(
                f"image_tag_not_found: release {self.target.version} references core image(s) that do "
                f"not exist: {names}; nothing was changed",
                hint="publish the missing tag or fix the release manifest",
            )
        self._info(f"{len(check.image_checks)} release images checked in their registries", "done")

    def _backup(self) -> None:
        assert self.journal is not None
        with self._step(1):
            if self.journal.backup_id:
                record = bk.load_backup(self.site, self.journal.backup_id)
                bk.verify_archive(backup_dir(self.site) / record.file, record)
                self.backup = record
                self._info(
                    f"backup {record.id} from the first run verified (sha256 {record.sha256[:12]}…)", "done"
                )
                return
            self.journal.jobs_before = cl.bootstrap_jobs(self.kube)
            config = cl.config_snapshot(self.kube)
            taken: BackupRecord | None = self.actions.do(
                f"back up database {bk.DATABASE}: {' '.join(bk.DUMP_COMMAND)} over exec into "
                f"{backup_dir(self.site)}/<id>.dump (0600, sha256 and size recorded) with "
                f"{len(config)} configuration objects",
                lambda: bk.take_backup(
                    self.client(),
                    self.site,
                    release_version=self.journal.from_version if self.journal else None,
                    config=config,
                    reason=f"pre-upgrade to {self.target.version}",
                ),
                default=None,
            )
            if taken is None:
                return
            record = taken
            self.backup = record
            self.journal.backup_id = record.id
            self._save()
            history.record(
                self.site,
                HistoryEntry(
                    kind="backup",
                    at=record.created_at,
                    result="succeeded",
                    from_version=record.release_version,
                    backup_id=record.id,
                    message=f"{record.size_bytes} bytes in {record.seconds:g}s ({record.reason})",
                ),
            )
            self._info(
                f"backup {record.id}: {record.size_bytes} bytes, sha256 {record.sha256[:12]}…, "
                f"{record.seconds:g}s",
                "done",
            )

    def _adopt_image_checks(self) -> None:
        """From here on the status compares running images with the target's checked digests
        (with the old ones a rollout in progress would look like drift): the site journal and
        the facts ConfigMap get the target's image checks."""
        if self.image_checks is None or self.journal is None:
            return
        old = history.set_site_facts(self.site, {"imageChecks": self.image_checks})
        if self.journal.previous_image_checks is None:
            self.journal.previous_image_checks = old.get("imageChecks") or []
            self._save()
        self.ctx.journal.reload()
        self.actions.apply(self.ctx.kube, facts_configmap(self.ctx, step="upgrade", state="applying"))

    def _apply(self, objs: list[dict[str, Any]]) -> int:
        count = 0
        for obj in objs:
            if cl.changed(self.kube, obj):
                self.actions.apply(self.ctx.kube, obj)
                count += 1
            else:
                self.actions.note(f"unchanged {object_ref(obj)}")
        if self.journal is not None:
            self.journal.applied += count if not self.options.dry_run else 0
        return count

    def _request(self, tier: cl.UpgradeTier, token: str) -> None:
        for name in cl.tier_helm_releases(tier):
            self.actions.do(
                f"request reconcile of HelmRelease {fluxlayout.HELM_NAMESPACE}/{name} "
                f"({cl.REQUESTED_AT}={token})",
                lambda name=name: cl.request_reconcile(self.kube, name, token),  # type: ignore[misc]
                default=None,
            )

    def _gate(
        self, ctx: BootstrapContext, release: Release, token: str, bound: float, *, blockers: bool
    ) -> None:
        journal = self.journal

        def on_jobs(names: list[str]) -> None:
            if journal is None:
                return
            new = [n for n in names if n not in journal.jobs_before and n not in journal.new_jobs]
            if new:
                journal.new_jobs.extend(new)
                self._save()

        def predicate(doc: StatusDocument) -> Seen:
            at = cl.core_at_release(self.kube, release, token, on_jobs)
            login = doc.tiers.login.ready or doc.rollup.state in LOGIN_STATES
            if at.done and login:
                return Seen(True, f"{at.last_seen}; {doc.rollup.state}")
            return Seen(False, at.last_seen if not at.done else f"login: {doc.tiers.login.status}")

        what = f"login ready at {release.version} (core HelmReleases handled the request, pods on its image)"
        self.actions.wait(
            what,
            bound,
            lambda: wait_for_status(ctx, what, predicate, bound_seconds=bound, stop_on_blockers=blockers),
            default=None,
        )

    def _core(self, intent: cl.Intent) -> None:
        assert self.journal is not None
        with self._step(2):
            if not self.journal.jobs_before and not self.options.dry_run:
                self.journal.jobs_before = cl.bootstrap_jobs(self.kube)
            changed = self._apply(cl.desired_objects(self.target, intent, "core"))
            self._save()
            self._info(f"{changed} core object(s) changed")
            self._request("core", self.journal.token)
            self._gate(self.ctx, self.target, self.journal.token, self.options.core_bound, blockers=True)
            if not self.options.dry_run:
                self.announce(
                    f"Alga is ready to log in at release {self.target.version}: {self.ctx.login_url}"
                )

    def _background(self, intent: cl.Intent) -> None:
        assert self.journal is not None
        token = self.journal.token
        with self._step(3):
            self._apply(cl.desired_objects(self.target, intent, "background"))
            self._save()
            self._request("background", token)
            names = cl.tier_helm_releases("background")
            from appliance_cli.catalog import load_catalog

            components = {c.name: c.helm_release for c in load_catalog().components}

            def settled(doc: StatusDocument) -> Seen:
                # image drift is what a rollout in progress looks like, not an issue to stop on
                issues: set[str] = {
                    hr
                    for b in doc.top_blockers
                    if not b.login_blocking
                    and b.code != "release_image_drift"
                    and (hr := components.get(b.component))
                }
                pending = [
                    n
                    for n in names
                    if n not in issues and not cl.helm_releases_handled(self.kube, [n], token).done
                ]
                if pending:
                    return Seen(False, f"waiting for {', '.join(pending)}")
                if issues:
                    return Seen(True, f"background settled with issues in {', '.join(sorted(issues))}")
                tier = doc.tiers.background
                return Seen(tier.ready, f"background: {tier.status} {tier.message}".strip())

            what = "background ready or a known background issue (failures become warnings)"
            try:
                self.actions.wait(
                    what,
                    self.options.background_bound,
                    lambda: wait_for_status(
                        self.ctx,
                        what,
                        settled,
                        bound_seconds=self.options.background_bound,
                        stop_on_blockers=False,
                    ),
                    default=None,
                )
            except (BlockerFound, WaitTimeout) as exc:
                self._warn(f"background services not settled: {exc.message}")

    def _verify(self, started: float) -> UpgradeResult:
        assert self.journal is not None
        with self._step(4):
            doc = self.ctx.status()
            for b in doc.top_blockers if doc else []:
                if not b.login_blocking:
                    self._warn(f"background: {b.code} {b.component}: {b.reason} — {b.next_action}")
            self.journal.state = "succeeded"
            self.journal.finished_at = bk.rfc3339()
            self._save()
            state = doc.rollup.state if doc else "unknown"
            history.record(
                self.site,
                HistoryEntry(
                    kind="upgrade",
                    at=bk.rfc3339(),
                    result="succeeded",
                    from_version=self.journal.from_version,
                    to_version=self.target.version,
                    backup_id=self.journal.backup_id,
                    message=f"rollup {state}; {self.journal.applied} objects applied",
                ),
                kube=self.kube,
                release_version=self.target.version,
                facts={"imageChecks": self.image_checks} if self.image_checks is not None else None,
            )
            # the facts the status service reads (release, image checks) now describe the target
            self.ctx.journal.reload()
            self.actions.apply(self.ctx.kube, facts_configmap(self.ctx, step="upgrade", state="done"))
        self.timings["total"] = round(time.monotonic() - started, 3)
        code = EXIT_OK if doc is not None and doc.rollup.state in LOGIN_STATES else EXIT_ACTION_REQUIRED
        return UpgradeResult(
            exit_code=code,
            from_version=self.journal.from_version,
            to_version=self.target.version,
            state="succeeded",
            backup=self.backup,
            applied=self.journal.applied,
            timings=dict(self.timings),
            status=doc,
            warnings=list(self.warnings),
            message=f"upgraded {self.journal.from_version} → {self.target.version} ({state})",
        )

    # -- rollback -----------------------------------------------------------------------------------
    def _rollback(self, intent: cl.Intent, started: float, cause: ActionRequired | None) -> UpgradeResult:
        assert self.journal is not None and self.previous is not None
        journal = self.journal
        if cause is not None:
            blocker = getattr(cause, "blocker", None)
            code = blocker.code if blocker is not None else "core_gate_timeout"
            journal.failure = {
                "code": code,
                "message": cause.message.removeprefix(f"{code}: "),
                "evidence": [e.message for e in blocker.evidence[:3]] if blocker is not None else [],
            }
        journal.state = "rolling_back"
        journal.rollback_token = journal.rollback_token or f"rollback-{journal.from_version}-{bk.now_id()}"
        self._save()
        old_ctx = self._context(self.previous)
        failure = journal.failure or {"code": "unknown", "message": "interrupted rollback"}
        self._info(f"core gate failed: {failure['code']}: {failure['message']}", "failed")
        with self._step(2, title="Rollback", name="rollback"):
            old_ctx.phase, old_ctx.phase_title = self.ctx.phase, self.ctx.phase_title
            record = bk.load_backup(self.site, journal.backup_id) if journal.backup_id else None
            objs = (
                cl.restorable(record.config) if record else cl.desired_objects(self.previous, intent, "core")
            )
            self._info(f"rollback to {journal.from_version}: previous values and release selection")
            self._apply(objs)
            self._save()
            if journal.new_jobs and record is not None:
                self.actions.do(
                    f"restore database {bk.DATABASE} from backup {record.id} (the new release's "
                    f"bootstrap Job {', '.join(journal.new_jobs)} ran; its migrations may have changed "
                    "the schema)",
                    lambda: bk.restore_database(self.client(), backup_dir(self.site) / record.file),
                    default=0.0,
                )
            if journal.previous_image_checks is not None and not self.options.dry_run:
                history.set_site_facts(self.site, {"imageChecks": journal.previous_image_checks})
                old_ctx.journal.reload()
                self.actions.apply(self.ctx.kube, facts_configmap(old_ctx, step="rollback", state="applying"))
            self._request("core", journal.rollback_token)
            self._gate(
                old_ctx, self.previous, journal.rollback_token, self.options.rollback_bound, blockers=False
            )
        doc = old_ctx.status()
        journal.state = "rolled_back"
        journal.finished_at = bk.rfc3339()
        self._save()
        history.record(
            self.site,
            HistoryEntry(
                kind="upgrade",
                at=journal.started_at,
                result="failed",
                from_version=journal.from_version,
                to_version=journal.to_version,
                backup_id=journal.backup_id,
                message=f"{failure['code']}: {failure['message']}",
            ),
        )
        history.record(
            self.site,
            HistoryEntry(
                kind="rollback",
                at=bk.rfc3339(),
                result="succeeded",
                from_version=journal.to_version,
                to_version=journal.from_version,
                backup_id=journal.backup_id,
                message="database restored from the backup" if journal.new_jobs else "configuration restored",
            ),
            kube=self.kube,
            release_version=journal.from_version,
        )
        self.timings["total"] = round(time.monotonic() - started, 3)
        raise RolledBack(
            f"upgrade to {journal.to_version} failed: {failure['code']}: {failure['message']}; "
            f"rolled back: the appliance is on {journal.from_version} again and login is ready"
            + (" (database restored from the pre-upgrade backup)" if journal.new_jobs else ""),
            hint="fix the release (see the code and evidence above), then upgrade again",
            result=UpgradeResult(
                exit_code=EXIT_ACTION_REQUIRED,
                from_version=journal.from_version,
                to_version=journal.to_version,
                state="rolled_back",
                backup=self.backup or record,
                applied=journal.applied,
                timings=dict(self.timings),
                status=doc,
                warnings=list(self.warnings),
                message=failure["message"],
            ),
        )

    # -- dry run ------------------------------------------------------------------------------------
    def _plan(self, current: str, started: float) -> UpgradeResult:
        existing = load_journal(self.site)
        resumed = existing is not None and existing.state in ("running", "rolling_back")
        from_version = existing.from_version if existing is not None and resumed else current
        self.previous = self.env.release(from_version)
        self.journal = UpgradeJournal(
            id="plan",
            from_version=from_version,
            to_version=self.target.version,
            token=existing.token if existing is not None and resumed else "upgrade-<timestamp>",
            started_at=bk.rfc3339(),
        )
        intent = self._intent()
        self._preflight(resumed)
        with self._step(1):
            self.actions.do(
                f"back up database {bk.DATABASE}: {' '.join(bk.DUMP_COMMAND)} over exec from "
                f"{'/'.join(bk.db_pod()[:2])} into {backup_dir(self.site)}/<id>.dump (0600, sha256 and "
                "size recorded) with the values ConfigMaps, release selection, tier Kustomizations and "
                "HelmRelease specs",
                lambda: None,
                default=None,
            )
        self._core(intent)
        self.actions.phase = 2
        self.actions.note(
            f"if the core gate fails: roll back — apply the backed-up values and release selection of "
            f"{from_version}, restore the database from the backup if the new bootstrap Job ran, request a "
            f"reconcile and wait up to {self.options.rollback_bound:g}s for login ready at {from_version}"
        )
        self._background(intent)
        self.actions.phase = 4
        self.actions.note(
            "record the upgrade in the site journal and the facts ConfigMap (facts.json history)"
        )
        return UpgradeResult(
            exit_code=EXIT_OK,
            from_version=from_version,
            to_version=self.target.version,
            state="planned",
            plan=list(self.actions.records),
            warnings=list(self.warnings),
            timings={"total": round(time.monotonic() - started, 3)},
        )


class RolledBack(ActionRequired):
    """The core gate failed and the appliance is back on the previous release (exit 1)."""

    def __init__(self, message: str, *, hint: str, result: UpgradeResult) -> None:
        super().__init__(message, hint=hint)
        self.result = result


def run(
    options: UpgradeOptions,
    *,
    reporter: Reporter,
    announce: Callable[[str], None],
    stop: threading.Event | None = None,
    adapters: Adapters | None = None,
) -> UpgradeResult:
    """Plan or run an upgrade. Raises ``ApplianceError`` subclasses for exit 1/2/130."""
    return Upgrade(options, reporter=reporter, announce=announce, stop=stop, adapters=adapters).run()
