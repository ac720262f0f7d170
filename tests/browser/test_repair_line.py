"""The status page says, per blocker, whether `appliance repair` can fix it and the exact command.

The page stays read-only: the line is text, never a button or a form.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from appliance_cli.web.server import StatusServer
from tests.browser.status_pages import Switch, log_in, status_of
from tests.unit.web.conftest import TOKEN, start, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@pytest.fixture
def server() -> Iterator[StatusServer]:
    srv = start(Switch("bootstrap-job-failed"), interval=0.2)
    wait_for(lambda: srv.state.view().current is not None)
    try:
        yield srv
    finally:
        srv.stop()


def test_each_blocker_says_whether_repair_can_fix_it(page: Any, server: StatusServer) -> None:
    _snap, doc = status_of("bootstrap-job-failed")
    first = doc.top_blockers[0]
    assert first.repair is not None and first.repair.available and first.repair.command
    log_in(page, server.url, TOKEN)
    lines = page.locator("#blockers li.blocker .repair")
    lines.first.wait_for()
    texts = lines.all_inner_texts()
    assert texts[0] == f"appliance repair can fix this: {first.repair.command}"
    assert any(t.startswith("Not repaired automatically: Repair the specific cause") for t in texts[1:])
    assert page.locator("#blockers button, #blockers form").count() == 0
