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


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with ``TCP_NODELAY`` and a deadline for request headers."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
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
