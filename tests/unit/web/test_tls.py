"""The status service's certificate: names, fingerprint format, pairs read back, reuse rules,
and what ``serve-status`` accepts as --tls-cert/--tls-key."""

from __future__ import annotations

import datetime
import ipaddress
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from appliance_cli import tls
from appliance_cli.errors import UsageError

NS = "appliance-system"
FINGERPRINT = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){31}$")


@pytest.fixture(scope="module")
def cert() -> tls.StatusCert:
    return tls.generate(node_ip="10.0.0.5", hostname="alga-node.lan", namespace=NS)


def test_certificate_names_the_node_the_service_and_loopback(cert: tls.StatusCert) -> None:
    parsed = x509.load_pem_x509_certificate(cert.cert_pem)
    san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [
        "alga-node.lan",
        "appliance-status",
        "appliance-status.appliance-system.svc",
        "localhost",
    ]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.5"),
        ipaddress.ip_address("127.0.0.1"),
    ]
    eku = parsed.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert parsed.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert parsed.issuer == parsed.subject  # self-signed
    assert isinstance(parsed.public_key(), ec.EllipticCurvePublicKey)
    assert parsed.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert parsed.not_valid_after_utc - parsed.not_valid_before_utc == datetime.timedelta(days=825)


def test_without_a_hostname_and_with_ipv6_the_names_still_follow_the_rule() -> None:
    c = tls.generate(node_ip="fd00::8", hostname=None, namespace="other-ns")
    san = c.certificate().extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [
        "appliance-status",
        "appliance-status.other-ns.svc",
        "localhost",
    ]
    assert ipaddress.ip_address("fd00::8") in san.get_values_for_type(x509.IPAddress)


def test_fingerprint_is_what_cryptography_computes_in_the_browser_format(cert: tls.StatusCert) -> None:
    digest = x509.load_pem_x509_certificate(cert.cert_pem).fingerprint(hashes.SHA256())
    assert FINGERPRINT.match(cert.fingerprint), cert.fingerprint
    assert cert.fingerprint == ":".join(f"{b:02X}" for b in digest)
    assert len(cert.fingerprint) == 95
    # two certificates for the same names differ (a new key every time)
    assert tls.generate(node_ip="10.0.0.5", hostname=None, namespace=NS).fingerprint != cert.fingerprint


def test_the_key_never_shows_in_repr(cert: tls.StatusCert) -> None:
    assert "PRIVATE KEY" not in repr(cert) and cert.key_pem.decode() not in repr(cert)
    assert b"BEGIN PRIVATE KEY" in cert.key_pem


def test_a_pair_read_back_must_match(cert: tls.StatusCert) -> None:
    assert tls.load(cert.cert_pem, cert.key_pem) == cert
    other = tls.generate(node_ip="10.0.0.5", hostname=None, namespace=NS)
    with pytest.raises(tls.TLSMaterialError, match="does not belong") as mismatch:
        tls.load(cert.cert_pem, other.key_pem)
    assert mismatch.value.part == "key"
    with pytest.raises(tls.TLSMaterialError) as bad_cert:
        tls.load(b"not a certificate", cert.key_pem)
    assert bad_cert.value.part == "cert"
    with pytest.raises(tls.TLSMaterialError) as bad_key:
        tls.load(cert.cert_pem, b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    assert bad_key.value.part == "key"


def test_reuse_is_refused_for_another_node_a_new_hostname_or_a_certificate_about_to_end(
    cert: tls.StatusCert,
) -> None:
    same = {"node_ip": "10.0.0.5", "hostname": "alga-node.lan", "namespace": NS}
    assert tls.reuse_problem(cert, **same) is None  # type: ignore[arg-type]
    assert tls.reuse_problem(cert, node_ip="10.0.0.5", hostname=None, namespace=NS) is None
    assert tls.reuse_problem(cert, node_ip="10.0.0.9", hostname=None, namespace=NS) == (
        "it does not name 10.0.0.9"
    )
    assert "other.lan" in (
        tls.reuse_problem(cert, node_ip="10.0.0.5", hostname="other.lan", namespace=NS) or ""
    )
    late = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=825 - 20)
    assert (tls.reuse_problem(cert, now=late, **same) or "").startswith("it ends ")  # type: ignore[arg-type]


def _write(d: Path, c: tls.StatusCert) -> tuple[Path, Path]:
    (d / "tls.crt").write_bytes(c.cert_pem)
    (d / "tls.key").write_bytes(c.key_pem)
    return d / "tls.crt", d / "tls.key"


def test_serving_files_take_both_flags_or_none(tmp_path: Path, cert: tls.StatusCert) -> None:
    crt, key = _write(tmp_path, cert)
    assert tls.serving_files(None, None, in_cluster=False) is None  # plain HTTP, as before
    got = tls.serving_files(crt, key, in_cluster=False)
    assert got is not None and got[:2] == (crt, key) and got[2] == cert
    with pytest.raises(UsageError, match=r"^--tls-key: --tls-cert and --tls-key go together"):
        tls.serving_files(crt, None, in_cluster=False)
    with pytest.raises(UsageError, match=r"^--tls-cert: cannot read"):
        tls.serving_files(tmp_path / "missing.crt", key, in_cluster=False)
    with pytest.raises(UsageError, match=r"^--tls-key: the key does not belong to the certificate"):
        other = tls.generate(node_ip=None, hostname=None, namespace=NS)
        (tmp_path / "other.key").write_bytes(other.key_pem)
        tls.serving_files(crt, tmp_path / "other.key", in_cluster=False)
    with pytest.raises(UsageError, match=r"^--tls-cert: not a PEM certificate"):
        tls.serving_files(key, key, in_cluster=False)


def test_in_cluster_without_the_mounted_secret_serves_plain_http() -> None:
    assert not tls.IN_CLUSTER_CERT.exists()  # not in a pod
    assert tls.serving_files(None, None, in_cluster=True) is None
