"""Blocker rules: one small function per blocker code (docs/blocker-codes.md), registered with
its description.

Importing this package registers every rule; :func:`registered` lists them root cause first.
"""

from __future__ import annotations

from appliance_cli.status.rules import app, containers, gitops, images, platform, storage
from appliance_cli.status.rules.registry import Finding, Rule, RuleSpec, registered, rule, spec_for

__all__ = [
    "Finding",
    "Rule",
    "RuleSpec",
    "app",
    "containers",
    "gitops",
    "images",
    "platform",
    "registered",
    "rule",
    "spec_for",
    "storage",
]
