"""Fault injection for the lab's Kubernetes API: latency, 5xx, 429, dropped connections, outages.

Latency, errors, throttling and drops never touch the health endpoints (``/readyz``,
``/livez``, ``/healthz``) so a readiness probe keeps telling the truth about the server; an
outage window takes down everything, health endpoints included, and cuts open watch streams.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, model_validator

HEALTH_PATHS = frozenset({"/readyz", "/livez", "/healthz"})


class FaultConfig(BaseModel):
    """What the lab API does wrong, on purpose. All rates are shares of requests (0 to 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: float = Field(0.0, ge=0, description="added before every answer")
    error_rate: float = Field(0.0, ge=0, le=1, description="share answered 500/503")
    throttle_rate: float = Field(0.0, ge=0, le=1, description="share answered 429 with Retry-After")
    drop_rate: float = Field(0.0, ge=0, le=1, description="share whose connection is closed unanswered")
    outage_windows: tuple[tuple[float, float], ...] = Field(
        (), description="(start_s, end_s) after server start during which every connection is dropped"
    )
    seed: int | None = None
    retry_after_s: int = Field(1, ge=0)
    error_codes: tuple[int, ...] = (500, 503)

    @model_validator(mode="after")
    def _check(self) -> FaultConfig:
        for start, end in self.outage_windows:
            if start < 0 or end <= start:
                raise ValueError(f"outage window ({start}, {end}) must satisfy 0 <= start < end")
        if self.error_rate + self.throttle_rate + self.drop_rate > 1:
            raise ValueError("error_rate + throttle_rate + drop_rate must not exceed 1")
        for code in self.error_codes:
            if not 500 <= code <= 599:
                raise ValueError(f"error code {code} is not a 5xx code")
        return self


class Fault(Enum):
    NONE = "none"
    ERROR = "error"
    THROTTLE = "throttle"
    DROP = "drop"
    OUTAGE = "outage"


@dataclass(frozen=True)
class Decision:
    fault: Fault
    latency_s: float = 0.0
    code: int = 0


class FaultInjector:
    """Decides, per request, which fault (if any) applies. Thread-safe and seedable."""

    def __init__(
        self, config: FaultConfig, started_at: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.started_at = started_at
        self.monotonic = monotonic  # the lab's clock: outage windows are in the lab's time
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()

    def in_outage(self, now: float | None = None) -> bool:
        elapsed = (self.monotonic() if now is None else now) - self.started_at
        return any(start <= elapsed < end for start, end in self.config.outage_windows)

    def decide(self, path: str) -> Decision:
        cfg = self.config
        if self.in_outage():
            return Decision(Fault.OUTAGE)
        if path in HEALTH_PATHS:
            return Decision(Fault.NONE)
        with self._lock:
            roll = self._rng.random()
            code = self._rng.choice(cfg.error_codes) if cfg.error_codes else 500
        latency = cfg.latency_ms / 1000.0
        if roll < cfg.drop_rate:
            return Decision(Fault.DROP, latency)
        roll -= cfg.drop_rate
        if roll < cfg.error_rate:
            return Decision(Fault.ERROR, latency, code)
        roll -= cfg.error_rate
        if roll < cfg.throttle_rate:
            return Decision(Fault.THROTTLE, latency, 429)
        return Decision(Fault.NONE, latency)
