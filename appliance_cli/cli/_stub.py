"""Shared helper for commands that are registered but not built yet."""

from __future__ import annotations

from typing import NoReturn

from appliance_cli.errors import NotImplementedYet


def not_implemented(command: str) -> NoReturn:
    raise NotImplementedYet(
        f"'appliance {command}' is not available in this version yet",
        hint="see README.md for the commands that work today",
    )
