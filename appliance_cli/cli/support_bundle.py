"""`appliance support-bundle`."""

from __future__ import annotations

from appliance_cli.cli._stub import not_implemented


def support_bundle() -> None:
    """(not available yet)"""
    not_implemented("support-bundle")
