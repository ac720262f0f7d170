"""Command help as paragraphs: the docstrings' source line breaks are not the terminal's.

Typer's rich help keeps a single line break inside every paragraph after the first, so a
docstring wrapped at the source's line length would print broken mid-sentence at any other
terminal width. ``unwrap`` joins the lines of each paragraph; a paragraph that starts with
click's no-rewrap marker (``\\b``), or whose lines are list items or indented, is kept as is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typer._click import Command


def _keeps_breaks(paragraph: str) -> bool:
    lines = paragraph.splitlines()
    return paragraph.startswith("\b") or any(
        line.startswith((" ", "\t", "- ", "* ", "$ ")) for line in lines[1:]
    )


def unwrap(text: str) -> str:
    """Each paragraph on one line (a form feed and what follows it are left alone)."""
    shown, cut, rest = text.partition("\f")
    paragraphs = shown.strip("\n").split("\n\n")
    joined = [
        p if _keeps_breaks(p) else " ".join(line.strip() for line in p.splitlines()) for p in paragraphs
    ]
    return "\n\n".join(joined) + cut + rest


def _walk(command: Command) -> Iterator[Command]:
    yield command
    for sub in (getattr(command, "commands", None) or {}).values():
        yield from _walk(sub)


def apply(command: Command) -> Command:
    """Unwrap the help text of ``command`` and of every command below it."""
    import inspect

    for cmd in _walk(command):
        if cmd.help:
            cmd.help = unwrap(inspect.cleandoc(cmd.help))
    return command
