"""The recorded fixtures (tests/fixtures) classify as their expectations say.

Scenario snapshots: ``snapshots/<scenario>.json`` against ``snapshots/expectations.json``.
Object fixtures: ``objects/<code>/{positive,negative}-*.json`` against their ``expect``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from appliance_cli.status.classify import classify, login_available
from appliance_cli.status.offline import classify_snapshot_file
from appliance_cli.status.rules import registered
from tests.cli_runner import invoke
from tests.fixtures.objects_loader import ObjectFixture, object_fixtures

REPO = Path(__file__).resolve().parents[3]
SNAPSHOTS = REPO / "tests" / "fixtures" / "snapshots"
SCHEMA = json.loads((REPO / "schemas" / "status.schema.json").read_text())
EXPECTATIONS: dict[str, dict[str, Any]] = json.loads((SNAPSHOTS / "expectations.json").read_text())
OBJECTS = object_fixtures()


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_scenario_snapshot_rollup_top_blocker_and_order(name: str) -> None:
    want = EXPECTATIONS[name]
    doc = classify_snapshot_file(SNAPSHOTS / f"{name}.json")
    found = [(b.code, b.component) for b in doc.top_blockers]
    assert doc.rollup.state == want["rollup"], found
    if want["topBlocker"] is None:
        assert found == []
    else:
        assert found[0] == (want["topBlocker"], want["component"]), found
    order = want.get("blockerOrder")
    if order:
        codes = [c for c, _ in found]
        assert all(c in codes for c in order), codes
        assert [codes.index(c) for c in order] == sorted(codes.index(c) for c in order)
    op = want.get("activeOperation")
    if op:
        got = [o.model_dump(by_alias=True) for o in doc.active_operations]
        assert any(all(g.get(k) == v for k, v in op.items()) for g in got), got


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_scenario_snapshot_json_validates_and_exit_code_follows_login(name: str) -> None:
    path = SNAPSHOTS / f"{name}.json"
    result = invoke(["status", "--snapshot", str(path), "--json"])
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert result.exit_code == (0 if login_available(classify_snapshot_file(path)) else 1)


def test_every_snapshot_file_has_an_expectation() -> None:
    files = {p.stem for p in SNAPSHOTS.glob("*.json")} - {"expectations"}
    assert files == set(EXPECTATIONS)


def test_missing_background_tag_example_prints_the_documented_json() -> None:
    result = invoke(["status", "--snapshot", str(SNAPSHOTS / "missing-background-tag.json"), "--json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["rollup"]["state"] == "ready_with_background_issues"
    top = doc["topBlockers"][0]
    assert (top["code"], top["component"], top["loginBlocking"]) == (
        "image_tag_not_found",
        "workflow-worker",
        False,
    )


def test_every_code_has_a_positive_and_a_negative_object_fixture() -> None:
    codes = {r.spec.code for r in registered()}
    assert {f.code for f in OBJECTS if f.positive} == codes
    assert {f.code for f in OBJECTS if not f.positive} == codes


@pytest.mark.parametrize("fx", OBJECTS, ids=lambda f: f.id)
def test_object_fixture_yields_its_codes_in_rank_order(fx: ObjectFixture) -> None:
    doc = classify(fx.snapshot())
    found = [(b.code, b.component) for b in doc.top_blockers]
    codes = [c for c, _ in found]
    expected = fx.expect_codes
    assert all(c in codes for c in expected), found
    assert [codes.index(c) for c in expected] == sorted(codes.index(c) for c in expected), found
    if expected:
        first = next(f for f in found if f[0] == expected[0])
        assert first[1] == fx.expect_component, found
    for absent in fx.absent_codes:
        assert absent not in codes, found
