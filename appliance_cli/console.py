"""All terminal output goes through this module.

Nothing else in the package calls ``print``. Phases never print: they report through
``appliance_cli.progress``; the CLI renders through the functions here.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class _State:
    verbosity: int = 0
    _out: Console | None = None
    _err: Console | None = None


def _make(stderr: bool) -> Console:
    from rich.console import Console

    no_color = bool(os.environ.get("NO_COLOR"))
    # emoji=False: text from the cluster or a fingerprint (":AB:") must never become an emoji
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=False, emoji=False)


def out() -> Console:
    """The stdout console (documents, tables, final summaries)."""
    if _State._out is None:
        _State._out = _make(stderr=False)
    return _State._out


def err() -> Console:
    """The stderr console (messages, warnings, errors, progress)."""
    if _State._err is None:
        _State._err = _make(stderr=True)
    return _State._err


def reset() -> None:
    """Forget cached consoles (tests redirect stdout/stderr between invocations)."""
    _State._out = None
    _State._err = None


def set_verbosity(level: int) -> None:
    _State.verbosity = level


def verbosity() -> int:
    return _State.verbosity


def is_tty(stream: Any = None) -> bool:
    stream = stream if stream is not None else sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _say(markup: str) -> None:
    """A message on stderr: word-wrapped on a terminal, one whole line when stderr is a pipe
    or a file (a path or URL in it is never broken in a log)."""
    con = err()
    con.print(markup, soft_wrap=not con.is_terminal)


def display_info(message: str) -> None:
    _say(_esc(message))


def display_success(message: str) -> None:
    _say(f"[green]✓[/green] {_esc(message)}")


def display_warning(message: str) -> None:
    _say(f"[yellow]⚠ warning:[/yellow] {_esc(message)}")


def display_error(message: str, *, hint: str | None = None) -> None:
    _say(f"[bold red]error:[/bold red] {_esc(message)}")
    if hint:
        _say(f"  [dim]hint:[/dim] {_esc(hint)}")


def display_text(text: str) -> None:
    """Plain text on stdout (no markup interpretation), e.g. JSON documents. On a pipe or in a
    file it is written as is, without loading rich (``status --json`` in a script stays light)."""
    if _State._out is None and not is_tty(sys.stdout):
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    out().print(text, markup=False, highlight=False, soft_wrap=True)


def display_line(text: str) -> None:
    """A sentence for a person on stdout: word-wrapped on a terminal (never cut mid-word),
    one whole line when stdout is a pipe or a file."""
    con = out()
    con.print(text, markup=False, highlight=False, soft_wrap=not con.is_terminal)


def display_renderable(renderable: Any) -> None:
    out().print(renderable)
