"""The three renderings of bootstrap progress (plus ``progress.NullReporter``).

- ``RichReporter``: a live view on a TTY. Milestones (each phase's end with its marker
  ✓ ✗ ⚠ and time, the status URL and token, the login URL, every warning and failure) are
  printed once above the live region and stay in the scrollback; the live region shows only
  the current phase, its step, what a wait waits for, what it last saw and the active image
  pull.
- ``PlainReporter``: one line per event, ``[phase N/5] <Phase>: <step>``; a milestone
  announcement is its own line.
- ``JsonReporter``: one JSON object per line: ``{phase, step, state, timestamp, details}``;
  an announcement is one ``milestone`` event.

This is the only bootstrap module that imports ``rich``; phases report through the context.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    if event.state == "milestone":  # an announcement stands alone: URL, token, login line
        return event.step
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
            extra += f", {pull_line(pull)}"
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
        """Print the event's line; a repeated wait is held back (see the class docstring)."""
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


def milestone_line(event: ProgressEvent, row: _PhaseRow | None, label: str, total: int) -> str | None:
    """The line an event leaves in the scrollback of the live view, or None (live region only).

    Milestones: an announcement (status URL and token, login URL, Flux source), the end of a
    phase, every warning, every failure (with the blocker that ended a wait)."""
    d = event.details
    if event.state == "milestone":
        return event.step
    if _is_phase_event(event) and row is not None:
        head = f"{label} {row.number}/{total} {row.title}"
        seconds = d.get("seconds")
        took = f" ({seconds:.0f}s)" if isinstance(seconds, int | float) and event.state == "done" else ""
        if event.state == "done":
            marker = MARKERS["warning"] if row.warnings else MARKERS["done"]
            plural = "s" if row.warnings != 1 else ""
            note = f" — {row.warnings} warning{plural}" if row.warnings else ""
            return f"{marker} {head}{took}{note}"
        if event.state == "skipped":
            return f"{MARKERS['skipped']} {head} — already done, verified"
        if event.state == "failed":
            return f"{MARKERS['failed']} {head} — {d.get('reason', 'failed')}"
        return None
    if event.state == "warning":
        return f"{MARKERS['warning']} {event.step}"
    if event.state == "failed":
        blocker = f" — blocked by {d['blocker']}" if d.get("blocker") else ""
        return f"{MARKERS['failed']} {event.step}{blocker}"
    if event.state == "info" and event.phase is None:
        return event.step
    return None


@dataclass
class LiveState:
    """What the live view shows; kept separate from Rich so it is testable.

    Two parts: ``milestones`` (lines printed once above the live region, where they stay in
    the scrollback) and ``lines()`` (the live region: the current phase, its step, what is
    awaited, what was last seen and the active image pull)."""

    phases: dict[int, _PhaseRow] = field(default_factory=dict)
    current: int | None = None
    waiting_for: str | None = None
    last_saw: str | None = None
    wait_elapsed: float | None = None
    wait_bound: float | None = None
    pull: dict[str, Any] | None = None
    milestones: list[str] = field(default_factory=list)
    label: str = "phase"
    total: int = LAST_PHASE

    def _clear_wait(self) -> None:
        self.waiting_for = self.last_saw = None
        self.wait_elapsed = self.wait_bound = None
        self.pull = None

    def update(self, event: ProgressEvent) -> None:
        row = None
        if event.phase is not None:
            row = self.phases.setdefault(event.phase, _PhaseRow(event.phase, event.phase_title or ""))
        if row is not None and event.state == "warning" and not _is_phase_event(event):
            row.warnings += 1
        line = milestone_line(event, row, self.label, self.total)
        if line is not None:
            self.milestones.append(line)
        if row is None:
            return
        if _is_phase_event(event):
            if event.state == "start":
                row.state, row.started, row.step = "running", time.monotonic(), ""
                self.current = row.number
            elif event.state in ("done", "skipped", "failed"):
                row.state = "warning" if event.state == "done" and row.warnings else event.state
                row.seconds = event.details.get("seconds")
                if self.current == row.number:
                    self.current = None
            self._clear_wait()
            return
        if event.state != "warning":
            row.step = event.step
        if event.state == "waiting":
            self.waiting_for = event.step
            self.last_saw = str(event.details.get("lastSaw", ""))
            self.wait_elapsed = event.details.get("elapsedSeconds")
            self.wait_bound = event.details.get("boundSeconds")
            self.pull = event.details.get("activePull")
        elif event.state in ("done", "failed") and event.step == self.waiting_for:
            self._clear_wait()

    def lines(self) -> list[str]:
        """The live region (never a finished phase: those are milestones)."""
        if self.current is None:
            return []
        row = self.phases[self.current]
        elapsed = time.monotonic() - row.started if row.started is not None else None
        t = f" ({elapsed:.0f}s)" if elapsed is not None else ""
        tail = f" — {row.step}" if row.step and row.step != row.title else ""
        out = [f"{MARKERS['running']} {self.label} {row.number}/{self.total} {row.title}{t}{tail}"]
        if self.waiting_for:
            waited, bound = self.wait_elapsed or 0, self.wait_bound or 0
            out.append(f"  waiting for {self.waiting_for} ({waited:.0f}s of {bound:.0f}s)")
            out.append(f"  last saw: {self.last_saw}")
        if self.pull:
            out.append(f"  {pull_line(self.pull)}")
        return out


