"""Rendering of `appliance bootstrap` results: the plan, the announcements, the final summary."""

from __future__ import annotations

from appliance_cli import console
from appliance_cli.bootstrap.context import Announcer
from appliance_cli.bootstrap.engine import BootstrapResult
from appliance_cli.bootstrap.options import BootstrapOptions


def announcer(options: BootstrapOptions) -> Announcer:
    """Operator-facing lines (status URL and token, login URL, Flux source). With JSON
    progress they go to stderr so stdout stays one JSON object per line."""

    def announce(line: str) -> None:
        if options.progress == "json":  # one unwrapped line on stderr
            console.err().print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            console.display_text(line)

    return announce


def _plan(result: BootstrapResult) -> None:
    console.display_text("Plan (dry run: nothing was changed, no file was written):")
    for i, action in enumerate(result.plan, 1):
        phase = f"phase {action.phase}" if action.phase is not None else "preflight"
        console.display_text(f"{i:3d}. [{phase}] {action.kind:7s} {action.summary}")


def show(options: BootstrapOptions, result: BootstrapResult) -> None:
    for w in result.warnings:
        console.display_warning(w)
    if options.dry_run:
        _plan(result)
        return
    doc = result.status
    if doc is None:
        console.display_error("the final status could not be collected", hint="run 'appliance status'")
        return
    console.display_text(f"Rollup: {doc.rollup.state} — {doc.rollup.message}")
    if doc.urls.login_url:
        console.display_text(f"Login URL: {doc.urls.login_url}")
    if doc.urls.status_url:
        console.display_text(f"Status URL: {doc.urls.status_url} (token in the site file status-token)")
    for b in doc.top_blockers[:5]:
        console.display_text(f"  {b.code} [{b.component}] {b.reason} — next: {b.next_action}")
    console.display_text(f"Next: {doc.rollup.next_action}")
    files = ", ".join(result.site_files)
    console.display_text(f"Site files: {files}; objects applied this run: {result.applied}")
    console.display_text(f"Support bundle: appliance support-bundle --site-id {options.site_id}")
