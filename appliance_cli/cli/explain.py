"""`appliance explain`."""

from __future__ import annotations

from appliance_cli.cli._stub import not_implemented


def explain() -> None:
    """(not available yet)"""
    not_implemented("explain")
