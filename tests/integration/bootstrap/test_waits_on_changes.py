"""Bootstrap's status waits against the lab API over HTTP: a status is collected when the
cluster changed, not on every poll, and a change wakes the wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store

from appliance_cli.bootstrap import engine
from appliance_cli.bootstrap.context import BootstrapContext
from appliance_cli.bootstrap.defaults import default_adapters
from appliance_cli.bootstrap.options import build_options
from appliance_cli.bootstrap.phases.base import BlockerFound
from appliance_cli.bootstrap.waits import REFRESH_SECONDS, ChangeFeed, Seen, wait_for_status
from appliance_cli.progress import ProgressEvent
from appliance_cli.site import Site
from appliance_cli.status.model import StatusDocument
from tests.integration.status.conftest import seed_healthy
from tests.unit.status import builders

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
    # changes made right after a collection, one per collection (the cluster moving on)
    after: list[Callable[[], None]] = field(default_factory=list)


@pytest.fixture
def setup() -> Iterator[Setup]:
    store = Store()
    seed_healthy(store)
    api = LabApiServer(store, token=TOKEN).start()
    try:
        site = Site.open("waits")
        api.write_kubeconfig(site.root / "kubeconfig")
        collections: list[float] = []
        after: list[Callable[[], None]] = []
        base = default_adapters()

        def counted(ctx: BootstrapContext) -> StatusDocument | None:
            collections.append(time.monotonic())
            doc = base.status(ctx)
            if after:
                after.pop(0)()
            return doc

        polls = Polls()
        opts = build_options(
            bootstrap_mode="recover", release_version="1.0-rc5", node_ip="127.0.0.1", site_id="waits"
        )
        ctx = engine.build_context(
            opts, reporter=polls, announce=lambda s: None, adapters=replace(base, status=counted)
        )
        yield Setup(store, ctx, polls, collections, after)
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


KS = BY_KEY["kustomize.toolkit.fluxcd.io/v1/kustomizations"]
JOBS = BY_KEY["batch/v1/jobs"]


def _core_kustomization_failed(store: Store) -> None:
    """alga-core's Kustomization fails early on its stalled HelmRelease (the effect)."""
    failed = builders.kustomization(
        "alga-core",
        ready="False",
        reason="HealthCheckFailed",
        message="health check failed after 1m54s: failed early due to stalled resources: "
        "[HelmRelease/msp/alga-core status: 'Failed']",
    )

    def fail(ks: dict[str, Any]) -> None:
        ks["status"] = failed["status"]

    store.mutate(KS, "flux-system", "alga-core", fail)


def _bootstrap_job(store: Store, state: str) -> None:
    job = builders.job(builders.BOOTSTRAP_JOB, state=state)

    def set_state(obj: dict[str, Any]) -> None:
        obj["status"] = job["status"]

    store.mutate(JOBS, job["metadata"]["namespace"], job["metadata"]["name"], set_state)


def _not_yet(doc: StatusDocument) -> Seen:
    return Seen(False, ", ".join(b.code for b in doc.top_blockers) or "no blocker")


@contextmanager
def _login_page() -> Iterator[str]:
    """Alga's login page as the probe sees it on a healthy appliance (307 to the dashboard)."""

    class Login(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(307)
            self.send_header("Location", "/msp/dashboard")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Login)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_blocker_is_confirmed_by_a_second_collection_which_can_show_its_cause(setup: Setup) -> None:
    # The lists of one collection are read side by side: the first collection sees the
    # Kustomization failed while the Job that caused it still ran in the jobs list. The wait
    # ends on what a second collection, made at once, shows: the cause.
    _bootstrap_job(setup.store, "running")
    _core_kustomization_failed(setup.store)
    first: list[list[str]] = []

    def job_fails() -> None:
        _bootstrap_job(setup.store, "failed")

    setup.after.append(job_fails)
    with _login_page() as url:
        setup.ctx.site.write("app-url", url, mode=0o600)

        def not_yet(doc: StatusDocument) -> Seen:
            first.append([b.code for b in doc.top_blockers])
            return _not_yet(doc)

        with pytest.raises(BlockerFound) as found:
            wait_for_status(setup.ctx, "login", not_yet, bound_seconds=30, interval=0.5)
    assert first[0][0] == "kustomization_failed"  # the effect, without its cause
    assert found.value.blocker.code == "bootstrap_job_failed"
    assert len(setup.collections) == 2


def test_a_blocker_gone_a_moment_later_does_not_end_the_wait(setup: Setup) -> None:
    # The node is away for the first collection only: the second one, made at once, no
    # longer shows it, so the wait judges by the second and goes on (here: it is done).
    nodes = BY_KEY["v1/nodes"]
    node = setup.store.list(nodes)[0][0]
    setup.store.delete(nodes, None, node["metadata"]["name"])
    back = {k: v for k, v in node.items() if k != "metadata"}
    back["metadata"] = {k: v for k, v in node["metadata"].items() if k in ("name", "labels", "annotations")}

    def node_back() -> None:
        setup.store.create(nodes, back)

    setup.after.append(node_back)
    doc = wait_for_status(
        setup.ctx,
        "the node",
        lambda d: Seen("node_not_ready" not in [b.code for b in d.top_blockers], "node"),
        bound_seconds=30,
        interval=0.5,
        tiers=("platform",),
    )
    assert doc is not None and "node_not_ready" not in [b.code for b in doc.top_blockers]
    assert len(setup.collections) == 2
