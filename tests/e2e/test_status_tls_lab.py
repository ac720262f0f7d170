"""The status page's certificate end to end: a bootstrap against the lab makes it (site files
0600, the ``kubernetes.io/tls`` Secret), prints its fingerprint once right after the token, and
the page served with it is reached over HTTPS with that fingerprint checked and the certificate
pinned; a recover run keeps it."""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest
from appliance_lab.testing import running_lab

from appliance_cli import tls
from tests.cli_runner import invoke
from tests.integration.status.serve_process import serve_status
from tests.unit.web.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
ARGS = ["bootstrap", "--site-id", "lab", "--release-version", "1.0-rc5", "--node-ip", "127.0.0.1"]
LINE = re.compile(r"^Status page certificate SHA-256 fingerprint: ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$", re.M)


def test_bootstrap_makes_the_certificate_and_the_page_is_reached_over_https_with_it() -> None:
    # the bootstrap in this process on virtual time; the status service in its own process
    # then reads a lab that nobody waits on, which keeps the wall clock's pace
    with running_lab(scenario="healthy", speed=60.0, bootstrapped=False, virtual=True) as lab:
        r = invoke([*ARGS, "--bootstrap-mode", "fresh", "--progress", "plain"])
        assert r.exit_code == 0, r.output
        lines = r.stdout.splitlines()
        [printed] = LINE.findall(r.stdout)
        token = (lab.site_dir / "status-token").read_text().strip()
        at = lines.index(f"Appliance status UI: URL {lab.status_url} Token {token}")
        assert lines[at + 1] == f"Status page certificate SHA-256 fingerprint: {printed}"

        crt, key = lab.site_dir / tls.CERT_FILE, lab.site_dir / tls.KEY_FILE
        cert = tls.load(crt.read_bytes(), key.read_bytes())
        assert cert.fingerprint == printed
        assert crt.stat().st_mode & 0o777 == 0o600 and key.stat().st_mode & 0o777 == 0o600
        assert "PRIVATE KEY" not in r.output
        [secret] = [
            s
            for s in lab.list_objects("v1/secrets", "appliance-system")
            if s["metadata"]["name"] == tls.SECRET_NAME
        ]
        assert secret["type"] == "kubernetes.io/tls"
        assert base64.b64decode(secret["data"]["tls.crt"]) == cert.cert_pem
        assert base64.b64decode(secret["data"]["tls.key"]) == cert.key_pem

        # the page served with the site's pair, as the status pod serves the mounted Secret
        with serve_status(
            "--site-id", "lab", "--interval", "1", "--tls-cert", str(crt), "--tls-key", str(key)
        ) as served:
            served.wait_for_line("Status service on https://127.0.0.1:")
            url = f"https://127.0.0.1:{served.port}"
            with httpx.Client(verify=tls.pinned_client_context(crt.read_bytes()), timeout=10) as client:
                bearer = {"Authorization": f"Bearer {token}"}
                wait_for(lambda: client.get(url + "/api/status", headers=bearer).status_code == 200, 60)
                with client.stream("GET", url + "/api/status", headers=bearer) as resp:
                    stream = resp.extensions["network_stream"]
                    der = stream.get_extra_info("ssl_object").getpeercert(True)
                    assert tls.fingerprint_der(der) == printed  # what the admin was told to compare
                    resp.read()
                    assert resp.json()["siteId"] == "lab"

        # recover keeps the pair and says the same fingerprint (JSON progress: one milestone event)
        again = invoke([*ARGS, "--bootstrap-mode", "recover", "--progress", "json"])
        assert again.exit_code == 0, again.output
        events = [json.loads(line) for line in again.stdout.splitlines()]
        said = [e["step"] for e in events if e.get("state") == "milestone"]
        at = said.index(f"Appliance status UI: URL {lab.status_url} Token {token}")
        assert said[at + 1] == f"Status page certificate SHA-256 fingerprint: {printed}"
        assert sum(printed in line for line in again.stdout.splitlines()) == 1
        assert tls.load(crt.read_bytes(), key.read_bytes()) == cert
