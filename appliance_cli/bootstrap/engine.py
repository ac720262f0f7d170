"""The bootstrap runner: it alone owns the control flow.

The phase order is the one literal list in ``phases()``. For each phase the runner reports
the start, asks ``should_run`` (a done phase is verified and skipped, never redone),
runs it (or, in dry run, records its plan), records the outcome and timings in the
journal, and reports the end. Ctrl-C stops cleanly: the journal records the interrupt and
the error names the command that resumes (exit 130).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from appliance_cli import fluxlayout
from appliance_cli.bootstrap.actions import Actions, PlannedAction
from appliance_cli.bootstrap.context import Adapters, Announcer, BootstrapContext
from appliance_cli.bootstrap.journal import Journal
from appliance_cli.bootstrap.kubeops import get_or_none
from appliance_cli.bootstrap.options import BootstrapOptions
from appliance_cli.bootstrap.phases.base import PhaseBase
from appliance_cli.bootstrap.phases.p0_talos import TalosHost
from appliance_cli.bootstrap.phases.p1_platform import Platform, preflight_flux
from appliance_cli.bootstrap.phases.p2_status import StatusService
from appliance_cli.bootstrap.phases.p3_core import Core
from appliance_cli.bootstrap.phases.p4_background import Background
from appliance_cli.bootstrap.phases.p5_health import Health
from appliance_cli.bootstrap.source import resolve_source
from appliance_cli.errors import EXIT_ACTION_REQUIRED, EXIT_OK, ApplianceError, Interrupted, UsageError
from appliance_cli.lock import site_lock
from appliance_cli.progress import ProgressEvent, Reporter
from appliance_cli.releases import load_release
from appliance_cli.site import Site
from appliance_cli.status.model import LOGIN_STATES

if TYPE_CHECKING:
    from appliance_cli.status.model import StatusDocument

ResetHook = Callable[[BootstrapContext], None]


def phases() -> list[PhaseBase]:
    """The phase order (docs/bootstrap.md)."""
    return [TalosHost(), Platform(), StatusService(), Core(), Background(), Health()]


@dataclass
class BootstrapResult:
    exit_code: int
    plan: list[PlannedAction] = field(default_factory=list)
    status: StatusDocument | None = None
    warnings: list[str] = field(default_factory=list)
    applied: int = 0
    seconds: float = 0.0
    site_files: list[str] = field(default_factory=list)


def resume_command(options: BootstrapOptions) -> str:
    parts = [
        "appliance bootstrap --bootstrap-mode recover",
        f"--release-version {options.release_version}",
        f"--node-ip {options.node_ip}",
        f"--site-id {options.site_id}",
    ]
    for flag, value in (
        ("--config-dir", options.config_dir),
        ("--kubeconfig", options.kubeconfig),
        ("--talosconfig", options.talosconfig),
        ("--repo-url", options.repo_url),
        ("--branch-override", options.branch_override),
        ("--app-url", options.app_url),
    ):
        if value:
            parts.append(f"{flag} {value}")
    return " ".join(parts)


def _emit_phase(ctx: BootstrapContext, state: str, **details: object) -> None:
    ctx.reporter.emit(
        ProgressEvent(ctx.phase, ctx.phase_title, ctx.phase_title or "", state, {"scope": "phase", **details})  # type: ignore[arg-type]
    )


def _default_adapters() -> Adapters:
    from appliance_cli.bootstrap.defaults import default_adapters

    return default_adapters()


def build_context(
    options: BootstrapOptions,
    *,
    reporter: Reporter,
    announce: Announcer,
    adapters: Adapters | None = None,
) -> BootstrapContext:
    site = Site.open(options.site_id, config_dir=options.config_dir)
    release = load_release(options.release_version)
    journal = Journal(site.journal_file, site.site_id, dry_run=options.dry_run)
    return BootstrapContext(
        options=options,
        site=site,
        release=release,
        reporter=reporter,
        actions=Actions(dry_run=options.dry_run),
        journal=journal,
        adapters=adapters or _default_adapters(),
        announce=announce,
    )


def _holds_appliance(ctx: BootstrapContext) -> bool:
    """The journal says the app was installed, or the cluster has ``alga-core`` or app data
    (volume claims in the app namespace, e.g. left by an interrupted reset)."""
    if ctx.journal.completed(3):
        return True
    if not ctx.kubeconfig_path.is_file():
        return False
    try:
        ks = get_or_none(ctx, "kustomize.toolkit.fluxcd.io/v1/kustomizations", "flux-system", "alga-core")
        if ks is not None:
            return True
        claims = ctx.kube().list_raw("v1/persistentvolumeclaims", fluxlayout.APP_NAMESPACE)
    except ApplianceError:
        return False
    return bool(claims.get("items"))


def _guard_fresh(ctx: BootstrapContext, reset: ResetHook | None) -> None:
    """``fresh`` over an installed appliance needs --force and runs the reset plan first."""
    o = ctx.options
    if o.bootstrap_mode != "fresh" or not _holds_appliance(ctx):
        return
    if not o.force:
        raise UsageError(
            f"site {o.site_id!r} already holds an installed appliance; fresh would re-seed its data",
            param="--bootstrap-mode",
            hint="use --bootstrap-mode recover to keep the data, or add --force to reset first",
        )
    if reset is None:
        raise UsageError(
            "--force needs the reset plan, which is not available in this version",
            param="--force",
            hint="run 'appliance reset --force' first, or use --bootstrap-mode recover",
        )
    reset(ctx)


def run(
    options: BootstrapOptions,
    *,
    reporter: Reporter,
    announce: Announcer,
    adapters: Adapters | None = None,
    reset: ResetHook | None = None,
    stop: threading.Event | None = None,
) -> BootstrapResult:
    """Run (or plan) the bootstrap. Raises ``ApplianceError`` subclasses for exit 1/2/130."""
    started = time.monotonic()
    ctx = build_context(options, reporter=reporter, announce=announce, adapters=adapters)
    ctx.site.status_token()  # a status-token file the service would refuse: exit 2, nothing mutated
    if stop is not None:
        ctx.state.stop = stop
    resolve_source(ctx)  # branch checks: missing remote branch -> exit 2 before anything is mutated
    preflight_flux(ctx)  # a missing or too old flux CLI stops here, before anything is mutated
    if options.dry_run:
        _guard_fresh(ctx, reset)
        return _plan(ctx, started)
    with site_lock(ctx.site, "bootstrap"):
        return _run_locked(ctx, reset, started)


def _run_locked(ctx: BootstrapContext, reset: ResetHook | None, started: float) -> BootstrapResult:
    options = ctx.options
    ctx.journal.reload()
    _guard_fresh(ctx, reset)
    ctx.journal.data.runs += 1
    ctx.journal.data.release_version = options.release_version
    ctx.journal.data.bootstrap_mode = ctx.journal.data.bootstrap_mode or options.bootstrap_mode
    ctx.journal.save()
    for phase in phases():
        _run_phase(ctx, phase)
    doc = ctx.final_status
    code = EXIT_OK if doc is not None and doc.rollup.state in LOGIN_STATES else EXIT_ACTION_REQUIRED
    return BootstrapResult(
        exit_code=code,
        status=doc,
        warnings=list(ctx.warnings),
        applied=ctx.actions.applied,
        seconds=round(time.monotonic() - started, 3),
        site_files=sorted(p.name for p in ctx.site.root.iterdir()) if ctx.site.exists() else [],
    )


def _should_run(ctx: BootstrapContext, phase: PhaseBase) -> tuple[bool, str]:
    try:
        return phase.should_run(ctx), "verified on the cluster"
    except ApplianceError as exc:
        if ctx.options.dry_run:
            return True, f"could not verify ({exc.message})"
        raise


def _run_phase(ctx: BootstrapContext, phase: PhaseBase) -> None:
    ctx.phase, ctx.phase_title = phase.number, phase.title
    ctx.actions.phase = phase.number
    _emit_phase(ctx, "start")
    t0 = time.monotonic()
    try:
        run_it, reason = _should_run(ctx, phase)
        if not run_it:
            ctx.journal.finish(phase.number, "skipped", time.monotonic() - t0, reason)
            _emit_phase(ctx, "skipped", reason=reason, seconds=round(time.monotonic() - t0, 3))
        else:
            ctx.journal.start(phase.number)
            phase.run(ctx)
            ctx.journal.finish(phase.number, "completed", time.monotonic() - t0)
            _emit_phase(ctx, "done", seconds=round(time.monotonic() - t0, 3))
        phase.after(ctx)
    except KeyboardInterrupt:
        ctx.journal.finish(phase.number, "interrupted", time.monotonic() - t0, "interrupted (Ctrl-C)")
        _emit_phase(ctx, "failed", reason="interrupted")
        _cleanup(ctx, phase)
        raise Interrupted(
            f"interrupted during phase {phase.number} ({phase.title}); the journal records where it stopped",
            hint=f"resume with: {resume_command(ctx.options)}",
        ) from None
    except ApplianceError as exc:
        ctx.journal.finish(phase.number, "failed", time.monotonic() - t0, exc.message)
        _emit_phase(ctx, "failed", reason=exc.message)
        _cleanup(ctx, phase)
        if exc.hint is None and not isinstance(exc, UsageError):
            exc.hint = f"fix the cause, then resume with: {resume_command(ctx.options)}"
        raise


def _cleanup(ctx: BootstrapContext, phase: PhaseBase) -> None:
    try:
        phase.cleanup(ctx)
    except (ApplianceError, OSError) as exc:  # best effort: never hide the real failure
        ctx.report(f"cleanup failed: {exc}", "warning")


def _plan(ctx: BootstrapContext, started: float) -> BootstrapResult:
    for phase in phases():
        ctx.phase, ctx.phase_title = phase.number, phase.title
        ctx.actions.phase = phase.number
        _emit_phase(ctx, "start")
        if ctx.journal.completed(phase.number):
            run_it, reason = _should_run(ctx, phase)
        else:
            run_it, reason = True, ""
        if run_it:
            phase.plan(ctx)
            _emit_phase(ctx, "done", seconds=0.0)
        else:
            ctx.actions.note(f"phase {phase.number} ({phase.title}) already done: verify only")
            _emit_phase(ctx, "skipped", reason=reason, seconds=0.0)
    return BootstrapResult(
        exit_code=EXIT_OK,
        plan=list(ctx.actions.records),
        warnings=list(ctx.warnings),
        seconds=round(time.monotonic() - started, 3),
    )
