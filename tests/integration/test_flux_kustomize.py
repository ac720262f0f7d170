"""The Flux layout rendered by the real `kubectl kustomize` (kustomize v5).

These tests need the kubectl binary; without it they fail with a message saying so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance_cli import fluxlayout as fl

pytestmark = pytest.mark.kubectl

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_LIKE = REPO_ROOT / "tests" / "fixtures" / "flux" / "chart-like-manifests.yaml"
DIRS = fl.layout_directories()


def _kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not on PATH: these tests run the real `kubectl kustomize` (install kubectl)")
    proc = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


@pytest.mark.parametrize("directory", DIRS, ids=[str(d.relative_to(REPO_ROOT)) for d in DIRS])
def test_builtin_renderer_matches_kubectl_kustomize(directory: Path) -> None:
    theirs = _kustomize(directory)
    mine = fl.render_directory(directory)
    assert [fl.object_id(o) for o in mine] == [fl.object_id(o) for o in theirs]
    for a, b in zip(mine, theirs, strict=True):
        assert a == b, fl.object_id(a)


@pytest.mark.parametrize("directory", DIRS, ids=[str(d.relative_to(REPO_ROOT)) for d in DIRS])
def test_every_resources_entry_exists(directory: Path) -> None:
    spec = yaml.safe_load(fl.kustomization_file(directory).read_text())
    for entry in spec.get("resources", []):
        assert (directory / entry).exists(), f"{directory}: {entry}"


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ("core", {("HelmRelease", "alga-system", "alga-core"), ("HelmRelease", "alga-system", "pgbouncer")}),
        (
            "background",
            {
                ("HelmRelease", "alga-system", n)
                for n in ("temporal", "email-service", "workflow-worker", "temporal-worker")
            },
        ),
        (
            "platform",
            {
                ("ServiceAccount", "appliance-system", "appliance-status"),
                ("ClusterRole", "", "appliance-status-reader"),
                ("ClusterRoleBinding", "", "appliance-status-reader"),
                ("Deployment", "appliance-system", "appliance-status"),
                ("Service", "appliance-system", "appliance-status"),
            },
        ),
    ],
)
def test_kubectl_renders_each_tier_with_the_expected_objects(
    tier: fl.TierName, expected: set[tuple[str, str, str]]
) -> None:
    objs = _kustomize(fl.tier_dir(tier))
    assert {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objs} == expected
    assert all(o["metadata"]["labels"]["appliance.alga-psa.io/tier"] == tier for o in objs)


def _post_render(tmp_path: Path, hr_name: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Apply a HelmRelease's postRenderers to chart-like manifests the way helm-controller does
    (a kustomization over the rendered manifests with the patches), using real kustomize."""
    [hr] = [h for h in fl.helm_releases() if h["metadata"]["name"] == hr_name]
    out: dict[tuple[str, str], dict[str, Any]] = {}
    (tmp_path / "manifests.yaml").write_text(CHART_LIKE.read_text())
    for renderer in hr["spec"]["postRenderers"]:
        kust = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": ["manifests.yaml"],
            "patches": renderer["kustomize"]["patches"],
        }
        (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kust))
        rendered = _kustomize(tmp_path)
        (tmp_path / "manifests.yaml").write_text(yaml.safe_dump_all(rendered))
        out = {(o["kind"], o["metadata"]["name"]): o for o in rendered}
    return out


def test_postgres_post_renderer_removes_the_subpath_and_keeps_the_data_directory(tmp_path: Path) -> None:
    db = _post_render(tmp_path, "alga-core")[("StatefulSet", "db")]
    [container] = db["spec"]["template"]["spec"]["containers"]
    assert container["volumeMounts"] == [{"name": "db-data", "mountPath": "/var/lib/postgresql/data"}]
    env = {e["name"]: e for e in container["env"]}
    assert env["PGDATA"]["value"] == "/var/lib/postgresql/data/data"  # the directory the subPath used
    assert "POSTGRES_PASSWORD" in env, "chart env is kept"


def test_temporal_post_renderers_force_autosetup_and_disable_service_links(tmp_path: Path) -> None:
    objs = _post_render(tmp_path, "temporal")
    server = objs[("Deployment", "temporal")]["spec"]["template"]["spec"]
    ui = objs[("Deployment", "temporal-ui")]["spec"]["template"]["spec"]
    [container] = server["containers"]
    assert (container["command"], container["args"]) == (["/etc/temporal/entrypoint.sh"], ["autosetup"])
    assert container["ports"] == [{"name": "grpc", "containerPort": 7233}], (
        "the rest of the container is kept"
    )
    assert server["enableServiceLinks"] is False
    assert ui["enableServiceLinks"] is False
    assert objs[("Service", "temporal")]["spec"]["ports"][0]["port"] == 7233, "other objects untouched"
