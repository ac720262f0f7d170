"""The foundation: release manifests, the catalog, the site directory, the CLI shell."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from appliance_cli.catalog import load_catalog
from appliance_cli.errors import ReleaseError
from appliance_cli.releases import available_versions, load_release
from appliance_cli.site import Site, atomic_write
from tests.cli_runner import invoke


def test_example_release_loads_with_pinned_versions() -> None:
    rel = load_release("1.0-rc5")
    assert rel.talos.version == "v1.12.0"
    assert rel.kubernetes.version == "v1.31.4"
    assert rel.app.release_branch == "release/1.0-rc5"
    assert {"alga-core", "workflow-worker", "email-service", "temporal-worker", "appliance-status"} <= set(
        rel.images
    )
    assert rel.image("alga-core").reference.startswith("ghcr.io/nine-minds/")
    assert "1.0-rc5" in available_versions()


def test_unknown_release_names_the_flag_and_known_versions() -> None:
    with pytest.raises(ReleaseError) as exc:
        load_release("9.9")
    assert exc.value.exit_code == 2
    assert "--release-version" in str(exc.value)
    assert "1.0-rc5" in str(exc.value)


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.pop("images"), "'images' is a required property"),
        (lambda d: d["talos"].update(version="1.12"), "talos/version"),
        (lambda d: d["images"]["alga-core"].update(tag="bad tag!"), "images/alga-core/tag"),
        (lambda d: d.update(surprise=True), "surprise"),
    ],
)
def test_malformed_release_is_rejected_with_the_field(tmp_path: Path, mutate, fragment: str) -> None:  # type: ignore[no-untyped-def]
    src = Path(__file__).resolve().parents[2] / "releases"
    data = json.loads((src / "1.0-rc5" / "release.json").read_text())
    mutate(data)
    (tmp_path / "1.0-rc5").mkdir()
    (tmp_path / "1.0-rc5" / "release.json").write_text(json.dumps(data))
    (tmp_path / "release.schema.json").write_text((src / "release.schema.json").read_text())
    with pytest.raises(ReleaseError) as exc:
        load_release("1.0-rc5", root=tmp_path)
    assert fragment in str(exc.value)


def test_release_that_is_not_json_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "2.0").mkdir()
    (tmp_path / "2.0" / "release.json").write_text("{nope")
    with pytest.raises(ReleaseError, match="not valid JSON"):
        load_release("2.0", root=tmp_path)


def test_catalog_covers_every_component_with_its_tier() -> None:
    cat = load_catalog()
    tiers = {c.name: c.tier for c in cat.components}
    assert tiers == {
        "appliance-status": "platform",
        "db": "core",
        "redis": "core",
        "pgbouncer": "core",
        "alga-core": "login",
        "temporal": "background",
        "temporal-ui": "background",
        "email-service": "background",
        "workflow-worker": "background",
        "temporal-worker": "background",
    }
    assert cat.component("alga-core").workload.name == "alga-core-sebastian"
    assert cat.component("alga-core").bootstrap_job_prefix == "alga-core-sebastian-bootstrap-"
    assert cat.component("db").workload.kind == "StatefulSet"
    assert not cat.component("workflow-worker").login_blocking
    assert cat.component("db").login_blocking


@pytest.mark.parametrize(
    ("pod", "component"),
    [
        ("temporal-ui-5d9c7b6f4-x2k8p", "temporal-ui"),
        ("temporal-7f9c8d6b5-abcde", "temporal"),
        ("temporal-worker-6b7c9d-qq1zz", "temporal-worker"),
        ("db-0", "db"),
        ("alga-core-sebastian-bootstrap-8kq2m-4xk7z", "alga-core"),
        ("unrelated-1", None),
    ],
)
def test_pods_map_to_components_by_longest_prefix(pod: str, component: str | None) -> None:
    found = load_catalog().component_for_pod("msp", pod)
    assert (found.name if found else None) == component


def test_catalog_image_keys_exist_in_the_release() -> None:
    rel = load_release("1.0-rc5")
    for comp in load_catalog().components:
        if comp.image_key:
            assert comp.image_key in rel.images, comp.name


def test_atomic_write_is_private_and_complete(tmp_path: Path) -> None:
    target = tmp_path / "site" / "kubeconfig"
    atomic_write(target, "secret")
    assert target.read_text() == "secret"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["kubeconfig"]


def test_site_id_is_validated() -> None:
    from appliance_cli.errors import UsageError

    with pytest.raises(UsageError, match="--site-id"):
        Site.open("Bad_Site")


def test_help_lists_every_command() -> None:
    res = invoke(["--help"])
    assert res.exit_code == 0
    for cmd in ("bootstrap", "status", "reset", "support-bundle", "serve-status", "lab", "explain"):
        assert cmd in res.stdout
