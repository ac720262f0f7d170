"""Fault decisions: shares, seeds, health exemption, outage windows."""

from __future__ import annotations

from collections import Counter

from appliance_lab.api_faults import Fault, FaultConfig, FaultInjector


def _faults(config: FaultConfig, n: int = 1000, path: str = "/api/v1/pods") -> list[Fault]:
    inj = FaultInjector(config, started_at=0.0)
    return [inj.decide(path).fault for _ in range(n)]


def test_same_seed_same_sequence() -> None:
    cfg = FaultConfig(error_rate=0.2, drop_rate=0.1, throttle_rate=0.1, seed=42)
    assert _faults(cfg) == _faults(cfg)


def test_shares_are_close_to_the_rates() -> None:
    counts = Counter(_faults(FaultConfig(error_rate=0.2, drop_rate=0.1, throttle_rate=0.1, seed=3), n=5000))
    assert abs(counts[Fault.ERROR] / 5000 - 0.2) < 0.03
    assert abs(counts[Fault.DROP] / 5000 - 0.1) < 0.03
    assert abs(counts[Fault.THROTTLE] / 5000 - 0.1) < 0.03


def test_health_paths_are_exempt_but_not_from_outages() -> None:
    cfg = FaultConfig(error_rate=0.5, drop_rate=0.5, seed=1)
    assert set(_faults(cfg, path="/readyz")) == {Fault.NONE}
    inj = FaultInjector(FaultConfig(outage_windows=((0.0, 1e9),)), started_at=0.0)
    assert inj.decide("/readyz").fault is Fault.OUTAGE


def test_outage_windows_are_relative_to_start() -> None:
    inj = FaultInjector(FaultConfig(outage_windows=((10.0, 20.0),)), started_at=100.0)
    assert [inj.in_outage(now) for now in (105.0, 110.0, 119.9, 120.0)] == [False, True, True, False]


def test_latency_rides_on_every_decision() -> None:
    inj = FaultInjector(FaultConfig(latency_ms=250), started_at=0.0)
    d = inj.decide("/api/v1/pods")
    assert d.fault is Fault.NONE and d.latency_s == 0.25
