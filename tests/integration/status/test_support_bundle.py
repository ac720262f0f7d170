"""`appliance support-bundle` against the lab: what is inside, and what never is."""

from __future__ import annotations

import base64
import json
import tarfile
from pathlib import Path

import pytest
from appliance_lab.store import BY_KEY, Store

from appliance_cli.site import Site
from tests.cli_runner import invoke
from tests.integration.status.conftest import seed_healthy

pytestmark = pytest.mark.timeout(60)

STATUS_TOKEN = "bundle-status-token-5a4b3c2d1e0f9a8b"
DB_PASSWORD = "Pg-Sup3r-S3cret-Value"
SECRET_VALUES = [STATUS_TOKEN, DB_PASSWORD, "registry-robot-pass-77"]


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _seed_secrets(store: Store) -> None:
    sec = BY_KEY["v1/secrets"]
    store.create(
        sec,
        {
            "metadata": {"name": "appliance-status-auth", "namespace": "appliance-system"},
            "data": {"token": _b64(STATUS_TOKEN)},
        },
    )
    store.create(
        sec,
        {"metadata": {"name": "db-credentials", "namespace": "msp"}, "data": {"password": _b64(DB_PASSWORD)}},
    )
    store.create(
        sec,
        {
            "metadata": {"name": "ghcr", "namespace": "msp"},
            "stringData": {"password": "registry-robot-pass-77"},
        },
    )
    store.create(
        BY_KEY["v1/pods"],
        {
            "metadata": {"name": "worker-crash", "namespace": "msp"},
            "spec": {
                "containers": [
                    {"name": "w", "image": "x", "env": [{"name": "DB_PASSWORD", "value": DB_PASSWORD}]}
                ]
            },
            "status": {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "w",
                        "ready": False,
                        "restartCount": 3,
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                        "lastState": {"terminated": {"exitCode": 1}},
                    }
                ],
            },
        },
    )
    store.append_pod_log(
        "msp", "worker-crash", "w", [f"connecting postgres://app:{DB_PASSWORD}@db:5432/server", "fatal: boom"]
    )
    store.create(
        BY_KEY["v1/configmaps"],
        {
            "metadata": {
                "name": "appliance-values-alga-core",
                "namespace": "alga-system",
                "labels": {"app.kubernetes.io/part-of": "alga-appliance"},
            },
            "data": {"values.yaml": f"db:\n  password: {DB_PASSWORD}\nreplicas: 1\n"},
        },
    )


@pytest.fixture
def lab_site(store: Store, direct_kubeconfig: Path) -> Site:
    seed_healthy(store)
    _seed_secrets(store)
    site = Site.open("lab")
    site.write("kubeconfig", direct_kubeconfig.read_text())
    site.write("status-token", STATUS_TOKEN)
    site.write("node-ip", "127.0.0.1", mode=0o644)
    site.write(
        "journal.json",
        json.dumps({"version": 1, "siteId": "lab", "releaseVersion": "1.0-rc5", "phases": {}, "facts": {}}),
    )
    return site


def _extract(path: Path, into: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        assert all(m.isfile() and not m.name.startswith("/") and ".." not in m.name for m in members)
        tar.extractall(into, filter="data")
        return {m.name.split("/", 1)[1]: (into / m.name).read_bytes() for m in members}


def test_bundle_holds_snapshot_status_journal_versions_and_no_secret(lab_site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = invoke(["support-bundle", "--site-id", "lab", "--output", str(out)])
    assert r.exit_code == 0, r.output
    path = Path(r.stdout.strip())
    assert path.parent == out and path.name.endswith(".tar.gz")
    assert path.stat().st_mode & 0o777 == 0o600
    files = _extract(path, tmp_path / "x")
    assert set(files) == {"snapshot.json", "status.json", "journal.json", "versions.json"}
    for name, data in files.items():
        for secret in SECRET_VALUES:
            assert secret.encode() not in data, (name, secret)
            assert _b64(secret).encode() not in data, (name, secret)
        assert b"certificate-authority-data" not in data
    snap = json.loads(files["snapshot.json"])
    assert "v1/secrets" not in snap["resources"]
    assert snap["podLogs"]["msp/worker-crash/w"][-1] == "fatal: boom"
    assert json.loads(files["versions.json"])["appliance"]
    assert json.loads(files["status.json"])["siteId"] == "lab"


def test_status_reads_the_bundled_snapshot_back(lab_site: Site, tmp_path: Path) -> None:
    r = invoke(["support-bundle", "--site-id", "lab", "--output", str(tmp_path)])
    assert r.exit_code == 0, r.output
    files = _extract(Path(r.stdout.strip()), tmp_path / "x")
    snap_file = next((tmp_path / "x").glob("*/snapshot.json"))
    back = invoke(["status", "--snapshot", str(snap_file), "--json"])
    assert back.exit_code in (0, 1), back.output
    again = json.loads(back.stdout)
    bundled = json.loads(files["status.json"])
    assert again["rollup"] == bundled["rollup"] and again["topBlockers"] == bundled["topBlockers"]


def test_bundle_without_a_kubeconfig_still_writes_what_the_site_knows(tmp_path: Path) -> None:
    site = Site.open("lab")
    site.write("node-ip", "127.0.0.1", mode=0o644)
    r = invoke(["support-bundle", "--site-id", "lab", "--output", str(tmp_path)])
    assert r.exit_code == 0, r.output
    files = _extract(Path(r.stdout.strip()), tmp_path / "x")
    snap = json.loads(files["snapshot.json"])
    assert snap["reachability"]["kubernetes"]["reachable"] is False
    assert "no kubeconfig" in snap["reachability"]["kubernetes"]["error"]


def test_output_that_is_a_file_is_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    r = invoke(["support-bundle", "--site-id", "lab", "--output", str(f)])
    assert r.exit_code == 2 and "--output" in r.output
