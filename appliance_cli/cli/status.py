"""`appliance status`: where the appliance stands, what blocks it, what to do next."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from appliance_cli import console
from appliance_cli.errors import UsageError

if TYPE_CHECKING:
    from appliance_cli.status.model import StatusDocument

WATCH_INTERVAL_SECONDS = 5.0


def _show(doc: StatusDocument, *, as_json: bool) -> None:
    if as_json:
        console.display_text(doc.to_json())
    else:
        from appliance_cli.status.render import render

        console.display_renderable(render(doc))


def _show_release_history(site_id: str | None, doc: StatusDocument) -> None:
    """Release now and before, the last upgrade and backup (site journal; docs/upgrade.md)."""
    from appliance_cli.site import Site
    from appliance_cli.status.live import resolve_site_id
    from appliance_cli.upgrade.history import read_history
    from appliance_cli.upgrade.render import release_history_lines

    entries = read_history(Site.open(resolve_site_id(site_id)))
    for line in release_history_lines(entries, doc.release.selected_release_version):
        console.display_text(line)


def status(
    *,
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--snapshot",
            help="Classify this cluster snapshot file offline (from 'appliance support-bundle') "
            "instead of asking the appliance. Default: ask the live appliance.",
            rich_help_panel="Source",
        ),
    ] = None,
    site_id: Annotated[
        str | None,
        typer.Option(
            "--site-id",
            help="Site whose appliance to ask (its kubeconfig and talosconfig are used). "
            "Ignored with --snapshot. Default: the current site.",
            rich_help_panel="Source",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the canonical status document (the same JSON as GET /api/status) instead "
            "of the human view. Default: human view.",
            rich_help_panel="Output",
        ),
    ] = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help=f"Check again every {WATCH_INTERVAL_SECONDS:.0f}s until Ctrl-C. Not with --snapshot. "
            "Default: check once.",
            rich_help_panel="Output",
        ),
    ] = False,
) -> None:
    """Show whether the appliance is installing, ready to log in, ready with background issues,
    fully healthy or blocked, with ranked blockers and the next action.

    Exit code 0 when login is available, 1 when it is not (installing or blocked), 2 on bad input.
    """
    if snapshot is not None:
        if watch:
            raise UsageError(
                "cannot be combined with --snapshot (a snapshot does not change)", param="--watch"
            )
        from appliance_cli.status.offline import classify_snapshot_file

        doc = classify_snapshot_file(snapshot)
    else:
        from appliance_cli.status.live import collect_status

        doc = collect_status(site_id)
        while watch:
            _show(doc, as_json=as_json)
            time.sleep(WATCH_INTERVAL_SECONDS)
            doc = collect_status(site_id)
            if not as_json and console.is_tty():
                console.out().clear()
    _show(doc, as_json=as_json)
    if snapshot is None and not as_json:
        _show_release_history(site_id, doc)
    from appliance_cli.status.classify import login_available

    raise typer.Exit(0 if login_available(doc) else 1)
