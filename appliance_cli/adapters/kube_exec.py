"""Exec with bytes: a command's stdout streamed into a file, a file streamed into its stdin.

``KubeClient.exec`` is for short text answers (the seed-user count). A database dump is
binary and can be large, so ``exec_stream`` reads stdout channel by channel into ``sink``
as it arrives, and sends ``stdin`` in chunks followed by the channel close signal of the
``v5.channel.k8s.io`` protocol (without it a command that reads stdin to its end, such as
``pg_restore``, would wait forever). Errors become the project's ``Kube*`` errors.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, BinaryIO

from appliance_cli.adapters.kube import _transport_text, error_for
from appliance_cli.errors import KubeError, KubeUnreachable

if TYPE_CHECKING:
    from appliance_cli.adapters.kube import KubeClient

STDIN_CHUNK = 256 * 1024
V5_PROTOCOL = "v5.channel.k8s.io"


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
    """Run ``command``; stdout goes to ``sink``. Returns (stdout bytes, stderr text, exit code)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from kubernetes.stream import stream

    core = client.CoreV1Api(kube.api)
    what = f"exec {command[0]} in {namespace}/{pod}"
    try:
        ws = stream(
            core.connect_get_namespaced_pod_exec,
            pod,
            namespace,
            container=container,
            command=command,
            stderr=True,
            stdin=stdin is not None,
            stdout=True,
            tty=False,
            binary=True,
            _preload_content=False,
            _request_timeout=timeout,
        )
    except ApiException as exc:
        raise error_for(int(exc.status or 0), str(exc.reason or ""), exc.body, what) from exc
    except Exception as exc:  # websocket and socket errors come in many classes
        raise KubeUnreachable(f"{what}: {_transport_text(exc)}") from exc
    written = 0
    err = b""
    deadline = time.monotonic() + timeout
    try:
        if stdin is not None:
            if getattr(ws, "subprotocol", None) != V5_PROTOCOL:
                raise KubeError(f"{what}: the API server does not offer {V5_PROTOCOL}, needed to end stdin")
            while chunk := stdin.read(STDIN_CHUNK):
                ws.write_stdin(chunk)
            ws.close_channel(0)
        while ws.is_open():
            if time.monotonic() > deadline:
                raise KubeUnreachable(f"{what}: no end after {timeout:g}s")
            ws.update(timeout=1)
            if ws.peek_stdout():
                data = ws.read_stdout(timeout=0)
                if sink is not None:
                    sink.write(data)
                written += len(data)
            if ws.peek_stderr():
                err += ws.read_stderr(timeout=0)
        if ws.peek_stdout():
            data = ws.read_stdout(timeout=0)
            if sink is not None:
                sink.write(data)
            written += len(data)
        if ws.peek_stderr():
            err += ws.read_stderr(timeout=0)
        code: int | None
        try:
            code = int(ws.returncode)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError):
            code = None
    except KubeError:
        raise
    except Exception as exc:  # a connection that breaks mid-stream
        raise KubeUnreachable(f"{what}: {_transport_text(exc)}") from exc
    finally:
        ws.close()
    return written, err.decode(errors="replace"), code
