"""The status service's HTTP connection handling (uvicorn's h11 protocol, bounded).

* ``TCP_NODELAY`` on every accepted connection: without it a kept-alive client waits for
  its own delayed ACK (~40 ms) before each response reaches it. (asyncio sets it only when
  the listening socket was created with ``IPPROTO_TCP``; the server does that too, this is
  the guarantee.)
* A request's line and headers must arrive within ``header_timeout`` seconds of the
  connection opening (or of the previous response on a kept-alive connection); otherwise the
  connection is closed. Idle or trickling half-open connections cannot pile up.
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

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

DEFAULT_HEADER_TIMEOUT = 10.0  # StatusServer passes its own


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


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with ``TCP_NODELAY`` and a deadline for request headers."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = CoalescingTransport(transport, self.loop)
        super().connection_made(coalescing)  # type: ignore[arg-type]
        set_nodelay(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the request line and headers are in
            self._disarm_header_deadline()

    def on_response_complete(self) -> None:
        if self.conn.their_state is h11.SEND_BODY:
            # answered before the request body was read (refused, or a route that takes no
            # body): the rest of it is not waited for, however slowly it arrives
            self.transport.close()
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_deadline()  # the next request on this connection gets the same bound

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_timed_out(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.transport.close()


def protocol_class(header_timeout: float) -> type[BoundedH11Protocol]:
    """A protocol class bound to one server's header timeout (uvicorn instantiates it)."""
    attrs: dict[str, Any] = {"header_timeout": header_timeout}
    return type("StatusHTTPProtocol", (BoundedH11Protocol,), attrs)
