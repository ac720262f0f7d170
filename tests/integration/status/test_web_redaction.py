"""Attack: a workload writes secrets into an Event, a condition and a ConfigMap. Neither
`status --json`, `/api/status`, `/api/diagnostics` nor a support bundle shows them in clear."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from appliance_lab.store import BY_KEY, Store, resource_for

from appliance_cli.site import Site
from appliance_cli.web.server import StatusServer
from tests.cli_runner import invoke
from tests.integration.status.conftest import TOKEN as KUBE_TOKEN
from tests.integration.status.conftest import lab_site, seed_healthy, status_service
from tests.unit.status import builders

pytestmark = pytest.mark.timeout(90)

STATUS_TOKEN = "web-status-token-7c6b5a4f3e2d1c0b"
PASSWORD = "Hunter2-Hunter2-xyz"
API_KEY = "ak-live-51HxQ2eZvKYlo2C0a9"
CONDITION_PASSWORD = "Cond-Pass-0987654321"
SECRETS = (STATUS_TOKEN, KUBE_TOKEN, PASSWORD, API_KEY, CONDITION_PASSWORD)
ATTACK = f"db init: password={PASSWORD} token {STATUS_TOKEN} Authorization: Bearer {KUBE_TOKEN}"


def _seed_attack(store: Store, cluster: builders.Cluster) -> None:
    pod = cluster.pod_of("db")
    events = BY_KEY["v1/events"]
    store.create(events, builders.event(pod, "BackOff", ATTACK, minutes_ago=0.1))
    # the bare tokens, with no keyword around them: only knowing them can catch them
    store.create(events, builders.event(pod, "Echo", f"echo {STATUS_TOKEN} {KUBE_TOKEN}", minutes_ago=0.2))
    cm = builders.configmap("appliance-integrations", {"api_key": API_KEY, "mode": "live"})
    cm["metadata"].setdefault("labels", {})["app.kubernetes.io/part-of"] = "alga-appliance"
    store.create(resource_for("v1", "ConfigMap"), cm)
    ks = builders.kustomization(
        "alga-extras",
        ready="False",
        reason="ReconciliationFailed",
        message=f"install failed: postgres://alga:{CONDITION_PASSWORD}@db:5432/server refused",
    )
    store.create(resource_for(ks["apiVersion"], ks["kind"]), ks)


@pytest.fixture
def site(store: Store, direct_kubeconfig: Path) -> Site:
    cluster = seed_healthy(store)
    _seed_attack(store, cluster)
    return lab_site(direct_kubeconfig.read_text(), STATUS_TOKEN)


@pytest.fixture
def served(site: Site) -> Iterator[StatusServer]:
    with status_service(STATUS_TOKEN, interval=0.5) as srv:
        yield srv


def _assert_clean(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where} shows {secret!r}"


def test_status_json_shows_the_event_redacted(site: Site) -> None:
    result = invoke(["status", "--site-id", "lab", "--json"])
    assert result.exit_code in (0, 1), result.output
    _assert_clean("status --json", result.output)
    doc = json.loads(result.stdout)
    messages = [e["message"] for e in doc["recentEvents"]]
    assert any(m.startswith("db init: password=<redacted>") for m in messages), messages


def test_the_status_api_and_diagnostics_show_nothing_secret(served: StatusServer) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as c:
        headers = {"Authorization": f"Bearer {STATUS_TOKEN}"}
        status = c.get("/api/status", headers=headers)
        diagnostics = c.get("/api/diagnostics", headers=headers)
    assert status.status_code == diagnostics.status_code == 200
    _assert_clean("/api/status", status.text)
    _assert_clean("/api/diagnostics", diagnostics.text)
    assert "db init: password=<redacted>" in status.text  # the event is there, cleaned
    assert "postgres://alga:<redacted>@db:5432/server" in diagnostics.text  # the condition too


def test_the_support_bundle_has_nothing_secret(site: Site, tmp_path: Path) -> None:
    result = invoke(["support-bundle", "--site-id", "lab", "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    bundle = Path(result.stdout.strip().splitlines()[-1])
    with tarfile.open(bundle) as tar:
        texts = {
            m.name: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }
    for name, text in texts.items():
        _assert_clean(name, text)
    snapshot = json.loads(next(t for n, t in texts.items() if n.endswith("snapshot.json")))
    cms = snapshot["resources"]["v1/configmaps"]["items"]
    cm = next(c for c in cms if c["metadata"]["name"] == "appliance-integrations")
    assert cm["data"] == {"api_key": "<redacted>", "mode": "live"}
