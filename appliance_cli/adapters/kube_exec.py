"""Exec in a container over the API server's WebSocket endpoint, without the client's model layer.

``KubeClient.exec`` (short text answers such as the seed-user count) and ``exec_stream``
(binary and large: a database dump into a file, a file into ``pg_restore``) both open
``GET /api/v1/namespaces/<ns>/pods/<pod>/exec?command=...`` as a WebSocket with the
``websockets`` package, authenticated and verified exactly as the client's other requests
(the same kubeconfig: server, CA, client certificate, bearer token). No ``CoreV1Api`` and no
generated model module is imported for it.

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
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlencode, urlsplit

from appliance_cli.adapters.kube import _transport_text, error_for, resource_path
from appliance_cli.errors import KubeError, KubeUnreachable

if TYPE_CHECKING:
    from appliance_cli.adapters.kube import KubeClient

STDIN_CHUNK = 256 * 1024
V5_PROTOCOL = "v5.channel.k8s.io"
V4_PROTOCOL = "v4.channel.k8s.io"
PROTOCOLS = (V5_PROTOCOL, V4_PROTOCOL)

STDIN, STDOUT, STDERR, ERROR = 0, 1, 2, 3
CLOSE_SIGNAL = 255


@dataclass(frozen=True)
class WsTarget:
    """Where and how to open a WebSocket to the API server (from the client's configuration)."""

    base_url: str  # wss://host:port (or ws:// for a plain-HTTP server)
    headers: tuple[tuple[str, str], ...]
    ssl_context: ssl.SSLContext | None
    server_hostname: str | None
    proxy: str | None


def ws_target(configuration: Any) -> WsTarget:
    """The WebSocket side of a ``kubernetes.client.Configuration`` (read, never changed)."""
    host = str(configuration.host).rstrip("/")
    parts = urlsplit(host)
    secure = parts.scheme == "https"
    base = ("wss://" if secure else "ws://") + parts.netloc + parts.path
    headers: list[tuple[str, str]] = []
    # auth_settings() runs the configuration's token refresh hook (exec plugins) when set
    for setting in (configuration.auth_settings() or {}).values():
        if setting.get("in") == "header" and setting.get("value"):
            headers.append((str(setting["key"]), str(setting["value"])))
    context: ssl.SSLContext | None = None
    server_hostname: str | None = None
    if secure:
        if configuration.verify_ssl:
            context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
            if configuration.assert_hostname is False:
                context.check_hostname = False
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if configuration.cert_file:
            context.load_cert_chain(configuration.cert_file, configuration.key_file or None)
        server_hostname = getattr(configuration, "tls_server_name", None) or parts.hostname
    return WsTarget(
        base_url=base,
        headers=tuple(headers),
        ssl_context=context,
        server_hostname=server_hostname,
        proxy=getattr(configuration, "proxy", None) or None,
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


def exec_stream(
    kube: KubeClient,
    namespace: str,
    pod: str,
    container: str,
    command: list[str],
    *,
    sink: BinaryIO | None = None,
    stdin: BinaryIO | None = None,
    timeout: float = 1800.0,
) -> tuple[int, str, int | None]:
    """Run ``command``; stdout goes to ``sink``. Returns (stdout bytes, stderr text, exit code).

    The exit code is ``None`` when the server said nothing about it (the stream ended
    without a status, or the status was not an exit code: then its message ends stderr).
    """
    from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
    from websockets.sync.client import connect
    from websockets.typing import Subprotocol

    what = f"exec {command[0]} in {namespace}/{pod}"
    target = ws_target(kube.configuration)
    url = exec_url(target, namespace, pod, container, command, stdin=stdin is not None)
    deadline = time.monotonic() + timeout
    kube._count()
    written = 0
    err = bytearray()
    status = bytearray()
    try:
        with connect(
            url,
            ssl=target.ssl_context,
            server_hostname=target.server_hostname,
            additional_headers=list(target.headers),
            subprotocols=[Subprotocol(p) for p in PROTOCOLS],
            compression=None,
            proxy=target.proxy,
            open_timeout=min(timeout, kube.timeout),
            max_size=None,
            ping_interval=None,
            user_agent_header="appliance-cli",
        ) as ws:
            if stdin is not None:
                if ws.subprotocol != V5_PROTOCOL:
                    raise KubeError(
                        f"{what}: the API server does not offer {V5_PROTOCOL}, needed to end stdin"
                    )
                while chunk := stdin.read(STDIN_CHUNK):
                    ws.send(bytes([STDIN]) + chunk)
                ws.send(bytes([CLOSE_SIGNAL, STDIN]))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise KubeUnreachable(f"{what}: no end after {timeout:g}s")
                try:
                    message = ws.recv(timeout=left)
                except TimeoutError:
                    continue
                except ConnectionClosed:  # the server closed the stream: the command ended
                    break
                data = message.encode() if isinstance(message, str) else message
                if not data:
                    continue
                channel, payload = data[0], data[1:]
                if channel == STDOUT:
                    if sink is not None:
                        sink.write(payload)
                    written += len(payload)
                elif channel == STDERR:
                    err += payload
                elif channel == ERROR:
                    status += payload
    except InvalidStatus as exc:  # an HTTP answer instead of the upgrade
        resp = exc.response
        raise error_for(
            int(resp.status_code), str(resp.reason_phrase or ""), bytes(resp.body or b""), what
        ) from exc
    except KubeError:
        raise
    except (OSError, TimeoutError, WebSocketException) as exc:  # no connection, or one that broke
        raise KubeUnreachable(f"{what}: {_transport_text(exc)}") from exc
    code, message = exit_code_of(bytes(status))
    text = err.decode(errors="replace")
    if code is None and message and message not in text:
        text = f"{text}{message}\n" if text.endswith("\n") or not text else f"{text}\n{message}\n"
    return written, text, code
