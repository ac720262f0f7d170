"""Phase 3 — Core: release image preflight, values and release selection, ``alga-core``,
waits CORE → BOOTSTRAP → LOGIN (login URL shown the moment login is possible), fresh →
recover promotion, facts published for the in-cluster status service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance_cli import fluxlayout
from appliance_cli.bootstrap.facts import now as _now
from appliance_cli.bootstrap.facts import publish_facts, record_revisions
from appliance_cli.bootstrap.kubeops import can_read_cluster, flux_ready, get_or_none
from appliance_cli.bootstrap.phases.base import PhaseBase
from appliance_cli.bootstrap.waits import Seen, wait_for_status
from appliance_cli.errors import ActionRequired, ApplianceError
from appliance_cli.status.model import LOGIN_STATES

if TYPE_CHECKING:
    from appliance_cli.bootstrap.context import BootstrapContext
    from appliance_cli.status.model import StatusDocument

Obj = dict[str, Any]
KS_KEY = "kustomize.toolkit.fluxcd.io/v1/kustomizations"
CORE_BOUND = 1800.0
BOOTSTRAP_BOUND = 900.0
LOGIN_BOUND = 600.0


def _tier(name: str) -> Any:
    def predicate(doc: StatusDocument) -> Seen:
        tier = getattr(doc.tiers, name)
        return Seen(bool(tier.ready), f"{name}: {tier.status} {tier.message}".strip())

    return predicate


def _login(doc: StatusDocument) -> Seen:
    ok = doc.tiers.login.ready or doc.rollup.state in LOGIN_STATES
    return Seen(
        ok, f"login: {doc.tiers.login.status} {doc.tiers.login.message or doc.rollup.message}".strip()
    )


class Core(PhaseBase):
    number = 3
    title = "Core"

    def should_run(self, ctx: BootstrapContext) -> bool:
        if not ctx.journal.completed(self.number) or not can_read_cluster(ctx):
            return True
        try:
            doc = ctx.status()
            if doc is not None:
                return not _login(doc).done
            return not flux_ready(get_or_none(ctx, KS_KEY, "flux-system", "alga-core")).done
        except ApplianceError:
            return True

    def run(self, ctx: BootstrapContext) -> None:
        a, o = ctx.actions, ctx.options
        self._preflight(ctx)
        mode = ctx.journal.fact("appBootstrapMode") or o.bootstrap_mode
        ctx.journal.set_fact("appBootstrapMode", mode)
        with ctx.step(f"values and release selection (bootstrap mode {mode})"):
            self._apply_values(ctx, mode)
            publish_facts(ctx, "alga-core", "applying")
        with ctx.step("alga-core Kustomization"):
            for ks in fluxlayout.tier_kustomizations(
                branch=ctx.appliance_branch,
                repo_url=ctx.appliance_repo_url,
                release=ctx.release,
                tiers=["core"],
            ):
                a.apply(ctx.kube, ks)
        core_ks = lambda: flux_ready(get_or_none(ctx, KS_KEY, "flux-system", "alga-core"))  # noqa: E731
        a.wait(
            "CORE_READY (db, redis, pgbouncer)",
            CORE_BOUND,
            lambda: wait_for_status(
                ctx, "core ready", _tier("core"), bound_seconds=CORE_BOUND, fallback=core_ks
            ),
            default=None,
        )
        doc = a.wait(
            "BOOTSTRAP_READY (bootstrap Job, seed users)",
            BOOTSTRAP_BOUND,
            lambda: wait_for_status(ctx, "app bootstrap", _tier("bootstrap"), bound_seconds=BOOTSTRAP_BOUND),
            default=None,
        )
        if doc is not None:
            ctx.journal.set_fact("seedUsers", {"count": _seed_count(ctx, doc), "checkedAt": _now()})
        if mode == "fresh":
            with ctx.step("promote bootstrap mode fresh → recover"):
                ctx.journal.set_fact("appBootstrapMode", "recover")
                self._apply_values(ctx, "recover")
                ctx.journal.save()
        a.wait(
            "LOGIN_READY (web ready, login probe)",
            LOGIN_BOUND,
            lambda: wait_for_status(ctx, "login ready", _login, bound_seconds=LOGIN_BOUND),
            default=None,
        )
        if not a.dry_run:
            ctx.announce(f"Alga is ready to log in: {ctx.login_url}")
        a.note(f"show the login URL {ctx.login_url} as soon as LOGIN_READY holds")
        if not a.dry_run:
            record_revisions(ctx)
        publish_facts(ctx, "login ready", "done")

    def _apply_values(self, ctx: BootstrapContext, mode: str) -> None:
        a = ctx.actions
        mode_ = mode  # "fresh" | "recover", checked by fluxlayout
        for cm in fluxlayout.values_configmaps(
            ctx.release,
            app_url=ctx.login_url,
            bootstrap_mode=mode_,  # type: ignore[arg-type]
        ):
            a.apply(ctx.kube, cm)
        a.apply(
            ctx.kube,
            fluxlayout.release_selection_configmap(
                ctx.release,
                appliance_repo_url=ctx.appliance_repo_url,
                appliance_branch=ctx.appliance_branch,
                app_url=ctx.login_url,
                bootstrap_mode=mode,  # type: ignore[arg-type]
            ),
        )

    def _preflight(self, ctx: BootstrapContext) -> None:
        a, o = ctx.actions, ctx.options
        with ctx.step("release image check"):
            if a.dry_run:
                a.note(f"check the {len(ctx.release.images)} release images in their registries (read only)")
                return
            check = ctx.adapters.image_check(ctx)
            if check is None:
                ctx.report("release image check skipped (no registry to ask)", "info")
                return
            ctx.journal.set_fact("imageChecks", [c.model_dump(by_alias=True) for c in check.image_checks])
            for f in check.warnings:
                ctx.warn(f"{f.image}: {f.message} — {f.next_action}")
            if check.blocking:
                names = ", ".join(f.image for f in check.blocking)
                if o.skip_image_tag_validation:
                    ctx.warn(
                        f"missing core image(s) {names}; continuing because of --skip-image-tag-validation"
                    )
                    return
                raise ActionRequired(
                    f"image_tag_not_found: release {ctx.release.version} references core image(s) "
                    f"that do not exist: {names}; "
                    "nothing was applied",
                    hint="publish the missing tag or fix the release manifest "
                    "(or re-run with --skip-image-tag-validation to try anyway)",
                )


def _seed_count(ctx: BootstrapContext, doc: StatusDocument) -> int | None:
    """``server.users`` count through exec in ``msp/db-0`` (the CLI can exec; the status service cannot)."""
    del doc
    fn = getattr(ctx.kube(), "exec", None)
    if fn is None:
        return None
    try:
        from appliance_cli.status.collect import SEED_COMMAND, seed_pod

        stdout, _stderr, code = fn(*seed_pod(), SEED_COMMAND, 20)
    except (ApplianceError, TypeError, ValueError):
        return None
    try:
        return int(str(stdout).strip().splitlines()[-1]) if code == 0 else None
    except (ValueError, IndexError):
        return None
