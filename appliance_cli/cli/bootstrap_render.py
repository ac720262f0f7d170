"""Rendering of `appliance bootstrap` results: the plan, the announcements, the final summary."""

from __future__ import annotations

import json
from typing import Any

from appliance_cli import console
from appliance_cli.bootstrap.context import Announcer
from appliance_cli.bootstrap.engine import BootstrapResult
from appliance_cli.bootstrap.options import BootstrapOptions
from appliance_cli.progress import NullReporter, Reporter, milestone


def announcer(reporter: Reporter) -> Announcer:
    """Operator-facing lines (status URL and token, login URL, Flux source) go through the
    reporter as milestones, so each rendering shows each exactly once: above the live view
    (where it stays in the scrollback), as a plain line, or as one JSON event. Without
    progress output (a dry run) they are plain lines."""

    def announce(line: str) -> None:
        if isinstance(reporter, NullReporter):
            console.display_text(line)
        else:
            reporter.emit(milestone(line))

    return announce


def _plan(result: BootstrapResult) -> None:
    console.display_text("Plan (dry run: nothing was changed, no file was written):")
    for i, action in enumerate(result.plan, 1):
        phase = f"phase {action.phase}" if action.phase is not None else "preflight"
        console.display_text(f"{i:3d}. [{phase}] {action.kind:7s} {action.summary}")


def _show_json(options: BootstrapOptions, result: BootstrapResult) -> None:
    """``--progress json``: stdout stays JSON lines — each planned action, then one result."""
    if options.dry_run:
        for action in result.plan:
            console.display_text(json.dumps({"plan": action.to_json()}, default=str))
    doc = result.status
    summary: dict[str, Any] = {
        "exitCode": result.exit_code,
        "dryRun": options.dry_run,
        "objectsApplied": result.applied,
        "siteFiles": result.site_files,
        "warnings": result.warnings,
        "supportBundle": f"appliance support-bundle --site-id {options.site_id}",
    }
    if doc is not None:
        summary["rollup"] = doc.rollup.model_dump(mode="json", by_alias=True)
        summary["urls"] = doc.urls.model_dump(mode="json", by_alias=True)
        summary["topBlockers"] = [b.model_dump(mode="json", by_alias=True) for b in doc.top_blockers[:5]]
    elif not options.dry_run:
        summary["error"] = "the final status could not be collected; run 'appliance status'"
    console.display_text(json.dumps({"result": summary}, default=str))


def show(options: BootstrapOptions, result: BootstrapResult) -> None:
    if options.progress == "json":
        _show_json(options, result)
        return
    if options.dry_run:  # no progress was shown: the warnings are said here, once
        for w in result.warnings:
            console.display_warning(w)
        _plan(result)
        return
    doc = result.status
    if doc is None:
        console.display_error("the final status could not be collected", hint="run 'appliance status'")
        return
    console.display_line(f"Rollup: {doc.rollup.state} — {doc.rollup.message}")
    if doc.urls.login_url:
        console.display_line(f"Login URL: {doc.urls.login_url}")
    if doc.urls.status_url:
        console.display_line(f"Status URL: {doc.urls.status_url} (token in the site file status-token)")
    for b in doc.top_blockers[:5]:
        console.display_line(f"  {b.code} [{b.component}] {b.reason} — next: {b.next_action}")
    console.display_line(f"Next: {doc.rollup.next_action}")
    files = ", ".join(result.site_files)
    console.display_line(f"Site files: {files}; objects applied this run: {result.applied}")
    console.display_line(f"Support bundle: appliance support-bundle --site-id {options.site_id}")
