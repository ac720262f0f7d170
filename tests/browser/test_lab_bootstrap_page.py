"""The status page during a real `appliance bootstrap` against the lab (missing-background-tag)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from appliance_lab.testing import running_lab
from playwright.sync_api import expect

from appliance_cli.tls import default_client_context
from tests.cli_runner import Result, invoke

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

ARGS = [
    "bootstrap",
    "--site-id",
    "lab",
    "--bootstrap-mode",
    "fresh",
    "--release-version",
    "1.0-rc5",
    "--node-ip",
    "127.0.0.1",
    "--progress",
    "plain",
]
SPEED = 40.0


def _until(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _healthz(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1, verify=default_client_context()).status_code == 200
    except httpx.HTTPError:
        return False


def test_headline_moves_from_installing_to_ready_with_background_issues(page: Any) -> None:
    with running_lab(scenario="missing-background-tag", speed=SPEED, bootstrapped=False) as lab:
        result: dict[str, Result] = {}
        runner = threading.Thread(target=lambda: result.setdefault("r", invoke(ARGS)), daemon=True)
        runner.start()
        token_file = lab.site_dir / "status-token"
        _until(lambda: token_file.is_file() and _healthz(lab.status_url), 180, "the status service")
        page.goto(f"{lab.status_url}/")
        page.fill("#token", token_file.read_text().strip())
        page.click("#login-submit")
        page.wait_for_url(f"{lab.status_url}/")
        seen: list[str] = []
        headline = page.locator("#headline")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            text = headline.inner_text()
            if not seen or seen[-1] != text:
                seen.append(text)
            if text == "Ready with background issues":
                break
            time.sleep(0.2)
        assert "Installing" in seen, seen
        assert seen[-1] == "Ready with background issues", seen
        assert seen.index("Installing") < seen.index("Ready with background issues")
        blockers = page.locator("#blockers").inner_text()
        assert "workflow-worker" in blockers and "not found" in blockers.lower(), blockers
        expect(page.locator("#login-link")).to_be_visible()
        runner.join(timeout=240)
        assert "r" in result and result["r"].exit_code == 0, result.get("r")
