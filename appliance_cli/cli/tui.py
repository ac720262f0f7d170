"""`appliance tui`: the operator's console over the same engines as the commands."""

from __future__ import annotations

from typing import Annotated

import typer


def tui(
    *,
    site_id: Annotated[
        str | None,
        typer.Option(
            "--site-id",
            help="Open this site's home screen directly. Default: start at the site picker.",
        ),
    ] = None,
) -> None:
    """Open the interactive console: sites and their state, the tier ladder and blockers refreshed
    live, bootstrap / support bundle / reset (plan first, then run), workloads and live logs.

    Needs the optional Textual package: pip install 'alga-appliance-cli[tui]'.
    """
    from appliance_cli.site import validate_site_id
    from appliance_cli.tui import require_textual

    if site_id is not None:
        validate_site_id(site_id)
    require_textual()
    from appliance_cli.tui.app import ConsoleApp

    ConsoleApp(site_id).run()
