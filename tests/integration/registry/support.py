"""Real and fake registries on loopback for the registry preflight tests and benchmark.

* ``RegistryServer``: Debian's ``docker-registry`` (distribution v2.8) with a temp config,
  open or with ``auth: token`` pointing at a ``TokenServer``.
* ``push_image`` / ``push_index``: content pushed through the registry HTTP API (blob
  upload POST + PUT ?digest=, manifest PUT), returning the manifest digest.
* ``TokenServer``: a token endpoint that signs RS256 JWTs with a self-signed certificate the
  registry trusts (``rootcertbundle``); counts requests; can refuse or grant no access.
* ``ScriptedServer``: a loopback HTTP server answering from a script (503 then 200, 429 with
  Retry-After, hang), recording when each request arrived.
* ``LatencyProxy``: a TCP proxy that delays every request by a fixed latency.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from appliance_cli.tls import default_client_context

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- real registry


@dataclass
class TokenAuth:
    realm: str
    service: str
    issuer: str
    cert_path: Path


class RegistryServer:
    """``docker-registry serve`` on 127.0.0.1:<free port>, stopped by :meth:`stop`."""

    def __init__(self, workdir: Path, *, token_auth: TokenAuth | None = None) -> None:
        if not Path(REGISTRY_BIN).exists():
            raise RuntimeError(
                "docker-registry is not installed; run 'bash scripts/setup.sh --test-deps' "
                "(Debian package docker-registry)"
            )
        self.workdir = workdir
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(workdir / "data")}, "delete": {"enabled": True}},
            "http": {"addr": self.host, "secret": "test-only-upload-state-secret"},
        }
        if token_auth:
            config["auth"] = {
                "token": {
                    "realm": token_auth.realm,
                    "service": token_auth.service,
                    "issuer": token_auth.issuer,
                    "rootcertbundle": str(token_auth.cert_path),
                }
            }
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "config.yml"
        self.config_path.write_text(json.dumps(config))  # JSON is YAML
        self.log_path = workdir / "registry.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(self.config_path)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_until(self._answers, timeout=15, what=f"docker-registry on {self.host}")
        except BaseException:
            self.stop()
            raise

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {self.log_path.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/v2/", timeout=1, verify=default_client_context()).status_code in (
                200,
                401,
            )
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


def _upload_blob(client: httpx.Client, base: str, repo: str, data: bytes, headers: dict[str, str]) -> str:
    digest = digest_of(data)
    r = client.post(f"{base}/v2/{repo}/blobs/uploads/", headers=headers)
    assert r.status_code == 202, (r.status_code, r.text)
    location = urllib.parse.urljoin(base + "/", r.headers["location"])
    sep = "&" if "?" in location else "?"
    r = client.put(
        f"{location}{sep}digest={digest}",
        content=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, (r.status_code, r.text)
    return digest


def _put_manifest(
    client: httpx.Client,
    base: str,
    repo: str,
    ref: str,
    body: bytes,
    media_type: str,
    headers: dict[str, str],
) -> str:
    r = client.put(
        f"{base}/v2/{repo}/manifests/{ref}", content=body, headers={**headers, "Content-Type": media_type}
    )
    assert r.status_code == 201, (r.status_code, r.text)
    digest = digest_of(body)
    assert r.headers.get("docker-content-digest") == digest
    return digest


def push_image(
    base: str,
    repo: str,
    tag: str,
    *,
    oci: bool = False,
    seed: str = "",
    headers: dict[str, str] | None = None,
) -> tuple[str, int]:
    """Push a tiny single-layer image; return (manifest digest, manifest size)."""
    headers = headers or {}
    layer = f"layer {repo}:{tag} {seed}".encode()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [digest_of(layer)]},
        }
    ).encode()
    with httpx.Client(timeout=10) as client:
        config_digest = _upload_blob(client, base, repo, config, headers)
        layer_digest = _upload_blob(client, base, repo, layer, headers)
        media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json"
                if oci
                else "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": config_digest,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"
                    if oci
                    else "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": layer_digest,
                }
            ],
        }
        body = json.dumps(manifest, indent=2).encode()
        return _put_manifest(client, base, repo, tag, body, media_type, headers), len(body)


def push_index(base: str, repo: str, tag: str, *, headers: dict[str, str] | None = None) -> str:
    """Push two OCI platform manifests and an OCI image index over them; return the index digest."""
    headers = headers or {}
    entries = []
    for arch in ("amd64", "arm64"):
        digest, size = push_image(base, repo, f"{tag}-{arch}", oci=True, seed=arch, headers=headers)
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                "size": size,
                "digest": digest,
                "platform": {"architecture": arch, "os": "linux"},
            }
        )
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    with httpx.Client(timeout=10) as client:
        return _put_manifest(client, base, repo, tag, body, OCI_INDEX, headers)


# --------------------------------------------------------------------------- token server


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """An RSA key and a self-signed certificate; signs registry JWTs (RS256 with x5c)."""

    def __init__(self, workdir: Path, issuer: str) -> None:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.issuer = issuer
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_der = cert.public_bytes(serialization.Encoding.DER)
        self.cert_path = workdir / "token-cert.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def token(self, *, service: str, access: list[dict[str, Any]], subject: str = "", ttl: int = 300) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": service,
            "exp": now + ttl,
            "nbf": now - 5,
            "iat": now,
            "jti": hashlib.sha1(f"{now}{time.perf_counter_ns()}".encode()).hexdigest(),
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


def parse_scope(scope: str) -> dict[str, Any]:
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}


@dataclass
class TokenRequest:
    scope: str
    service: str
    username: str | None


@dataclass
class TokenPolicy:
    mode: str = "grant"  # grant | refuse | no-access
    basic: tuple[str, str] | None = None  # required credentials, if any
    requests: list[TokenRequest] = field(default_factory=list)


class TokenServer:
    """``GET /token?service=..&scope=..`` → ``{"token": ..., "expires_in": 300}`` per the policy."""

    def __init__(self, signer: Signer, service: str) -> None:
        self.signer = signer
        self.service = service
        self.policy = TokenPolicy()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                outer._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def reset(self) -> None:
        with self._lock:
            self.policy = TokenPolicy()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlparse(h.path).query)
        scopes = query.get("scope", [])
        username = None
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            username, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            password = None
        with self._lock:
            policy = self.policy
            policy.requests.append(TokenRequest(",".join(scopes), query.get("service", [""])[0], username))
        refused = policy.mode == "refuse" or (
            policy.basic is not None and (username, password) != policy.basic
        )
        if refused:
            body = json.dumps({"errors": [{"code": "DENIED", "message": "access denied"}]}).encode()
            h.send_response(401)
        else:
            access = [] if policy.mode == "no-access" else [parse_scope(s) for s in scopes]
            token = self.signer.token(service=self.service, access=access, subject=username or "")
            body = json.dumps({"token": token, "expires_in": 300}).encode()
            h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------- scripted fakes


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: bool = False


@dataclass
class Hit:
    method: str
    path: str
    at: float
    headers: dict[str, str]


class ScriptedServer:
    """Answers the n-th request with ``script[n]`` (the last entry repeats); records hits."""

    def __init__(self, script: list[Reply]) -> None:
        self.script = script
        self.hits: list[Hit] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_HEAD(self) -> None:
                outer._handle(self)

            def do_GET(self) -> None:
                outer._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            n = len(self.hits)
            self.hits.append(Hit(h.command, h.path, time.monotonic(), dict(h.headers.items())))
            reply = self.script[min(n, len(self.script) - 1)]
        if reply.hang:
            self._release.wait(30)
            return
        h.send_response(reply.status)
        for k, v in reply.headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(reply.body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(reply.body)

    def stop(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


@contextmanager
def scripted(script: list[Reply]) -> Iterator[ScriptedServer]:
    server = ScriptedServer(script)
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- latency proxy


class LatencyProxy:
    """A loopback TCP proxy, in its own process, that holds every client→server chunk for
    ``latency`` seconds.

    With HTTP/1.1 one request is one chunk, so every request costs one extra ``latency``:
    a stand-in for a registry ``latency`` away. With ``handshake`` every new connection
    costs one more ``latency`` (the TCP handshake). ``connections`` counts accepted
    connections, ``requests`` delayed chunks. A separate process keeps the proxy's work off
    the measured client's interpreter.
    """

    def __init__(self, upstream_port: int, latency: float, *, handshake: bool = False) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._connections = ctx.Value("i", 0)
        self._requests = ctx.Value("i", 0)
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_proxy_main,
            args=(child, upstream_port, latency, handshake, self._connections, self._requests),
            daemon=True,
        )
        self.proc.start()
        if not parent.poll(10):
            self.stop()
            raise RuntimeError("latency proxy did not start")
        self.port: int = parent.recv()

    @property
    def connections(self) -> int:
        return int(self._connections.value)

    @property
    def requests(self) -> int:
        return int(self._requests.value)

    def reset_counts(self) -> None:
        self._connections.value = 0
        self._requests.value = 0

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join(5)


def _proxy_main(
    conn: Any, upstream_port: int, latency: float, handshake: bool, connections: Any, requests: Any
) -> None:
    import asyncio

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with connections.get_lock():
            connections.value += 1
        if handshake:
            await asyncio.sleep(latency)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, delay: float) -> None:
            try:
                while data := await src.read(65536):
                    if delay:
                        with requests.get_lock():
                            requests.value += 1
                        await asyncio.sleep(delay)
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, latency), pipe(up_reader, writer, 0.0))

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        conn.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())
