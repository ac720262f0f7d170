"""The status page in real Chromium: login, overview, live headline, logout."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from appliance_cli.web.server import StatusServer
from tests.browser.status_pages import Switch, log_in, until_headline
from tests.unit.web.conftest import TOKEN

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_wrong_token_shows_an_error_and_no_overview(page: Any, server: StatusServer) -> None:
    log_in(page, server.url, "definitely-not-the-token")
    err = page.locator("#login-error")
    err.wait_for()
    assert "not right" in err.inner_text()
    assert page.url == f"{server.url}/login"
    assert page.locator("#headline").count() == 0


def test_right_token_shows_the_overview_and_it_follows_the_state(
    page: Any, server: StatusServer, switch: Switch
) -> None:
    page.clock.install()  # the page's poll timer runs when the test moves the clock
    log_in(page, server.url, TOKEN)
    page.wait_for_url(f"{server.url}/")
    headline = page.locator("#headline")
    # (the page's CSP forbids eval, so waits use locators, not wait_for_function)
    expect(page.locator("#headline")).to_have_text("Installing", timeout=15000)
    ops = page.locator("#operations").inner_text()
    assert "alga-core" in ops and "pulling image" in ops and "so far" in ops
    assert page.locator("#login-link").is_hidden()

    switch.set("missing-background-tag")
    until_headline(page, "Ready with background issues")
    assert "workflow-worker" in page.locator("#blockers").inner_text()
    link = page.locator("#login-url")
    assert link.is_visible() and link.get_attribute("href", timeout=5000).startswith("http")
    assert headline.inner_text() == "Ready with background issues"
    assert "Updated" in page.locator("#freshness").inner_text()


def test_diagnostics_page_shows_tiers_flux_and_evidence(
    page: Any, server: StatusServer, switch: Switch
) -> None:
    switch.set("missing-background-tag")
    log_in(page, server.url, TOKEN)
    page.wait_for_url(f"{server.url}/")
    page.goto(f"{server.url}/diagnostics")
    expect(page.locator("#tiers tbody tr")).to_have_count(6, timeout=15000)
    assert page.locator("#kustomizations tbody tr").count() >= 3
    assert "workflow-worker" in page.locator("#blockers").inner_text()


def test_logout_returns_to_the_login_form_and_locks_the_pages(page: Any, server: StatusServer) -> None:
    log_in(page, server.url, TOKEN)
    page.wait_for_url(f"{server.url}/")
    page.click("#logout")
    page.wait_for_url(f"{server.url}/login")
    page.goto(f"{server.url}/")
    page.wait_for_url(f"{server.url}/login")
    assert page.context.cookies() == [] or all(
        c["name"] != "alga_status_session" for c in page.context.cookies()
    )


def test_no_console_errors_or_csp_violations(page: Any, server: StatusServer) -> None:
    messages: list[str] = []
    page.on(
        "console",
        lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    log_in(page, server.url, TOKEN)
    page.wait_for_url(f"{server.url}/")
    expect(page.locator("#headline")).to_have_text("Installing", timeout=15000)
    page.goto(f"{server.url}/diagnostics")
    expect(page.locator("#tiers tbody tr")).to_have_count(6, timeout=15000)
    assert messages == []
