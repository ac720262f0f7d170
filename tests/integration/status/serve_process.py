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


@dataclass
class ServeStatus:
    proc: subprocess.Popen[str]
    port: int
    http_port: int
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str] = field(default_factory=queue.Queue)

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
        return self.proc.wait(timeout=30)


@contextlib.contextmanager
def serve_status(*args: str) -> Iterator[ServeStatus]:
    """Run ``appliance serve-status --port P --http-port Q <args>`` until the context ends;
    stdout and stderr are merged into ``output``."""
    port, http_port = free_port(), free_port()
    argv = [sys.executable, "-m", "appliance_cli", "serve-status", "--port", str(port)]
    proc = subprocess.Popen(
        [*argv, "--http-port", str(http_port), *args],
        env={**os.environ, "COLUMNS": "400"},
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

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        reader.join(5)
