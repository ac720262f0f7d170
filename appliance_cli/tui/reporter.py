"""A progress reporter whose lines go to a callback (the console's log widget).

The lines are the plain rendering of the same progress events the rich and plain views
show (``bootstrap.reporters.plain_line``); a wait writes a line only when what it saw changes.
"""

from __future__ import annotations

from collections.abc import Callable

from appliance_cli.bootstrap.reporters import LAST_PHASE, plain_line
from appliance_cli.progress import ProgressEvent


class LineReporter:
    def __init__(
        self, write: Callable[[str], None], *, label: str = "phase", total: int = LAST_PHASE
    ) -> None:
        self._write = write
        self._label, self._total = label, total
        self._last_wait: dict[str, str] = {}
        self.events: list[ProgressEvent] = []

    def emit(self, event: ProgressEvent) -> None:
        self.events.append(event)
        if event.state == "waiting":
            seen = str(event.details.get("lastSaw"))
            if self._last_wait.get(event.step) == seen:
                return
            self._last_wait[event.step] = seen
        self._write(plain_line(event, self._label, self._total))

    def close(self) -> None:
        return None
