"""Shared fixtures: an isolated appliance home for every test, the CLI runner."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"

# Tests press Ctrl-C (SIGINT) on the commands they start. A run started in the background (`&`
# in a non-interactive shell) has SIGINT ignored, and a child inherits an ignored signal: take
# Python's own handler, so the children start with SIGINT at its default as under a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("appliance-home")
    monkeypatch.setenv("ALGA_APPLIANCE_HOME", str(home))
    monkeypatch.delenv("ALGA_APPLIANCE_RELEASES_DIR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    yield home


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``first`` run before all others, then those marked ``slow``, then the rest
    (each group in collection order): on several workers (``pytest -n``) a long run then never
    starts last and holds the whole run up. ``first`` is for the few whose setup alone takes
    about a minute (the status image build): started at once, it overlaps the rest of the run."""

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("first") is not None:
            return 0
        return 1 if item.get_closest_marker("slow") is not None else 2

    items.sort(key=rank)
