"""Phase 2 and the status page certificate: made once per site, kept in the site directory
(0600) and a ``kubernetes.io/tls`` Secret, reused on re-runs and recover, its fingerprint
announced once right after the token, the key never shown."""

from __future__ import annotations

import base64
import json
from typing import Any

from appliance_cli import tls
from appliance_cli.bootstrap import engine
from appliance_cli.bootstrap.options import build_options
from appliance_cli.site import Site
from tests.recording import RecordingReporter

from .fakes import Harness

BASE: dict[str, Any] = {
    "bootstrap_mode": "fresh",
    "release_version": "1.0-rc5",
    "node_ip": "10.0.0.5",
    "site_id": "test-site",
    "hostname": "alga-node",
}
FINGERPRINT_LINE = "Status page certificate SHA-256 fingerprint: "


def run(h: Harness, **over: Any) -> tuple[engine.BootstrapResult, RecordingReporter, list[str]]:
    rep = RecordingReporter()
    said: list[str] = []
    result = engine.run(
        build_options(**{**BASE, **over}), reporter=rep, announce=said.append, adapters=h.adapters()
    )
    return result, rep, said


def site_pair() -> tls.StatusCert:
    site = Site.open("test-site")
    return tls.load(site.path(tls.CERT_FILE).read_bytes(), site.path(tls.KEY_FILE).read_bytes())


def secret_pair(h: Harness) -> tuple[str, tls.StatusCert]:
    secret = h.cluster.get("v1/secrets", "appliance-system", tls.SECRET_NAME)
    data = secret["data"]
    return secret["type"], tls.load(base64.b64decode(data["tls.crt"]), base64.b64decode(data["tls.key"]))


def test_fresh_run_makes_the_pair_keeps_it_0600_and_in_a_tls_secret() -> None:
    h = Harness()
    result, _, _ = run(h)
    assert result.exit_code == 0
    site = Site.open("test-site")
    for name in (tls.KEY_FILE, tls.CERT_FILE):
        assert site.path(name).stat().st_mode & 0o777 == 0o600, name
    kind, in_cluster = secret_pair(h)
    assert kind == "kubernetes.io/tls" and in_cluster == site_pair()
    assert (
        tls.reuse_problem(site_pair(), node_ip="10.0.0.5", hostname="alga-node", namespace="appliance-system")
        is None
    )
    # the Secret exists before the tier whose pod mounts it
    applies = h.cluster.applies
    assert applies.index(f"Secret appliance-system/{tls.SECRET_NAME}") < applies.index(
        "Kustomization flux-system/alga-platform"
    )


def test_fingerprint_is_announced_once_right_after_the_token_and_the_key_never() -> None:
    h = Harness()
    _, rep, said = run(h)
    cert = site_pair()
    token = Site.open("test-site").read("status-token")
    at = said.index(f"Appliance status UI: URL https://10.0.0.5:8080 Token {token}")
    assert said[at + 1] == FINGERPRINT_LINE + cert.fingerprint
    assert sum(cert.fingerprint in line for line in said) == 1
    key_body = "".join(cert.key_pem.decode().splitlines()[1:-1])
    seen = "\n".join(said) + json.dumps([(e.step, e.details) for e in rep.events], default=str)
    seen += Site.open("test-site").journal_file.read_text()
    assert "PRIVATE KEY" not in seen and key_body[:40] not in seen


def test_re_run_and_recover_reuse_the_pair_and_show_the_same_fingerprint() -> None:
    h = Harness()
    run(h)
    first = site_pair()
    result, _, said = run(h, bootstrap_mode="recover")
    assert result.exit_code == 0 and result.applied == 0  # phase 2 verified, not redone
    assert site_pair() == first
    assert FINGERPRINT_LINE + first.fingerprint in said


def test_recover_on_a_new_machine_takes_the_pair_from_the_secret() -> None:
    h = Harness()
    run(h)
    first = site_pair()
    site = Site.open("test-site")
    site.path(tls.KEY_FILE).unlink()
    site.path(tls.CERT_FILE).unlink()
    result, rep, said = run(h, bootstrap_mode="recover")
    assert result.exit_code == 0
    assert site_pair() == first and secret_pair(h)[1] == first
    assert any(e.step == "status TLS certificate (reused from cluster)" for e in rep.events)
    assert FINGERPRINT_LINE + first.fingerprint in said


def test_a_new_node_ip_gets_a_new_certificate_with_a_warning() -> None:
    h = Harness()
    run(h)
    first = site_pair()
    result, _, said = run(h, bootstrap_mode="recover", node_ip="10.0.0.6")
    second = site_pair()
    assert second != first and secret_pair(h)[1] == second
    assert (
        tls.reuse_problem(second, node_ip="10.0.0.6", hostname="alga-node", namespace="appliance-system")
        is None
    )
    assert any("it does not name 10.0.0.6" in w for w in result.warnings)
    assert FINGERPRINT_LINE + second.fingerprint in said


def test_dry_run_plans_the_pair_but_writes_nothing() -> None:
    h = Harness()
    result, _, _ = run(h, dry_run=True)
    assert not Site.open("test-site").root.exists() and h.cluster.writes == 0
    summaries = [a.summary for a in result.plan]
    assert any(s.endswith(f"{tls.KEY_FILE} (600, secret)") for s in summaries)
    assert f"apply Secret appliance-system/{tls.SECRET_NAME}" in summaries
