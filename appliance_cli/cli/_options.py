"""Options several commands share, defined once (type, flag, help, panel)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SITE_PANEL = "Site"

ConfigDir = Annotated[
    Path | None,
    typer.Option(
        "--config-dir",
        help="The site files are here instead of $ALGA_APPLIANCE_HOME/<site-id>/.",
        rich_help_panel=SITE_PANEL,
    ),
]
