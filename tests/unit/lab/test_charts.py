"""The lab's chart model honours the HelmReleases' post-renderer fixes of the Flux layout."""

from __future__ import annotations

from typing import Any

import pytest
from appliance_lab.controllers.charts import apply_post_renderers, render_chart
from appliance_lab.scenario import load_scenario

from appliance_cli import fluxlayout


def _hr(name: str) -> dict[str, Any]:
    return next(h for h in fluxlayout.helm_releases() if h["metadata"]["name"] == name)


def _obj(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    c: dict[str, Any] = containers[0]
    return c


@pytest.mark.parametrize(("scenario", "fixed"), [("healthy", True), ("postgres-subpath", False)])
def test_db_subpath_fix(scenario: str, fixed: bool) -> None:
    objs = render_chart("alga-core", {}, {}, "abcde")
    applied = apply_post_renderers(objs, _hr("alga-core"), load_scenario(scenario))
    db = _container(_obj(objs, "StatefulSet", "db"))
    assert db["name"] == "db"  # the patch addresses the chart's container by its name
    mount = next(m for m in db["volumeMounts"] if m["name"] == "db-data")
    assert ("subPath" not in mount) is fixed
    assert ({"name": "PGDATA", "value": "/var/lib/postgresql/data/data"} in db.get("env", [])) is fixed
    assert ("db-subpath" in applied) is fixed


@pytest.mark.parametrize(("scenario", "autosetup"), [("healthy", True), ("temporal-autosetup", False)])
def test_temporal_fixes(scenario: str, autosetup: bool) -> None:
    objs = render_chart("temporal", {}, {}, "abcde")
    apply_post_renderers(objs, _hr("temporal"), load_scenario(scenario))
    server = _obj(objs, "Deployment", "temporal")
    assert ("autosetup" in _container(server).get("args", [])) is autosetup
    assert server["spec"]["template"]["spec"]["enableServiceLinks"] is False
    ui = _obj(objs, "Deployment", "temporal-ui")
    assert ui["spec"]["template"]["spec"]["enableServiceLinks"] is False


def test_images_come_from_values_then_release() -> None:
    values = {"server": {"image": {"name": "ghcr.io/nine-minds/alga-psa-ee", "tag": "abc123"}}}
    objs = render_chart("alga-core", values, {"alga-core": "ghcr.io/nine-minds/alga-psa-ee:release"}, "abcde")
    assert (
        _container(_obj(objs, "Deployment", "alga-core-sebastian"))["image"]
        == "ghcr.io/nine-minds/alga-psa-ee:abc123"
    )
    job = _obj(objs, "Job", "alga-core-sebastian-bootstrap-abcde")
    assert _container(job)["image"] == "ghcr.io/nine-minds/alga-psa-ee:abc123"
    objs = render_chart(
        "workflow-worker", {}, {"workflow-worker": "ghcr.io/nine-minds/workflow-worker:61e4a00e"}, "x"
    )
    assert _container(objs[0])["image"] == "ghcr.io/nine-minds/workflow-worker:61e4a00e"
