"""The example snapshots under tests/fixtures/snapshots classify as their names say."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from appliance_cli.status.classify import login_available
from appliance_cli.status.offline import classify_snapshot_file
from appliance_cli.status.rules import registered
from tests.cli_runner import invoke

REPO = Path(__file__).resolve().parents[3]
SNAPSHOTS = REPO / "tests" / "fixtures" / "snapshots"
SCHEMA = json.loads((REPO / "schemas" / "status.schema.json").read_text())

# name: (rollup state, (code, component) of the top blocker or None)
EXPECTED: dict[str, tuple[str, tuple[str, str] | None]] = {
    "healthy": ("fully_healthy", None),
    "missing-background-tag": ("ready_with_background_issues", ("image_tag_not_found", "workflow-worker")),
    "core-image-pulling": ("installing", None),
    "core-image-missing": ("failed_action_required", ("image_tag_not_found", "alga-core")),
    "db-subpath-helm-timeout": ("failed_action_required", ("storage_pvc_subpath_failed", "db")),
    "bootstrap-job-failed": ("failed_action_required", ("bootstrap_job_failed", "alga-core")),
    "kube-unreachable-talos-ok": ("failed_action_required", ("kubernetes_api_unreachable", "kubernetes")),
    "stale-events": ("fully_healthy", None),
}
CODES = {r.spec.code for r in registered()}


def _path(name: str) -> Path:
    path = SNAPSHOTS / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"example snapshot {path.name} not present")
    return path


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_snapshot_rollup_and_top_blocker(name: str) -> None:
    state, top = EXPECTED[name]
    doc = classify_snapshot_file(_path(name))
    assert doc.rollup.state == state, [(b.code, b.component) for b in doc.top_blockers]
    if top is None:
        assert doc.top_blockers == []
    else:
        assert (doc.top_blockers[0].code, doc.top_blockers[0].component) == top


def test_core_image_pulling_snapshot_reports_the_pull_as_an_active_operation() -> None:
    doc = classify_snapshot_file(_path("core-image-pulling"))
    pull = next(o for o in doc.active_operations if o.operation == "pulling_image")
    assert pull.component == "alga-core"
    assert pull.elapsed_seconds is not None and pull.elapsed_seconds > 0
    assert pull.estimated_size == "~1.8 GB"


def test_db_subpath_snapshot_lists_the_helm_timeout_after_its_cause() -> None:
    doc = classify_snapshot_file(_path("db-subpath-helm-timeout"))
    found = [b.code for b in doc.top_blockers]
    assert "helmrelease_failed" in found
    assert found.index("storage_pvc_subpath_failed") < found.index("helmrelease_failed")


def _all_snapshots() -> list[Path]:
    return sorted(SNAPSHOTS.glob("*.json")) if SNAPSHOTS.is_dir() else []


@pytest.mark.parametrize("path", _all_snapshots(), ids=lambda p: p.stem)
def test_every_example_snapshot_json_validates_against_the_committed_schema(path: Path) -> None:
    result = invoke(["status", "--snapshot", str(path), "--json"])
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert (result.exit_code == 0) is login_available(classify_snapshot_file(path))


@pytest.mark.parametrize(
    "path", [p for p in _all_snapshots() if p.stem.replace("-", "_") in CODES], ids=lambda p: p.stem
)
def test_per_code_example_snapshot_raises_its_code(path: Path) -> None:
    doc = classify_snapshot_file(path)
    assert path.stem.replace("-", "_") in [b.code for b in doc.top_blockers]
