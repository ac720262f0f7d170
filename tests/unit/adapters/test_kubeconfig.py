"""Reading a kubeconfig into `KubeSettings` without the kubernetes package: what is used, what
is bad input (UsageError naming the file), and that secrets stay in memory."""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
from pathlib import Path
from typing import Any

import pytest
from appliance_lab.api_tls import make_serving_cert

from appliance_cli.adapters import kubeconfig as kc
from appliance_cli.adapters.kubeconfig import read_kubeconfig
from appliance_cli.errors import UsageError


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write(path: Path, cluster: dict[str, Any], user: dict[str, Any], **top: Any) -> Path:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "ctx",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        **top,
    }
    path.write_text(json.dumps(doc))
    return path


def test_token_ca_data_and_tls_server_name(tmp_path: Path) -> None:
    cert = make_serving_cert()
    p = write(
        tmp_path / "kc",
        {
            "server": "https://10.0.0.5:6443/",
            "certificate-authority-data": b64(cert.ca_pem),
            "tls-server-name": "kubernetes",
        },
        {"token": "s3cret-token"},
    )
    s = read_kubeconfig(p)
    assert (s.server, s.hostname, s.port, s.server_hostname) == (
        "https://10.0.0.5:6443",
        "10.0.0.5",
        6443,
        "kubernetes",
    )
    assert s.ca_pem == cert.ca_pem and s.verify
    assert s.auth_headers() == {"Authorization": "Bearer s3cret-token"}
    ctx = s.ssl_context()
    assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert "s3cret" not in repr(s)
    assert s.secrets() == ("s3cret-token",)


def test_relative_files_are_read_from_the_kubeconfigs_directory(tmp_path: Path) -> None:
    cert = make_serving_cert()
    d = tmp_path / "conf"
    d.mkdir()
    (d / "ca.crt").write_bytes(cert.ca_pem)
    (d / "client.crt").write_bytes(cert.cert_pem)
    (d / "client.key").write_bytes(cert.key_pem)
    (d / "token").write_text("from-a-file\n")
    p = write(
        d / "kc",
        {"server": "https://127.0.0.1:1", "certificate-authority": "ca.crt"},
        {"client-certificate": "client.crt", "client-key": "client.key", "tokenFile": "token"},
    )
    s = read_kubeconfig(p)
    assert (s.ca_pem, s.client_cert_pem, s.client_key_pem) == (cert.ca_pem, cert.cert_pem, cert.key_pem)
    assert s.auth_headers() == {"Authorization": "Bearer from-a-file"}
    assert s.secrets() == ("from-a-file",)


def test_a_token_file_is_read_again_as_it_rotates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("one")
    s = read_kubeconfig(write(tmp_path / "kc", {"server": "http://127.0.0.1:1"}, {"tokenFile": "token"}))
    (tmp_path / "token").write_text("two")
    assert s.auth_headers() == {"Authorization": "Bearer one"}  # within the refresh interval
    monkeypatch.setattr(kc, "TOKEN_FILE_REFRESH_SECONDS", 0.0)
    assert s.auth_headers() == {"Authorization": "Bearer two"}


def test_insecure_skip_tls_verify_and_basic_auth(tmp_path: Path) -> None:
    s = read_kubeconfig(
        write(
            tmp_path / "kc",
            {"server": "https://h:6443", "insecure-skip-tls-verify": True},
            {"username": "admin", "password": "pw"},
        )
    )
    ctx = s.ssl_context()
    assert ctx is not None and ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    assert s.auth_headers() == {"Authorization": "Basic " + b64(b"admin:pw")}
    assert s.secrets() == ("pw",)  # redacted wherever a workload echoes it


