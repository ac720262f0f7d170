"""Where the Kubernetes API is and how to talk to it: a kubeconfig (or the pod's service
account) read into typed ``KubeSettings``, without the ``kubernetes`` package.

What is read (client-go's names): the ``current-context``; its cluster's ``server``,
``certificate-authority`` / ``certificate-authority-data``, ``insecure-skip-tls-verify``,
``tls-server-name`` and ``proxy-url`` (an ``http://`` proxy only); its user's ``token`` / ``tokenFile``,
``client-certificate`` / ``client-certificate-data``, ``client-key`` / ``client-key-data``
and ``username`` / ``password``. Relative file names are relative to the kubeconfig's own
directory, as client-go reads them. Other fields are ignored.

Users whose credentials come from a program (``exec``) or an ``auth-provider`` keep working
through the ``kubernetes`` package's kubeconfig loader, imported only for them: it runs the
plugin (and runs it again when the credential expires); the requests themselves still go
through ``adapters.kube_http``.

A kubeconfig that cannot be used (not YAML, no current context, a missing server or file,
undecodable data, a certificate or key that does not load, a proxy that is not
``http://``) is bad input: ``UsageError``
naming the file.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance_cli import yamltext
from appliance_cli.errors import UsageError

# A projected service-account token rotates; client-go re-reads token files about every minute.
TOKEN_FILE_REFRESH_SECONDS = 60.0
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class _Entry(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class Cluster(_Entry):
    server: str = Field(min_length=1)
    certificate_authority: str | None = Field(None, alias="certificate-authority")
    certificate_authority_data: str | None = Field(None, alias="certificate-authority-data")
    insecure_skip_tls_verify: bool = Field(False, alias="insecure-skip-tls-verify")
    tls_server_name: str | None = Field(None, alias="tls-server-name")
    proxy_url: str | None = Field(None, alias="proxy-url")


class User(_Entry):
    token: str | None = None
    token_file: str | None = Field(None, alias="tokenFile")
    client_certificate: str | None = Field(None, alias="client-certificate")
    client_certificate_data: str | None = Field(None, alias="client-certificate-data")
    client_key: str | None = Field(None, alias="client-key")
    client_key_data: str | None = Field(None, alias="client-key-data")
    username: str | None = None
    password: str | None = None
    exec_: dict[str, Any] | None = Field(None, alias="exec")
    auth_provider: dict[str, Any] | None = Field(None, alias="auth-provider")


class Context(_Entry):
    cluster: str
    user: str = ""


class NamedCluster(_Entry):
    name: str
    cluster: Cluster


class NamedUser(_Entry):
    name: str
    user: User | None = None


class NamedContext(_Entry):
    name: str
    context: Context


class KubeconfigFile(_Entry):
    clusters: list[NamedCluster] | None = None
    users: list[NamedUser] | None = None
    contexts: list[NamedContext] | None = None
    current_context: str | None = Field(None, alias="current-context")


@dataclass
class _TokenFile:
    """A bearer token read from a file and read again after ``TOKEN_FILE_REFRESH_SECONDS``."""

    path: Path
    value: str = ""
    read_at: float = -1e9
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self) -> str:
        with self.lock:
            now = time.monotonic()
            if now - self.read_at >= TOKEN_FILE_REFRESH_SECONDS:
                try:
                    self.value = self.path.read_text().strip()
                except OSError:
                    if not self.value:
                        raise
                self.read_at = now
            return self.value


@dataclass(frozen=True)
class KubeSettings:
    """How to reach one API server: URL, TLS trust and client identity, credentials.

    Secrets (token, client key) are held in memory only; ``__repr__`` never shows them.
    """

    server: str
    source: str  # the kubeconfig file, or "in-cluster": named in error messages
    ca_pem: bytes | None = None
    verify: bool = True
    tls_server_name: str | None = None
    client_cert_pem: bytes | None = field(default=None, repr=False)
    client_key_pem: bytes | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    token_file: _TokenFile | None = field(default=None, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    proxy_url: str | None = None
    # exec plugins and auth-providers: headers from the kubernetes package's loader
    header_source: Callable[[], dict[str, str]] | None = field(default=None, repr=False)

    @property
    def secure(self) -> bool:
        return urlsplit(self.server).scheme == "https"

    @property
    def hostname(self) -> str:
        return urlsplit(self.server).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.server)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def server_hostname(self) -> str | None:
        """The name the server's certificate must carry (``tls-server-name`` or the URL's host)."""
        return self.tls_server_name or self.hostname or None

    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header of every request (empty for client-certificate users)."""
        if self.header_source is not None:
            return self.header_source()
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.token_file is not None:
            try:
                token = self.token_file.get()
            except OSError:
                return {}
            return {"Authorization": f"Bearer {token}"} if token else {}
        if self.basic_auth is not None:
            raw = f"{self.basic_auth[0]}:{self.basic_auth[1]}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {}

    def secrets(self) -> tuple[str, ...]:
        """The credentials this client sends (bearer token, basic-auth password, an exec
        plugin's token), for redacting them wherever a workload echoes them."""
        found: list[str] = []
        if self.basic_auth is not None and self.basic_auth[1]:
            found.append(self.basic_auth[1])
        value = self.auth_headers().get("Authorization", "")
        scheme, _, credential = value.partition(" ")
        if credential and scheme.lower() == "bearer":
            found.append(credential.strip())
        return tuple(found)

    def ssl_context(self) -> ssl.SSLContext | None:
        """A new client TLS context for this server (``None`` for plain HTTP)."""
        if not self.secure:
            return None
        if self.verify:
            if self.ca_pem is not None:
                ctx = ssl.create_default_context(cadata=self.ca_pem.decode("ascii", errors="replace"))
            else:
                ctx = ssl.create_default_context()
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.client_cert_pem is not None:
            load_client_certificate(ctx, self.client_cert_pem, self.client_key_pem)
        return ctx


