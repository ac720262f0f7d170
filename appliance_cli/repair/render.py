"""Plain text of a repair plan and its results (the CLI prints these lines)."""

from __future__ import annotations

from appliance_cli.repair.model import PlannedRepair, RepairReport

OUTCOME_WORDS = {
    "fixed": "fixed",
    "still_present": "still present",
    "worse": "made it worse",
    "unchanged": "nothing changed",
    "shown": "shown",
}


def plan_lines(plans: list[PlannedRepair]) -> list[str]:
    lines: list[str] = []
    seen: set[tuple[str, str | None, str, str]] = set()
    for i, p in enumerate(plans, 1):
        lines.append(f"{i}. {p.code} ({p.component}) — {p.action}")
        lines.append(f"   blocker: {p.reason}")
        for c in p.changes:
            key = (c.kind, c.namespace, c.name, c.what)
            if key in seen:
                lines.append(f"   • {c.ref}: (the same request as above; made once)")
                continue
            seen.add(key)
            lines.append(f"   • {c.ref}: {c.what}")
            lines.append(f"     why: {c.why}")
        for s in p.shown:
            for n, line in enumerate(s.splitlines()):
                lines.append(f"   {'|' if n else '>'} {line}")
        if p.unchanged:
            lines.append(f"   nothing to change: {p.unchanged}")
        if p.changes:
            lines.append(f"   then verify: blocker gone and {p.settle} (up to {p.bound_seconds:g}s)")
    return lines


def report_lines(report: RepairReport) -> list[str]:
    lines: list[str] = []
    for r in report.results:
        lines.append(f"{r.code} ({r.component}): {OUTCOME_WORDS[r.outcome]} — {r.saw}")
    if report.stopped:
        lines.append(f"stopped: {report.stopped}")
    for code, comp, why in report.not_repairable:
        lines.append(f"left for you: {code} ({comp}): {why}")
    if report.final_state:
        lines.append(f"status now: {report.final_state}")
    return lines
