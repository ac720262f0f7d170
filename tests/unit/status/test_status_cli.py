"""`appliance status --snapshot` and `appliance explain` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from appliance_cli.status.model import status_json_schema
from tests.cli_runner import invoke

from .builders import Cluster, healthy_cluster
from .test_rules import db_subpath, worker_tag_missing

REPO = Path(__file__).resolve().parents[3]
SCHEMA_PATH = REPO / "schemas" / "status.schema.json"


def write(tmp_path: Path, cl: Cluster, name: str = "snap.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(cl.data()))
    return path


def test_committed_status_schema_matches_the_model() -> None:
    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed == json.loads(json.dumps(status_json_schema())), (
        "schemas/status.schema.json is stale: "
        "python -m appliance_cli.status.model > schemas/status.schema.json"
    )


def test_blocker_table_doc_is_generated_from_the_rules() -> None:
    import runpy

    gen = runpy.run_path(str(REPO / "scripts" / "gen_blocker_table.py"))
    assert (REPO / "docs" / "blocker-codes.md").read_text() == gen["render_table"](), (
        "docs/blocker-codes.md is stale: .venv/bin/python scripts/gen_blocker_table.py"
    )


@pytest.mark.parametrize(
    ("mutate", "state", "code"),
    [
        (lambda cl: None, "fully_healthy", 0),
        (worker_tag_missing, "ready_with_background_issues", 0),
        (db_subpath, "failed_action_required", 1),
    ],
)
def test_status_json_validates_and_exit_code_follows_login(
    tmp_path: Path, mutate, state: str, code: int
) -> None:  # type: ignore[no-untyped-def]
    cl = healthy_cluster()
    mutate(cl)
    result = invoke(["status", "--snapshot", str(write(tmp_path, cl)), "--json"])
    assert result.exit_code == code, result.output
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))
    assert doc["rollup"]["state"] == state


def test_status_human_view_shows_rollup_login_url_and_ranked_blockers(tmp_path: Path) -> None:
    cl = healthy_cluster()
    worker_tag_missing(cl)
    result = invoke(["status", "--snapshot", str(write(tmp_path, cl))])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Alga is ready to log in. Some background services need attention." in out
    assert "http://192.168.64.8:3000" in out
    assert "1. image_tag_not_found · workflow-worker" in out
    assert "→ Publish the missing image tag or update the release manifest." in out
    assert "Background" in out and "degraded" in out


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "cannot read snapshot"),
        ("{not json", "not valid JSON"),
        ('{"kind": "PodList"}', "not a cluster snapshot"),
        ('{"kind": "ClusterSnapshot", "collectedAt": "x"}', "malformed snapshot"),
    ],
)
def test_unreadable_or_malformed_snapshot_exits_2_naming_the_file(
    tmp_path: Path, content: str | None, fragment: str
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    result = invoke(["status", "--snapshot", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.stderr and fragment in result.stderr
    assert result.stdout == ""


def test_watch_with_snapshot_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(["status", "--snapshot", str(write(tmp_path, healthy_cluster())), "--watch"])
    assert result.exit_code == 2 and "--watch" in result.stderr


def test_explain_prints_meaning_signals_and_remediation() -> None:
    result = invoke(["explain", "storage_pvc_subpath_failed"])
    assert result.exit_code == 0
    assert "Meaning" in result.stdout and "Remediation" in result.stdout
    assert "failed to create subPath directory" in result.stdout


def test_explain_unknown_code_exits_2_with_close_matches() -> None:
    result = invoke(["explain", "image_tag_missing"])
    assert result.exit_code == 2
    assert "unknown blocker code 'image_tag_missing'" in result.stderr
    assert "image_tag_not_found" in result.stderr


def test_explain_list_names_every_code_in_rank_order() -> None:
    from appliance_cli.status.rules import registered

    result = invoke(["explain", "--list"])
    assert result.exit_code == 0
    positions = [result.stdout.index(r.spec.code) for r in registered()]
    assert positions == sorted(positions)
