"""The service's slow check (Talos health when Kubernetes does not answer) never holds a
collection longer than its bound, and never runs twice at once."""

from __future__ import annotations

import threading
import time

from appliance_cli.adapters.talos import HealthResult
from appliance_cli.web.server import BoundedCheck


def test_a_slow_check_is_waited_for_only_up_to_the_bound_and_not_started_twice() -> None:
    release = threading.Event()
    calls: list[int] = []

    def slow() -> HealthResult:
        calls.append(1)
        release.wait(10)
        return HealthResult(reachable=True, healthy=True)

    bounded = BoundedCheck(timeout=0.2)
    started = time.monotonic()
    first = bounded(slow)
    assert time.monotonic() - started < 1.0
    assert not first.reachable and "did not answer within 0.2s" in (first.error or "")
    second = bounded(slow)  # still running: waited for again, not started again
    assert len(calls) == 1 and not second.reachable
    release.set()
    third = bounded(slow)
    assert third.reachable and len(calls) == 1  # the running check's answer
    fourth = bounded(slow)  # finished: the next call checks again
    assert fourth.reachable and len(calls) == 2


def test_the_last_answer_stands_while_a_new_check_runs() -> None:
    release = threading.Event()
    answers = iter([HealthResult(reachable=True, healthy=True), None])

    def check() -> HealthResult:
        answer = next(answers)
        if answer is None:
            release.wait(10)
            return HealthResult(reachable=False, healthy=False, error="gone")
        return answer

    bounded = BoundedCheck(timeout=0.2)
    assert bounded(check).reachable
    assert bounded(check).reachable  # the new check hangs: the last answer is given
    release.set()


def test_a_failing_check_is_an_answer() -> None:
    def broken() -> HealthResult:
        raise RuntimeError("talosctl exploded")

    result = BoundedCheck(timeout=1.0)(broken)
    assert not result.reachable and result.error == "talosctl exploded"
