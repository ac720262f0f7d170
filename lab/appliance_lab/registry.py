"""The lab's OCI registry: the read side of the distribution API on loopback, plain HTTP.

It answers what the release image preflight asks (``appliance_cli.adapters.registry``) with a
real registry's status codes, headers and error bodies:

- ``GET /v2/`` → ``200 {}`` with ``Docker-Distribution-API-Version: registry/2.0``;
- ``HEAD``/``GET /v2/<name>/manifests/<reference>`` → ``200`` with ``Content-Type`` (the OCI
  image manifest media type), ``Docker-Content-Digest`` (``sha256`` of the body),
  ``Content-Length`` and a small valid OCI image manifest (GET only);
- ``404`` with ``{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown",...}]}``
  for a tag that does not exist, ``NAME_UNKNOWN`` ("repository name not known to registry")
  for a repository that does not exist; ``HEAD`` gets the status without a body.

Which tags exist is decided by the scenario, with the same ``missingImages`` entries and the
same match the simulated kubelet uses to fail a pull (``Scenario.manifest_missing``,
``Scenario.image_missing``): every image pulls on the simulated node except those, so every
tag exists here except those. A ``missingImages`` entry without a tag
(``ghcr.io/nine-minds/retired``) removes the whole repository.

One endpoint stands in for every registry host (``ghcr.io``, ``docker.io``, …): the preflight
maps each host of a release to it (``mirrors``), so the request path carries no host.
Manifests are made up but stable: the same repository and tag always give the same body and
digest (``image_digest``; the simulated kubelet reports it as a pod's ``imageID``, so the
status service's digest drift check agrees with the preflight), and a digest reference
answers for any digest this registry has handed out.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from appliance_cli.adapters.registry import parse_image_reference
from appliance_lab.scenario import Scenario

API_VERSION = "registry/2.0"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

# <name> is path components of [a-z0-9] with separators; <reference> a tag or a digest.
_MANIFEST_PATH = re.compile(r"^/v2/(?P<name>[a-z0-9]+(?:[._/-][a-z0-9]+)*)/manifests/(?P<reference>[^/]+)$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")

Answer = tuple[int, dict[str, str], bytes]


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _error(status: int, code: str, message: str, detail: Any) -> Answer:
    body = json.dumps(
        {"errors": [{"code": code, "message": message, "detail": detail}]}, separators=(",", ":")
    ).encode()
    return status, {"Content-Type": "application/json; charset=utf-8"}, body


def manifest_body(repository: str, tag: str) -> bytes:
    """A small, valid OCI image manifest for ``repository:tag``; the same input, the same bytes."""
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"org.opencontainers.image.source": repository}},
            "rootfs": {"type": "layers", "diff_ids": [_sha256(f"{repository}:{tag}/layer".encode())]},
        },
        sort_keys=True,
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": _sha256(config), "size": len(config)},
        "layers": [
            {
                "mediaType": OCI_LAYER,
                "digest": _sha256(f"{repository}:{tag}/layer.tar.gz".encode()),
                "size": 31_457_280,
            }
        ],
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


@functools.lru_cache(maxsize=4096)  # the kubelet asks for every container's on every step
def manifest_digest(repository: str, tag: str) -> str:
    """``Docker-Content-Digest`` of ``repository:tag`` (repository path without its host)."""
    return _sha256(manifest_body(repository, tag))


@functools.lru_cache(maxsize=1024)  # a pure function of the name; the kubelet asks on every step
def image_digest(image: str) -> str:
    """The digest a pull of ``image`` (``ghcr.io/nine-minds/x:1``, ``redis:7``, ``x@sha256:…``)
    resolves to: what this registry answers for it, so a pod's ``imageID`` matches the
    release preflight's digest as on a real node."""
    ref = parse_image_reference(image)
    return ref.tag if _DIGEST.match(ref.tag) else manifest_digest(ref.path, ref.tag)


class LabRegistry:
    """The registry of one lab; ``answer`` is the whole behaviour, the server only carries it."""

    def __init__(self, scenario: Scenario, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.scenario = scenario
        self._by_digest: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        """``host:port``, the form the preflight's ``mirrors`` and ``insecure_registries`` take."""
        return f"{self.host}:{self.port}"

    # -- behaviour ---------------------------------------------------------------------------
    def answer(self, method: str, path: str) -> Answer:
        path = path.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return _error(405, "UNSUPPORTED", "The operation is unsupported.", {"method": method})
        if path in ("/v2", "/v2/"):
            return 200, {"Content-Type": "application/json; charset=utf-8"}, b"{}"
        m = _MANIFEST_PATH.match(path)
        if m is None:
            if not path.startswith("/v2/"):
                return _error(404, "NOT_FOUND", "not found", {"path": path})
            return _error(404, "UNSUPPORTED", "The operation is unsupported.", {"path": path})
        name, reference = m.group("name"), m.group("reference")
        if self.scenario.repository_missing(name):
            return _error(404, "NAME_UNKNOWN", "repository name not known to registry", {"name": name})
        if _DIGEST.match(reference):
            with self._lock:
                body = self._by_digest.get((name, reference))
            if body is None:
                return _error(404, "MANIFEST_UNKNOWN", "manifest unknown", {"Digest": reference})
            return self._manifest(body)
        if not _TAG.match(reference):
            return _error(400, "TAG_INVALID", "manifest tag did not match URI", {"Tag": reference})
        if self.scenario.manifest_missing(name, reference):
            return _error(404, "MANIFEST_UNKNOWN", "manifest unknown", {"Tag": reference})
        body = manifest_body(name, reference)
        with self._lock:
            self._by_digest[(name, _sha256(body))] = body
        return self._manifest(body)

    @staticmethod
    def _manifest(body: bytes) -> Answer:
        return 200, {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": _sha256(body)}, body

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> LabRegistry:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"lab-registry:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> LabRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(registry: LabRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "lab-registry/2"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self) -> None:
            status, headers, body = registry.answer(self.command, self.path)
            self.send_response(status)
            self.send_header("Docker-Distribution-API-Version", API_VERSION)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = _serve

        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self._serve()

        do_POST = do_DELETE = do_PATCH = do_PUT

    return Handler
