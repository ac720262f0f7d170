"""The recorded classifier fixtures are well formed and consistent (tests/fixtures/README.md)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from appliance_cli.status.snapshot import RESOURCE_KEYS, load_snapshot
from tests.fixtures.objects_loader import OBJECTS, SNAPSHOTS, ObjectFixture, object_fixtures

REPO = Path(__file__).resolve().parents[2]
DESIGN_CODES = [
    "kubernetes_api_unreachable",
    "talos_api_unreachable",
    "node_not_ready",
    "node_pressure",
    "dns_resolution_failed",
    "flux_controller_unavailable",
    "flux_source_failed",
    "storage_pvc_subpath_failed",
    "volume_mount_failed",
    "pvc_pending",
    "unschedulable",
    "image_tag_not_found",
    "image_pull_auth_failed",
    "image_pull_rate_limited",
    "image_pull_interrupted",
    "container_config_error",
    "bootstrap_job_failed",
    "seed_data_missing",
    "temporal_schema_uninitialized",
    "service_link_collision",
    "oom_killed",
    "crash_loop",
    "login_probe_failed",
    "release_image_drift",
    "kustomization_failed",
    "helmrelease_failed",
    "workload_not_ready",
]
ROLLUPS = {
    "installing",
    "ready_to_log_in",
    "ready_with_background_issues",
    "fully_healthy",
    "failed_action_required",
}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$")

EXPECTATIONS: dict[str, dict[str, Any]] = json.loads((SNAPSHOTS / "expectations.json").read_text())
SNAPSHOT_FILES = sorted(p for p in SNAPSHOTS.glob("*.json") if p.name != "expectations.json")
FIXTURES = object_fixtures()


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _objects(resources: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [o for key, items in resources.items() if key != "v1/events" for o in items]


def _check_events(resources: dict[str, list[dict[str, Any]]], stale: set[str], where: str) -> None:
    uids = {o["metadata"]["uid"] for o in _objects(resources)}
    for ev in resources.get("v1/events", []):
        name = ev["metadata"]["name"]
        inv = ev["involvedObject"]
        assert {"kind", "name", "uid", "apiVersion", "resourceVersion"} <= inv.keys(), (where, name)
        if name in stale:
            assert inv["uid"] not in uids, f"{where}: {name} is declared stale but its object is live"
        else:
            assert inv["uid"] in uids, f"{where}: event {name} refers to no object in the file"


def _check_times(resources: dict[str, list[dict[str, Any]]], collected_at: str, where: str) -> None:
    now = _when(collected_at)
    for obj in [*_objects(resources), *resources.get("v1/events", [])]:
        created = obj["metadata"]["creationTimestamp"]
        assert RFC3339.match(created), (where, obj["metadata"]["name"])
        assert _when(created) <= now, f"{where}: {obj['metadata']['name']} created after collectedAt"
    for ev in resources.get("v1/events", []):
        for field in ("firstTimestamp", "lastTimestamp", "eventTime"):
            if ev.get(field):
                assert _when(ev[field]) <= now, (where, ev["metadata"]["name"], field)
        if ev.get("firstTimestamp") and ev.get("lastTimestamp"):
            assert _when(ev["firstTimestamp"]) <= _when(ev["lastTimestamp"]), (where, ev["metadata"]["name"])


def _check_unique_uids(resources: dict[str, list[dict[str, Any]]], where: str) -> None:
    seen: dict[str, str] = {}
    for items in resources.values():
        for obj in items:
            u, n = obj["metadata"]["uid"], obj["metadata"]["name"]
            assert seen.setdefault(u, n) == n, f"{where}: uid {u} used by {seen[u]} and {n}"


@pytest.mark.parametrize("path", SNAPSHOT_FILES, ids=lambda p: p.stem)
def test_snapshot_loads_and_is_internally_consistent(path: Path) -> None:
    snap = load_snapshot(path)
    assert path.stem in EXPECTATIONS, f"{path.name} has no entry in expectations.json"
    resources = {k: snap.items(k) for k in snap.resources}
    for key, lst in snap.resources.items():
        assert key in RESOURCE_KEYS, key
        assert {"apiVersion", "kind", "metadata", "items"} <= lst.keys(), key
        for item in lst["items"]:
            assert lst["kind"] == item["kind"] + "List", (key, item["kind"])
    stale = set(EXPECTATIONS[path.stem].get("staleEvents", []))
    _check_events(resources, stale, path.name)
    _check_times(resources, snap.collected_at, path.name)
    _check_unique_uids(resources, path.name)
    for log_key in snap.pod_logs:
        ns, pod, _container = log_key.split("/")
        assert any(
            p["metadata"]["name"] == pod and p["metadata"]["namespace"] == ns for p in snap.items("v1/pods")
        ), log_key


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_every_expectation_names_a_snapshot_and_a_known_outcome(name: str) -> None:
    exp = EXPECTATIONS[name]
    assert (SNAPSHOTS / f"{name}.json").is_file()
    assert exp["rollup"] in ROLLUPS
    assert exp["topBlocker"] is None or exp["topBlocker"] in DESIGN_CODES
    assert (exp["topBlocker"] is None) == (exp["component"] is None)


@pytest.mark.parametrize("fx", FIXTURES, ids=lambda f: f.id)
def test_object_fixture_is_internally_consistent(fx: ObjectFixture) -> None:
    assert fx.code in DESIGN_CODES, fx.code
    assert set(fx.data["resources"]) == set(RESOURCE_KEYS)
    expect = fx.data["expect"]
    if fx.positive:
        assert fx.code in expect["codes"] and expect["component"], fx.id
    else:
        assert fx.code not in expect["codes"] and fx.code in expect["absent"], fx.id
    assert set(expect["codes"]) <= set(DESIGN_CODES) and set(expect["absent"]) <= set(DESIGN_CODES)
    _check_events(fx.data["resources"], set(fx.data.get("staleEvents", [])), fx.id)
    _check_times(fx.data["resources"], fx.data["collectedAt"], fx.id)
    _check_unique_uids(fx.data["resources"], fx.id)
    snap = fx.snapshot()  # wraps the item lists into List objects and validates the envelope
    assert snap.kind == "ClusterSnapshot"


@pytest.mark.parametrize("code", DESIGN_CODES)
def test_every_blocker_code_has_a_positive_and_a_negative_object_fixture(code: str) -> None:
    kinds = {fx.positive for fx in FIXTURES if fx.code == code}
    assert kinds == {True, False}, f"{code}: fixtures under {OBJECTS / code}"


def test_fixture_generator_is_deterministic_and_committed_output_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_fixtures.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
