"""The status service's manifests: read-only RBAC that covers exactly what the collector reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance_cli.status.snapshot import RESOURCE_KEYS
from appliance_cli.web.auth import IN_CLUSTER_TOKEN_FILE, TOKEN_FILE_ENV

MANIFEST = Path(__file__).resolve().parents[3] / "flux" / "base" / "platform" / "appliance-status.yaml"
READ_VERBS = {"get", "list", "watch"}


def _docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]


def _kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in _docs() if d["kind"] == kind]


def _rules() -> list[dict[str, Any]]:
    return [r for role in _kind("ClusterRole") + _kind("Role") for r in role.get("rules") or []]


def _grants(group: str, resource: str) -> set[str]:
    out: set[str] = set()
    for r in _rules():
        if group in r.get("apiGroups", []) and resource in r.get("resources", []):
            out |= set(r.get("verbs", []))
    return out


def test_no_rule_touches_secrets_or_uses_wildcards() -> None:
    for r in _rules():
        assert "secrets" not in r.get("resources", [])
        assert (
            "*" not in r.get("resources", [])
            and "*" not in r.get("apiGroups", [])
            and "*" not in r.get("verbs", [])
        )


def test_no_write_verb_and_no_exec() -> None:
    for r in _rules():
        assert set(r["verbs"]) <= READ_VERBS, r
        assert not {"pods/exec", "pods/attach", "pods/portforward"} & set(r.get("resources", []))


@pytest.mark.parametrize("key", RESOURCE_KEYS)
def test_every_collected_resource_can_be_listed(key: str) -> None:
    parts = key.split("/")
    group = "" if len(parts) == 2 else parts[0]
    assert "list" in _grants(group, parts[-1])


def test_pod_logs_can_be_read() -> None:
    assert _grants("", "pods/log") == {"get"}


def test_the_deployment_runs_serve_status_in_cluster_with_the_token_from_the_secret() -> None:
    (dep,) = _kind("Deployment")
    spec = dep["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    argv = [*c.get("command", []), *c.get("args", [])]
    assert argv[argv.index("serve-status") :][:2] == ["serve-status", "--in-cluster"]
    assert argv[argv.index("--port") + 1] == "8080"
    assert c["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e for e in c.get("env", [])}
    token_path = Path(env[TOKEN_FILE_ENV]["value"]) if TOKEN_FILE_ENV in env else IN_CLUSTER_TOKEN_FILE
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    vols = {v["name"]: v for v in spec["volumes"]}
    mount = next(m for m in mounts.values() if token_path.parent == Path(m["mountPath"]))
    secret = vols[mount["name"]]["secret"]
    assert secret["secretName"] == "appliance-status-auth"
    assert any(i["key"] == "token" and i["path"] == token_path.name for i in secret.get("items", []))
    assert spec["serviceAccountName"] == "appliance-status"
