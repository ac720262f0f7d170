"""YAML parsing with libyaml when PyYAML was built with it (about ten times faster than the
pure-Python parser; the same YAML 1.1 safe types), the pure-Python safe loader otherwise."""

from __future__ import annotations

from typing import Any


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load``; raises ``yaml.YAMLError`` like it."""
    import yaml

    return yaml.load(text, Loader=_loader())


def safe_load_all(text: str) -> list[Any]:
    """``list(yaml.safe_load_all(text))``; raises ``yaml.YAMLError`` like it."""
    import yaml

    return list(yaml.load_all(text, Loader=_loader()))
