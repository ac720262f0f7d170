"""A full bootstrap against a lab whose Kubernetes API misbehaves still ends login-ready.

The lab's fault injection (docs/lab-api.md) answers a share of requests 429 with
``Retry-After``, 500/503, or drops the connection, and takes the whole API down for an
outage window. Bootstrap's client retries what is safe to repeat, and its waits ride through
an outage shorter than their bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from appliance_lab.api_faults import FaultConfig
from appliance_lab.testing import LabHandle, running_lab

from appliance_cli.bootstrap import engine
from appliance_cli.bootstrap.options import build_options
from appliance_cli.progress import ProgressEvent
from appliance_cli.status.model import LOGIN_STATES

pytestmark = pytest.mark.slow
SPEED = 80.0
OPTIONS = {"release_version": "1.0-rc5", "node_ip": "127.0.0.1", "site_id": "lab"}


class Recorder:
    """Keeps every event; ``on_wait`` runs once, at the first wait of ``phase``."""

    def __init__(self, phase: int | None = None, on_wait: object = None) -> None:
        self.events: list[ProgressEvent] = []
        self.phase = phase
        self.on_wait = on_wait
        self.fired = threading.Event()

    def emit(self, event: ProgressEvent) -> None:
        self.events.append(event)
        if (
            self.phase is not None
            and event.phase == self.phase
            and event.state == "waiting"
            and not self.fired.is_set()
            and callable(self.on_wait)
        ):
            self.fired.set()
            self.on_wait()

    def close(self) -> None:
        return None

    def saw(self, text: str) -> bool:
        return any(text in (e.step + " " + str(e.details)) for e in self.events)


@pytest.fixture
def fresh_lab(request: pytest.FixtureRequest) -> Iterator[LabHandle]:
    """A lab to bootstrap, on the wall clock (the outage windows and the client's retries are
    wall-clock seconds) unless the test is marked ``lab(virtual=True)``."""
    marker = request.node.get_closest_marker("lab")
    virtual = bool(marker.kwargs.get("virtual", False)) if marker else False
    with running_lab(scenario="healthy", speed=SPEED, bootstrapped=False, virtual=virtual) as handle:
        yield handle
        errors = list(handle.lab.controllers.errors)
    assert not errors, f"lab controllers raised: {errors}"


def failures(reporter: Recorder) -> list[str]:
    return [
        f"{e.phase} {e.step} {e.state} {e.details}"
        for e in reporter.events
        if e.state in ("failed", "warning")
    ]


def run_bootstrap(reporter: Recorder) -> engine.BootstrapResult:
    opts = build_options(bootstrap_mode="fresh", **OPTIONS)
    return engine.run(opts, reporter=reporter, announce=lambda s: None)


@pytest.mark.lab(virtual=True)  # faults by chance per request: the lab's pace does not matter
def test_five_percent_throttling_and_errors_still_end_login_ready(fresh_lab: LabHandle) -> None:
    api = fresh_lab.lab.api
    api.faults = FaultConfig(throttle_rate=0.05, error_rate=0.03, drop_rate=0.02, seed=16, retry_after_s=1)
    reporter = Recorder()
    started = time.monotonic()
    result = run_bootstrap(reporter)
    seconds = time.monotonic() - started
    api.faults = None
    assert result.exit_code == 0, failures(reporter)
    assert result.status is not None and result.status.rollup.state in LOGIN_STATES
    assert seconds < 240, seconds


@pytest.mark.lab(virtual=True)  # 20 s outages pass in the lab's time, which retries wait in
def test_a_20s_outage_in_every_phase_still_ends_login_ready(fresh_lab: LabHandle) -> None:
    """At the first wait of each phase the whole API goes away for 20 s (bootstrap's bounds
    are longer, and the client retries calls for longer than that). The API is really gone
    (even its health endpoint), and the run goes on only after it is back."""
    api = fresh_lab.lab.api
    clock = fresh_lab.clock  # the lab's time, which the CLI's waits and retries share
    assert clock is not None
    outage = 20.0
    hit: list[int] = []
    probes: dict[int, str] = {}
    down_at: dict[int, float] = {}

    class EveryPhase(Recorder):
        def emit(self, event: ProgressEvent) -> None:
            self.events.append(event)
            if event.state == "waiting" and event.phase is not None and event.phase not in hit:
                hit.append(event.phase)
                start = clock.monotonic() - api.started_at
                api.faults = FaultConfig(outage_windows=((start, start + outage),))
                down_at[event.phase] = clock.monotonic()
                try:
                    probes[event.phase] = str(fresh_lab.http().get("/readyz", timeout=2.0).status_code)
                except httpx.HTTPError as exc:
                    probes[event.phase] = type(exc).__name__

    reporter = EveryPhase()
    result = run_bootstrap(reporter)
    finished = clock.monotonic()
    assert result.exit_code == 0, failures(reporter)
    assert result.status is not None and result.status.rollup.state in LOGIN_STATES
    assert len(hit) >= 4, hit  # phases that waited: each rode through a 20 s outage
    assert {1, 3} <= set(hit), hit  # a platform wait and a core wait among them
    assert all(not code.isdigit() for code in probes.values()), probes
    assert finished - down_at[hit[-1]] >= outage  # the run went on after the API came back
