"""Exec in a container over the API server's WebSocket endpoint, without the client's model layer.

``KubeClient.exec`` (short text answers such as the seed-user count) and ``exec_stream``
(binary and large: a database dump into a file, a file into ``pg_restore``) both open
``GET /api/v1/namespaces/<ns>/pods/<pod>/exec?command=...`` as a WebSocket, authenticated
and verified exactly as the client's other requests (the same ``KubeSettings``: server, CA,
``tls-server-name``, client certificate, bearer token). No ``CoreV1Api`` and no generated model module is
imported for it. The WebSocket is the ``websockets`` package's sans-I/O protocol (handshake
checks, framing, ping/pong and the close handshake) over a socket this module owns, so every
read and write is bounded by the exec's deadline: the package's threaded client could wait
forever for its reader thread after a handshake that timed out over TLS. An HTTP proxy in
the kubeconfig is not supported for exec.

The wire protocol is the API server's remote-command sub-protocol: ``v5.channel.k8s.io``
is asked first, then ``v4.channel.k8s.io``. Every binary message starts with its channel
byte — 0 stdin, 1 stdout, 2 stderr, 3 the error channel (a JSON ``Status`` in v4 and v5:
``Success``, or ``Failure`` with reason ``NonZeroExitCode`` and the code in
``details.causes[reason=ExitCode].message``). v5 adds the close signal ``[255, <channel>]``
(client-go's ``remotecommand.StreamClose``): without it a command that reads stdin to its
end, such as ``pg_restore``, would wait forever, so stdin is only offered on a v5 server.

stdout is written to ``sink`` message by message as it arrives. Errors become the
project's ``Kube*`` errors: an HTTP answer instead of the upgrade (404 pod, 400 container
not running, 401/403) through ``error_for``; a connection that cannot be made or breaks
mid-stream, or no end within ``timeout``, as ``KubeUnreachable``.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlencode, urlsplit

from appliance_cli.adapters.kube_http import error_for, transport_text
from appliance_cli.adapters.kubeapi import resource_path
from appliance_cli.errors import KubeError, KubeUnreachable

if TYPE_CHECKING:
    from appliance_cli.adapters.kubeconfig import KubeSettings

STDIN_CHUNK = 256 * 1024
V5_PROTOCOL = "v5.channel.k8s.io"
V4_PROTOCOL = "v4.channel.k8s.io"
PROTOCOLS = (V5_PROTOCOL, V4_PROTOCOL)

STDIN, STDOUT, STDERR, ERROR = 0, 1, 2, 3
CLOSE_SIGNAL = 255


@dataclass(frozen=True)
class WsTarget:
    """Where and how to open a WebSocket to the API server (from the client's ``KubeSettings``)."""

    base_url: str  # wss://host:port (or ws:// for a plain-HTTP server)
    headers: tuple[tuple[str, str], ...]
    ssl_context: ssl.SSLContext | None
    server_hostname: str | None
    proxy: str | None


def ws_target(settings: KubeSettings) -> WsTarget:
    """The WebSocket side of the client's connection settings: the same server, TLS trust,
    client certificate and ``Authorization`` header as its other requests."""
    parts = urlsplit(settings.server)
    base = ("wss://" if settings.secure else "ws://") + parts.netloc + parts.path
    return WsTarget(
        base_url=base,
        headers=tuple(settings.auth_headers().items()),
        ssl_context=settings.ssl_context(),
        server_hostname=settings.server_hostname if settings.secure else None,
        proxy=settings.proxy_url,
    )


def exec_url(
    target: WsTarget, namespace: str, pod: str, container: str, command: list[str], *, stdin: bool
) -> str:
    query: list[tuple[str, str]] = [("command", c) for c in command]
    query += [
        ("container", container),
        ("stdin", "true" if stdin else "false"),
        ("stdout", "true"),
        ("stderr", "true"),
        ("tty", "false"),
    ]
    path = resource_path("v1/pods", namespace, pod, "exec")
    return f"{target.base_url}{path}?{urlencode(query)}"


def exit_code_of(status: bytes) -> tuple[int | None, str]:
    """``(exit code, message)`` of the error channel's ``Status``; ``(None, text)`` if not one."""
    text = status.decode(errors="replace").strip()
    if not text:
        return None, ""
    try:
        data = json.loads(text)
    except ValueError:
        return None, text
    if not isinstance(data, dict):
        return None, text
    if data.get("status") == "Success":
        return 0, ""
    message = str(data.get("message") or "")
    if data.get("reason") == "NonZeroExitCode":
        for cause in (data.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                try:
                    return int(cause.get("message")), message
                except (TypeError, ValueError):
                    break
    return None, message


class _Wire:
    """One WebSocket over a socket this module owns, on the ``websockets`` sans-I/O protocol.

    Every socket operation is bounded by the exec's deadline (no background thread that a
    stalled TLS read could keep alive): a server that stops answering ends in a timeout.
    """

    def __init__(self, url: str, target: WsTarget, deadline: float, what: str) -> None:
        from websockets.client import ClientProtocol
        from websockets.typing import Subprotocol
        from websockets.uri import parse_uri

        self.what = what
        self.deadline = deadline
        uri = parse_uri(url)
        self.protocol = ClientProtocol(uri, subprotocols=[Subprotocol(p) for p in PROTOCOLS], max_size=None)
        sock = socket.create_connection((uri.host, uri.port), timeout=self._left())
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        try:
            if target.ssl_context is not None:
                sock.settimeout(self._left())
                sock = target.ssl_context.wrap_socket(sock, server_hostname=target.server_hostname)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        request = self.protocol.connect()
        for name, value in target.headers:
            request.headers[name] = value
        request.headers["User-Agent"] = "appliance-cli"
        self.protocol.send_request(request)
        self._flush()

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer in time")
        return left

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.settimeout(self._left())
                self.sock.sendall(data)

    def events(self) -> Iterator[Any]:
        """Handshake response first, then frames, until the connection ends."""
        while True:
            self.sock.settimeout(self._left())
            data = self.sock.recv(65536)
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            events = self.protocol.events_received()
            self._flush()  # pongs, the close handshake's answer
            yield from events
            if not data:
                return

    def send_binary(self, payload: bytes) -> None:
        self.protocol.send_binary(payload)
        self._flush()

    def close(self) -> None:
        try:
            from websockets.protocol import State

            if self.protocol.state is State.OPEN:
                self.protocol.send_close(1000)
                self._flush()
        except (OSError, TimeoutError):
            pass
        finally:
            self.sock.close()


def exec_stream(
    settings: KubeSettings,
    namespace: str,
    pod: str,
    container: str,
    command: list[str],
    *,
    sink: BinaryIO | None = None,
    stdin: BinaryIO | None = None,
    timeout: float = 1800.0,
    on_request: Callable[[], None] | None = None,
) -> tuple[int, str, int | None]:
    """Run ``command``; stdout goes to ``sink``. Returns (stdout bytes, stderr text, exit code).

    The exit code is ``None`` when the server said nothing about it (the stream ended
    without a status, or the status was not an exit code: then its message ends stderr).
    The whole exec, connection and handshake included, is bounded by ``timeout``.
    """
    from websockets.exceptions import InvalidHandshake, InvalidStatus, WebSocketException
    from websockets.frames import Opcode
    from websockets.http11 import Response

    what = f"exec {command[0]} in {namespace}/{pod}"
    target = ws_target(settings)
    url = exec_url(target, namespace, pod, container, command, stdin=stdin is not None)
    if target.proxy:
        raise KubeUnreachable(f"{what}: exec through the proxy {target.proxy} is not supported")
    deadline = time.monotonic() + timeout
    if on_request is not None:
        on_request()
    written = 0
    err = bytearray()
    status = bytearray()
    message = bytearray()
    channel_of_message: int | None = None
    wire: _Wire | None = None
    try:
        wire = _Wire(url, target, deadline, what)
        opened = False
        for event in wire.events():
            if isinstance(event, Response):
                if wire.protocol.handshake_exc is not None:
                    raise wire.protocol.handshake_exc
                opened = True
                if stdin is not None:
                    if wire.protocol.subprotocol != V5_PROTOCOL:
                        raise KubeError(
                            f"{what}: the API server does not offer {V5_PROTOCOL}, needed to end stdin"
                        )
                    while chunk := stdin.read(STDIN_CHUNK):
                        wire.send_binary(bytes([STDIN]) + chunk)
                    wire.send_binary(bytes([CLOSE_SIGNAL, STDIN]))
                continue
            if event.opcode in (Opcode.BINARY, Opcode.TEXT):
                message = bytearray(event.data)
            elif event.opcode == Opcode.CONT:
                message += event.data
            else:
                continue  # ping/pong/close: the protocol answers them
            if not event.fin or not message:
                continue
            channel_of_message, payload = message[0], bytes(message[1:])
            if channel_of_message == STDOUT:
                if sink is not None:
                    sink.write(payload)
                written += len(payload)
            elif channel_of_message == STDERR:
                err += payload
            elif channel_of_message == ERROR:
                status += payload
        if not opened:
            exc = wire.protocol.handshake_exc
            if exc is not None:
                raise exc
            raise KubeUnreachable(f"{what}: the connection closed before the upgrade")
    except InvalidStatus as exc:  # an HTTP answer instead of the upgrade
        resp = exc.response
        raise error_for(
            int(resp.status_code), str(resp.reason_phrase or ""), bytes(resp.body or b""), what
        ) from exc
    except KubeError:
        raise
    except TimeoutError as exc:
        raise KubeUnreachable(f"{what}: no answer within {timeout:g}s") from exc
    except (OSError, InvalidHandshake, WebSocketException) as exc:  # no connection, or a broken one
        raise KubeUnreachable(f"{what}: {transport_text(exc)}") from exc
    finally:
        if wire is not None:
            wire.close()
    code, text_status = exit_code_of(bytes(status))
    text = err.decode(errors="replace")
    if code is None and text_status and text_status not in text:
        text = f"{text}{text_status}\n" if text.endswith("\n") or not text else f"{text}\n{text_status}\n"
    return written, text, code
