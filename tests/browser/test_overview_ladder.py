"""The overview's tier ladder, components by tier, readable tables and the support bundle
download, in real Chromium at desktop (1280 px) and phone (390 px, 360 px) widths.

Screenshots are written to ``$APPLIANCE_SCREENSHOTS`` (default: the test's tmp dir).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from appliance_cli.web.server import StatusServer
from tests.browser.status_pages import Switch
from tests.unit.web.conftest import TOKEN

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

LADDER = ["PLATFORM", "CORE", "BOOTSTRAP", "LOGIN", "BACKGROUND", "FULL"]

# For every word of every table cell: the number of line boxes it spans (a word cut by
# wrapping spans two). Returns the words that span more than one.
WORDS_CUT = """(selector) => {
  const cut = [];
  for (const cell of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const re = /[A-Za-z0-9_]+/g;  // a break at "-", "/" or ":" of a long name is fine
      let m;
      while ((m = re.exec(node.data)) !== null) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
        if (tops.size > 1) { cut.push(m[0]); }
      }
    }
  }
  return cut;
}"""


def shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("APPLIANCE_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def first_snapshot() -> str:
    return "missing-background-tag"


def signed_in(browser: Any, server: StatusServer, width: int) -> Any:
    ctx = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    page.goto(f"{server.url}/login")
    page.fill("#token", TOKEN)
    page.click("#login-submit")
    page.wait_for_url(f"{server.url}/")
    return page


def ladder(page: Any) -> list[tuple[str, str, str]]:
    items = page.locator("#tiers li.tier")
    expect(items).to_have_count(6, timeout=15000)
    return [
        (
            items.nth(i).locator(".name").inner_text(),
            str(items.nth(i).get_attribute("data-state")),
            items.nth(i).locator(".detail").inner_text(),
        )
        for i in range(6)
    ]


@pytest.mark.parametrize("width", [1280, 390])
def test_overview_shows_the_ladder_above_the_blockers_and_components_by_tier(
    browser: Any, server: StatusServer, width: int, tmp_path: Path
) -> None:
    page = signed_in(browser, server, width)
    try:
        expect(page.locator("#headline")).to_have_text("Ready with background issues", timeout=15000)
        rows = ladder(page)
        assert [r[0] for r in rows] == LADDER
        states = {name: state for name, state, _ in rows}
        assert [states[t] for t in LADDER[:4]] == ["ready"] * 4
        assert states["BACKGROUND"] == "blocked" and states["FULL"] == "blocked"
        assert all(detail.strip() for _, _, detail in rows), rows  # each tier has its one line
        marks = page.locator("#tiers li.tier .mark").all_inner_texts()
        assert marks == ["✓", "✓", "✓", "✓", "✗", "✗"]
        # the ladder is read before the blockers
        ladder_box = page.locator("#tiers").bounding_box()
        blockers_box = page.locator("#blockers").bounding_box()
        assert ladder_box["y"] + ladder_box["height"] <= blockers_box["y"]
        assert "workflow-worker" in page.locator("#blockers").inner_text()
        # the Kustomization held by the missing tag is shown as blocked, not counting up
        held = page.locator("#operations li.blocked").inner_text()
        assert "alga-background" in held and "blocked by image_tag_not_found" in held
        assert "so far" not in held
        background = page.locator('#components .group[data-tier="background"]')
        assert "workflow-worker" in background.inner_text()
        assert page.locator("#components .group h3").all_inner_texts()[:2] == ["PLATFORM", "CORE"]
        # nothing wider than the screen, nothing cut mid-word
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(WORDS_CUT, "#tiers .name, #tiers .word, #components .name") == []
        page.screenshot(path=str(shots(tmp_path) / f"overview-{width}.png"), full_page=True)
    finally:
        page.context.close()


def test_overview_shows_tiers_in_progress_and_an_image_pull_while_core_installs(
    browser: Any, server: StatusServer, switch: Switch, tmp_path: Path
) -> None:
    switch.set("core-image-pulling")
    page = signed_in(browser, server, 390)
    try:
        expect(page.locator("#headline")).to_have_text("Installing", timeout=15000)
        states = {name: state for name, state, _ in ladder(page)}
        assert states["PLATFORM"] == "ready" and states["CORE"] == "ready"
        assert [states[t] for t in LADDER[2:]] == ["in progress"] * 4
        pull = page.locator("#operations li", has_text="pulling image").inner_text()
        # size from the release manifest; the node's earlier 1.8 GB pull took 6m51s, and this
        # one has run longer than that rate predicts
        assert "~1.8 GB" in pull and "so far" in pull
        assert "longer than the 6m42s the node's download rate predicts" in pull
        page.screenshot(path=str(shots(tmp_path) / "overview-installing-390.png"), full_page=True)
    finally:
        page.context.close()


@pytest.mark.parametrize("width", [390, 360])
def test_diagnostics_tables_never_cut_a_word_and_the_bundle_downloads(
    browser: Any, server: StatusServer, width: int, tmp_path: Path
) -> None:
    page = signed_in(browser, server, width)
    try:
        page.goto(f"{server.url}/diagnostics")
        expect(page.locator("#components tbody tr").first).to_be_visible(timeout=15000)
        expect(page.locator("#tiers tbody tr")).to_have_count(6)
        assert (
            page.evaluate(WORDS_CUT, "#tiers td, #components td, #kustomizations td, #helmreleases td") == []
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # tables scroll inside
        page.screenshot(path=str(shots(tmp_path) / f"diagnostics-{width}.png"), full_page=True)
        page.locator("#components").scroll_into_view_if_needed()
        page.screenshot(path=str(shots(tmp_path) / f"diagnostics-{width}-components.png"))

        with page.expect_download() as info:
            page.click("#support-bundle")
        download = info.value
        assert download.suggested_filename.startswith("alga-support-")
        assert download.suggested_filename.endswith(".tar.gz")
        data = Path(download.path()).read_bytes()
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            names = sorted(n.split("/", 1)[1] for n in tar.getnames())
            top = tar.getnames()[0].split("/")[0]
            status = json.loads(tar.extractfile(f"{top}/status.json").read())  # type: ignore[union-attr]
        assert names == ["snapshot.json", "status.json", "versions.json"]
        assert status["rollup"]["state"] == "ready_with_background_issues"
        assert TOKEN.encode() not in data
    finally:
        page.context.close()
