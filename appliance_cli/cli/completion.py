"""Shell completion and help details applied to the whole command tree at once.

Typer's ``--install-completion`` / ``--show-completion`` write the shell hook; this module
teaches the tree what to offer for values that are data, whichever command takes them:

- ``--site-id``: the site directories under ``$ALGA_APPLIANCE_HOME``;
- ``--release-version``: the release manifests in ``releases/``;
- a blocker code (``appliance explain CODE``, ``--code``): the registered rules' codes.

Command groups from other packages (the lab's ``--scenario``) complete their own values.

It also drops the value placeholder Typer shows for flags (``--dry-run <bool>``): a flag
takes no value, and the help must not suggest one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # recent Typer releases build the tree from their vendored copy of click
    from typer._click import Command, Context

Completer = Callable[[Any, Any, str], list[str]]


def site_ids(incomplete: str) -> list[str]:
    """Site ids that have a directory in the appliance home."""
    from appliance_cli.site import appliance_home

    home = appliance_home()
    if not home.is_dir():
        return []
    return sorted(p.name for p in home.iterdir() if p.is_dir() and p.name.startswith(incomplete))


def release_versions(incomplete: str) -> list[str]:
    from appliance_cli.releases import available_versions

    return [v for v in available_versions() if v.startswith(incomplete)]


def blocker_codes(incomplete: str) -> list[str]:
    from appliance_cli.status.rules import registered

    wanted = incomplete.lower().replace("-", "_")
    return sorted({r.spec.code for r in registered() if r.spec.code.startswith(wanted)})


# parameter name (as the command function spells it) -> what completes it
BY_NAME: dict[str, Callable[[str], list[str]]] = {
    "site_id": site_ids,
    "release_version": release_versions,
    "code": blocker_codes,
}


def _completer(values: Callable[[str], list[str]]) -> Completer:
    def complete(ctx: Any, param: Any, incomplete: str) -> list[str]:
        try:
            return values(incomplete)
        except Exception:  # completion must never print a traceback into the shell
            return []

    return complete


def _walk(command: Command) -> Iterator[Command]:
    yield command
    for sub in (getattr(command, "commands", None) or {}).values():
        yield from _walk(sub)


def prepare(command: Command, help_option_names: list[str]) -> Command:
    """Attach the completers by parameter name and drop flag placeholders, on every command."""
    names = SimpleNamespace(help_option_names=help_option_names)
    for cmd in _walk(command):
        help_opt = cmd.get_help_option(cast("Context", names))
        for param in [*cmd.params, *([help_opt] if help_opt is not None else [])]:
            if (getattr(param, "is_flag", False) or getattr(param, "count", False)) and param.metavar is None:
                param.metavar = ""  # Typer shows the metavar in place of "<bool>"/"<int>"
            values = BY_NAME.get(param.name or "")
            if values is not None and getattr(param, "_custom_shell_complete", None) is None:
                param._custom_shell_complete = _completer(values)
    return command
