"""The client's own transport and the official `kubernetes` client read the same objects from
the lab API over real HTTPS: with a bearer token, with a client certificate the server
demands, with `tls-server-name`, with an exec credential plugin, and through an HTTP proxy."""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import socket
import ssl
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from appliance_lab.api_tls import make_serving_cert
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store

from appliance_cli.adapters.kube import KubeClient
from appliance_cli.adapters.kube_retry import RetryPolicy
from appliance_cli.errors import KubeUnreachable

pytestmark = pytest.mark.timeout(90)
TOKEN = "kube-transport-test-token-0123456789"
KUSTOMIZATIONS = "kustomize.toolkit.fluxcd.io/v1/kustomizations"


@dataclass(frozen=True)
class ClientCert:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def make_client_cert(common_name: str = "appliance-admin") -> ClientCert:
    """A client CA and a client certificate it signed (EC P-256), as a cluster's admin has."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return ClientCert(
        ca_pem=ca.public_bytes(pem),
        cert_pem=cert.public_bytes(pem),
        key_pem=key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


@pytest.fixture
def store() -> Store:
    s = Store()
    for ns in ("msp", "flux-system"):
        s.create(BY_KEY["v1/namespaces"], {"metadata": {"name": ns}})
    for i in range(3):
        s.create(
            BY_KEY["v1/configmaps"],
            {
                "metadata": {"name": f"cm-{i}", "namespace": "msp", "labels": {"n": str(i)}},
                "data": {"i": str(i)},
            },
        )
    s.create(
        BY_KEY["v1/pods"],
        {
            "metadata": {"name": "db-0", "namespace": "msp"},
            "spec": {"containers": [{"name": "db", "image": "postgres"}]},
            "status": {"phase": "Running"},
        },
    )
    s.create(
        BY_KEY[KUSTOMIZATIONS],
        {
            "metadata": {"name": "alga-core", "namespace": "flux-system"},
            "spec": {
                "interval": "1m",
                "path": "./core",
                "prune": True,
                "sourceRef": {"kind": "GitRepository", "name": "a"},
            },
        },
    )
    return s


@pytest.fixture
def lab(store: Store) -> Iterator[LabApiServer]:
    srv = LabApiServer(store, token=TOKEN).start()
    yield srv
    srv.stop()


def kubeconfig(path: Path, server: str, cluster: dict[str, Any], user: dict[str, Any]) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": server, **cluster}}],
        "users": [{"name": "lab", "user": user}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "lab"}}],
    }
    path.write_text(yaml.safe_dump(doc))
    path.chmod(0o600)
    return path


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def official_lists(path: Path) -> dict[str, Any]:
    """The same lists read with the official client (its kubeconfig loader and ApiClient)."""
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=cfg)  # type: ignore[no-untyped-call]
    cfg.retries = False
    with client.ApiClient(cfg) as api:
        core = client.CoreV1Api(api)
        custom = client.CustomObjectsApi(api)
        return {
            "v1/namespaces": json.loads(core.list_namespace(_preload_content=False).data),
            "v1/configmaps": json.loads(
                core.list_namespaced_config_map("msp", label_selector="n!=1", _preload_content=False).data
            ),
            "v1/pods": json.loads(core.list_pod_for_all_namespaces(_preload_content=False).data),
            KUSTOMIZATIONS: custom.list_namespaced_custom_object(
                "kustomize.toolkit.fluxcd.io", "v1", "flux-system", "kustomizations"
            ),
        }


def own_lists(path: Path) -> dict[str, Any]:
    kube = KubeClient.from_kubeconfig(path, timeout=5)
    try:
        return {
            "v1/namespaces": kube.list_raw("v1/namespaces"),
            "v1/configmaps": kube.list_raw("v1/configmaps", "msp", label_selector="n!=1"),
            "v1/pods": kube.list_raw("v1/pods"),
            KUSTOMIZATIONS: kube.list_raw(KUSTOMIZATIONS, "flux-system"),
        }
    finally:
        kube.close()


def assert_same_objects(path: Path) -> None:
    ours, theirs = own_lists(path), official_lists(path)
    assert [i["metadata"]["name"] for i in ours["v1/configmaps"]["items"]] == ["cm-0", "cm-2"]
    for key in ours:
        assert ours[key]["items"] == theirs[key]["items"], key
        assert ours[key]["metadata"]["resourceVersion"] == theirs[key]["metadata"]["resourceVersion"]


def test_bearer_token_over_verified_tls(lab: LabApiServer, tmp_path: Path) -> None:
    assert lab.ca_pem is not None
    path = kubeconfig(
        tmp_path / "kc", lab.url, {"certificate-authority-data": b64(lab.ca_pem)}, {"token": TOKEN}
    )
    assert_same_objects(path)


def test_a_client_certificate_the_server_demands(lab: LabApiServer, store: Store, tmp_path: Path) -> None:
    """The server asks for a client certificate signed by its client CA and refuses the
    handshake without one; both clients present the kubeconfig's certificate (and the token)."""
    assert lab.ca_pem is not None and lab._cert is not None and lab._httpd is not None
    client = make_client_cert()
    demanding = lab._cert.server_context()
    demanding.verify_mode = ssl.CERT_REQUIRED
    demanding.load_verify_locations(cadata=client.ca_pem.decode())
    lab._httpd.tls_context = demanding  # the lab's HTTPS listener now demands client certificates

    cluster = {"certificate-authority-data": b64(lab.ca_pem)}
    with_cert = kubeconfig(
        tmp_path / "kc",
        lab.url,
        cluster,
        {
            "client-certificate-data": b64(client.cert_pem),
            "client-key-data": b64(client.key_pem),
            "token": TOKEN,
        },
    )
    assert_same_objects(with_cert)

    # the same as files next to the kubeconfig, named relatively
    (tmp_path / "admin.crt").write_bytes(client.cert_pem)
    (tmp_path / "admin.key").write_bytes(client.key_pem)
    files = kubeconfig(
        tmp_path / "kc-files",
        lab.url,
        cluster,
        {"client-certificate": "admin.crt", "client-key": "admin.key", "token": TOKEN},
    )
    assert own_lists(files)["v1/pods"]["items"][0]["metadata"]["name"] == "db-0"

    without = kubeconfig(tmp_path / "kc-none", lab.url, cluster, {"token": TOKEN})
    with pytest.raises(KubeUnreachable) as exc:
        KubeClient.from_kubeconfig(without, timeout=5).list_raw("v1/pods")
    assert exc.value.transient is False  # a refused handshake is not retried


