"""The status service's TLS certificate: self-signed, made once per site, pinned by fingerprint.

Bootstrap (phase 2) makes the key and certificate when neither the site directory
(``status-tls.key`` and ``status-tls.crt``, both 0600) nor the cluster Secret
``appliance-system/appliance-status-tls`` (type ``kubernetes.io/tls``) has a usable pair,
and prints the certificate's SHA-256 fingerprint next to the status token so the admin can
compare it with what the browser shows. ``appliance serve-status`` serves it (see
docs/status-service.md).

The key is ECDSA P-256. The certificate names the node IP, the hostname (when given),
``appliance-status``, ``appliance-status.<namespace>.svc``, ``localhost`` and 127.0.0.1,
and is valid for 825 days: the longest validity Apple platforms accept for any TLS server
certificate issued after 1 July 2019 (Apple, "Requirements for trusted certificates in
iOS 13 and macOS 10.15"), so an admin who chooses to trust it on a Mac or an iPhone can.

Only module-level constants are imported with this module; ``cryptography`` is imported
when a certificate is made or read.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from cryptography import x509

CERT_FILE = "status-tls.crt"
KEY_FILE = "status-tls.key"
SECRET_NAME = "appliance-status-tls"
SERVICE_NAME = "appliance-status"
VALIDITY_DAYS = 825
# a certificate that ends within this many days is replaced at the next bootstrap
RENEW_BEFORE_DAYS = 30
# where the status pod mounts the Secret (flux/base/platform/appliance-status.yaml)
IN_CLUSTER_DIR = Path("/etc/appliance-status-tls")
IN_CLUSTER_CERT = IN_CLUSTER_DIR / "tls.crt"
IN_CLUSTER_KEY = IN_CLUSTER_DIR / "tls.key"


class TLSMaterialError(ValueError):
    """A certificate or key that cannot be used (not PEM, not a pair); ``part`` says which."""

    def __init__(self, message: str, *, part: Literal["cert", "key"]) -> None:
        super().__init__(message)
        self.part = part


@dataclass(frozen=True)
class StatusCert:
    """A certificate and its key, as PEM. The key never appears in ``repr``."""

    cert_pem: bytes
    key_pem: bytes = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate (DER), colon-separated upper-case hex, as browsers show it."""
        return fingerprint(self.cert_pem)

    @property
    def spki_sha256(self) -> str:
        """Base64 SHA-256 of the certificate's public key info (Chromium's
        ``--ignore-certificate-errors-spki-list`` takes this)."""
        return spki_sha256(self.cert_pem)

    def certificate(self) -> x509.Certificate:
        return _certificate(self.cert_pem)


def _certificate(cert_pem: bytes) -> x509.Certificate:
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise TLSMaterialError(f"not a PEM certificate ({exc})", part="cert") from None


