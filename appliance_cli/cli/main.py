"""The ``appliance`` command: registers one module per command and maps errors to exit codes."""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from appliance_cli import __version__, console
from appliance_cli.cli import (
    backup,
    bootstrap,
    completion,
    explain,
    helptext,
    logs,
    release,
    repair,
    reset,
    restore,
    serve_status,
    status,
    support_bundle,
    tui,
    upgrade,
    validate,
)
from appliance_cli.errors import EXIT_INTERRUPTED, EXIT_USAGE, ApplianceError

if TYPE_CHECKING:
    from typer._click import Command

HELP_OPTION_NAMES = ["-h", "--help"]

app = typer.Typer(
    name="appliance",
    help=(
        "Install an Alga PSA appliance on a single-node Talos Linux machine, and tell at every "
        "moment whether it is installing, ready to log in, ready with background issues, fully "
        "healthy, or blocked (with the blocker and the next action).\n\n"
        "Start with the lab (a simulated appliance on this machine): "
        "'appliance lab up', then 'appliance bootstrap --site-id lab ...'."
    ),
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (cli/completion.py)
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": HELP_OPTION_NAMES},
)


def _version(value: bool) -> None:
    if value:
        console.display_text(f"appliance {__version__}")
        raise typer.Exit(0)


@app.callback()
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


app.command("bootstrap", rich_help_panel="Install")(bootstrap.bootstrap)
app.command("status", rich_help_panel="Observe")(status.status)
app.command("support-bundle", rich_help_panel="Observe")(support_bundle.support_bundle)
app.command("explain", rich_help_panel="Observe")(explain.explain)
app.command("logs", rich_help_panel="Observe")(logs.logs)
app.command("tui", rich_help_panel="Observe")(tui.tui)
app.command("serve-status", rich_help_panel="Observe")(serve_status.serve_status)
app.command("reset", rich_help_panel="Install")(reset.reset)
app.command("upgrade", rich_help_panel="Day 2")(upgrade.upgrade)
app.add_typer(backup.app, name="backup", rich_help_panel="Day 2")
app.command("restore", rich_help_panel="Day 2")(restore.restore)
app.command("repair", rich_help_panel="Day 2")(repair.repair)
app.add_typer(release.app, name="release", rich_help_panel="Release engineering")
app.command("validate", rich_help_panel="Release engineering")(validate.validate)

# Command groups that other installed packages register (the lab: `appliance lab up|down|status`).
COMMANDS_GROUP = "alga_appliance.commands"


def _register_plugin_commands() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=COMMANDS_GROUP):
        app.add_typer(ep.load(), name=ep.name, rich_help_panel="Try it")


_register_plugin_commands()


@functools.cache
def command() -> Command:
    """The click command tree: help paragraphs unwrapped (cli/helptext.py), value completion and
    flag help applied (cli/completion.py). Built once per process (about 40 ms: typer reads
    every command's signature); click makes a new context for every run of it, so a process
    that runs several commands (the console, an embedding program) reuses it."""
    return completion.prepare(helptext.apply(typer.main.get_command(app)), HELP_OPTION_NAMES)


def run(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turn project errors into one clear line and an exit code."""
    try:
        # With standalone_mode=False click returns the code of a typer.Exit instead of raising it.
        code = command()(args=argv, standalone_mode=False)
    except ApplianceError as exc:
        console.display_error(exc.message, hint=exc.hint)
        if console.verbosity() > 0:
            console.err().print_exception()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.display_error("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        console.display_error("aborted")
        sys.exit(EXIT_INTERRUPTED)
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
            sys.exit(EXIT_USAGE if isinstance(exc, usage_errors) else exc.exit_code)  # type: ignore[attr-defined]
        raise
    sys.exit(code if type(code) is int else 0)