def test_exec_presents_the_client_certificate_too(lab: LabApiServer, tmp_path: Path) -> None:
    assert lab.ca_pem is not None and lab._cert is not None and lab._httpd is not None
    client = make_client_cert()
    demanding = lab._cert.server_context()
    demanding.verify_mode = ssl.CERT_REQUIRED
    demanding.load_verify_locations(cadata=client.ca_pem.decode())
    lab._httpd.tls_context = demanding
    lab.register_exec_handler(lambda ns, pod, container, command: ("7\n", "", 0))
    path = kubeconfig(
        tmp_path / "kc",
        lab.url,
        {"certificate-authority-data": b64(lab.ca_pem)},
        {
            "client-certificate-data": b64(client.cert_pem),
            "client-key-data": b64(client.key_pem),
            "token": TOKEN,
        },
    )
    assert KubeClient.from_kubeconfig(path).exec("msp", "db-0", "db", ["count"]) == ("7\n", "", 0)


def test_tls_server_name_verifies_a_certificate_made_for_another_name(store: Store, tmp_path: Path) -> None:
    """The API's certificate names only `alga.internal` (and kubernetes*): reached by IP, it is
    verified against `tls-server-name`, and refused without it."""
    srv = LabApiServer(store, token=TOKEN)
    srv._cert = make_serving_cert(("alga.internal",))
    srv.start()
    try:
        ca = {"certificate-authority-data": b64(srv._cert.ca_pem)}
        named = kubeconfig(
            tmp_path / "kc", srv.url, {**ca, "tls-server-name": "alga.internal"}, {"token": TOKEN}
        )
        assert_same_objects(named)
        srv.register_exec_handler(lambda ns, pod, container, command: ("7\n", "", 0))
        assert KubeClient.from_kubeconfig(named).exec("msp", "db-0", "db", ["count"])[0] == "7\n"
        unnamed = kubeconfig(tmp_path / "kc-ip", srv.url, ca, {"token": TOKEN})
        with pytest.raises(KubeUnreachable, match="certificate verify failed") as exc:
            KubeClient.from_kubeconfig(unnamed, timeout=5).list_raw("v1/pods")
        assert exc.value.transient is False
    finally:
        srv.stop()


