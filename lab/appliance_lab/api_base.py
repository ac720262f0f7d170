"""The request handler's shared plumbing: reading bodies (JSON, YAML, protobuf), answering,
errors, selectors. The concerns (CRUD, watch, pod logs and exec) are mixins over it."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import ssl
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

import yaml

from appliance_lab import api_protobuf
from appliance_lab.api_http import (
    ApiError,
    LabServer,
    _dumps,
    _HTTPServer,
    _qs,
    status_object,
)
from appliance_lab.api_selectors import BadRequest, combine, field_matcher, label_matcher
from appliance_lab.store import (
    Obj,
    ResourceType,
    StoreError,
)


class HandlerBase(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lab-apiserver"
    sys_version = ""
    timeout = 300
    server: _HTTPServer
    _body: bytes | None = None

    # quiet: the lab never prints
    def log_message(self, format: str, *args: Any) -> None:
        return

    def version_string(self) -> str:
        return "lab-apiserver"

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()
        self.server.lab._track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.lab._track(self.connection, False)

    @property
    def lab(self) -> LabServer:
        return self.server.lab

    # -- plumbing ------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        """The request body, read once (``_dispatch`` reads it up front so keep-alive stays in sync)."""
        if self._body is None:
            self._body = self._read_body_raw()
        return self._body

    def _read_body_raw(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        code: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        # end the headers and add the body in the same buffer: one write, one segment train
        buf: list[bytes] = self.__dict__["_headers_buffer"]
        buf.append(b"\r\n")
        if self.command != "HEAD":
            buf.append(body)
        self.flush_headers()

    def _send_json(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(code, obj if isinstance(obj, bytes) else _dumps(obj), headers=headers)

    def _send_error(self, err: StoreError) -> None:
        if isinstance(err, ApiError):
            body = status_object(err.code, err.reason, err.message, err.details)
            self._send_json(err.code, body, err.headers)
        else:
            self._send_json(
                err.code, status_object(err.code, err.reason, err.message, getattr(err, "details", None))
            )

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _wants_table(self) -> bool:
        return "as=Table" in self.headers.get("Accept", "")

    def _body_json(self) -> Obj:
        """The request body as an object: JSON, YAML or Kubernetes protobuf, by Content-Type."""
        raw = self._read_body()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if ctype == api_protobuf.MEDIA_TYPE:
                data: Any = api_protobuf.decode_object(raw)
            elif ctype == "application/yaml":
                data = yaml.safe_load(raw) if raw.strip() else None
            else:
                data = json.loads(raw or b"null")
        except api_protobuf.UnsupportedKind as exc:
            raise ApiError(415, "UnsupportedMediaType", str(exc), {}) from None
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, "BadRequest", f"error decoding body: {exc}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "BadRequest", "Object 'Kind' is missing in request body")
        return data

    # -- list ----------------------------------------------------------------------------------
    def _matcher(self, rt: ResourceType, query: dict[str, list[str]]) -> Callable[[Obj], bool] | None:
        try:
            return combine(
                label_matcher(_qs(query, "labelSelector")),
                field_matcher(_qs(query, "fieldSelector"), rt.kind),
            )
        except BadRequest as err:
            raise ApiError(400, "BadRequest", err.message) from None

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            if isinstance(self.connection, ssl.SSLSocket):
                # a client waiting on a streamed answer sends nothing: readable means closed
                return True
            return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True
