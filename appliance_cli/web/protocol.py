"""The status service's HTTP connection handling (uvicorn's httptools protocol, bounded).

httptools is llhttp, Node's C parser: per request it costs the server about half of what
uvicorn's pure-Python h11 protocol does, which doubles the requests a core answers (the
status page's polls, many clients at once).

* ``TCP_NODELAY`` on every accepted connection: without it a kept-alive client waits for
  its own delayed ACK (~40 ms) before each response reaches it. (asyncio sets it only when
  the listening socket was created with ``IPPROTO_TCP``; the server does that too, this is
  the guarantee.)
* A request's line and headers must arrive within ``header_timeout`` seconds of the
  connection opening (or of the previous response on a kept-alive connection); otherwise the
  connection is closed. Idle or trickling half-open connections cannot pile up.
* A request's line and headers are at most ``MAX_HEAD_BYTES`` (431 and the connection closed
  beyond), as h11 bounded them: llhttp itself sets no limit.
* A response sent before its request's body was read (a refused login body, a body sent to
  a route that takes none) ends the connection: an endless body holds nothing.
* What one step of the event loop writes goes out in one send (``CoalescingTransport``): the
  status line and headers, the body and the end of a response are written by three calls,
  which would otherwise be up to three packets, each a wake-up of the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_TIMEOUT = 10.0  # StatusServer passes its own
# the bound on a request's line and headers (h11's default in uvicorn: 16 KiB)
MAX_HEAD_BYTES = 16 * 1024


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    sock: socket.socket | None = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class CoalescingTransport:
    """A transport whose writes of one event-loop step are joined and sent at the end of it
    (``loop.call_soon``); everything else is the wrapped transport's. Closing sends what is
    pending first; aborting drops it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        if self._pending:
            data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(d) for d in self._pending)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with ``TCP_NODELAY``, coalesced writes, a deadline and a
    size bound for request heads, and no waiting for a body nobody reads."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    _header_deadline: asyncio.TimerHandle | None = None  # the connection's one head timer
    _head_deadline_at: float | None = None  # when the head being waited for is late (loop time)
    # bytes of the current request's line and headers so far; None once they are complete
    _head_bytes: int | None = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = CoalescingTransport(transport, self.loop)
        super().connection_made(coalescing)  # type: ignore[arg-type]
        set_nodelay(transport)
        self._head_bytes = 0
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Counted after parsing: what arrives with the end of a head is body (or the next
        # request), not head. While a head is incomplete, everything received belongs to it.
        if self._head_bytes is not None and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()  # llhttp would take any amount; no request of ours is this long

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_bytes is None:
            self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._head_bytes = None
        self._disarm_header_deadline()  # the request line and headers are in
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        cycle = self.cycle
        if cycle is not None and cycle.more_body and not self.transport.is_closing():
            # answered before the request body was read (refused, or a route that takes no
            # body): the rest of it is not waited for, however slowly it arrives
            self.transport.close()
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self._head_bytes = 0
            self._arm_header_deadline()  # the next request on this connection gets the same bound

    def _refuse_head(self) -> None:
        self._disarm_header_deadline()
        body = b"request line and headers too long"
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()

    # The head deadline is a time, not a timer per request: arming and disarming set it, and
    # one timer per connection fires at most once per timeout, closing the connection when
    # the deadline it finds has passed and otherwise waiting again until it would. (A
    # cancelled and re-made timer per request costs a kept-alive connection's every request.)
    def _arm_header_deadline(self) -> None:
        self._head_deadline_at = self.loop.time() + self.header_timeout
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_at(self._head_deadline_at, self._header_timer)

    def _disarm_header_deadline(self) -> None:
        self._head_deadline_at = None

    def _header_timer(self) -> None:
        self._header_deadline = None
        at = self._head_deadline_at
        if at is None or self.transport.is_closing():
            return
        if self.loop.time() < at:
            self._header_deadline = self.loop.call_at(at, self._header_timer)
        elif self._head_bytes is not None:
            self.transport.close()


def protocol_class(header_timeout: float) -> type[BoundedHttpProtocol]:
    """A protocol class bound to one server's header timeout (uvicorn instantiates it)."""
    attrs: dict[str, Any] = {"header_timeout": header_timeout}
    return type("StatusHTTPProtocol", (BoundedHttpProtocol,), attrs)
