"""Values rendering: release tags, app URL and bootstrap mode merged into profile values as data."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from appliance_cli import fluxlayout as fl
from appliance_cli.releases import load_release

RELEASE = load_release("1.0-rc5")
URL = "http://192.168.64.8:3000"


def _values(component: str, mode: fl.BootstrapMode = "fresh", url: str = URL) -> dict[str, Any]:
    return fl.render_values(RELEASE, component=component, app_url=url, bootstrap_mode=mode)


@pytest.mark.parametrize(
    ("component", "path", "expected"),
    [
        ("alga-core", ["server", "image"], {"name": "ghcr.io/nine-minds/alga-psa-ee", "tag": "a2cbb430"}),
        ("alga-core", ["setup", "image"], {"name": "ghcr.io/nine-minds/alga-psa-ee", "tag": "a2cbb430"}),
        (
            "workflow-worker",
            ["image"],
            {"repository": "ghcr.io/nine-minds/workflow-worker", "tag": "61e4a00e"},
        ),
        ("email-service", ["image"], {"repository": "ghcr.io/nine-minds/email-service", "tag": "61e4a00e"}),
        (
            "temporal-worker",
            ["image"],
            {"repository": "ghcr.io/nine-minds/temporal-worker", "tag": "61e4a00e"},
        ),
    ],
)
def test_release_image_tags_land_in_the_chart_keys(
    component: str, path: list[str], expected: dict[str, str]
) -> None:
    node: Any = _values(component)
    for key in path:
        node = node[key]
    assert node == expected


def test_app_url_and_host_are_set() -> None:
    values = _values("alga-core", url="https://alga.example.com")
    assert values["appUrl"] == "https://alga.example.com"
    assert values["host"] == "alga.example.com"
    assert _values("email-service")["appUrl"] == URL


@pytest.mark.parametrize("mode", ["fresh", "recover"])
def test_bootstrap_mode_is_set(mode: fl.BootstrapMode) -> None:
    assert _values("alga-core", mode)["bootstrap"]["mode"] == mode


def test_profile_values_are_kept_and_not_mutated() -> None:
    values = _values("alga-core")
    assert values["db"]["persistence"]["storageClass"] == "local-path"
    assert values["server"]["resources"]["limits"]["memory"] == "3Gi"
    raw = yaml.safe_load((fl.profile_dir() / "values" / "alga-core.yaml").read_text())
    assert "image" not in raw["server"], "the profile file carries no image tags"


def test_third_party_components_get_no_release_image() -> None:
    assert "image" not in _values("pgbouncer")
    assert "image" not in _values("temporal").get("server", {})


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"app_url": "192.168.64.8:3000"}, "--app-url"),
        ({"app_url": "ftp://x"}, "--app-url"),
        ({"bootstrap_mode": "again"}, "--bootstrap-mode"),
    ],
)
def test_bad_input_names_the_flag(kwargs: dict[str, Any], param: str) -> None:
    args: dict[str, Any] = {"component": "alga-core", "app_url": URL, "bootstrap_mode": "fresh", **kwargs}
    with pytest.raises(fl.LayoutError) as exc:
        fl.render_values(RELEASE, **args)
    assert exc.value.param == param and exc.value.exit_code == 2


def test_unknown_component_has_no_profile_values() -> None:
    with pytest.raises(fl.LayoutError, match="no values for 'nope'"):
        _values("nope")


def test_values_configmaps_one_per_helmrelease() -> None:
    cms = fl.values_configmaps(RELEASE, app_url=URL, bootstrap_mode="recover")
    names = [c["metadata"]["name"] for c in cms]
    assert sorted(names) == sorted(f"appliance-values-{h['metadata']['name']}" for h in fl.helm_releases())
    for cm in cms:
        assert cm["metadata"]["namespace"] == "alga-system"
        assert list(cm["data"]) == ["values.yaml"]
    core = yaml.safe_load(
        next(c for c in cms if c["metadata"]["name"] == "appliance-values-alga-core")["data"]["values.yaml"]
    )
    assert core["bootstrap"]["mode"] == "recover" and core["server"]["image"]["tag"] == "a2cbb430"
    # Every ConfigMap a HelmRelease reads is rendered.
    wanted = {v["name"] for h in fl.helm_releases() for v in h["spec"]["valuesFrom"]}
    assert wanted == set(names)


def test_release_selection_configmap() -> None:
    cm = fl.release_selection_configmap(RELEASE, appliance_branch="main", app_url=URL, bootstrap_mode="fresh")
    assert (cm["metadata"]["name"], cm["metadata"]["namespace"]) == (
        "appliance-release-selection",
        "alga-system",
    )
    data = cm["data"]
    assert data["releaseVersion"] == "1.0-rc5" and data["appVersion"] == "1.0-rc5"
    assert data["channel"] == "candidate" and data["releaseBranch"] == "release/1.0-rc5"
    assert data["image.workflow-worker"] == "ghcr.io/nine-minds/workflow-worker:61e4a00e"
    assert json.loads(data["images.json"])["alga-core"] == "ghcr.io/nine-minds/alga-psa-ee:a2cbb430"
    manifest = json.loads(data["release.json"])
    assert manifest["images"]["alga-core"] == {
        "repository": "ghcr.io/nine-minds/alga-psa-ee",
        "tag": "a2cbb430",
        "estimatedSize": "~1.8 GB",
    }
    assert manifest["app"]["releaseBranch"] == "release/1.0-rc5"
    assert data["applianceBranch"] == "main" and "applianceRepoUrl" not in data
    assert all(isinstance(v, str) for v in data.values())
