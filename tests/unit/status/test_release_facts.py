"""A snapshot carries the release facts it was judged against: the same answer on any machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance_cli.releases import load_release
from appliance_cli.status.offline import classify_snapshot_file
from appliance_cli.status.snapshot import load_snapshot, with_release_facts

REPO = Path(__file__).resolve().parents[3]
HEALTHY = REPO / "tests" / "fixtures" / "snapshots" / "healthy.json"


def test_release_1_0_rc5_pins_the_published_images_talos_and_kubernetes() -> None:
    rel = load_release("1.0-rc5")
    tags = {k: v.reference for k, v in rel.images.items()}
    assert tags["alga-core"] == "ghcr.io/nine-minds/alga-psa-ee:a2cbb430"
    for key in ("email-service", "temporal-worker", "workflow-worker"):
        assert tags[key] == f"ghcr.io/nine-minds/{key}:61e4a00e"
    assert rel.talos.version == "v1.12.0" and rel.kubernetes.version == "v1.31.4"
    assert rel.talos.installer_image.startswith(
        "factory.talos.dev/metal-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.12.0@sha256:"
    )


def test_with_release_facts_writes_the_release_and_keeps_published_facts() -> None:
    snap = load_snapshot(HEALTHY)
    bare = snap.model_copy(update={"release_facts": {"imageChecks": [{"component": "x"}]}})
    facts = with_release_facts(bare, load_release("1.0-rc5")).release_facts
    assert facts["imageChecks"] == [{"component": "x"}]
    assert facts["releaseVersion"] == "1.0-rc5" and facts["appVersion"] == "1.0-rc5"
    assert facts["images"]["alga-core"] == {
        "repository": "ghcr.io/nine-minds/alga-psa-ee",
        "tag": "a2cbb430",
        "estimatedSize": "~1.8 GB",
    }
    assert facts["kubernetes"] == {"version": "v1.31.4"}


def test_offline_classification_uses_the_facts_in_the_snapshot_not_local_manifests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This machine knows no release at all: the snapshot's own facts still decide.
    monkeypatch.setenv("ALGA_APPLIANCE_RELEASES_DIR", str(tmp_path / "no-releases"))
    doc = classify_snapshot_file(HEALTHY)
    assert doc.rollup.state == "fully_healthy"
    # And facts that pin another tag make the running one drift, whatever the local manifest says.
    data = json.loads(HEALTHY.read_text())
    data["releaseFacts"]["images"]["alga-core"]["tag"] = "ffffffff"
    other = tmp_path / "snap.json"
    other.write_text(json.dumps(data))
    drift = classify_snapshot_file(other)
    assert [(b.code, b.component) for b in drift.top_blockers] == [("release_image_drift", "alga-core")]
