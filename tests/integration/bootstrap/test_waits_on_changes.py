"""Bootstrap's status waits against the lab API over HTTP: a status is collected when the
cluster changed, not on every poll, and a change wakes the wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store

from appliance_cli.bootstrap import engine
from appliance_cli.bootstrap.context import BootstrapContext
from appliance_cli.bootstrap.defaults import default_adapters
from appliance_cli.bootstrap.options import build_options
from appliance_cli.bootstrap.waits import REFRESH_SECONDS, ChangeFeed, Seen, wait_for_status
from appliance_cli.progress import ProgressEvent
from appliance_cli.site import Site
from appliance_cli.status.model import StatusDocument
from tests.integration.status.conftest import seed_healthy

pytestmark = pytest.mark.timeout(120)
TOKEN = "lab-waits-token-0123456789abcdef"


@dataclass
class Polls:
    """The wait's "waiting" reports (one per poll)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: int = 0

    def emit(self, event: ProgressEvent) -> None:
        if event.state == "waiting":
            with self.lock:
                self.waiting += 1

    def close(self) -> None:
        return None


@dataclass
class Setup:
    store: Store
    ctx: BootstrapContext
    polls: Polls
    collections: list[float]


@pytest.fixture
def setup() -> Iterator[Setup]:
    store = Store()
    seed_healthy(store)
    api = LabApiServer(store, token=TOKEN).start()
    try:
        site = Site.open("waits")
        api.write_kubeconfig(site.root / "kubeconfig")
        collections: list[float] = []
        base = default_adapters()

        def counted(ctx: BootstrapContext) -> StatusDocument | None:
            collections.append(time.monotonic())
            return base.status(ctx)

        polls = Polls()
        opts = build_options(
            bootstrap_mode="recover", release_version="1.0-rc5", node_ip="127.0.0.1", site_id="waits"
        )
        ctx = engine.build_context(
            opts, reporter=polls, announce=lambda s: None, adapters=replace(base, status=counted)
        )
        yield Setup(store, ctx, polls, collections)
    finally:
        api.stop()


def _node_gone(doc: StatusDocument) -> Seen:
    codes = [b.code for b in doc.top_blockers]
    return Seen("node_not_ready" in codes, ", ".join(codes) or "no blocker")


def _until(pred: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_a_quiet_cluster_is_collected_once_and_a_change_wakes_the_wait(setup: Setup) -> None:
    result: dict[str, Any] = {}
    interval = 10.0  # polls that back off to 10 s: only a change can end the wait soon

    def run() -> None:
        try:
            result["doc"] = wait_for_status(
                setup.ctx,
                "node gone",
                _node_gone,
                bound_seconds=60,
                interval=interval,
                stop_on_blockers=False,
            )
        except BaseException as exc:  # handed to the test thread
            result["error"] = exc
        result["ended"] = time.monotonic()

    waiter = threading.Thread(target=run, daemon=True)
    waiter.start()
    _until(lambda: setup.polls.waiting >= 1 or "ended" in result, timeout=20)
    assert "ended" not in result, result
    # A window in which nothing changes: polling on a timer would have collected at 0.2,
    # 0.5, 0.95, 1.6 and 2.6 s; the wait makes no collection before REFRESH_SECONDS. (What is
    # checked is an absence over a fixed window, so the window is a plain sleep.)
    assert REFRESH_SECONDS > 3
    time.sleep(3)
    assert len(setup.collections) == 1, "nothing changed: the first status stands"

    node = setup.store.list(BY_KEY["v1/nodes"])[0][0]["metadata"]["name"]
    changed = time.monotonic()
    setup.store.delete(BY_KEY["v1/nodes"], None, node)
    waiter.join(timeout=30)
    assert "error" not in result, result.get("error")
    doc = result["doc"]
    assert doc is not None and "node_not_ready" in [b.code for b in doc.top_blockers]
    # woken by the change, well before the next poll of the backoff (2.3 s on) was due
    assert result["ended"] - changed < 1.5, result["ended"] - changed
    assert len(setup.collections) == 2


def test_the_feed_sees_changes_of_the_objects_a_status_is_made_of(setup: Setup) -> None:
    feed = ChangeFeed.open(setup.ctx, threading.Event())
    assert feed is not None
    try:
        gen = feed.generation
        assert not feed.changed_since(gen)
        pods = setup.store.list(BY_KEY["v1/pods"])[0]
        setup.store.delete(BY_KEY["v1/pods"], pods[0]["metadata"]["namespace"], pods[0]["metadata"]["name"])
        _until(lambda: feed.changed_since(gen), timeout=10)
        assert feed.wake.is_set()
    finally:
        feed.close()


def test_without_a_kubeconfig_there_is_no_feed_and_every_poll_asks(setup: Setup) -> None:
    setup.ctx.site.kubeconfig.unlink()
    assert ChangeFeed.open(setup.ctx, threading.Event()) is None
