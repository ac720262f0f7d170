"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, and a status
service over a snapshot the test can switch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from appliance_cli.web.server import StatusServer
from tests.browser.status_pages import Switch
from tests.unit.web.conftest import start, wait_for

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    pg = ctx.new_page()
    try:
        yield pg
    finally:
        ctx.close()


@pytest.fixture
def first_snapshot() -> str:
    """The snapshot the status service starts on (a module overrides it to start elsewhere)."""
    return "core-image-pulling"


@pytest.fixture
def switch(first_snapshot: str) -> Switch:
    return Switch(first_snapshot)


@pytest.fixture
def server(switch: Switch) -> Iterator[StatusServer]:
    srv = start(switch, interval=0.2)
    wait_for(lambda: srv.state.view().current is not None)
    try:
        yield srv
    finally:
        srv.stop()
