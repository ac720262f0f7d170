"""Pod logs (tail, previous, follow) and pod exec over WebSocket (``v4``/``v5.channel.k8s.io``)."""

from __future__ import annotations

import base64
import hashlib
import time

from appliance_lab.api_base import HandlerBase
from appliance_lab.api_http import (
    _WS_CHUNK,
    _WS_GUID,
    ApiError,
    _details,
    _dumps,
    _qs,
    _qs_bool,
    _qs_int,
    _Route,
)
from appliance_lab.store import (
    NotFound,
    Obj,
)

# how long the simulated runtime takes to start an exec'd process before its output flows
EXEC_START_SECONDS = 0.02


class PodIOMixin(HandlerBase):
    # -- pods/log ------------------------------------------------------------------------------
    def _pick_container(self, pod: Obj, container: str | None) -> str:
        spec = pod.get("spec") or {}
        names = [c.get("name") for c in spec.get("containers") or []]
        init_names = [c.get("name") for c in spec.get("initContainers") or []]
        pod_name = pod["metadata"]["name"]
        if container:
            if names and container not in names and container not in init_names:
                raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {pod_name}")
            return container
        if len(names) == 1:
            return str(names[0])
        if not names:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {pod_name}")
        raise ApiError(
            400,
            "BadRequest",
            f"a container name must be specified for pod {pod_name}, "
            f"choose one of: [{' '.join(map(str, names))}]",
        )

    def _pod_log(self, route: _Route, query: dict[str, list[str]]) -> None:
        store = self.lab.store
        ns, name = route.namespace or "default", str(route.name)
        try:
            pod = store.get_ref(route.rt, ns, name)
        except NotFound as err:
            raise ApiError(404, "NotFound", err.message, _details(route.rt, name)) from err
        container = self._pick_container(pod, _qs(query, "container"))
        previous = _qs_bool(query, "previous")
        lines = store.pod_log(ns, name, container, previous)
        if lines is None:
            if previous:
                raise ApiError(
                    400,
                    "BadRequest",
                    f'previous terminated container "{container}" in pod "{name}" not found',
                )
            waiting = _waiting_reason(pod, container)
            if waiting:
                raise ApiError(
                    400,
                    "BadRequest",
                    f'container "{container}" in pod "{name}" is waiting to start: '
                    + _WAITING_WORDS.get(waiting, waiting),
                )
            lines = []
        tail = _qs_int(query, "tailLines")
        if tail is not None and tail >= 0:
            lines = lines[-tail:] if tail else []
        if not _qs_bool(query, "follow"):
            text = "".join(line + "\n" for line in lines)
            limit = _qs_int(query, "limitBytes")
            data = text.encode()
            if limit:
                data = data[:limit]
            self._send(200, data, "text/plain")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        # the connection ends with the stream: said so, a client never reuses it
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        sent = len(store.pod_log(ns, name, container) or [])
        # As with the kubelet, a follow ends when the container instance it reads ends (it
        # terminated, or restarted with a new log) or the pod goes away.
        was_running = _container_running(pod, container)
        instance = store.pod_log_instance(ns, name, container)
        try:
            if lines:
                self._write_chunk("".join(line + "\n" for line in lines).encode())
            while not self.lab._stopping.is_set() and not self._client_gone():
                time.sleep(0.1)
                current = store.try_get(route.rt, ns, name)
                if current is None:
                    break
                cur = store.pod_log(ns, name, container) or []
                now = store.pod_log_instance(ns, name, container)
                if now != instance:  # read after the log: what ``cur`` holds is still this instance's
                    ended = store.pod_log(ns, name, container, previous=True) or []
                    if now == instance + 1 and len(ended) > sent:  # its last words
                        self._write_chunk("".join(line + "\n" for line in ended[sent:]).encode())
                    break
                if len(cur) > sent:
                    self._write_chunk("".join(line + "\n" for line in cur[sent:]).encode())
                    sent = len(cur)
                if was_running and not _container_running(current, container):
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass

    # -- pods/exec (WebSocket, channel.k8s.io) ------------------------------------------------------
    def _pod_exec(self, route: _Route, query: dict[str, list[str]]) -> None:
        store = self.lab.store
        ns, name = route.namespace or "default", str(route.name)
        self._read_body()
        try:
            pod = store.get_ref(route.rt, ns, name)
        except NotFound as err:
            raise ApiError(404, "NotFound", err.message, _details(route.rt, name)) from err
        container = self._pick_container(pod, _qs(query, "container"))
        command = query.get("command") or []
        if not command:
            raise ApiError(400, "BadRequest", "you must specify at least 1 command")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not self.headers.get(
            "Sec-WebSocket-Key"
        ):
            raise ApiError(
                400,
                "BadRequest",
                "Upgrade request required",
                {"causes": [{"message": "Upgrade request required"}]},
            )
        phase = (pod.get("status") or {}).get("phase")
        if phase and phase != "Running":
            raise ApiError(
                400, "BadRequest", f'unable to upgrade connection: container not found ("{container}")'
            )
        offered = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        wants_stdin = _qs_bool(query, "stdin") is True
        # v5 adds the stdin close signal; a command that reads stdin needs it to see the end
        preference: tuple[str, ...] = (
            "v4.channel.k8s.io",
            "v5.channel.k8s.io",
            "v3.channel.k8s.io",
            "channel.k8s.io",
        )
        if wants_stdin:
            preference = ("v5.channel.k8s.io", *(p for p in preference if p != "v5.channel.k8s.io"))
        proto = next((p for p in preference if p in offered), None)
        key = self.headers["Sec-WebSocket-Key"].strip()
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        if proto:
            self.send_header("Sec-WebSocket-Protocol", proto)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        stdin = self._ws_read_stdin() if wants_stdin else None
        result = store.run_exec(ns, name, container, list(command), stdin=stdin)
        if result is None:
            exe = command[0]
            result = (
                "",
                f'OCI runtime exec failed: exec failed: unable to start container process: exec: "{exe}": '
                "executable file not found in $PATH: unknown\n",
                126,
            )
        stdout, stderr, code = result
        # A real runtime takes a moment to start the process before any output flows. kubectl
        # can still be setting up its streams right after the upgrade, and it drops frames of
        # a stream it does not know yet ("Unknown stream id 2, discarding message", seen here
        # once when stderr was sent the instant the connection was upgraded).
        time.sleep(EXEC_START_SECONDS)
        try:
            if stdout and _qs_bool(query, "stdout") is not False:
                raw = stdout if isinstance(stdout, bytes) else stdout.encode()
                for start in range(0, len(raw), _WS_CHUNK):
                    self._ws_send(1, raw[start : start + _WS_CHUNK])
            if stderr:
                self._ws_send(2, stderr.encode())
            if code == 0:
                outcome: Obj = {"metadata": {}, "status": "Success"}
            else:
                outcome = {
                    "metadata": {},
                    "status": "Failure",
                    "message": f"command terminated with non-zero exit code: error executing command "
                    f"[{' '.join(command)}], exit code {code}",
                    "reason": "NonZeroExitCode",
                    "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
                }
            self._ws_send(3, _dumps(outcome))
            self._ws_frame(0x8, (1000).to_bytes(2, "big"))
            self._ws_drain_until_close()
        except OSError:
            pass

    def _ws_frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            header = bytes([0x80 | opcode, n])
        elif n < 65536:
            header = bytes([0x80 | opcode, 126]) + n.to_bytes(2, "big")
        else:
            header = bytes([0x80 | opcode, 127]) + n.to_bytes(8, "big")
        self.wfile.write(header + payload)
        self.wfile.flush()

    def _ws_send(self, channel: int, data: bytes) -> None:
        self._ws_frame(0x2, bytes([channel]) + data)

    def _ws_read_frame(self) -> tuple[int, bytes] | None:
        """One client frame (opcode, unmasked payload); ``None`` when the connection ends."""
        head = self.rfile.read(2)
        if len(head) < 2:
            return None
        opcode = head[0] & 0x0F
        length = head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(self.rfile.read(2), "big")
        elif length == 127:
            length = int.from_bytes(self.rfile.read(8), "big")
        mask = self.rfile.read(4) if head[1] & 0x80 else b""
        payload = self.rfile.read(length)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return opcode, payload

    def _ws_read_stdin(self) -> bytes:
        """Channel 0 until the client closes it (v5: ``[255, 0]``) or the connection (60 s bound)."""
        self.connection.settimeout(60.0)
        chunks: list[bytes] = []
        try:
            while (frame := self._ws_read_frame()) is not None:
                opcode, payload = frame
                if opcode == 0x8 or payload[:2] == bytes([255, 0]):
                    break
                if opcode in (0x1, 0x2) and payload[:1] == b"\x00":
                    chunks.append(payload[1:])
        except (TimeoutError, OSError):
            pass
        return b"".join(chunks)

    def _ws_drain_until_close(self) -> None:
        """Read the client's frames (stdin, resize) until its close frame or 2 s pass."""
        self.connection.settimeout(2.0)
        try:
            while True:
                head = self.rfile.read(2)
                if len(head) < 2:
                    return
                opcode = head[0] & 0x0F
                length = head[1] & 0x7F
                if length == 126:
                    length = int.from_bytes(self.rfile.read(2), "big")
                elif length == 127:
                    length = int.from_bytes(self.rfile.read(8), "big")
                if head[1] & 0x80:
                    self.rfile.read(4)
                self.rfile.read(length)
                if opcode == 0x8:
                    return
        except (TimeoutError, OSError):
            return


# the kubelet's wording for the common pending failures (validateContainerLogStatus)
_WAITING_WORDS = {
    "ErrImagePull": "image can't be pulled",
    "ImagePullBackOff": "trying and failing to pull image",
}


def _container_running(pod: Obj, container: str) -> bool:
    status = pod.get("status") or {}
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if cs.get("name") == container:
            return "running" in (cs.get("state") or {})
    return False


def _waiting_reason(pod: Obj, container: str) -> str | None:
    status = pod.get("status") or {}
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if cs.get("name") == container:
            waiting = (cs.get("state") or {}).get("waiting")
            return str(waiting.get("reason") or "ContainerCreating") if waiting else None
    if status.get("phase") in (None, "Pending"):
        return "ContainerCreating"
    return None
