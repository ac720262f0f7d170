"""Rich rendering of a status document: rollup, login URL, tiers, blockers, operations, components.

Only this module (and the console) imports ``rich``; the document itself stays plain data.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from appliance_cli.status.model import StatusDocument, TierStatus
from appliance_cli.status.rules.registry import RuleSpec

ROLLUP_STYLE = {
    "fully_healthy": ("✓", "bold green"),
    "ready_to_log_in": ("✓", "bold green"),
    "ready_with_background_issues": ("✓", "bold yellow"),
    "installing": ("…", "bold cyan"),
    "failed_action_required": ("✗", "bold red"),
}
HEALTH_STYLE = {
    "healthy": "green",
    "progressing": "cyan",
    "degraded": "yellow",
    "failed": "red",
    "unknown": "dim",
}
SEVERITY_STYLE = {"critical": "bold red", "background": "yellow", "warning": "yellow"}
TIER_ORDER = (
    ("platform", "Platform"),
    ("core", "Core"),
    ("bootstrap", "Bootstrap"),
    ("login", "Login"),
    ("background", "Background"),
    ("full_health", "Full health"),
)
MAX_EVIDENCE_SHOWN = 3


def _short(text: str, limit: int = 220) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _elapsed(seconds: int | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def _headline(doc: StatusDocument) -> RenderableType:
    icon, style = ROLLUP_STYLE.get(doc.rollup.state, ("•", "bold"))
    lines = [
        Text.assemble((f"{icon} {doc.rollup.message}", style), ("  ", ""), (f"[{doc.rollup.state}]", "dim")),
        Text.assemble(("  Next: ", "bold"), doc.rollup.next_action),
    ]
    if doc.urls.login_url:
        login_style = "bold green" if doc.tiers.login.ready else "dim"
        note = "" if doc.tiers.login.ready else " (not ready yet)"
        lines.append(Text.assemble(("  Login:  ", "bold"), (doc.urls.login_url, login_style), (note, "dim")))
    if doc.urls.status_url:
        lines.append(Text.assemble(("  Status: ", "bold"), doc.urls.status_url))
    rel = doc.release
    if rel.selected_release_version:
        extra = f" ({rel.git_revision})" if rel.git_revision else ""
        lines.append(Text.assemble(("  Release: ", "bold"), f"{rel.selected_release_version}{extra}"))
    return Group(*lines)


def _tiers(doc: StatusDocument) -> RenderableType:
    table = Table(title="Tiers", title_justify="left", show_edge=False, pad_edge=False, box=None)
    table.add_column("tier", style="bold")
    table.add_column("ready")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for attr, label in TIER_ORDER:
        tier: TierStatus = getattr(doc.tiers, attr)
        style = HEALTH_STYLE.get(tier.status, "")
        table.add_row(
            label,
            Text("✓" if tier.ready else "✗", style=style),
            Text(tier.status, style=style),
            escape(tier.message),
        )
    return table


def _blockers(doc: StatusDocument) -> RenderableType:
    parts: list[RenderableType] = [Text("Blockers (root cause first)", style="bold underline")]
    for i, b in enumerate(doc.top_blockers, 1):
        tag = "blocks login" if b.login_blocking else b.severity
        parts.append(
            Text.assemble(
                (f"{i}. ", "bold"),
                (b.code, SEVERITY_STYLE.get(b.severity, "")),
                " · ",
                (b.component, "bold"),
                (f"  [{tag}]", "dim"),
            )
        )
        parts.append(Text(f"   {_short(b.reason, 300)}"))
        parts.append(Text.assemble(("   → ", "bold cyan"), b.next_action))
        for e in b.evidence[:MAX_EVIDENCE_SHOWN]:
            where = "/".join(x for x in (e.namespace, e.name) if x)
            head = f"{e.kind} {where}".strip() + (f" {e.reason}" if e.reason else "")
            parts.append(Text(f"     {head}: {_short(e.message, 200)}", style="dim"))
        if len(b.evidence) > MAX_EVIDENCE_SHOWN:
            parts.append(Text(f"     (+{len(b.evidence) - MAX_EVIDENCE_SHOWN} more in --json)", style="dim"))
        parts.append(Text(f"   explain: appliance explain {b.code}", style="dim"))
        if b.repair is not None and b.repair.available and b.repair.command:
            parts.append(Text(f"   repair: {b.repair.command}", style="dim"))
    return Group(*parts)


def _operations(doc: StatusDocument) -> RenderableType:
    parts: list[RenderableType] = [Text("In progress", style="bold underline")]
    for op in doc.active_operations:
        if op.blocked_by:  # held by a blocker: not progressing, whatever its clock says
            held = f"{op.operation.replace('_', ' ')} — blocked by {op.blocked_by} (not progressing)"
            parts.append(Text.assemble(("  ✗ ", "red"), (op.component, "bold"), f": {held}"))
            continue
        bits = [op.operation.replace("_", " "), op.image or ""]
        if op.estimated_size:
            bits.append(op.estimated_size)
        if op.elapsed_seconds is not None:
            bits.append(f"{_elapsed(op.elapsed_seconds)} elapsed")
        if op.estimated_seconds_left:
            bits.append(f"about {_elapsed(op.estimated_seconds_left)} left at the node's download rate")
        elif op.estimated_total_seconds is not None:
            bits.append(
                f"longer than the {_elapsed(op.estimated_total_seconds)} the node's download rate predicts"
            )
        text = ", ".join(b for b in bits if b)
        detail = "" if op.image else f" — {_short(op.message, 160)}" if op.message else ""
        parts.append(Text.assemble(("  • ", "cyan"), (op.component, "bold"), f": {text}{detail}"))
    return Group(*parts)


def _components(doc: StatusDocument) -> RenderableType:
    table = Table(title="Components", title_justify="left", show_edge=False, pad_edge=False, box=None)
    table.add_column("component", style="bold")
    table.add_column("tier")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for c in doc.components:
        style = HEALTH_STYLE.get(c.status, "")
        table.add_row(c.name, c.tier, Text(c.status, style=style), escape(_short(c.message, 120)))
    return table


def render(doc: StatusDocument) -> RenderableType:
    """The whole human view of one status document."""
    parts: list[RenderableType] = [_headline(doc), Text(""), _tiers(doc)]
    if doc.top_blockers:
        parts += [Text(""), _blockers(doc)]
    if doc.active_operations:
        parts += [Text(""), _operations(doc)]
    if doc.components:
        parts += [Text(""), _components(doc)]
    return Group(*parts)


def _repair_lines(spec: RuleSpec) -> list[Text]:
    r = spec.repair
    if r.action is None:
        return [Text(r.summary)]
    lines = [Text.assemble(("action: ", "dim"), r.action), Text(r.summary)]
    if r.touches:
        lines.append(Text.assemble(("touches: ", "dim"), ", ".join(r.touches)))
    elif not r.mutates:
        lines.append(Text.assemble(("touches: ", "dim"), "nothing (it only shows what to look at)"))
    lines.append(Text.assemble(("run: ", "dim"), f"appliance repair --code {spec.code}"))
    return lines


def render_rule(spec: RuleSpec) -> RenderableType:
    """``appliance explain CODE``: meaning, the signals that trigger it, remediation."""
    parts: list[RenderableType] = [
        Text.assemble((spec.code, "bold"), " — ", spec.title),
        Text(
            f"layer: {spec.layer} · rank: {spec.rank}" + (" · generic symptom" if spec.generic else ""),
            style="dim",
        ),
        Text(""),
        Text("Meaning", style="bold underline"),
        Text(spec.meaning),
        Text(""),
        Text("Signals (real wording it matches)", style="bold underline"),
        *[Text(f"  • {s}") for s in spec.signals],
        Text(""),
        Text("Remediation", style="bold underline"),
        Text(spec.remediation),
        Text.assemble(("Next action shown: ", "dim"), spec.next_action),
        Text(""),
        Text("Repair ('appliance repair')", style="bold underline"),
        *_repair_lines(spec),
    ]
    return Group(*parts)


def render_rule_list(specs: list[RuleSpec]) -> RenderableType:
    table = Table(title="Blocker codes (root cause first)", title_justify="left", box=None, pad_edge=False)
    table.add_column("code", style="bold")
    table.add_column("layer")
    table.add_column("title")
    for s in specs:
        table.add_row(s.code, s.layer, s.title)
    return table
