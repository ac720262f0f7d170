"""The status page's private key never reaches a support bundle: not the site file, not the
``kubernetes.io/tls`` Secret, not a key that leaked into an event message or the journal
(a PEM block across lines is redacted whole)."""

from __future__ import annotations

import base64
import json
import tarfile
from pathlib import Path

import pytest
from appliance_lab.store import BY_KEY, Store

from appliance_cli import tls
from appliance_cli.site import SECRET_FILES, Site
from tests.cli_runner import invoke
from tests.integration.status.conftest import seed_healthy

pytestmark = pytest.mark.timeout(60)

STATUS_TOKEN = "bundle-tls-token-5a4b3c2d1e0f9a8b"


def _key_lines(cert: tls.StatusCert) -> list[bytes]:
    return [line for line in cert.key_pem.splitlines() if line and not line.startswith(b"-----")]


def test_the_status_key_is_a_site_secret() -> None:
    assert tls.KEY_FILE in SECRET_FILES


def test_no_bundle_file_holds_the_status_key(store: Store, direct_kubeconfig: Path, tmp_path: Path) -> None:
    seed_healthy(store)
    cert = tls.generate(node_ip="127.0.0.1", hostname=None, namespace="appliance-system")
    pem = cert.key_pem.decode()
    site = Site.open("lab")
    site.write("kubeconfig", direct_kubeconfig.read_text())
    site.write("status-token", STATUS_TOKEN)
    site.write(tls.CERT_FILE, cert.cert_pem)
    site.write(tls.KEY_FILE, cert.key_pem)
    # an accident: the key's text in the journal and in a workload's event
    site.write(
        "journal.json",
        json.dumps({"version": 1, "siteId": "lab", "phases": {}, "facts": {"note": f"loaded\n{pem}"}}),
    )
    store.create(
        BY_KEY["v1/secrets"],
        {
            "metadata": {"name": tls.SECRET_NAME, "namespace": "appliance-system"},
            "type": "kubernetes.io/tls",
            "data": {
                "tls.crt": base64.b64encode(cert.cert_pem).decode(),
                "tls.key": base64.b64encode(cert.key_pem).decode(),
            },
        },
    )
    store.create(
        BY_KEY["v1/events"],
        {
            "metadata": {"name": "web.leak", "namespace": "msp"},
            "type": "Warning",
            "reason": "BackOff",
            "message": f"startup dumped its config: tls:\n{pem}done",
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "msp"},
        },
    )
    r = invoke(["support-bundle", "--site-id", "lab", "--output", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with tarfile.open(Path(r.stdout.strip())) as tar:
        files = {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert set(files) == {"snapshot.json", "status.json", "journal.json", "versions.json"}
    key_b64 = base64.b64encode(cert.key_pem)
    for name, data in files.items():
        assert b"PRIVATE KEY" not in data, name
        assert key_b64[:40] not in data, name
        for line in _key_lines(cert):
            assert line not in data and line.replace(b"/", b"\\/") not in data, name
    assert "<redacted>" in json.loads(files["journal.json"])["facts"]["note"]
