"""Phase 5 — Health: the final tiered report and the next action."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance_cli.bootstrap.facts import publish_facts
from appliance_cli.bootstrap.phases.base import PhaseBase

if TYPE_CHECKING:
    from appliance_cli.bootstrap.context import BootstrapContext


class Health(PhaseBase):
    number = 5
    title = "Health"

    def should_run(self, ctx: BootstrapContext) -> bool:
        return True  # always: the final report is read-only

    def run(self, ctx: BootstrapContext) -> None:
        a = ctx.actions
        if a.dry_run:
            a.note("collect and classify the final status (read only); exit 0 when login is possible")
            return
        with ctx.step("final status"):
            doc = ctx.status()
            ctx.final_status = doc
            if doc is None:
                ctx.warn("the status could not be collected; run 'appliance status'")
                return
            ctx.report(
                f"{doc.rollup.state}: {doc.rollup.message}",
                "info",
                rollup=doc.rollup.state,
                nextAction=doc.rollup.next_action,
                tiers={k: v["ready"] for k, v in doc.tiers.model_dump(by_alias=True).items()},
            )
            if a.applied:  # a verification-only run changes nothing, not even the facts
                publish_facts(ctx, "final", doc.rollup.state)
