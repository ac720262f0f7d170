"""The Flux layout as data: objects, schemas, tiers, RBAC, durable fixes, catalog drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fluxtest_support import REPO_ROOT, SCHEMAS_DIR

from appliance_cli import fluxlayout as fl
from appliance_cli.catalog import load_catalog
from appliance_cli.releases import load_release
from appliance_cli.validate import (
    expected_status_reads,
    find_cycle,
    load_crd_schemas,
    rbac_findings,
    schema_findings,
    unknown_fields,
)

RELEASE = load_release("1.0-rc5")
SCHEMAS = load_crd_schemas(SCHEMAS_DIR)


def _layout_flux_objects() -> list[dict[str, Any]]:
    objs = [o for d in fl.layout_directories() for o in fl.render_directory(d)]
    objs += fl.tier_kustomizations(
        branch="main", repo_url="https://git.example/appliance.git", release=RELEASE
    )
    objs += fl.git_repositories(
        RELEASE, appliance_repo_url="https://git.example/appliance.git", appliance_branch="feature/x"
    )
    return [o for o in objs if o["kind"] in {"GitRepository", "Kustomization", "HelmRelease"}]


FLUX_OBJECTS = _layout_flux_objects()


def _ids(objs: list[dict[str, Any]]) -> list[str]:
    return [f"{o['kind']}/{o['metadata']['name']}" for o in objs]


# --------------------------------------------------------------------------- schemas


def test_schemas_serve_exactly_the_versions_the_layout_uses() -> None:
    used = {(o["apiVersion"], o["kind"]) for o in FLUX_OBJECTS}
    assert used == {
        ("source.toolkit.fluxcd.io/v1", "GitRepository"),
        ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
        ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
    }
    assert used <= set(SCHEMAS)


@pytest.mark.parametrize("obj", FLUX_OBJECTS, ids=_ids(FLUX_OBJECTS))
def test_every_flux_object_validates_against_its_crd_schema(obj: dict[str, Any]) -> None:
    import jsonschema

    schema = SCHEMAS[(obj["apiVersion"], obj["kind"])]
    jsonschema.Draft202012Validator(schema).validate(obj)
    assert unknown_fields({k: v for k, v in obj.items() if k != "metadata"}, schema) == []


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["spec", "valuesFrum"], [], "spec.valuesFrum: unknown field"),
        (["spec", "install", "remediation", "retrys"], 0, "spec.install.remediation.retrys: unknown field"),
        (["spec", "timeout"], "soon", "spec.timeout: 'soon' does not match"),
        (["spec", "chart", "spec", "sourceRef", "kind"], "Bucketz", "is not one of"),
        (["metadata", "lables"], {"a": "b"}, "metadata.lables: unknown field"),
    ],
)
def test_schema_check_catches_typos_and_invalid_values(path: list[str], value: Any, expected: str) -> None:
    hr = next(o for o in FLUX_OBJECTS if o["kind"] == "HelmRelease")
    broken = yaml.safe_load(yaml.safe_dump(hr))
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    messages = [f.message for f in schema_findings([broken], SCHEMAS)]
    assert any(expected in m for m in messages), messages


def test_schema_check_rejects_a_version_the_crd_does_not_serve() -> None:
    hr = dict(
        next(o for o in FLUX_OBJECTS if o["kind"] == "HelmRelease"),
        apiVersion="helm.toolkit.fluxcd.io/v2beta1",
    )
    [finding] = schema_findings([hr], SCHEMAS)
    assert "not served" in finding.message and "helm.toolkit.fluxcd.io/v2" in finding.message


# --------------------------------------------------------------------------- tiers


def test_tier_directories_hold_the_expected_objects() -> None:
    def names(tier: fl.TierName) -> set[tuple[str, str, str]]:
        return {
            (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
            for o in fl.render_directory(fl.tier_dir(tier))
        }

    assert names("core") == {
        ("HelmRelease", "alga-system", "alga-core"),
        ("HelmRelease", "alga-system", "pgbouncer"),
    }
    assert names("background") == {
        ("HelmRelease", "alga-system", n)
        for n in ("temporal", "email-service", "workflow-worker", "temporal-worker")
    }
    assert names("platform") == {
        ("ServiceAccount", "appliance-system", "appliance-status"),
        ("ClusterRole", "", "appliance-status-reader"),
        ("ClusterRoleBinding", "", "appliance-status-reader"),
        ("Deployment", "appliance-system", "appliance-status"),
        ("Service", "appliance-system", "appliance-status"),
    }


def test_tier_kustomizations_chain_platform_core_background() -> None:
    kss = fl.tier_kustomizations(branch="main", repo_url="https://git.example/a.git")
    assert [k["metadata"]["name"] for k in kss] == ["alga-platform", "alga-core", "alga-background"]
    deps = {k["metadata"]["name"]: [d["name"] for d in k["spec"].get("dependsOn", [])] for k in kss}
    assert deps == {"alga-platform": [], "alga-core": ["alga-platform"], "alga-background": ["alga-core"]}
    for k in kss:
        assert k["metadata"]["namespace"] == "flux-system"
        assert k["spec"]["wait"] is True and k["spec"]["prune"] is True
        assert k["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "alga-appliance"}
        assert k["spec"]["path"] == f"./flux/base/{k['metadata']['labels']['appliance.alga-psa.io/tier']}"
    timeouts = [k["spec"]["timeout"] for k in kss]
    assert len(set(timeouts)) == 3, "each tier has its own timeout"


def test_core_never_depends_on_background() -> None:
    tiers = fl.helm_release_tiers()
    rank = {"platform": 0, "core": 1, "background": 2}
    for hr in fl.helm_releases():
        for dep in hr["spec"].get("dependsOn", []):
            assert rank[tiers[dep["name"]]] <= rank[tiers[hr["metadata"]["name"]]]


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": ["b"], "b": ["c"], "c": []}, None),
        ({"a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
        ({"a": ["b"], "b": ["c"], "c": ["b"]}, ["b", "c", "b"]),
        ({"a": ["a"]}, ["a", "a"]),
    ],
)
def test_find_cycle(graph: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle


def test_tier_kustomizations_record_the_source_and_pin_the_status_image() -> None:
    [platform, core] = fl.tier_kustomizations(
        branch="feature/tiers",
        repo_url="https://git.example/a.git",
        release=RELEASE,
        tiers=["platform", "core"],
    )
    assert platform["metadata"]["annotations"] == {
        "appliance.alga-psa.io/source-url": "https://git.example/a.git",
        "appliance.alga-psa.io/source-branch": "feature/tiers",
    }
    assert platform["spec"]["images"] == [
        {"name": "ghcr.io/nine-minds/alga-appliance-status", "newTag": "0.1.0"}
    ]
    assert "patches" not in core["spec"], "rc5 chart paths equal the files: nothing to patch"
    # Built as copies: the layout read afresh has neither the tag nor the annotations.
    [fresh] = [
        o for o in fl.render_directory(fl.base_dir() / "flux") if o["metadata"]["name"] == "alga-platform"
    ]
    assert "newTag" not in fresh["spec"]["images"][0] and "annotations" not in fresh["metadata"]


def test_chart_paths_of_a_release_that_moved_a_chart_become_kustomization_patches() -> None:
    moved = RELEASE.model_copy(
        update={
            "app": RELEASE.app.model_copy(
                update={"chart_paths": {**RELEASE.app.chart_paths, "temporal": "./ee/helm/temporal"}}
            )
        }
    )
    [bg] = fl.tier_kustomizations(branch="main", repo_url="u", release=moved, tiers=["background"])
    assert schema_findings([bg], SCHEMAS) == []
    [patch] = bg["spec"]["patches"]
    assert patch["target"] == {"group": "helm.toolkit.fluxcd.io", "kind": "HelmRelease", "name": "temporal"}
    assert yaml.safe_load(patch["patch"]) == [
        {"op": "replace", "path": "/spec/chart/spec/chart", "value": "./ee/helm/temporal"}
    ]


def test_git_repositories_point_at_the_chosen_branch_and_the_release_branch() -> None:
    appliance, charts = fl.git_repositories(
        RELEASE, appliance_repo_url="https://git.example/appliance.git", appliance_branch="feature/x"
    )
    assert (appliance["metadata"]["name"], appliance["metadata"]["namespace"]) == (
        "alga-appliance",
        "flux-system",
    )
    assert appliance["spec"]["url"] == "https://git.example/appliance.git"
    assert appliance["spec"]["ref"] == {"branch": "feature/x"}
    assert charts["metadata"]["name"] == "alga-psa-charts"
    assert charts["spec"]["url"] == RELEASE.app.repo_url
    assert charts["spec"]["ref"] == {"branch": "release/1.0-rc5"}
    assert charts["spec"]["ignore"] == "/*\n!/helm/\n"


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [({"branch": "", "repo_url": "u"}, "--branch-override"), ({"branch": "b", "repo_url": ""}, "--repo-url")],
)
def test_empty_branch_or_url_is_a_usage_error(kwargs: dict[str, str], param: str) -> None:
    with pytest.raises(fl.LayoutError) as exc:
        fl.tier_kustomizations(**kwargs)
    assert exc.value.param == param and exc.value.exit_code == 2


def test_render_flux_kustomization_applies_the_release_image_tag() -> None:
    [platform] = fl.tier_kustomizations(branch="main", repo_url="u", release=RELEASE, tiers=["platform"])
    objs = fl.render_flux_kustomization(platform)
    [dep] = [o for o in objs if o["kind"] == "Deployment"]
    assert (
        dep["spec"]["template"]["spec"]["containers"][0]["image"]
        == "ghcr.io/nine-minds/alga-appliance-status:0.1.0"
    )


# --------------------------------------------------------------------------- HelmReleases


@pytest.mark.parametrize("hr", fl.helm_releases(), ids=[h["metadata"]["name"] for h in fl.helm_releases()])
def test_helmrelease_conventions(hr: dict[str, Any]) -> None:
    name, spec = hr["metadata"]["name"], hr["spec"]
    assert hr["metadata"]["namespace"] == "alga-system"
    assert spec["targetNamespace"] == "msp"
    assert spec["chart"]["spec"]["sourceRef"] == {
        "kind": "GitRepository",
        "name": "alga-psa-charts",
        "namespace": "flux-system",
    }
    assert spec["chart"]["spec"]["chart"] == RELEASE.app.chart_paths[name]
    assert spec["valuesFrom"] == [
        {"kind": "ConfigMap", "name": f"appliance-values-{name}", "valuesKey": "values.yaml"}
    ]
    assert spec["install"]["remediation"]["retries"] == 0
    assert spec["upgrade"]["remediation"]["retries"] == 0
    assert spec["timeout"]
    assert "values" not in spec


# --------------------------------------------------------------------------- durable fixes


def _patches(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    [hr] = [h for h in fl.helm_releases() if h["metadata"]["name"] == name]
    return [
        (p["target"], yaml.safe_load(p["patch"]))
        for r in hr["spec"]["postRenderers"]
        for p in r["kustomize"]["patches"]
    ]


def test_temporal_runs_the_autosetup_entrypoint() -> None:
    containers = [
        c
        for t, body in _patches("temporal")
        if t["name"] == "temporal"
        for c in body["spec"]["template"]["spec"].get("containers", [])
    ]
    assert {
        "name": "temporal",
        "command": ["/etc/temporal/entrypoint.sh"],
        "args": ["autosetup"],
    } in containers


@pytest.mark.parametrize("deployment", ["temporal", "temporal-ui"])
def test_temporal_and_ui_disable_service_links(deployment: str) -> None:
    assert any(
        t == {"group": "apps", "version": "v1", "kind": "Deployment", "name": deployment}
        and body["spec"]["template"]["spec"].get("enableServiceLinks") is False
        for t, body in _patches("temporal")
    )


def test_postgres_db_data_is_mounted_without_subpath() -> None:
    [(target, body)] = _patches("alga-core")
    assert target["kind"] == "StatefulSet" and target["name"] == "db"
    [db] = body["spec"]["template"]["spec"]["containers"]
    assert db["name"] == "db"
    assert db["volumeMounts"] == [
        {"name": "db-data", "mountPath": "/var/lib/postgresql/data", "subPath": None}
    ]
    assert {"name": "PGDATA", "value": "/var/lib/postgresql/data/data"} in db["env"]


def test_every_durable_fix_is_explained_in_a_comment() -> None:
    temporal = (fl.tier_dir("background") / "temporal.yaml").read_text()
    core = (fl.tier_dir("core") / "alga-core.yaml").read_text()
    assert "# Durable fix: Temporal creates its own schema." in temporal
    assert "# Durable fix: no Service links" in temporal
    assert "# Durable fix: Postgres must never depend on a kubelet-prepared subPath." in core


# --------------------------------------------------------------------------- RBAC


def _status_roles() -> list[dict[str, Any]]:
    return [o for o in fl.render_directory(fl.tier_dir("platform")) if o["kind"] in ("Role", "ClusterRole")]


def test_status_role_is_read_only_without_secrets_or_exec() -> None:
    [role] = _status_roles()
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}
        assert "secrets" not in rule["resources"] and "*" not in rule["resources"]
        assert not {"pods/exec", "pods/attach", "pods/portforward"} & set(rule["resources"])
        assert "*" not in rule["apiGroups"]
    log_rules = [r for r in role["rules"] if "pods/log" in r["resources"]]
    assert [r["verbs"] for r in log_rules] == [["get"]]


def test_status_role_grants_exactly_what_the_collector_reads() -> None:
    [role] = _status_roles()
    granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == expected_status_reads()
    assert rbac_findings(_status_roles()) == []


def test_status_role_is_bound_to_the_status_service_account() -> None:
    objs = fl.render_directory(fl.tier_dir("platform"))
    [binding] = [o for o in objs if o["kind"] == "ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == _status_roles()[0]["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "appliance-status", "namespace": "appliance-system"}
    ]
    [dep] = [o for o in objs if o["kind"] == "Deployment"]
    assert dep["spec"]["template"]["spec"]["serviceAccountName"] == "appliance-status"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}, "grants secrets"),
        ({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get"]}, "grants pods/exec"),
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}, "write verb 'delete'"),
        ({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]}, "write verb 'patch'"),
        ({"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]}, "wildcard apiGroups"),
        (
            {"apiGroups": [""], "resources": ["services"], "verbs": ["get"]},
            "which the collector does not read",
        ),
    ],
)
def test_rbac_check_flags_dangerous_grants(rule: dict[str, Any], expected: str) -> None:
    [role] = _status_roles()
    broken = dict(role, rules=[*role["rules"], rule])
    assert any(expected in f.message for f in rbac_findings([broken]))


# --------------------------------------------------------------------------- catalog


def test_every_catalog_helmrelease_sits_in_its_tier_directory() -> None:
    catalog = load_catalog()
    tiers = fl.helm_release_tiers()
    ks_tier = {k.name: k.tier for k in catalog.kustomizations}
    for comp in catalog.components:
        if comp.helm_release:
            assert tiers[comp.helm_release] == ks_tier[comp.kustomization], comp.name
    assert set(tiers) == set(catalog.helm_releases())


def test_catalog_kustomizations_match_the_layout() -> None:
    catalog = load_catalog()
    kss = {k["metadata"]["name"]: k for k in fl.tier_kustomizations(branch="b", repo_url="u")}
    for entry in catalog.kustomizations:
        assert kss[entry.name]["spec"]["path"] == entry.path
        assert [d["name"] for d in kss[entry.name]["spec"].get("dependsOn", [])] == list(entry.depends_on)


def test_layout_has_no_image_tags() -> None:
    for d in fl.layout_directories():
        text = "\n".join(p.read_text() for p in Path(d).glob("*.yaml"))
        assert "979e2079" not in text and ":0.1.0" not in text
    assert REPO_ROOT.joinpath("flux").is_dir()


# --------------------------------------------------------------------------- status service


def test_status_deployment_serves_8080_on_the_node_with_healthz_probes_and_the_token_secret() -> None:
    [dep] = [o for o in fl.render_directory(fl.tier_dir("platform")) if o["kind"] == "Deployment"]
    pod = dep["spec"]["template"]["spec"]
    [c] = pod["containers"]
    assert [*c["command"], *c["args"]] == [
        "appliance",
        "serve-status",
        "--in-cluster",
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
    ]
    assert pod["hostNetwork"] is True and dep["spec"]["strategy"] == {"type": "Recreate"}
    assert {"name": "https", "containerPort": 8080, "hostPort": 8080, "protocol": "TCP"} in c["ports"]
    assert {"name": "http", "containerPort": 8081, "hostPort": 8081, "protocol": "TCP"} in c["ports"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz" == c["readinessProbe"]["httpGet"]["path"]
    # the probes ask the plain-HTTP port (serve-status --http-port, default 8081)
    assert c["livenessProbe"]["httpGet"]["port"] == "http" == c["readinessProbe"]["httpGet"]["port"]
    [token] = [v for v in pod["volumes"] if v["name"] == "token"]
    assert token["secret"]["secretName"] == "appliance-status-auth"
    assert token["secret"]["items"] == [{"key": "token", "path": "token"}]
    env = {e["name"]: e for e in c["env"]}
    assert env["ALGA_APPLIANCE_STATUS_TOKEN_FILE"]["value"] == "/etc/appliance-status/token"
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["image"] == RELEASE.images["appliance-status"].repository, "no tag in the manifest"


def test_status_pod_mounts_the_tls_secret_where_serve_status_looks_in_cluster() -> None:
    from appliance_cli import tls

    [dep] = [o for o in fl.render_directory(fl.tier_dir("platform")) if o["kind"] == "Deployment"]
    pod = dep["spec"]["template"]["spec"]
    [c] = pod["containers"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "tls"]
    assert volume["secret"]["secretName"] == tls.SECRET_NAME
    assert "optional" not in volume["secret"], "the pod waits for the Secret bootstrap creates"
    assert volume["secret"]["items"] == [
        {"key": "tls.crt", "path": tls.IN_CLUSTER_CERT.name},
        {"key": "tls.key", "path": tls.IN_CLUSTER_KEY.name},
    ]
    assert volume["secret"]["defaultMode"] == 0o440  # the key: owner and fsGroup only
    [mount] = [m for m in c["volumeMounts"] if m["name"] == "tls"]
    assert mount == {"name": "tls", "mountPath": str(tls.IN_CLUSTER_DIR), "readOnly": True}
    [svc] = [o for o in fl.render_directory(fl.tier_dir("platform")) if o["kind"] == "Service"]
    assert {(p["name"], p["port"]) for p in svc["spec"]["ports"]} == {("https", 8080), ("http", 8081)}


def test_no_second_copy_of_the_layout_in_the_package() -> None:
    """Flux objects are defined only under flux/; the lab and bootstrap read them through fluxlayout."""
    package = REPO_ROOT / "appliance_cli"
    for path in [*package.rglob("*.yaml"), *package.rglob("*.yml")]:
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict):
                assert not str(doc.get("apiVersion", "")).endswith(".toolkit.fluxcd.io/v1"), path
                assert not str(doc.get("apiVersion", "")).startswith("helm.toolkit.fluxcd.io"), path
