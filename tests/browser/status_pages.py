"""A status service over a snapshot the test can switch, and signing in to its pages."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from appliance_cli.status.classify import classify
from appliance_cli.status.model import StatusDocument
from appliance_cli.status.snapshot import ClusterSnapshot, load_snapshot

SNAPSHOTS = Path(__file__).resolve().parents[1] / "fixtures" / "snapshots"


def status_of(name: str) -> tuple[ClusterSnapshot, StatusDocument]:
    """The snapshot ``tests/fixtures/snapshots/<name>.json`` and its classified status."""
    snap = load_snapshot(SNAPSHOTS / f"{name}.json")
    return snap, classify(snap)


class Switch:
    """The collector's answer, switchable by the test."""

    def __init__(self, name: str) -> None:
        self.lock = threading.Lock()
        self.current = status_of(name)

    def set(self, name: str) -> None:
        doc = status_of(name)
        with self.lock:
            self.current = doc

    def __call__(self) -> tuple[ClusterSnapshot, StatusDocument]:
        with self.lock:
            return self.current


def log_in(page: Any, url: str, token: str) -> None:
    """Opens the overview, is sent to the login form, and submits ``token``."""
    page.goto(f"{url}/")
    page.wait_for_url(f"{url}/login")
    page.fill("#token", token)
    page.click("#login-submit")


POLL_MS = 3000  # overview.js: how often the page asks for the status


def until_headline(page: Any, text: str, *, timeout: float = 30.0) -> None:
    """Move the page's clock on one poll interval at a time until its headline reads ``text``
    (the page's clock must be installed before it loaded: ``page.clock.install()``), so the
    test never waits out the page's poll timer on the wall clock."""
    from tests.unit.web.conftest import wait_for

    def shown() -> bool:
        page.clock.run_for(POLL_MS)
        return bool(page.locator("#headline").inner_text() == text)

    wait_for(shown, timeout=timeout)
