"""Fault injection as clients see it: 5xx, 429 with Retry-After, dropped connections, outages, latency."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import urllib3
from appliance_lab.api_faults import FaultConfig
from appliance_lab.apiserver import LabApiServer
from kubernetes.client import ApiException

from .conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _elapsed(server: LabApiServer) -> float:
    return time.monotonic() - server.started_at


def test_error_rate_answers_5xx_status(server: LabApiServer, core: Any) -> None:
    server.faults = FaultConfig(error_rate=1.0, error_codes=(500,))
    with pytest.raises(ApiException) as exc:
        core.list_namespace()
    assert exc.value.status == 500
    body = json.loads(exc.value.body)
    assert body["kind"] == "Status" and body["reason"] == "InternalError"
    assert body["message"] == "Internal error occurred: etcdserver: request timed out"
    server.faults = FaultConfig(error_rate=1.0, error_codes=(503,))
    with pytest.raises(ApiException) as exc:
        core.list_namespace()
    assert exc.value.status == 503 and json.loads(exc.value.body)["reason"] == "ServiceUnavailable"
    server.faults = None
    assert core.list_namespace().items


def test_throttle_rate_answers_429_with_retry_after(server: LabApiServer, http: httpx.Client) -> None:
    server.faults = FaultConfig(throttle_rate=1.0, retry_after_s=2)
    r = http.get(f"{server.url}/api/v1/namespaces", headers=AUTH)
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    assert r.json()["reason"] == "TooManyRequests"
    assert r.json()["details"] == {"retryAfterSeconds": 2}


def test_drop_rate_closes_the_connection_unanswered(server: LabApiServer, core: Any) -> None:
    server.faults = FaultConfig(drop_rate=1.0)
    with pytest.raises((urllib3.exceptions.HTTPError, ConnectionError)):
        core.list_namespace()


def test_shares_follow_the_rates_and_the_seed(server: LabApiServer, http: httpx.Client) -> None:
    def codes() -> list[int]:
        server.faults = FaultConfig(error_rate=0.3, throttle_rate=0.2, seed=7, error_codes=(500,))
        return [http.get(f"{server.url}/api/v1/namespaces", headers=AUTH).status_code for _ in range(200)]

    first = codes()
    assert first == codes()  # same seed, same sequence
    assert 30 <= first.count(500) <= 90 and 15 <= first.count(429) <= 70
    assert first.count(200) == 200 - first.count(500) - first.count(429)


def test_health_endpoints_are_spared_from_errors_and_drops(server: LabApiServer, http: httpx.Client) -> None:
    server.faults = FaultConfig(error_rate=0.5, drop_rate=0.5)
    assert all(http.get(f"{server.url}/readyz").text == "ok" for _ in range(20))


def test_outage_window_drops_everything_then_recovers(server: LabApiServer, http: httpx.Client) -> None:
    start = _elapsed(server)
    server.faults = FaultConfig(outage_windows=((start, start + 1.0),))
    with pytest.raises(httpx.TransportError):
        http.get(f"{server.url}/readyz")
    with pytest.raises(httpx.TransportError):
        http.get(f"{server.url}/api/v1/namespaces", headers=AUTH)
    deadline = time.monotonic() + 10
    while True:
        try:
            if http.get(f"{server.url}/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the API did not come back after the outage window"
        time.sleep(0.1)
    assert _elapsed(server) >= start + 1.0
    assert http.get(f"{server.url}/api/v1/namespaces", headers=AUTH).status_code == 200


def test_outage_cuts_open_watch_streams(server: LabApiServer, http: httpx.Client) -> None:
    with http.stream("GET", f"{server.url}/api/v1/configmaps?watch=1", headers=AUTH) as r:
        assert r.status_code == 200
        start = _elapsed(server)
        server.faults = FaultConfig(outage_windows=((start, start + 30),))
        with pytest.raises(httpx.HTTPError):
            r.read()


def test_latency_is_added_to_every_answer(server: LabApiServer, http: httpx.Client) -> None:
    server.faults = FaultConfig(latency_ms=150)
    t0 = time.monotonic()
    assert http.get(f"{server.url}/api/v1/namespaces", headers=AUTH).status_code == 200
    assert time.monotonic() - t0 >= 0.15


@pytest.mark.kubectl
def test_kubectl_reports_server_errors(server: LabApiServer, kubeconfig: Path, tmp_path: Path) -> None:
    import shutil
    import subprocess

    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail("kubectl is not on PATH: the lab fidelity checks need the kubectl binary")
    server.faults = FaultConfig(error_rate=1.0, error_codes=(500,))
    proc = subprocess.run(
        [binary, f"--kubeconfig={kubeconfig}", f"--cache-dir={tmp_path / 'c'}", "get", "ns"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "Error from server (InternalError)" in proc.stderr


@pytest.mark.parametrize(
    "kwargs",
    [
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"error_rate": 0.6, "throttle_rate": 0.6},
        {"outage_windows": ((5, 2),)},
        {"error_codes": (404,)},
        {"unknown": 1},
    ],
)
def test_fault_config_rejects_nonsense(kwargs: dict[str, Any]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        FaultConfig(**kwargs)
