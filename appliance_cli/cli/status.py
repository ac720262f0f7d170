"""`appliance status`."""

from __future__ import annotations

from appliance_cli.cli._stub import not_implemented


def status() -> None:
    """(not available yet)"""
    not_implemented("status")
