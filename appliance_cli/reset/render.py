"""The reset plan and outcome as text a support engineer can read without knowing Kubernetes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance_cli.reset.execute import ResetOutcome
    from appliance_cli.reset.model import ResetPlan


def plan_lines(plan: ResetPlan) -> list[str]:
    out = [
        f"Reset plan for site {plan.site_id} (cluster {plan.server})",
        "",
        "In this order, it will:",
    ]
    for step in plan.steps:
        out.append(f"  {step.number}. {step.title}: {step.description}")
        out.extend(f"       - {obj}" for obj in step.objects)
    out += ["", "It keeps:"]
    out.extend(f"  - {k.what}: {k.detail}" for k in plan.keep)
    if not plan.holds_data:
        out += ["", "No appliance data is left on this cluster; a reset only re-checks the data directory."]
    return out


def outcome_lines(outcome: ResetOutcome, *, site_id: str) -> list[str]:
    head = "Reset complete and verified" if outcome.verified else "Reset finished but did not verify"
    out = [f"{head} in {outcome.seconds:.1f}s:"]
    out.extend(f"  {'✓' if c.ok else '✗'} {c.name}: {c.detail}" for c in outcome.checks)
    out.append(
        "Next: reinstall with 'appliance bootstrap --bootstrap-mode fresh --site-id "
        f"{site_id} ...'; the status page keeps its URL and token."
    )
    return out
