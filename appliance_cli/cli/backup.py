# ruff: noqa: E501
"""`appliance backup` and `appliance backup list`: database backups of a site."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from appliance_cli import console
from appliance_cli.cli._options import ConfigDir

SRC = "Site"
OUT = "Output"

app = typer.Typer(
    help="Back up the app database (custom-format pg_dump of 'server', streamed into <site>/backups/, 0600, sha256 and size recorded) with the appliance's configuration; 'list' shows the backups.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback(invoke_without_command=True)
def backup(
    ctx: typer.Context,
    *,
    site_id: Annotated[
        str | None,
        typer.Option("--site-id", help="Site to back up. Default: the current site.", rich_help_panel=SRC),
    ] = None,
    config_dir: ConfigDir = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the backup's record as JSON.", rich_help_panel=OUT)
    ] = False,
) -> None:
    """Take a backup now (the site lock is held meanwhile: no upgrade, restore or reset runs).

    Exit 0 with the backup written, 1 when it could not be taken (nothing is left behind), 2 for bad input.
    """
    if ctx.invoked_subcommand is not None:
        return
    from appliance_cli.site import Site
    from appliance_cli.status.live import resolve_site_id
    from appliance_cli.upgrade.backup import backup_now
    from appliance_cli.upgrade.render import backup_json, backup_line

    record = backup_now(Site.open(resolve_site_id(site_id), config_dir=config_dir))
    console.display_text(json.dumps(backup_json(record)) if as_json else backup_line(record))


@app.command("list")
def list_backups(
    *,
    site_id: Annotated[
        str | None,
        typer.Option(
            "--site-id", help="Site whose backups to list. Default: the current site.", rich_help_panel=SRC
        ),
    ] = None,
    config_dir: ConfigDir = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="The backups as a JSON list.", rich_help_panel=OUT)
    ] = False,
) -> None:
    """List the site's backups, newest first (read only; no lock)."""
    from appliance_cli.site import Site
    from appliance_cli.status.live import resolve_site_id
    from appliance_cli.upgrade.backup import list_backups as records
    from appliance_cli.upgrade.render import backup_json, backup_table

    found = records(Site.open(resolve_site_id(site_id), config_dir=config_dir))
    if as_json:
        console.display_text(json.dumps([backup_json(r) for r in found]))
    else:
        console.display_text("\n".join(backup_table(found)))