def load_client_certificate(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes | None) -> None:
    """``ctx.load_cert_chain`` from memory: ``ssl`` only reads files, so the PEMs go to a private
    directory (0700, files 0600) for the moment of loading and are deleted at once."""
    tmp = tempfile.mkdtemp(prefix="appliance-kube-")
    try:
        cert = Path(tmp) / "client.crt"
        key = Path(tmp) / "client.key"
        for path, data in ((cert, cert_pem), (key, key_pem)):
            if data is None:
                continue
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        ctx.load_cert_chain(str(cert), str(key) if key_pem is not None else None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- reading ------------------------------------------------------------------------------------


def _bad(path: Path, message: str) -> UsageError:
    return UsageError(f"unusable kubeconfig: {message}", param=str(path))


def _data(path: Path, value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise _bad(path, f"{what} is not base64 ({exc})") from exc


def _file(path: Path, name: str, what: str) -> bytes:
    p = Path(os.path.expanduser(name))
    if not p.is_absolute():
        p = path.parent / p
    try:
        return p.read_bytes()
    except OSError as exc:
        raise _bad(path, f"{what} {p}: {exc.strerror or exc}") from exc


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err.get("loc", ()))
    return f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid"))


def read_kubeconfig(path: Path | str) -> KubeSettings:
    """``KubeSettings`` of the kubeconfig's current context; ``UsageError`` naming the file."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise UsageError("kubeconfig file not found", param=str(p))
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as exc:
        raise _bad(p, exc.strerror or str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise _bad(p, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        raw = yamltext.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _bad(p, f"not valid YAML ({first})") from exc
    if not isinstance(raw, dict):
        raise _bad(p, "not a kubeconfig (expected a mapping with clusters, users and contexts)")
    try:
        doc = KubeconfigFile.model_validate(raw)
    except ValidationError as exc:
        raise _bad(p, _first_error(exc)) from exc
    if not doc.current_context:
        raise _bad(p, "no current-context")
    context = next((c.context for c in doc.contexts or [] if c.name == doc.current_context), None)
    if context is None:
        raise _bad(p, f"current-context {doc.current_context!r} is not among its contexts")
    cluster = next((c.cluster for c in doc.clusters or [] if c.name == context.cluster), None)
    if cluster is None:
        raise _bad(p, f"cluster {context.cluster!r} of context {doc.current_context!r} is not defined")
    user = next((u.user for u in doc.users or [] if u.name == context.user), None) or User()
    return _settings(p, cluster, user)


def _settings(p: Path, cluster: Cluster, user: User) -> KubeSettings:
    server = cluster.server.strip().rstrip("/")
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(p, f"server {cluster.server!r} is not an http(s) URL")
    if cluster.proxy_url:
        proxy = urlsplit(cluster.proxy_url)  # never shown whole: it may carry a password
        if proxy.scheme != "http" or not proxy.hostname:
            raise _bad(
                p,
                f"proxy-url ({proxy.scheme or 'no'} scheme) is not supported: give an http:// proxy "
                "(an https API server is reached through its CONNECT tunnel)",
            )
    if user.exec_ is not None or user.auth_provider is not None:
        return _through_kubernetes_loader(p, cluster)
    ca: bytes | None = None
    if cluster.certificate_authority_data:
        ca = _data(p, cluster.certificate_authority_data, "certificate-authority-data")
    elif cluster.certificate_authority:
        ca = _file(p, cluster.certificate_authority, "certificate-authority")
    cert: bytes | None = None
    if user.client_certificate_data:
        cert = _data(p, user.client_certificate_data, "client-certificate-data")
    elif user.client_certificate:
        cert = _file(p, user.client_certificate, "client-certificate")
    key: bytes | None = None
    if user.client_key_data:
        key = _data(p, user.client_key_data, "client-key-data")
    elif user.client_key:
        key = _file(p, user.client_key, "client-key")
    if (cert is None) != (key is None):
        raise _bad(p, "a client certificate needs its key (and a key its certificate)")
    token_file: _TokenFile | None = None
    if not user.token and user.token_file:
        tf = Path(os.path.expanduser(user.token_file))
        token_file = _TokenFile(tf if tf.is_absolute() else p.parent / tf)
        try:
            token_file.get()
        except OSError as exc:
            raise _bad(p, f"tokenFile {token_file.path}: {exc.strerror or exc}") from exc
    settings = KubeSettings(
        server=server,
        source=str(p),
        ca_pem=ca,
        verify=not cluster.insecure_skip_tls_verify,
        tls_server_name=cluster.tls_server_name or None,
        client_cert_pem=cert,
        client_key_pem=key,
        token=user.token or None,
        token_file=token_file,
        basic_auth=(user.username, user.password or "") if user.username and not user.token else None,
        proxy_url=cluster.proxy_url or None,
    )
    _check_tls(p, settings)
    return settings


def _check_tls(p: Path, settings: KubeSettings) -> None:
    """Load the CA and client certificate once now, so a bad one is bad input, not a failed request."""
    try:
        settings.ssl_context()
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise _bad(p, f"its TLS certificate or key does not load ({exc})") from exc


def _through_kubernetes_loader(p: Path, cluster: Cluster) -> KubeSettings:
    """A user with ``exec`` or ``auth-provider``: the kubernetes package's loader runs the plugin.

    Its ``Configuration`` gives the server, trust and any client certificate the plugin
    returned; every request asks it for the current ``Authorization`` header
    (``auth_settings()`` runs its refresh hook, which runs the plugin again when the
    credential has expired)."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    try:
        config.load_kube_config(config_file=str(p), client_configuration=cfg)  # type: ignore[no-untyped-call,unused-ignore]
    except (ConfigException, OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _bad(p, str(exc)) from exc

    def headers() -> dict[str, str]:
        out: dict[str, str] = {}
        settings: dict[str, Any] = dict(cfg.auth_settings() or {})
        for setting in settings.values():
            if setting.get("in") == "header" and setting.get("value"):
                out[str(setting["key"])] = str(setting["value"])
        return out

    def read(name: str | None, what: str) -> bytes | None:
        return _file(p, name, what) if name else None

    settings = KubeSettings(
        server=str(cfg.host).rstrip("/"),
        source=str(p),
        ca_pem=read(cfg.ssl_ca_cert, "certificate-authority"),
        verify=bool(cfg.verify_ssl),
        tls_server_name=cluster.tls_server_name or getattr(cfg, "tls_server_name", None) or None,
        client_cert_pem=read(cfg.cert_file, "client-certificate"),
        client_key_pem=read(cfg.key_file, "client-key"),
        proxy_url=cluster.proxy_url or None,
        header_source=headers,
    )
    _check_tls(p, settings)
    return settings


def in_cluster_settings(sa_dir: Path = SERVICE_ACCOUNT_DIR) -> KubeSettings:
    """The pod's own service account: ``KUBERNETES_SERVICE_HOST``/``_PORT``, its CA and token
    (the token file is read again as it rotates). ``UsageError`` outside a cluster."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise UsageError(
            "not running inside a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set",
            param="--in-cluster",
        )
    token_file = _TokenFile(sa_dir / "token")
    try:
        token_file.get()
        ca = (sa_dir / "ca.crt").read_bytes()
    except OSError as exc:
        raise UsageError(
            f"not running inside a cluster: {exc.filename}: {exc.strerror or exc}", param="--in-cluster"
        ) from exc
    server_host = f"[{host}]" if ":" in host else host
    settings = KubeSettings(
        server=f"https://{server_host}:{port}", source="in-cluster", ca_pem=ca, token_file=token_file
    )
    try:
        settings.ssl_context()
    except (ssl.SSLError, ValueError) as exc:
        raise UsageError(f"the service account's CA does not load ({exc})", param="--in-cluster") from exc
    return settings
