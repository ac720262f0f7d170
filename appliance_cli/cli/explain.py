"""`appliance explain`: what a blocker code means, what triggers it, how to fix it."""

from __future__ import annotations

import difflib
from typing import Annotated

import typer

from appliance_cli import console
from appliance_cli.errors import UsageError


def explain(
    code: Annotated[
        str | None,
        typer.Argument(help="Blocker code as shown by 'appliance status', e.g. image_tag_not_found."),
    ] = None,
    *,
    list_codes: Annotated[
        bool,
        typer.Option("--list", help="List every blocker code, root cause first, instead of explaining one."),
    ] = False,
) -> None:
    """Explain a blocker code: its meaning, the real signals that trigger it, and the remediation."""
    from appliance_cli.status.render import render_rule, render_rule_list
    from appliance_cli.status.rules import registered

    specs = [r.spec for r in registered()]
    if list_codes:
        console.display_renderable(render_rule_list(specs))
        return
    if not code:
        raise UsageError("give a blocker code, or --list to see them all", param="CODE")
    by_code = {s.code: s for s in specs}
    wanted = code.strip().lower().replace("-", "_")
    if wanted not in by_code:
        close = difflib.get_close_matches(wanted, list(by_code), n=3, cutoff=0.5)
        close += [c for c in by_code if wanted and wanted in c and c not in close][:3]
        hint = f"did you mean: {', '.join(close)}?" if close else "see 'appliance explain --list'"
        raise UsageError(f"unknown blocker code {code!r}", param="CODE", hint=hint)
    console.display_renderable(render_rule(by_code[wanted]))
