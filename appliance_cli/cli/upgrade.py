# ruff: noqa: E501
"""`appliance upgrade`: move an installed appliance to another release, with a backup first and rollback."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from appliance_cli import console
from appliance_cli.cli._options import ConfigDir
from appliance_cli.errors import UsageError

REL = "Release"
SRC = "Site"
RUN = "Run"


def upgrade(
    *,
    release_version: Annotated[
        str | None,
        typer.Option(
            "--release-version",
            help="Release to move to (releases/<version>/release.json). Exactly one of this and --channel.",
            rich_help_panel=REL,
        ),
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel",
            help="candidate or stable: the release releases/channels/<channel>.json names.",
            rich_help_panel=REL,
        ),
    ] = None,
    site_id: Annotated[
        str | None,
        typer.Option(
            "--site-id",
            help="Site to upgrade (its kubeconfig is used). Default: the current site.",
            rich_help_panel=SRC,
        ),
    ] = None,
    config_dir: ConfigDir = None,
    node_ip: Annotated[
        str | None,
        typer.Option(
            "--node-ip",
            help="Node IP, when the site directory does not record it. Default: <site>/node-ip.",
            rich_help_panel=SRC,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the whole plan (every object changed, every image, the backup file, the rollback) and change nothing, not even local files.",
            rich_help_panel=RUN,
        ),
    ] = False,
    progress: Annotated[
        str | None,
        typer.Option(
            "--progress",
            help="rich (live view), plain (one line per step) or json (one object per line). Default: rich on a terminal, plain otherwise.",
            rich_help_panel=RUN,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the result (or the plan) as one JSON document at the end.",
            rich_help_panel=RUN,
        ),
    ] = False,
) -> None:
    """Upgrade the appliance: preflight, database backup, core then background, automatic rollback.

    Exit 0 when login is possible at the new release (background issues are warnings), 1 when action
    is required (refused by the preflight, or rolled back to the previous release), 2 for bad input
    (nothing changed), 130 when interrupted (run the same command again to continue).
    """
    if (release_version is None) == (channel is None):
        raise UsageError(
            "name the target with exactly one of --release-version and --channel", param="--release-version"
        )
    if progress not in (None, "rich", "plain", "json"):
        raise UsageError(f"unknown progress mode {progress!r}: use rich, plain or json", param="--progress")
    from appliance_cli.bootstrap.reporters import make_reporter
    from appliance_cli.cli._interrupt import stoppable
    from appliance_cli.status.live import resolve_site_id
    from appliance_cli.upgrade import engine
    from appliance_cli.upgrade.render import plan_lines, summary_lines

    as_json = as_json or progress == "json"  # stdout stays JSON: events, then the result
    version = release_version or engine.resolve_channel(str(channel))
    options = engine.UpgradeOptions(
        release_version=version,
        site_id=resolve_site_id(site_id),
        config_dir=config_dir,
        node_ip=node_ip,
        dry_run=dry_run,
    )
    quiet = dry_run and progress != "json"
    reporter = make_reporter("null" if quiet else progress, label="step", total=engine.TOTAL_STEPS)

    def announce(line: str) -> None:
        if progress == "json":
            console.err().print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            console.display_text(line)

    try:
        with stoppable() as stop:
            result = engine.run(options, reporter=reporter, announce=announce, stop=stop)
    except engine.RolledBack as exc:
        reporter.close()
        if as_json:
            console.display_text(json.dumps(exc.result.to_json()))
        else:
            console.display_text("\n".join(summary_lines(exc.result)))
        raise
    finally:
        reporter.close()
    if as_json:
        console.display_text(json.dumps(result.to_json()))
    elif dry_run:
        for w in result.warnings:
            console.display_warning(w)
        console.display_text("\n".join(plan_lines(result)))
    else:
        console.display_text("\n".join(summary_lines(result)))
    raise typer.Exit(result.exit_code)
