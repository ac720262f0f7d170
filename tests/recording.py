"""Recording stand-ins at the protocol edges (test-only): a reporter that keeps every progress
event, a process runner that records every argv and answers from canned responses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from appliance_cli.adapters.process import DEFAULT_TIMEOUT, Completed
from appliance_cli.errors import CommandError
from appliance_cli.progress import ProgressEvent


class RecordingReporter:
    """Keeps every event in memory (tests)."""

    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def emit(self, event: ProgressEvent) -> None:
        self.events.append(event)

    def close(self) -> None:
        return None


@dataclass
class RecordingRunner:
    """Records every argv; answers from ``responses`` (first matching prefix) or succeeds empty."""

    responses: list[tuple[tuple[str, ...], Completed]] = field(default_factory=list)
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def respond(self, prefix: Sequence[str], stdout: str = "", returncode: int = 0, stderr: str = "") -> None:
        self.responses.append((tuple(prefix), Completed(tuple(prefix), returncode, stdout, stderr)))

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        secrets: Sequence[str] = (),
    ) -> Completed:
        call = tuple(argv)
        self.calls.append(call)
        for prefix, answer in self.responses:
            if call[: len(prefix)] == prefix:
                result = Completed(call, answer.returncode, answer.stdout, answer.stderr)
                if check and result.returncode != 0:
                    raise CommandError(
                        f"{' '.join(call)} failed (exit {result.returncode})",
                        argv=call,
                        returncode=result.returncode,
                        stdout=result.stdout,
                        stderr=result.stderr,
                    )
                return result
        return Completed(call, 0, "", "")