def _der(cert_pem: bytes) -> bytes:
    try:
        return ssl.PEM_cert_to_DER_cert(cert_pem.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        raise TLSMaterialError("not a PEM certificate", part="cert") from None


def format_fingerprint(digest: bytes) -> str:
    return ":".join(f"{b:02X}" for b in digest)


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 fingerprint of a PEM certificate: ``AB:CD:…`` (32 bytes, 95 characters)."""
    return format_fingerprint(hashlib.sha256(_der(cert_pem)).digest())


def fingerprint_der(cert_der: bytes) -> str:
    """The same for a DER certificate (what a TLS client sees on the wire)."""
    return format_fingerprint(hashlib.sha256(cert_der).digest())


def spki_sha256(cert_pem: bytes) -> str:
    from cryptography.hazmat.primitives import serialization

    spki = (
        _certificate(cert_pem)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def required_names(
    *, node_ip: str | None, hostname: str | None, namespace: str
) -> tuple[tuple[str, ...], tuple[IPAddress, ...]]:
    """(DNS names, IP addresses) the certificate must name, in that order."""
    dns = [n for n in (hostname, SERVICE_NAME, f"{SERVICE_NAME}.{namespace}.svc", "localhost") if n]
    ips: list[IPAddress] = []
    for value in (node_ip, "127.0.0.1"):
        if value:
            ip = ipaddress.ip_address(value)
            if ip not in ips:
                ips.append(ip)
    return tuple(dict.fromkeys(dns)), tuple(ips)


def generate(
    *,
    node_ip: str | None,
    hostname: str | None,
    namespace: str,
    now: datetime.datetime | None = None,
) -> StatusCert:
    """A new ECDSA P-256 key and a self-signed certificate for the status service."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    dns, ips = required_names(node_ip=node_ip, hostname=hostname, namespace=namespace)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Alga PSA appliance"),
            x509.NameAttribute(NameOID.COMMON_NAME, hostname or node_ip or SERVICE_NAME),
        ]
    )
    start = (now or datetime.datetime.now(datetime.UTC)) - datetime.timedelta(minutes=5)  # clock skew
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [*(x509.DNSName(d) for d in dns), *(x509.IPAddress(ip) for ip in ips)]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return StatusCert(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def load(cert_pem: bytes, key_pem: bytes) -> StatusCert:
    """A pair read back (files, the Secret); ``TLSMaterialError`` when it is not a matching pair."""
    from cryptography.hazmat.primitives import serialization

    cert = _certificate(cert_pem)
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise TLSMaterialError(
            f"not an unencrypted PEM private key ({type(exc).__name__})", part="key"
        ) from None
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise TLSMaterialError("the key does not belong to the certificate", part="key")
    return StatusCert(cert_pem=cert_pem, key_pem=key_pem)


def reuse_problem(
    cert: StatusCert,
    *,
    node_ip: str | None,
    hostname: str | None,
    namespace: str,
    now: datetime.datetime | None = None,
) -> str | None:
    """Why ``cert`` should not be served for these names any more (``None``: reuse it)."""
    from cryptography import x509

    parsed = cert.certificate()
    moment = now or datetime.datetime.now(datetime.UTC)
    if parsed.not_valid_after_utc - moment < datetime.timedelta(days=RENEW_BEFORE_DAYS):
        return f"it ends {parsed.not_valid_after_utc:%Y-%m-%d}"
    try:
        san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "it names no host"
    dns, ips = required_names(node_ip=node_ip, hostname=hostname, namespace=namespace)
    missing = [d for d in dns if d not in san.get_values_for_type(x509.DNSName)]
    missing += [str(ip) for ip in ips if ip not in san.get_values_for_type(x509.IPAddress)]
    return f"it does not name {', '.join(missing)}" if missing else None


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server ``SSLContext`` for the pair: TLS 1.2 at least, HTTP/1.1."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


@functools.cache
def default_client_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle), built once per process: an
    ``httpx`` call without a context loads the bundle again each time (~35 ms of CPU)."""
    import httpx

    return httpx.create_ssl_context()


def pinned_client_context(cert_pem: bytes) -> ssl.SSLContext:
    """A client context that trusts exactly this certificate (hostname checked as usual)."""
    return ssl.create_default_context(cadata=cert_pem.decode("ascii"))


def serving_files(
    cert_file: Path | None, key_file: Path | None, *, in_cluster: bool
) -> tuple[Path, Path, StatusCert] | None:
    """What ``serve-status`` serves: ``--tls-cert``/``--tls-key`` (both, readable, a matching
    pair), else in-cluster the mounted Secret when it is there, else ``None`` (plain HTTP).
    Anything else is bad input (``UsageError``, exit 2) naming the flag."""
    from appliance_cli.errors import UsageError

    if cert_file is None and key_file is None:
        if not (in_cluster and IN_CLUSTER_CERT.is_file() and IN_CLUSTER_KEY.is_file()):
            return None
        cert_file, key_file = IN_CLUSTER_CERT, IN_CLUSTER_KEY
    if cert_file is None or key_file is None:
        missing = "--tls-cert" if cert_file is None else "--tls-key"
        raise UsageError("--tls-cert and --tls-key go together", param=missing)
    pems: dict[str, bytes] = {}
    for param, path in (("--tls-cert", cert_file), ("--tls-key", key_file)):
        try:
            pems[param] = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}", param=param) from None
    try:
        pair = load(pems["--tls-cert"], pems["--tls-key"])
    except TLSMaterialError as exc:
        raise UsageError(str(exc), param="--tls-cert" if exc.part == "cert" else "--tls-key") from None
    return cert_file, key_file, pair