def pull_line(pull: dict[str, Any]) -> str:
    """``pulling IMAGE for 41s (~1.8 GB, about 2m left)`` from a wait's ``activePull``."""
    if pull.get("blockedBy"):
        return f"pulling {pull.get('image')}: blocked by {pull['blockedBy']} (not progressing)"
    facts = [str(pull["estimatedSize"])] if pull.get("estimatedSize") else []
    left, total = pull.get("estimatedSecondsLeft"), pull.get("estimatedTotalSeconds")
    if isinstance(left, int | float) and left > 0:
        facts.append(f"about {_duration(left)} left")
    elif isinstance(total, int | float):
        facts.append(f"longer than the {_duration(total)} estimate")
    extra = f" ({', '.join(facts)})" if facts else ""
    return f"pulling {pull.get('image')} for {pull.get('elapsedSeconds') or 0}s{extra}"


def _duration(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


_STYLES = {"✓": "green", "✗": "red", "⚠": "yellow"}


class RichReporter:
    """A Rich live view on stderr: milestones are printed once above the live region (they
    stay in the scrollback); the live region shows only the phase under way. The region is
    transient: when the run ends it is erased, so no line is left twice on screen."""

    def __init__(self, *, label: str = "phase", total: int = LAST_PHASE) -> None:
        from rich.live import Live

        self.state = LiveState(label=label, total=total)
        self._lock = threading.Lock()
        self._printed = 0
        # get_renderable: every refresh recomputes the view, so elapsed times tick between events
        self._live: Live = Live(
            console=console.err(), refresh_per_second=4, transient=True, get_renderable=self._render
        )
        self._live.start()

    def _render(self) -> RenderableType:
        from rich.text import Text

        with self._lock:
            lines = self.state.lines()
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        for i, line in enumerate(lines):
            text.append(("\n" if i else "") + line, style="bold" if i == 0 else "dim")
        return text

    def emit(self, event: ProgressEvent) -> None:
        from rich.text import Text

        # State changes under our lock; Rich's own lock is taken only outside it (no inversion
        # with the refresh thread, which takes Rich's lock and then ours in ``_render``).
        with self._lock:
            self.state.update(event)
            new = self.state.milestones[self._printed :]
            self._printed = len(self.state.milestones)
        for msg in new:
            self._live.console.print(Text(msg, style=_STYLES.get(msg[:1]) or ""), highlight=False)
        self._live.refresh()

    def close(self) -> None:
        self._live.stop()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The live region off (for a question on the terminal), then back."""
        self._live.stop()
        try:
            yield
        finally:
            self._live.start()


@contextmanager
def paused(reporter: Reporter) -> Iterator[None]:
    """A reporter that draws a live view stops drawing while the block runs (a prompt)."""
    if isinstance(reporter, RichReporter):
        with reporter.paused():
            yield
    else:
        yield


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
