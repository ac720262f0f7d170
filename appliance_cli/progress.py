"""The one progress interface that bootstrap phases, waits and reset report through.

Phases never print. Renderings (Rich live view, plain lines, JSON lines, null) implement
``Reporter``; the CLI picks one from ``--progress`` and TTY detection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

# "milestone": a line meant for the operator (status URL and token, login URL) that every
# rendering shows exactly once: above the live view, as its own plain line, as one JSON event.
EventState = Literal[
    "start", "progress", "done", "skipped", "warning", "failed", "info", "waiting", "milestone"
]


@dataclass(frozen=True)
class ProgressEvent:
    phase: int | None
    phase_title: str | None
    step: str
    state: EventState
    details: dict[str, Any] = field(default_factory=dict)
    timestamp: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


class Reporter(Protocol):
    def emit(self, event: ProgressEvent) -> None: ...

    def close(self) -> None: ...


def milestone(line: str) -> ProgressEvent:
    """An announcement as an event (the announcer of a command with progress output)."""
    return ProgressEvent(None, None, line, "milestone")


class NullReporter:
    """Discards everything (library use, tests)."""

    def emit(self, event: ProgressEvent) -> None:
        return None

    def close(self) -> None:
        return None
