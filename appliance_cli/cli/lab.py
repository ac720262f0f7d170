"""`appliance lab up|down|status`: the simulated appliance on this machine."""

from __future__ import annotations

import typer

from appliance_cli.cli._stub import not_implemented

app = typer.Typer(help="Run a simulated appliance on loopback (no hardware needed).", no_args_is_help=True)


@app.command("up")
def up() -> None:
    """(not available yet)"""
    not_implemented("lab up")


@app.command("down")
def down() -> None:
    """(not available yet)"""
    not_implemented("lab down")


@app.command("status")
def lab_status() -> None:
    """(not available yet)"""
    not_implemented("lab status")
