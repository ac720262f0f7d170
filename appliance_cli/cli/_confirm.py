"""The typed confirmation of a destructive action (reset, and a fresh bootstrap that resets).

Asked whenever STDIN is a terminal — where a person can answer — even when stdout goes to a
pipe or a log (``appliance reset --force | tee reset.log``); the question goes to stderr so
it is seen on the terminal and not written into the log. Without a terminal on stdin
(scripts, CI) ``--force`` alone is the confirmation.
"""

from __future__ import annotations

import sys

import click
import typer

from appliance_cli import console
from appliance_cli.errors import Interrupted, UsageError


def can_ask() -> bool:
    """A person can answer: stdin is a terminal (stdout may be redirected)."""
    return console.is_tty(sys.stdin)


def confirm_site_id(site_id: str, consequence: str) -> None:
    """On a terminal, the site id must be typed to go on; elsewhere ``--force`` suffices.

    A wrong answer is bad input (exit 2), Ctrl-C or end of input an interruption (130);
    either way nothing was deleted."""
    if not can_ask():
        return
    try:
        typed = typer.prompt(
            f"{consequence}. Type the site id to continue",
            default="",
            show_default=False,
            err=True,
        )
    except click.exceptions.Abort:
        raise Interrupted("no confirmation was typed; nothing was deleted") from None
    if typed.strip() != site_id:
        raise UsageError(
            f"the typed site id {typed.strip()!r} does not match {site_id!r}; nothing was deleted",
            param="--force",
        )
