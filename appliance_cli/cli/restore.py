# ruff: noqa: E501
"""`appliance restore --from FILE`: put a database backup back (plan first, --force to run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from appliance_cli import console
from appliance_cli.cli._options import ConfigDir
from appliance_cli.errors import UsageError

SRC = "Site"
RUN = "Run"


def restore(
    *,
    from_: Annotated[
        Path,
        typer.Option(
            "--from",
            help="The archive: a file, or a backup id of this site (see 'appliance backup list'). Required.",
            rich_help_panel=RUN,
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check the archive and print the plan; change nothing.", rich_help_panel=RUN
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Carry the plan out: the app stops, the database's current contents are REPLACED by the archive's, the app starts.",
            rich_help_panel=RUN,
        ),
    ] = False,
    site_id: Annotated[
        str | None,
        typer.Option(
            "--site-id", help="Site to restore into. Default: the current site.", rich_help_panel=SRC
        ),
    ] = None,
    config_dir: ConfigDir = None,
    progress: Annotated[
        str | None,
        typer.Option(
            "--progress",
            help="rich, plain or json progress while restoring. Default: rich on a terminal, plain otherwise.",
            rich_help_panel=RUN,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="The plan (and the result) as JSON.", rich_help_panel=RUN)
    ] = False,
) -> None:
    """Restore the app database from a backup: stop the app, pg_restore, start it, verify login and seed users.

    Exit 0 when restored and verified (or, with --dry-run, the plan was printed), 1 when it failed, 2 for
    bad input (nothing changed), 130 when interrupted.
    """
    if dry_run and force:
        raise UsageError("choose one: --dry-run previews, --force executes", param="--force")
    if not (dry_run or force):
        raise UsageError(
            "restore replaces the database's contents and needs --force; nothing was changed",
            param="--force",
            hint="preview the plan with --dry-run",
        )
    if progress not in (None, "rich", "plain", "json"):
        raise UsageError(f"unknown progress mode {progress!r}: use rich, plain or json", param="--progress")
    from appliance_cli.site import Site
    from appliance_cli.status.live import resolve_site_id
    from appliance_cli.upgrade.restore import TOTAL_STEPS, execute_restore, plan_restore

    site = Site.open(resolve_site_id(site_id), config_dir=config_dir)
    plan = plan_restore(site, from_)
    if as_json:
        console.display_text(json.dumps({"plan": plan.to_json()}))
    else:
        console.display_text("\n".join(plan.lines()))
    if dry_run:
        if not as_json:
            console.display_success("Dry run: nothing was changed. Run with --force to carry this out.")
        raise typer.Exit(0)
    from appliance_cli.bootstrap.reporters import make_reporter
    from appliance_cli.cli._interrupt import stoppable

    reporter = make_reporter("json" if as_json else progress, label="restore", total=TOTAL_STEPS)
    try:
        with stoppable() as stop:
            outcome = execute_restore(site, plan, reporter=reporter, stop=stop)
    finally:
        reporter.close()
    if as_json:
        console.display_text(json.dumps({"result": outcome.to_json()}))
    else:
        console.display_success(
            f"Restored {plan.archive.name}: {outcome.seed_users} seed users, {outcome.rollup}"
        )