def test_a_client_key_touches_the_disk_only_while_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = make_serving_cert()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seen: list[tuple[int, int, int]] = []
    real = ssl.SSLContext.load_cert_chain

    def spy(self: ssl.SSLContext, certfile: Any, keyfile: Any = None, password: Any = None) -> None:
        seen.append(
            (
                os.stat(os.path.dirname(certfile)).st_mode & 0o777,
                os.stat(certfile).st_mode & 0o777,
                os.stat(keyfile).st_mode & 0o777,
            )
        )
        real(self, certfile, keyfile, password)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    s = read_kubeconfig(
        write(
            tmp_path / "kc",
            {"server": "https://127.0.0.1:1", "certificate-authority-data": b64(cert.ca_pem)},
            {"client-certificate-data": b64(cert.cert_pem), "client-key-data": b64(cert.key_pem)},
        )
    )
    assert s.ssl_context() is not None
    assert seen and set(seen) == {(0o700, 0o600, 0o600)}
    assert list(scratch.iterdir()) == []  # deleted right after loading


BAD: dict[str, tuple[str, str]] = {
    "not YAML": ("apiVersion: v1\nclusters: [\n", "not valid YAML"),
    "not a mapping": ("- a\n- b\n", "not a kubeconfig"),
    "no current-context": (
        json.dumps({"clusters": [{"name": "c", "cluster": {"server": "https://h"}}]}),
        "no current-context",
    ),
    "unknown context": (json.dumps({"current-context": "x", "contexts": []}), "'x' is not among"),
    "cluster without a server": (
        json.dumps(
            {
                "current-context": "x",
                "clusters": [{"name": "c", "cluster": {}}],
                "contexts": [{"name": "x", "context": {"cluster": "c"}}],
            }
        ),
        "server",
    ),
    "server not a URL": (
        json.dumps(
            {
                "current-context": "x",
                "clusters": [{"name": "c", "cluster": {"server": "127.0.0.1:6443"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c"}}],
            }
        ),
        "not an http(s) URL",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_unusable_kubeconfigs_are_bad_input_naming_the_file(tmp_path: Path, case: str) -> None:
    text, fragment = BAD[case]
    p = tmp_path / "kc"
    p.write_text(text)
    with pytest.raises(UsageError) as exc:
        read_kubeconfig(p)
    assert exc.value.param == str(p) and fragment in exc.value.message
    assert "s3cret" not in exc.value.message  # a proxy's password is never shown


@pytest.mark.parametrize(
    ("cluster", "user", "fragment"),
    [
        ({"certificate-authority": "missing.crt"}, {}, "missing.crt"),
        ({"certificate-authority-data": b64(b"not a certificate")}, {}, "does not load"),
        ({}, {"client-certificate-data": b64(b"x")}, "needs its key"),
        ({}, {"tokenFile": "nope"}, "tokenFile"),
        ({"proxy-url": "ftp://proxy:21"}, {}, "proxy-url"),
        ({"proxy-url": "socks5://me:s3cret-pw@proxy:1080"}, {}, "socks5 scheme"),
    ],
)
def test_unusable_files_and_data_are_bad_input(
    tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any], fragment: str
) -> None:
    p = write(tmp_path / "kc", {"server": "https://127.0.0.1:1", **cluster}, user)
    with pytest.raises(UsageError) as exc:
        read_kubeconfig(p)
    assert exc.value.param == str(p) and fragment in exc.value.message


def test_not_utf8_and_missing_files(tmp_path: Path) -> None:
    p = tmp_path / "kc"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UsageError, match="not UTF-8"):
        read_kubeconfig(p)
    with pytest.raises(UsageError, match="kubeconfig file not found"):
        read_kubeconfig(tmp_path / "absent")


def test_in_cluster_needs_the_service_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(UsageError, match="not running inside a cluster") as exc:
        kc.in_cluster_settings(tmp_path)
    assert exc.value.param == "--in-cluster"
    cert = make_serving_cert()
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_bytes(cert.ca_pem)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    s = kc.in_cluster_settings(tmp_path)
    assert s.server == "https://[fd00::1]:443" and s.hostname == "fd00::1"
    assert s.auth_headers() == {"Authorization": "Bearer sa-token"} and s.ca_pem == cert.ca_pem
