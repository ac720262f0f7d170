"""``appliance tui``: the operator's console, a Textual view over the same engines as the commands.

Textual is an optional extra (``pip install 'alga-appliance-cli[tui]'``); it is imported only
when the console starts, so ``appliance --help`` stays fast. ``sites``, ``actions`` and
``reporter`` hold everything that is not drawing (no Textual import); ``app`` draws.
"""

from __future__ import annotations

from appliance_cli.errors import ActionRequired

INSTALL_HINT = "pip install 'alga-appliance-cli[tui]' (from a checkout: .venv/bin/pip install -e '.[tui]')"


def require_textual() -> None:
    """An ``ActionRequired`` with the install command when Textual is missing."""
    import importlib.util

    if importlib.util.find_spec("textual") is None:
        raise ActionRequired(
            "the console needs the Textual package, which is not installed", hint=INSTALL_HINT
        )
