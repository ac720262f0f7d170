"""``appliance serve-status`` as a real child process, for tests that need its real listeners."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _two_free_ports() -> tuple[int, int]:
    """Two distinct free ports (both held while the second is picked)."""
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        return int(a.getsockname()[1]), int(b.getsockname()[1])


LISTENING = "Status service on "
ATTEMPTS = 3  # a free port can be taken by another process before the child binds it


@dataclass
class ServeStatus:
    proc: subprocess.Popen[str]
    port: int
    http_port: int
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str] = field(default_factory=queue.Queue)
    _reader: threading.Thread | None = None

    @property
    def output(self) -> str:
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return "".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert time.monotonic() < deadline and self.proc.poll() is None, self.output
            with contextlib.suppress(queue.Empty):
                self.lines.append(self._queue.get(timeout=0.2))

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            dump = stacks(self.proc)
            raise AssertionError(f"still running 30 s after Ctrl-C:\n{dump}{self.output}") from None


def stacks(proc: subprocess.Popen[str]) -> str:
    """Make a child that ignores Ctrl-C show where every thread is (PYTHONFAULTHANDLER: SIGABRT
    dumps the tracebacks to its stderr), then wait for it to end."""
    masks = f"child {signal_masks(proc.pid)}; test process {signal_masks(os.getpid())}"
    masks += f", SIGINT handler here {signal.getsignal(signal.SIGINT)!r}"
    proc.send_signal(signal.SIGABRT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    return f"(exit {proc.returncode}; {masks}; thread stacks follow in its output)\n"


def signal_masks(pid: int) -> str:
    """Each thread's blocked, ignored and caught signal sets, from /proc (Linux)."""
    rows = []
    with contextlib.suppress(OSError):
        for tid in sorted(os.listdir(f"/proc/{pid}/task")):
            with open(f"/proc/{pid}/task/{tid}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            rows.append(
                f"{fields.get('Name', '?').strip()}[{tid}] "
                + " ".join(f"{k}={fields.get(k, '?').strip()}" for k in ("SigBlk", "SigIgn", "SigCgt"))
            )
    return "signals: " + "; ".join(rows)


def _start(args: tuple[str, ...]) -> ServeStatus:
    port, http_port = _two_free_ports()
    argv = [sys.executable, "-m", "appliance_cli", "serve-status", "--port", str(port)]
    proc = subprocess.Popen(
        [*argv, "--http-port", str(http_port), *args],
        env={**os.environ, "COLUMNS": "400", "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = ServeStatus(proc, port, http_port)
    assert proc.stdout is not None
    stdout = proc.stdout

    def read() -> None:
        for line in stdout:
            running._queue.put(line)

    running._reader = threading.Thread(target=read, daemon=True)
    running._reader.start()
    return running


def _lost_its_port(running: ServeStatus, timeout: float = 30.0) -> bool:
    """Wait until the child listens or exits; True when it exited because a port was taken."""
    deadline = time.monotonic() + timeout
    while LISTENING not in running.output and running.proc.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            running.lines.append(running._queue.get(timeout=0.1))
    if running.proc.poll() is None:
        return False
    if running._reader is not None:
        running._reader.join(5)
    return "cannot listen" in running.output and "in use" in running.output


def _stop(running: ServeStatus) -> None:
    """Ctrl-C the child; one still running 10 s later (it stops within a second) fails the
    test with every thread's stack and its signal dispositions."""
    proc = running.proc
    hung = ""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            hung = stacks(proc)
    if running._reader is not None:
        running._reader.join(5)
    if hung:
        raise AssertionError(f"serve-status still running 10 s after Ctrl-C:\n{hung}{running.output}")


@contextlib.contextmanager
def serve_status(*args: str) -> Iterator[ServeStatus]:
    """Run ``appliance serve-status --port P --http-port Q <args>`` until the context ends;
    stdout and stderr are merged into ``output``. Returns once the child listens or has
    exited; started again on new ports when one was taken before it could bind it."""
    running = _start(args)
    for _ in range(ATTEMPTS - 1):
        if not _lost_its_port(running):
            break
        running = _start(args)
    try:
        yield running
    except BaseException:
        with contextlib.suppress(AssertionError):  # the test's own failure is the one to show
            _stop(running)
        raise
    _stop(running)
