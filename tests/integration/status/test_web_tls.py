"""`appliance serve-status` over HTTPS, a real process against the lab API: the page and API
with the site's certificate pinned, the plain port's /healthz and 308 redirect, Secure
session cookies, clients that do not trust the certificate refused, and bad TLS flags refused
before anything listens."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from appliance_lab.apiserver import LabApiServer, write_kubeconfig
from appliance_lab.store import Store

from appliance_cli import tls
from appliance_cli.site import Site
from tests.cli_runner import invoke
from tests.integration.status.conftest import TOKEN as KUBE_TOKEN
from tests.integration.status.conftest import seed_healthy
from tests.integration.status.serve_process import ServeStatus, serve_status
from tests.unit.web.conftest import wait_for

pytestmark = pytest.mark.timeout(120)

STATUS_TOKEN = "tls-status-token-0a1b2c3d4e5f6a7b"


@pytest.fixture(scope="module")
def cert() -> tls.StatusCert:
    return tls.generate(node_ip="127.0.0.1", hostname=None, namespace="appliance-system")


@pytest.fixture
def site(store: Store, lab: LabApiServer, tmp_path: Path, cert: tls.StatusCert) -> Site:
    seed_healthy(store)
    write_kubeconfig(tmp_path / "kc", lab.url, KUBE_TOKEN)
    s = Site.open("lab")
    s.write("kubeconfig", (tmp_path / "kc").read_text())
    s.write("status-token", STATUS_TOKEN)
    s.write(tls.CERT_FILE, cert.cert_pem)
    s.write(tls.KEY_FILE, cert.key_pem)
    return s


@pytest.fixture
def served(site: Site) -> Iterator[ServeStatus]:
    args = ["--site-id", "lab", "--interval", "1"]
    args += ["--tls-cert", str(site.path(tls.CERT_FILE)), "--tls-key", str(site.path(tls.KEY_FILE))]
    with serve_status(*args) as running:
        running.wait_for_line("Status service on https://127.0.0.1:")
        yield running


def https(served: ServeStatus) -> str:
    return f"https://127.0.0.1:{served.port}"


def pinned(cert: tls.StatusCert) -> httpx.Client:
    return httpx.Client(verify=tls.pinned_client_context(cert.cert_pem), timeout=10)


def peer_fingerprint(port: int, ctx: ssl.SSLContext, name: str = "127.0.0.1") -> tuple[str, str | None]:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=name) as conn,
    ):
        der = conn.getpeercert(binary_form=True)
        assert der is not None
        return tls.fingerprint_der(der), conn.version()


def test_api_status_over_https_with_the_certificate_pinned(served: ServeStatus, cert: tls.StatusCert) -> None:
    with pinned(cert) as client:
        bearer = {"Authorization": f"Bearer {STATUS_TOKEN}"}
        wait_for(lambda: client.get(https(served) + "/api/status", headers=bearer).status_code == 200, 30)
        doc = client.get(https(served) + "/api/status", headers=bearer).json()
        assert doc["schemaVersion"] == "v1" and doc["siteId"] == "lab"
        assert doc["tiers"]["platform"]["ready"] is True  # collected from the lab API
        assert client.get(https(served) + "/api/status").status_code == 401  # still token-protected
    fingerprint, version = peer_fingerprint(served.port, tls.pinned_client_context(cert.cert_pem))
    assert fingerprint == cert.fingerprint
    assert version in ("TLSv1.2", "TLSv1.3")
    # the process says which certificate it serves (the fingerprint), never the key
    out = served.output
    assert f"Certificate SHA-256 fingerprint: {cert.fingerprint}" in out
    assert "PRIVATE KEY" not in out and STATUS_TOKEN not in out


def test_plain_http_answers_healthz_and_redirects_everything_else(served: ServeStatus) -> None:
    plain = f"http://127.0.0.1:{served.http_port}"
    r = httpx.get(plain + "/healthz")
    assert (r.status_code, r.text) == (200, "ok")
    for method, path in [("GET", "/"), ("GET", "/diagnostics?tab=events"), ("POST", "/login")]:
        r = httpx.request(method, plain + path, data={"token": "x"} if method == "POST" else None)
        assert r.status_code == 308, (method, path)
        assert r.headers["location"] == f"https://127.0.0.1:{served.port}{path}"
        assert "set-cookie" not in r.headers
    # the redirect keeps the name the browser used, never a path smuggled in Host
    r = httpx.get(plain + "/", headers={"Host": "alga-node.lan:8081"})
    assert r.headers["location"] == f"https://alga-node.lan:{served.port}/"
    r = httpx.get(plain + "/", headers={"Host": "evil.example/x?"})
    assert r.headers["location"] == f"https://127.0.0.1:{served.port}/"
    # the HTTPS port does not speak plain HTTP
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{served.port}/healthz", timeout=5)


def test_the_session_cookie_is_secure_over_https(served: ServeStatus, cert: tls.StatusCert) -> None:
    with pinned(cert) as client:
        r = client.post(
            https(served) + "/login", data={"token": STATUS_TOKEN}, headers={"Origin": https(served)}
        )
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "; secure" in cookie and "; httponly" in cookie and "samesite=strict" in cookie
        assert client.get(https(served) + "/").status_code == 200  # the session works


def test_a_client_that_does_not_trust_the_certificate_is_refused(
    served: ServeStatus, cert: tls.StatusCert
) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(https(served) + "/healthz", timeout=10)  # the system's CAs
    other = tls.generate(node_ip="127.0.0.1", hostname=None, namespace="appliance-system")
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(https(served) + "/healthz", verify=tls.pinned_client_context(other.cert_pem), timeout=10)
    # a right certificate for another name is refused too (hostname checked)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        peer_fingerprint(served.port, tls.pinned_client_context(cert.cert_pem), name="elsewhere.example")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_older_than_1_2_is_refused(served: ServeStatus, cert: tls.StatusCert) -> None:
    old = tls.pinned_client_context(cert.cert_pem)
    old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError):
        peer_fingerprint(served.port, old)


def test_ctrl_c_stops_both_listeners_with_130(served: ServeStatus) -> None:
    assert served.interrupt() == 130
    for port in (served.port, served.http_port):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()


# -- bad input, refused before anything listens ----------------------------------------------------
def test_tls_flags_are_checked_before_anything_listens(site: Site, tmp_path: Path) -> None:
    crt, key = str(site.path(tls.CERT_FILE)), str(site.path(tls.KEY_FILE))
    cases = [
        (["--tls-cert", crt], "--tls-key"),
        (["--tls-key", key], "--tls-cert"),
        (["--tls-cert", str(tmp_path / "nope.crt"), "--tls-key", key], "--tls-cert"),
        (["--tls-cert", key, "--tls-key", key], "--tls-cert"),
        (["--tls-cert", crt, "--tls-key", crt], "--tls-key"),
        (["--tls-cert", crt, "--tls-key", key, "--port", "9443", "--http-port", "9443"], "--http-port"),
        (["--tls-cert", crt, "--tls-key", key, "--http-port", "0"], "--http-port"),
    ]
    for args, flag in cases:
        r = invoke(["serve-status", "--site-id", "lab", *args])
        assert r.exit_code == 2, (args, r.output)
        assert flag in r.output and "Status service on" not in r.output, (args, r.output)
        assert "PRIVATE KEY" not in r.output
