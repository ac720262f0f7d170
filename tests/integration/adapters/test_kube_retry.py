"""Retries of `KubeClient` against the lab API's fault injection (real HTTPS): 429 with
Retry-After, 5xx, dropped connections and outages are retried where repeating is safe."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from appliance_lab.api_faults import FaultConfig
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store

from appliance_cli.adapters.kube import CREATE_REQUEST_ANNOTATION, KubeClient
from appliance_cli.adapters.kube_retry import STATUS_RETRY, RetryPolicy, parse_retry_after
from appliance_cli.errors import KubeConflict, KubeNotFound, KubeUnreachable

pytestmark = pytest.mark.timeout(120)
TOKEN = "kube-retry-test-token-0123456789"
CM = "v1/configmaps"


@pytest.fixture
def lab() -> Iterator[LabApiServer]:
    store = Store()
    store.create(BY_KEY["v1/namespaces"], {"metadata": {"name": "msp"}})
    srv = LabApiServer(store, token=TOKEN).start()
    yield srv
    srv.stop()


@pytest.fixture
def kubeconfig(lab: LabApiServer, tmp_path: Path) -> Path:
    return lab.write_kubeconfig(tmp_path / "kubeconfig")


def cm(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "msp"},
        "data": data,
    }


class LostAnswers(KubeClient):
    """The server acts on the first request of ``method``, then the answer is lost on the way
    back (as when a connection drops after the server committed)."""

    def __init__(self, *args: Any, method: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lose = method

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = super()._request(method, path, **kwargs)
        if method == self.lose and not kwargs.get("retry"):
            self.lose = ""
            raise KubeUnreachable(f"Kubernetes API at {self.server} dropped the answer: connection reset")
        return resp


def test_throttling_errors_and_drops_are_ridden_through(lab: LabApiServer, kubeconfig: Path) -> None:
    """The back-off between attempts is waited in the client's clock (a StepClock here: the
    attempts are real HTTP, the waits between them take no wall time)."""
    clock = StepClock()
    kube = KubeClient.from_kubeconfig(kubeconfig, clock=clock)
    lab.faults = FaultConfig(throttle_rate=0.15, error_rate=0.15, drop_rate=0.1, seed=7, retry_after_s=0)
    for i in range(15):
        kube.apply(cm(f"c{i}", n=str(i)))
        assert kube.get(CM, "msp", f"c{i}")["data"] == {"n": str(i)}
        kube.patch_merge(CM, "msp", f"c{i}", {"data": {"m": "1"}})
    assert len(kube.list_raw(CM, "msp")["items"]) == 15
    for i in range(15):
        kube.delete(CM, "msp", f"c{i}", missing_ok=False)
    lab.faults = None
    assert kube.list_raw(CM, "msp")["items"] == []
    assert kube.retries > 0  # the faults happened and were retried
    assert len(clock.slept) == kube.retries  # one wait before every retry (0 s after "Retry-After: 0")
    assert any(s > 0 for s in clock.slept)  # errors and drops backed off


def test_retry_after_is_honoured_and_the_attempts_are_bounded(lab: LabApiServer, kubeconfig: Path) -> None:
    clock = StepClock()
    kube = KubeClient.from_kubeconfig(
        kubeconfig, retry=RetryPolicy(attempts=3, budget_seconds=30), clock=clock
    )
    lab.faults = FaultConfig(throttle_rate=1.0, retry_after_s=1)
    with pytest.raises(KubeUnreachable, match="Too many requests"):
        kube.get(CM, "msp", "nothing")
    assert kube.requests == 3 and kube.retries == 2
    assert clock.slept == [1.0, 1.0]  # waited Retry-After (1 s) before each retry


def test_a_retry_after_longer_than_the_budget_gives_up_at_once(lab: LabApiServer, kubeconfig: Path) -> None:
    kube = KubeClient.from_kubeconfig(kubeconfig, retry=RetryPolicy(budget_seconds=2))
    lab.faults = FaultConfig(throttle_rate=1.0, retry_after_s=30)
    started = time.monotonic()
    with pytest.raises(KubeUnreachable):
        kube.list_raw(CM, "msp")
    assert time.monotonic() - started < 2.0 and kube.requests == 1


def test_an_outage_shorter_than_the_budget_is_waited_out(lab: LabApiServer, kubeconfig: Path) -> None:
    kube = KubeClient.from_kubeconfig(kubeconfig)
    kube.apply(cm("before"))
    start = time.monotonic() - lab.started_at
    lab.faults = FaultConfig(outage_windows=((start, start + 3.0),))
    began = time.monotonic()
    kube.apply(cm("during"))
    assert time.monotonic() - began >= 2.5  # it really waited for the API to come back
    assert kube.get(CM, "msp", "during")["metadata"]["name"] == "during"
    assert kube.retries > 0


def test_status_collection_gives_up_quickly(lab: LabApiServer, kubeconfig: Path) -> None:
    kube = KubeClient.from_kubeconfig(kubeconfig, retry=STATUS_RETRY)
    start = time.monotonic() - lab.started_at
    lab.faults = FaultConfig(outage_windows=((start, start + 30.0),))
    began = time.monotonic()
    with pytest.raises(KubeUnreachable):
        kube.list_raw(CM, "msp")
    assert time.monotonic() - began < STATUS_RETRY.budget_seconds + 1.0


@pytest.mark.parametrize("status", ["404", "409", "422"])
def test_answers_a_retry_cannot_change_are_not_retried(
    lab: LabApiServer, kubeconfig: Path, status: str
) -> None:
    kube = KubeClient.from_kubeconfig(kubeconfig)
    kube.create(cm("taken"))
    before = kube.requests
    with pytest.raises(Exception) as exc:
        if status == "404":
            kube.get(CM, "msp", "missing")
        elif status == "409":
            kube.create(cm("taken"))
        else:
            kube.apply(cm("Not_A_Valid_Name"))
    assert getattr(exc.value, "status", None) == int(status)
    assert kube.requests - before == 1 and kube.retries == 0


def test_a_create_whose_answer_was_lost_is_ours_on_retry(lab: LabApiServer, kubeconfig: Path) -> None:
    base = KubeClient.from_kubeconfig(kubeconfig)
    kube = LostAnswers(base.settings, method="POST")
    created = kube.create(cm("job-once", a="1"))
    assert created["metadata"]["name"] == "job-once"
    assert CREATE_REQUEST_ANNOTATION in created["metadata"]["annotations"]
    assert kube.retries == 1


def test_a_create_that_finds_someone_elses_object_is_a_conflict(lab: LabApiServer, kubeconfig: Path) -> None:
    other = KubeClient.from_kubeconfig(kubeconfig)
    other.apply(cm("theirs"))  # made by someone else, without our request id
    lab.faults = FaultConfig(throttle_rate=1.0, retry_after_s=0)
    kube = KubeClient.from_kubeconfig(kubeconfig)

    def stop_throttling(_attempt: int, _exc: KubeUnreachable) -> None:
        lab.faults = None

    kube._count_retry = stop_throttling  # type: ignore[method-assign]
    with pytest.raises(KubeConflict):
        kube.create(cm("theirs"))


def test_a_delete_whose_answer_was_lost_is_done_on_retry(lab: LabApiServer, kubeconfig: Path) -> None:
    base = KubeClient.from_kubeconfig(kubeconfig)
    base.apply(cm("gone-once"))
    kube = LostAnswers(base.settings, method="DELETE")
    assert kube.delete(CM, "msp", "gone-once", missing_ok=False) is None
    with pytest.raises(KubeNotFound):
        base.get(CM, "msp", "gone-once")
    with pytest.raises(KubeNotFound):  # without a retry, a missing object is still an error
        base.delete(CM, "msp", "never-there", missing_ok=False)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("3", 3.0), ("0", 0.0), (None, None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


class StepClock:
    """A clock whose sleeps only move its own time (what a site's virtual clock does)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def test_retries_wait_in_the_clients_clock(lab: LabApiServer, kubeconfig: Path) -> None:
    """Retry-After waits and the budget are the given clock's: 20 s of back-off, no wall time."""
    clock = StepClock()
    kube = KubeClient.from_kubeconfig(
        kubeconfig, retry=RetryPolicy(attempts=50, budget_seconds=20), clock=clock
    )
    lab.faults = FaultConfig(throttle_rate=1.0, retry_after_s=5)
    started = time.monotonic()
    with pytest.raises(KubeUnreachable, match="Too many requests"):
        kube.get(CM, "msp", "nothing")
    assert clock.slept == [5.0, 5.0, 5.0, 5.0]  # a fifth wait would overrun the 20 s budget
    assert kube.requests == 5 and kube.retries == 4
    assert time.monotonic() - started < 5.0  # not one Retry-After waited on the wall clock
