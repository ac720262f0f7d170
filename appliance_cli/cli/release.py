"""`appliance release check`: release engineering helpers."""

from __future__ import annotations

import typer

from appliance_cli.cli._stub import not_implemented

app = typer.Typer(help="Check release manifests before tagging.", no_args_is_help=True)


@app.command("check")
def check() -> None:
    """(not available yet)"""
    not_implemented("release check")
