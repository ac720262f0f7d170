"""The three renderings of bootstrap progress (plus ``progress.NullReporter``).

- ``RichReporter``: a live view on a TTY — the phase list with markers ✓ ▸ ✗ ⚠, the current
  step, elapsed time per phase, what a wait waits for and what it last saw, the active image
  pull and its elapsed time.
- ``PlainReporter``: one line per event, ``[phase N/5] <Phase>: <step>``.
- ``JsonReporter``: one JSON object per line: ``{phase, step, state, timestamp, details}``.

This is the only bootstrap module that imports ``rich``; phases report through the context.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from appliance_cli import console
from appliance_cli.progress import NullReporter, ProgressEvent, Reporter

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

LAST_PHASE = 5
MARKERS = {"done": "✓", "running": "▸", "failed": "✗", "warning": "⚠", "skipped": "✓", "pending": "·"}


def _prefix(event: ProgressEvent, label: str = "phase", total: int = LAST_PHASE) -> str:
    if event.phase is None:
        return "[bootstrap]" if label == "phase" else f"[{label}]"
    return f"[{label} {event.phase}/{total}] {event.phase_title or ''}:"


def _is_phase_event(event: ProgressEvent) -> bool:
    return bool(event.details.get("scope") == "phase")


def plain_line(event: ProgressEvent, label: str = "phase", total: int = LAST_PHASE) -> str:
    """The plain rendering of one event (``label``/``total``: "[phase 3/5]", "[reset 2/6]")."""
    prefix = _prefix(event, label, total)
    d = event.details
    if _is_phase_event(event):
        words = {
            "start": "started",
            "done": f"done in {d.get('seconds', 0):.1f}s",
            "skipped": f"already done, verified ({d.get('reason', 'nothing to do')})",
            "failed": "failed",
            "info": str(d.get("note", "")),
        }
        return f"{prefix} {words.get(event.state, event.state)}".rstrip()
    if event.state == "waiting":
        extra = f"{d.get('elapsedSeconds', 0):.0f}s/{d.get('boundSeconds', 0):.0f}s"
        pull = d.get("activePull")
        if pull:
            extra += f", pulling {pull.get('image')} for {pull.get('elapsedSeconds') or 0}s"
        return f"{prefix} waiting for {event.step} (last saw: {d.get('lastSaw', '-')}; {extra})"
    marker = {"warning": "⚠ ", "failed": "✗ ", "done": "✓ "}.get(event.state, "")
    return f"{prefix} {marker}{event.step}"


class PlainReporter:
    """Plain lines; a wait prints a line only when what it saw changes (or every 30 s)."""

    def __init__(
        self, heartbeat_seconds: float = 30.0, *, label: str = "phase", total: int = LAST_PHASE
    ) -> None:
        self._last_wait: dict[str, tuple[str, float]] = {}
        self._heartbeat = heartbeat_seconds
        self._label, self._total = label, total

    def emit(self, event: ProgressEvent) -> None:
        if event.state == "waiting":
            seen = str(event.details.get("lastSaw"))
            prev = self._last_wait.get(event.step)
            now = time.monotonic()
            if prev and prev[0] == seen and now - prev[1] < self._heartbeat:
                return
            self._last_wait[event.step] = (seen, now)
        console.display_text(plain_line(event, self._label, self._total))

    def close(self) -> None:
        return None


def json_line(event: ProgressEvent) -> str:
    return json.dumps(
        {
            "phase": event.phase,
            "phaseTitle": event.phase_title,
            "step": event.step,
            "state": event.state,
            "timestamp": event.timestamp,
            "details": event.details,
        },
        sort_keys=False,
        default=str,
    )


class JsonReporter:
    def emit(self, event: ProgressEvent) -> None:
        console.display_text(json_line(event))

    def close(self) -> None:
        return None


@dataclass
class _PhaseRow:
    number: int
    title: str
    state: str = "pending"
    step: str = ""
    started: float | None = None
    seconds: float | None = None
    warnings: int = 0


@dataclass
class LiveState:
    """What the live view shows; kept separate from Rich so it is testable."""

    phases: dict[int, _PhaseRow] = field(default_factory=dict)
    waiting_for: str | None = None
    last_saw: str | None = None
    wait_elapsed: float | None = None
    wait_bound: float | None = None
    pull: dict[str, Any] | None = None
    messages: list[str] = field(default_factory=list)
    label: str = "phase"
    total: int = LAST_PHASE

    def update(self, event: ProgressEvent) -> None:
        if event.phase is None:
            if event.state in ("warning", "failed", "info"):
                self.messages.append(plain_line(event, self.label, self.total))
            return
        row = self.phases.setdefault(event.phase, _PhaseRow(event.phase, event.phase_title or ""))
        if _is_phase_event(event):
            if event.state == "start":
                row.state, row.started = "running", time.monotonic()
            elif event.state in ("done", "skipped", "failed"):
                row.state = "warning" if event.state == "done" and row.warnings else event.state
                row.seconds = event.details.get("seconds")
                self.waiting_for = self.last_saw = None
                self.pull = None
            return
        row.step = event.step
        if event.state == "warning":
            row.warnings += 1
            self.messages.append(plain_line(event, self.label, self.total))
        if event.state == "waiting":
            self.waiting_for = event.step
            self.last_saw = str(event.details.get("lastSaw", ""))
            self.wait_elapsed = event.details.get("elapsedSeconds")
            self.wait_bound = event.details.get("boundSeconds")
            self.pull = event.details.get("activePull")
        elif event.state in ("done", "failed") and event.step == self.waiting_for:
            self.waiting_for = None
            self.pull = None

    def lines(self) -> list[str]:
        out: list[str] = []
        for n in sorted(self.phases):
            row = self.phases[n]
            elapsed = row.seconds
            if elapsed is None and row.started is not None:
                elapsed = time.monotonic() - row.started
            tail = f" — {row.step}" if row.state == "running" and row.step else ""
            t = f" ({elapsed:.0f}s)" if elapsed is not None else ""
            out.append(f"{MARKERS.get(row.state, '·')} {self.label} {n}/{self.total} {row.title}{t}{tail}")
        if self.waiting_for:
            elapsed, bound = self.wait_elapsed or 0, self.wait_bound or 0
            out.append(f"  waiting for {self.waiting_for} ({elapsed:.0f}s of {bound:.0f}s)")
            out.append(f"  last saw: {self.last_saw}")
        if self.pull:
            out.append(
                f"  pulling {self.pull.get('image')} for {self.pull.get('elapsedSeconds') or 0}s"
                + (f" ({self.pull['estimatedSize']})" if self.pull.get("estimatedSize") else "")
            )
        return out


class RichReporter:
    """A Rich live view on stderr; warnings and failures are also printed above it."""

    def __init__(self, *, label: str = "phase", total: int = LAST_PHASE) -> None:
        from rich.live import Live

        self.state = LiveState(label=label, total=total)
        self._lock = threading.Lock()
        self._printed = 0
        # get_renderable: every refresh recomputes the view, so elapsed times tick between events
        self._live: Live = Live(
            console=console.err(), refresh_per_second=4, transient=False, get_renderable=self._render
        )
        self._live.start()

    def _render(self) -> RenderableType:
        from rich.text import Text

        with self._lock:
            lines = self.state.lines()
        text = Text()
        for line in lines:
            style = "green" if line.startswith("✓") else "red" if line.startswith("✗") else ""
            style = "yellow" if line.startswith("⚠") else style
            text.append(line + "\n", style=style or None)
        return text

    def emit(self, event: ProgressEvent) -> None:
        # State changes under our lock; Rich's own lock is taken only outside it (no inversion
        # with the refresh thread, which takes Rich's lock and then ours in ``_render``).
        with self._lock:
            self.state.update(event)
            new = self.state.messages[self._printed :]
            self._printed = len(self.state.messages)
        for msg in new:
            self._live.console.print(msg, markup=False, highlight=False)
        self._live.refresh()

    def close(self) -> None:
        self._live.refresh()
        self._live.stop()


def make_reporter(mode: str | None, *, label: str = "phase", total: int = LAST_PHASE) -> Reporter:
    """``rich`` on a TTY unless told otherwise; ``plain`` otherwise; ``json``; ``null``.

    ``label``/``total`` name the numbered units: bootstrap's phases, reset's steps."""
    if mode == "null":
        return NullReporter()
    if mode == "json":
        return JsonReporter()
    if mode == "plain" or (mode is None and not console.is_tty()):
        return PlainReporter(label=label, total=total)
    return RichReporter(label=label, total=total)
