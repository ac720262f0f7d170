"""The status page in real Chromium polls with If-None-Match: an unchanged status is a 304."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from playwright.sync_api import expect

from appliance_cli.web.server import StatusServer
from tests.browser.status_pages import POLL_MS, Switch, log_in, until_headline
from tests.unit.web.conftest import TOKEN, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_the_page_asks_again_with_its_etag_and_keeps_showing_the_status(
    page: Any, server: StatusServer, switch: Switch
) -> None:
    lock = threading.Lock()
    answers: list[int] = []

    def seen(resp: Any) -> None:
        if resp.url.endswith("/api/status"):
            with lock:
                answers.append(resp.status)

    page.on("response", seen)
    page.clock.install()  # the page's 3 s poll timer runs when the test moves the clock
    log_in(page, server.url, TOKEN)
    page.wait_for_url(f"{server.url}/")
    expect(page.locator("#headline")).to_have_text("Installing", timeout=15000)

    def polled_unchanged() -> bool:
        page.clock.run_for(POLL_MS)  # one poll interval of the page
        page.wait_for_timeout(100)  # lets Playwright deliver the page's response events
        with lock:
            return 304 in answers

    wait_for(polled_unchanged, timeout=30)
    with lock:
        assert answers[0] == 200  # the first ask has no tag
    expect(page.locator("#headline")).to_have_text("Installing")
    assert "alga-core" in page.locator("#operations").inner_text()

    switch.set("missing-background-tag")  # a new document: a new tag, the body again
    until_headline(page, "Ready with background issues")
    with lock:  # the new document came whole (a 200 after the 304s), not as a 304
        assert 200 in answers[answers.index(304) :], answers
