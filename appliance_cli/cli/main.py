"""The ``appliance`` command: registers one module per command and maps errors to exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from appliance_cli import __version__, console
from appliance_cli.cli import completion, helptext
from appliance_cli.errors import EXIT_INTERRUPTED, EXIT_USAGE, ApplianceError

if TYPE_CHECKING:
    from typer._click import Command

HELP_OPTION_NAMES = ["-h", "--help"]

ROOT_HELP = (
    "Install an Alga PSA appliance on a single-node Talos Linux machine, and tell at every "
    "moment whether it is installing, ready to log in, ready with background issues, fully "
    "healthy, or blocked (with the blocker and the next action).\n\n"
    "Start with the lab (a simulated appliance on this machine): "
    "'appliance lab up', then 'appliance bootstrap --site-id lab ...'."
)


def _version(value: bool) -> None:
    if value:
        console.display_text(f"appliance {__version__}")
        raise typer.Exit(0)


def _root(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="Show debug detail and tracebacks.")
    ] = 0,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    console.set_verbosity(verbose)


# name, where its function (or its group's Typer app) is ("module:attribute" in
# appliance_cli.cli; imported only when the run builds that command), its help panel
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("bootstrap", "bootstrap:bootstrap", "Install"),
    ("status", "status:status", "Observe"),
    ("support-bundle", "support_bundle:support_bundle", "Observe"),
    ("explain", "explain:explain", "Observe"),
    ("logs", "logs:logs", "Observe"),
    ("tui", "tui:tui", "Observe"),
    ("serve-status", "serve_status:serve_status", "Observe"),
    ("reset", "reset:reset", "Install"),
    ("upgrade", "upgrade:upgrade", "Day 2"),
    ("backup", "backup:app", "Day 2"),
    ("restore", "restore:restore", "Day 2"),
    ("repair", "repair:repair", "Day 2"),
    ("release", "release:app", "Release engineering"),
    ("validate", "validate:validate", "Release engineering"),
)
# Command groups that other installed packages register (the lab: `appliance lab up|down|status`).
COMMANDS_GROUP = "alga_appliance.commands"


def _load(where: str) -> Callable[..., Any] | typer.Typer:
    """The command function or group app at ``"module:attribute"`` of ``appliance_cli.cli``."""
    import importlib

    module, attribute = where.split(":")
    target: Callable[..., Any] | typer.Typer = getattr(
        importlib.import_module(f"appliance_cli.cli.{module}"), attribute
    )
    return target


def _app(only: str | None) -> typer.Typer:
    """The Typer app: every command and the installed packages' groups, or (``only``) the one
    built-in command a run names, which is all that run parses."""
    app = typer.Typer(
        name="appliance",
        help=ROOT_HELP,
        no_args_is_help=True,
        add_completion=True,  # --install-completion / --show-completion (cli/completion.py)
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
        context_settings={"help_option_names": HELP_OPTION_NAMES},
    )
    app.callback()(_root)
    for name, where, panel in COMMANDS:
        if only is not None and name != only:
            continue
        target = _load(where)
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=name, rich_help_panel=panel)
        else:
            app.command(name, rich_help_panel=panel)(target)
    if only is None:
        from importlib.metadata import entry_points

        for ep in entry_points(group=COMMANDS_GROUP):
            app.add_typer(ep.load(), name=ep.name, rich_help_panel="Try it")
    return app


def command_named(argv: Sequence[str]) -> str | None:
    """The built-in command ``argv`` runs, or None (the root: help, version, completion, or a
    command another package registers). The root's options take no value, so the first word
    that is not an option is the command."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if any(arg == name for name, _, _ in COMMANDS) else None
        if arg in HELP_OPTION_NAMES or arg.startswith(("--install-completion", "--show-completion")):
            return None
    return None


@functools.cache
def command(only: str | None = None) -> Command:
    """The click command tree (every command, or ``only`` one built-in command): help
    paragraphs unwrapped (cli/helptext.py), value completion and flag help applied
    (cli/completion.py). Built once per process: typer reads every command's signature (about
    40 ms for all of them, plus reading the installed packages' entry points for their groups),
    so a run builds only the command it runs; click makes a new context for every run of a
    tree, so a process that runs several commands (the console, an embedding program) reuses
    it."""
    return completion.prepare(helptext.apply(typer.main.get_command(_app(only))), HELP_OPTION_NAMES)


def run(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turn project errors into one clear line and an exit code.

    Run as the process itself (``argv`` None: the ``appliance`` script, ``python -m
    appliance_cli``), it is made for a short life: the cyclic garbage collector runs less often
    (a status allocates a few hundred thousand objects, nearly all of them alive to the end:
    scanning them again and again cost a status ~15 ms) and the interpreter's teardown is
    skipped when nothing is left for it to do (``_exit_now``).
    """
    entry = argv is None
    if entry:
        import gc

        gc.set_threshold(GC_THRESHOLD_ENTRY, *gc.get_threshold()[1:])
    code = _main(sys.argv[1:] if argv is None else argv, argv)
    if entry:
        _exit_now(code)
    sys.exit(code)


# The first generation's threshold for a process that is the command (Python's default: 700).
GC_THRESHOLD_ENTRY = 20_000


def _exit_now(code: int) -> None:
    """Exit at once when no exit handler is registered and no other thread runs: the
    interpreter's teardown would only free every module and object one by one (~50 ms after
    a status), which ending the process does anyway. Output is flushed first; anything else
    (an exit handler, a thread still working, output that cannot be flushed) takes the
    normal exit."""
    import atexit
    import os
    import threading

    pending = getattr(atexit, "_ncallbacks", None)  # CPython's count of registered handlers
    if pending is None or pending() or threading.active_count() > 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(code)


def _main(args: list[str], argv: list[str] | None) -> int:
    """Run one command; its exit code (project errors shown as one clear line)."""
    try:
        # With standalone_mode=False click returns the code of a typer.Exit instead of raising it.
        code = command(command_named(args))(args=argv, standalone_mode=False)
    except ApplianceError as exc:
        console.display_error(exc.message, hint=exc.hint)
        if console.verbosity() > 0:
            console.err().print_exception()
        return exc.exit_code
    except KeyboardInterrupt:
        console.display_error("interrupted")
        return EXIT_INTERRUPTED
    except typer.Exit as exc:
        return int(exc.exit_code)
    except SystemExit as exc:
        if exc.code is None or type(exc.code) is int:
            return exc.code or 0
        raise  # a message to print: the interpreter's exit shows it
    except typer.Abort:
        console.display_error("aborted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # click usage errors and friends
        import click

        click_errors: tuple[type[Exception], ...] = (click.exceptions.ClickException,)
        usage_errors: tuple[type[Exception], ...] = (click.UsageError,)
        try:  # recent typer releases raise from their vendored copy of click
            from typer._click import exceptions as typer_click

            click_errors += (typer_click.ClickException,)
            usage_errors += (typer_click.UsageError,)
        except ImportError:  # pragma: no cover - older typer uses click itself
            pass
        if isinstance(exc, click_errors):
            exc.show()  # type: ignore[attr-defined]
            return EXIT_USAGE if isinstance(exc, usage_errors) else int(exc.exit_code)  # type: ignore[attr-defined]
        raise
    return code if type(code) is int else 0
