"""Phase 4 — Background: ``alga-background``; its failures end as "ready with background issues"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance_cli import fluxlayout
from appliance_cli.bootstrap.facts import publish_facts
from appliance_cli.bootstrap.phases.base import PhaseBase
from appliance_cli.bootstrap.waits import Seen, wait_for_status
from appliance_cli.errors import ApplianceError

if TYPE_CHECKING:
    from appliance_cli.bootstrap.context import BootstrapContext
    from appliance_cli.status.model import StatusDocument

BACKGROUND_BOUND = 900.0


def _background_settled(doc: StatusDocument) -> Seen:
    """Ready, or a background blocker is known: either way there is nothing more to wait for."""
    tier = doc.tiers.background
    if tier.ready:
        return Seen(True, "background: ready")
    issues = [b for b in doc.top_blockers if not b.login_blocking]
    if issues:
        return Seen(True, f"background issue: {issues[0].code} ({issues[0].component})")
    return Seen(False, f"background: {tier.status} {tier.message}".strip())


class Background(PhaseBase):
    number = 4
    title = "Background"

    def run(self, ctx: BootstrapContext) -> None:
        a = ctx.actions
        publish_facts(ctx, "alga-background", "applying")
        with ctx.step("alga-background Kustomization"):
            for ks in fluxlayout.tier_kustomizations(
                branch=ctx.appliance_branch,
                repo_url=ctx.appliance_repo_url,
                release=ctx.release,
                tiers=["background"],
            ):
                a.apply(ctx.kube, ks)
        try:
            doc = a.wait(
                "background services (failures become warnings)",
                BACKGROUND_BOUND,
                lambda: wait_for_status(
                    ctx,
                    "background services",
                    _background_settled,
                    bound_seconds=BACKGROUND_BOUND,
                    stop_on_blockers=False,
                ),
                default=None,
            )
        except ApplianceError as exc:
            ctx.warn(f"background services not settled: {exc.message}")
            return
        for b in doc.top_blockers if doc else []:
            if not b.login_blocking:
                ctx.warn(f"background: {b.code} {b.component}: {b.reason} — {b.next_action}")
