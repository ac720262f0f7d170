"""`appliance validate`: exit 0 on the repository, 1 with findings on a broken copy, 2 on bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fluxtest_support import SCHEMAS_DIR, copy_repo, edit_yaml

from appliance_cli.validate import validate_repository
from tests.cli_runner import invoke


@pytest.mark.validate
def test_validate_passes_on_the_repository() -> None:
    result = invoke(["validate"])
    assert result.exit_code == 0, result.output
    assert "all checks passed" in result.stderr


def test_validate_json_lists_every_check() -> None:
    result = invoke(["validate", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == [
        "render",
        "schemas",
        "tiers",
        "helmreleases",
        "fixes",
        "rbac",
        "status-service",
        "image-tags",
        "catalog",
        "releases",
    ]
    assert Path(report["schemasDir"]).resolve() == SCHEMAS_DIR.resolve()


def test_validate_without_kubectl_uses_the_builtin_renderer_and_says_so() -> None:
    report = validate_repository(use_kubectl=False)
    assert report.ok and report.renderer == "built-in"
    assert report.notes == ["kubectl not found: rendered with the built-in renderer only"]


def test_validate_cli_without_kubectl_on_path_still_checks_with_the_builtin_renderer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = invoke(["validate", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["renderer"] == "built-in"
    assert report["notes"] == ["kubectl not found: rendered with the built-in renderer only"]


def test_missing_schema_dir_is_bad_input(tmp_path: Path) -> None:
    result = invoke(["validate", "--schemas-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "--schemas-dir" in result.stderr and "no Flux CRD schemas" in result.stderr


def test_schema_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGA_APPLIANCE_SCHEMAS_DIR", str(tmp_path))
    assert invoke(["validate"]).exit_code == 2
    monkeypatch.setenv("ALGA_APPLIANCE_SCHEMAS_DIR", str(SCHEMAS_DIR))
    assert invoke(["validate"]).exit_code == 0


def test_repo_without_flux_layout_is_bad_input(tmp_path: Path) -> None:
    result = invoke(["validate", "--repo-root", str(tmp_path), "--schemas-dir", str(SCHEMAS_DIR)])
    assert result.exit_code == 2 and "--repo-root" in result.stderr


def _set(path: list[str], value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def edit(docs: list[dict[str, Any]]) -> None:
        node = docs[0]
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    return edit


def _move(src: str, dst_tier: str) -> Callable[[Path], None]:
    def do(root: Path) -> None:
        base = root / "flux" / "base"
        name = Path(src).name
        (base / src).rename(base / dst_tier / name)
        src_k = base / Path(src).parent / "kustomization.yaml"
        src_k.write_text(src_k.read_text().replace(f"  - {name}\n", ""))
        dst_k = base / dst_tier / "kustomization.yaml"
        dst_k.write_text(dst_k.read_text() + f"  - {name}\n")

    return do


def _edit(rel: str, edit: Callable[[list[dict[str, Any]]], None]) -> Callable[[Path], None]:
    return lambda root: edit_yaml(root / "flux" / "base" / rel, edit)


def _add_secret_read(docs: list[dict[str, Any]]) -> None:
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    role["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})


def _tag_status_image(docs: list[dict[str, Any]]) -> None:
    dep = next(d for d in docs if d["kind"] == "Deployment")
    dep["spec"]["template"]["spec"]["containers"][0]["image"] += ":latest"


def _status_args(args: list[str]) -> Callable[[list[dict[str, Any]]], None]:
    def edit(docs: list[dict[str, Any]]) -> None:
        dep = next(d for d in docs if d["kind"] == "Deployment")
        dep["spec"]["template"]["spec"]["containers"][0]["args"] = args

    return edit


def _move_service(namespace: str) -> Callable[[list[dict[str, Any]]], None]:
    def edit(docs: list[dict[str, Any]]) -> None:
        next(d for d in docs if d["kind"] == "Service")["metadata"]["namespace"] = namespace

    return edit


def _drop_chart_path(root: Path) -> None:
    path = root / "releases" / "1.0-rc5" / "release.json"
    data = json.loads(path.read_text())
    del data["app"]["chartPaths"]["pgbouncer"]
    path.write_text(json.dumps(data))


def _add_uncatalogued_release(root: Path) -> None:
    core = root / "flux" / "base" / "core"
    (core / "extra.yaml").write_text(
        (core / "pgbouncer.yaml").read_text().replace("name: pgbouncer", "name: extra")
    )
    (core / "kustomization.yaml").write_text((core / "kustomization.yaml").read_text() + "  - extra.yaml\n")


BREAKS: list[tuple[str, Callable[[Path], None], str, str]] = [
    (
        "core-depends-on-background",
        _edit("core/alga-core.yaml", _set(["spec", "dependsOn"], [{"name": "temporal"}])),
        "tiers",
        "core depends on background HelmRelease temporal",
    ),
    (
        "helmrelease-cycle",
        _edit("background/temporal.yaml", _set(["spec", "dependsOn"], [{"name": "temporal-worker"}])),
        "tiers",
        "dependency cycle",
    ),
    (
        "tier-chain-broken",
        _edit("flux/kustomizations.yaml", lambda d: d[2]["spec"].pop("dependsOn")),
        "tiers",
        "dependsOn is [], expected ['alga-core']",
    ),
    (
        "catalog-tier-drift",
        _move("background/workflow-worker.yaml", "core"),
        "catalog",
        "HelmRelease workflow-worker is in core, catalog: background",
    ),
    ("helmrelease-not-in-catalog", _add_uncatalogued_release, "catalog", "not in the component catalog"),
    (
        "temporal-fixes-removed",
        _edit("background/temporal.yaml", lambda d: d[0]["spec"].pop("postRenderers")),
        "fixes",
        "autosetup",
    ),
    (
        "postgres-fix-removed",
        _edit("core/alga-core.yaml", lambda d: d[0]["spec"].pop("postRenderers")),
        "fixes",
        "subPath",
    ),
    ("rbac-secrets", _edit("platform/appliance-status.yaml", _add_secret_read), "rbac", "grants secrets"),
    (
        "misspelt-field",
        _edit("core/pgbouncer.yaml", _set(["spec", "valuesFrum"], [])),
        "schemas",
        "unknown field",
    ),
    (
        "invalid-value",
        _edit("core/pgbouncer.yaml", _set(["spec", "interval"], "often")),
        "schemas",
        "does not match",
    ),
    (
        "missing-resource",
        lambda r: (r / "flux/base/core/pgbouncer.yaml").unlink(),
        "render",
        "does not exist",
    ),
    (
        "retries",
        _edit("core/pgbouncer.yaml", _set(["spec", "install", "remediation", "retries"], 3)),
        "helmreleases",
        "retries is 3",
    ),
    (
        "image-tag-in-layout",
        _edit("platform/appliance-status.yaml", _tag_status_image),
        "image-tags",
        "come from the release",
    ),
    (
        "status-without-port",
        _edit("platform/appliance-status.yaml", _status_args(["serve-status", "--in-cluster"])),
        "status-service",
        "must run `appliance serve-status --in-cluster --port 8080`",
    ),
    (
        "undeclared-namespace",
        _edit("platform/appliance-status.yaml", _move_service("elsewhere")),
        "catalog",
        "namespace elsewhere is not declared",
    ),
    ("release-chart-path-missing", _drop_chart_path, "releases", "no path for HelmRelease pgbouncer"),
]


@pytest.mark.parametrize(("change", "check", "message"), [b[1:] for b in BREAKS], ids=[b[0] for b in BREAKS])
def test_validate_reports_a_broken_copy(
    tmp_path: Path, change: Callable[[Path], None], check: str, message: str
) -> None:
    root = copy_repo(tmp_path)
    change(root)
    result = invoke(["validate", "--json", "--repo-root", str(root), "--schemas-dir", str(SCHEMAS_DIR)])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    findings = [f for c in report["checks"] for f in c["findings"] if f["check"] == check]
    assert any(message in f["message"] for f in findings), report


def test_pristine_copy_passes_and_text_output_names_findings(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    args = ["validate", "--repo-root", str(root), "--schemas-dir", str(SCHEMAS_DIR)]
    assert invoke(args).exit_code == 0
    _edit("core/pgbouncer.yaml", _set(["spec", "valuesFrum"], []))(root)
    text = invoke(args)
    assert text.exit_code == 1
    flat = " ".join(text.stderr.split())  # the console wraps long lines
    assert "schemas: HelmRelease alga-system/pgbouncer: spec.valuesFrum: unknown field" in flat
    assert "validation failed: 1 finding(s)" in flat
