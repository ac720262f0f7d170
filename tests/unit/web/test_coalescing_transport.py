"""What one event-loop step writes to a connection is one send; close sends it first, abort drops it."""

from __future__ import annotations

import asyncio
import socket

import httpx

from appliance_cli.web.protocol import CoalescingTransport
from tests import aio
from tests.unit.web.conftest import TOKEN, start, wait_for


class Recording(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0


def test_writes_of_one_step_are_one_send_and_close_flushes_first() -> None:
    async def scenario() -> tuple[list[bytes], list[bytes], bool]:
        loop = asyncio.get_running_loop()
        raw = Recording()
        t = CoalescingTransport(raw, loop)
        t.write(b"HTTP/1.1 200 OK\r\n\r\n")
        t.write(b"")
        t.write(b"body")
        assert raw.sent == [] and t.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\nbody")
        await asyncio.sleep(0)  # the end of this step
        first = list(raw.sent)
        t.write(b"last")
        t.close()  # what is pending goes out before the close
        return first, raw.sent, raw.closed

    first, sent, closed = aio.run(scenario())
    assert first == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    assert sent == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"last"] and closed


def test_abort_drops_what_is_pending() -> None:
    async def scenario() -> list[bytes]:
        raw = Recording()
        t = CoalescingTransport(raw, asyncio.get_running_loop())
        t.write(b"never sent")
        t.abort()
        await asyncio.sleep(0)
        return raw.sent

    assert aio.run(scenario()) == []


def test_a_whole_answer_arrives_over_a_real_connection() -> None:
    srv = start()
    try:
        wait_for(lambda: srv.state.view().current is not None)
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(
                b"GET /api/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + TOKEN.encode()
                + b"\r\n\r\n"
            )
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    v
                    for k, _, v in (h.partition(b": ") for h in head.split(b"\r\n"))
                    if k.lower() == b"content-length"
                )
            )
            while len(body) < length:
                body += s.recv(65536)
            assert head.startswith(b"HTTP/1.1 200") and len(body) == length
        assert httpx.get(f"{srv.url}/healthz", timeout=5).text == "ok"
    finally:
        srv.stop()