def test_an_exec_credential_plugin_still_works(lab: LabApiServer, tmp_path: Path) -> None:
    """`users[].user.exec`: the plugin runs (through the kubernetes package's loader) and its
    token authenticates the transport's requests and exec."""
    assert lab.ca_pem is not None
    plugin = tmp_path / "credential-plugin.py"
    plugin.write_text(
        textwrap.dedent(
            f"""
            import json
            print(json.dumps({{
                "apiVersion": "client.authentication.k8s.io/v1",
                "kind": "ExecCredential",
                "status": {{"token": {TOKEN!r}}},
            }}))
            """
        )
    )
    path = kubeconfig(
        tmp_path / "kc",
        lab.url,
        {"certificate-authority-data": b64(lab.ca_pem)},
        {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": sys.executable,
                "args": [str(plugin)],
                "interactiveMode": "Never",
            }
        },
    )
    assert_same_objects(path)
    lab.register_exec_handler(lambda ns, pod, container, command: ("7\n", "", 0))
    assert KubeClient.from_kubeconfig(path).exec("msp", "db-0", "db", ["count"]) == ("7\n", "", 0)


class ConnectProxy:
    """An HTTP proxy that only tunnels (``CONNECT host:port``), as a corporate proxy in front of
    an https API server does; it records each tunnel's request head and can cut them all."""

    def __init__(self) -> None:
        self.heads: list[str] = []
        self.tunnels: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            more = client.recv(4096)
            if not more:
                client.close()
                return
            head += more
        text = head.split(b"\r\n\r\n", 1)[0].decode()
        host, port = text.split(" ")[1].rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)), timeout=10)
        with self.lock:
            self.heads.append(text)
            self.tunnels += [client, upstream]
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def cut(self) -> None:
        """Close every open tunnel, as a proxy's (or server's) idle timeout does."""
        with self.lock:
            tunnels, self.tunnels = self.tunnels, []
        for s in tunnels:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.fixture
def connect_proxy() -> Iterator[ConnectProxy]:
    proxy = ConnectProxy()
    yield proxy
    proxy.close()


def test_an_http_proxy_tunnels_to_the_https_api(
    lab: LabApiServer, connect_proxy: ConnectProxy, tmp_path: Path
) -> None:
    """`proxy-url: http://user:password@proxy`: a CONNECT tunnel to the API's host and port with
    the URL's credentials as `Proxy-Authorization`, TLS to the API server inside it; one kept-alive
    tunnel carries the requests that follow one another."""
    assert lab.ca_pem is not None
    api = urlsplit(lab.url)
    path = kubeconfig(
        tmp_path / "kc",
        lab.url,
        {
            "certificate-authority-data": b64(lab.ca_pem),
            "proxy-url": f"http://ops:p%40ss@127.0.0.1:{connect_proxy.port}",
        },
        {"token": TOKEN},
    )
    lists = own_lists(path)
    assert [i["metadata"]["name"] for i in lists["v1/pods"]["items"]] == ["db-0"]
    assert len(connect_proxy.heads) == 1, connect_proxy.heads
    first = connect_proxy.heads[0].split("\r\n")
    assert first[0] == f"CONNECT {api.hostname}:{api.port} HTTP/1.0"
    assert f"Proxy-Authorization: Basic {b64(b'ops:p@ss')}" in first
    assert TOKEN not in connect_proxy.heads[0]  # the bearer token travels inside TLS only


def test_a_kept_alive_connection_the_other_side_closed_is_not_reused(
    lab: LabApiServer, connect_proxy: ConnectProxy, tmp_path: Path
) -> None:
    assert lab.ca_pem is not None
    path = kubeconfig(
        tmp_path / "kc",
        lab.url,
        {
            "certificate-authority-data": b64(lab.ca_pem),
            "proxy-url": f"http://127.0.0.1:{connect_proxy.port}",
        },
        {"token": TOKEN},
    )
    kube = KubeClient.from_kubeconfig(path, timeout=5, retry=RetryPolicy(attempts=1))
    try:
        assert kube.list_raw("v1/pods")["items"][0]["metadata"]["name"] == "db-0"
        assert kube.list_raw("v1/namespaces")["items"]
        assert len(connect_proxy.heads) == 1  # the second request rode the first's connection
        connect_proxy.cut()
        # no retry allowed: the idle connection is seen closed before it is used again
        assert kube.list_raw("v1/pods")["items"][0]["metadata"]["name"] == "db-0"
        assert len(connect_proxy.heads) == 2
    finally:
        kube.close()
