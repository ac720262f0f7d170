"""What each HelmRelease's chart renders in the lab: the catalog's workloads with images from
the values ConfigMap bootstrap writes (``appliance-values-<release>``), falling back to the
release manifest.

The db container is named ``postgres`` (the name the seed-users probe execs into). The
layout's db post-renderer patch names the upstream chart's container ``db``; a patch entry
for a container the object does not have is applied to its only container (see
``apply_post_renderers``) and the mismatch is reported in docs/lab.md.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from appliance_lab.scenario import Scenario
from appliance_lab.store import Obj

DB_CONTAINER = "db"  # the chart's database container (catalog: component db)
CHARTS: dict[str, tuple[str, str]] = {
    "alga-core": ("sebastian", "0.1.0"),
    "pgbouncer": ("pgbouncer", "1.0.0"),
    "temporal": ("temporal", "0.4.0"),
    "email-service": ("email-service", "0.1.0"),
    "workflow-worker": ("workflow-worker", "0.1.0"),
    "temporal-worker": ("temporal-worker", "0.1.0"),
}


def _image(values: Obj, path: str, repo_key: str, fallback: str) -> str:
    node: Any = values
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict) and node.get(repo_key) and node.get("tag"):
        return f"{node[repo_key]}:{node['tag']}"
    return fallback


def _deployment(
    name: str, image: str, *, container: str | None = None, port: int | None = None, extra: Obj | None = None
) -> Obj:
    c: Obj = {"name": container or name, "image": image, "imagePullPolicy": "IfNotPresent"}
    if port:
        c["ports"] = [{"containerPort": port, "name": "http", "protocol": "TCP"}]
        c["readinessProbe"] = {"tcpSocket": {"port": port}, "periodSeconds": 10}
    spec: Obj = {"containers": [c]}
    spec.update(extra or {})
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": name}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": name}}, "spec": spec},
        },
    }


def _service(name: str, port: int, selector: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": selector, "ports": [{"name": "tcp", "port": port, "targetPort": port}]},
    }


def _statefulset(
    name: str, image: str, container: str, claim: str, mount: str, size: str, *, sub_path: str | None = None
) -> Obj:
    vm: Obj = {"name": claim, "mountPath": mount}
    if sub_path:
        vm["subPath"] = sub_path
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": container, "image": image, "volumeMounts": [vm]}]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": claim},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": "local-path",
                        "resources": {"requests": {"storage": size}},
                    },
                }
            ],
        },
    }


def render_chart(release: str, values: Obj, images: dict[str, str], suffix: str) -> list[Obj]:
    """The objects a chart installs (before post-rendering). ``images``: release image refs by key."""
    if release == "alga-core":
        core = _image(
            values, "server.image", "name", images.get("alga-core", "ghcr.io/nine-minds/alga-psa-ee:latest")
        )
        setup = _image(values, "setup.image", "name", core)
        job_name = f"alga-core-sebastian-bootstrap-{suffix}"
        return [
            _service("db", 5432, {"app": "db"}),
            _statefulset(
                "db",
                "ankane/pgvector:v0.5.1",
                DB_CONTAINER,
                "db-data",
                "/var/lib/postgresql/data",
                str(((values.get("db") or {}).get("persistence") or {}).get("size", "30Gi")),
                sub_path="data",
            ),
            _service("redis", 6379, {"app": "redis"}),
            _statefulset(
                "redis",
                "redis:7.4-alpine",
                "redis",
                "redis-data",
                "/data",
                str(((values.get("redis") or {}).get("persistence") or {}).get("size", "5Gi")),
            ),
            _service("alga-core-sebastian", 3000, {"app.kubernetes.io/name": "alga-core-sebastian"}),
            _deployment(
                "alga-core-sebastian",
                core,
                container="sebastian",
                port=3000,
                extra={"hostNetwork": bool((values.get("server") or {}).get("hostNetwork", True))},
            ),
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": job_name, "labels": {"app.kubernetes.io/name": "alga-core-bootstrap"}},
                "spec": {
                    "backoffLimit": 2,
                    "ttlSecondsAfterFinished": 300,
                    "template": {
                        "metadata": {"labels": {"app.kubernetes.io/name": "alga-core-bootstrap"}},
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [
                                {
                                    "name": "bootstrap",
                                    "image": setup,
                                    "command": ["/app/scripts/bootstrap.sh"],
                                }
                            ],
                        },
                    },
                },
            },
        ]
    if release == "pgbouncer":
        return [
            _service("pgbouncer", 6432, {"app.kubernetes.io/name": "pgbouncer"}),
            _deployment("pgbouncer", "bitnami/pgbouncer:1.23.1", port=6432),
        ]
    if release == "temporal":
        server = _deployment("temporal", "temporalio/server:1.25.2", port=7233)
        server["spec"]["template"]["spec"]["containers"][0]["command"] = ["temporal-server"]
        server["spec"]["template"]["spec"]["containers"][0]["args"] = ["start"]
        return [
            _service("temporal", 7233, {"app.kubernetes.io/name": "temporal"}),
            server,
            _service("temporal-ui", 8080, {"app.kubernetes.io/name": "temporal-ui"}),
            _deployment("temporal-ui", "temporalio/ui:2.31.2", port=8080),
        ]
    if release in ("email-service", "workflow-worker", "temporal-worker"):
        image = _image(
            values, "image", "repository", images.get(release, f"ghcr.io/nine-minds/{release}:latest")
        )
        return [_deployment(release, image)]
    return []


def fix_of(patch: Obj) -> str | None:
    """Which durable fix a post-renderer patch is (the scenario may switch its effect off)."""
    target = patch.get("target") or {}
    text = str(patch.get("patch", ""))
    if target.get("kind") == "StatefulSet" and target.get("name") == "db":
        return "db-subpath"
    if "autosetup" in text:
        return "temporal-autosetup"
    if "enableServiceLinks" in text:
        return "service-links"
    return None


def _matches(obj: Obj, target: Obj) -> bool:
    if target.get("kind") and target["kind"] != obj.get("kind"):
        return False
    return not (target.get("name") and target["name"] != obj["metadata"].get("name"))


def _align_containers(obj: Obj, patch: Obj) -> None:
    """A patch entry for a container name the object lacks goes to its only container."""
    try:
        have = obj["spec"]["template"]["spec"]["containers"]
        want = patch["spec"]["template"]["spec"]["containers"]
    except (KeyError, TypeError):
        return
    names = {c.get("name") for c in have}
    if len(have) == 1:
        for entry in want:
            if isinstance(entry, dict) and entry.get("name") not in names:
                entry["name"] = have[0]["name"]


def apply_post_renderers(objects: list[Obj], hr: Obj, scenario: Scenario) -> list[str]:
    """Apply the HelmRelease's kustomize post-renderer patches in place; returns the fixes applied."""
    from appliance_lab import api_patch

    applied: list[str] = []
    for pr in (hr.get("spec") or {}).get("postRenderers") or []:
        for patch in ((pr.get("kustomize") or {}).get("patches")) or []:
            fix = fix_of(patch)
            if fix is not None and fix in scenario.disabled_fixes:
                continue
            body = yaml.safe_load(str(patch.get("patch", ""))) or {}
            for i, obj in enumerate(objects):
                if not _matches(obj, patch.get("target") or {}):
                    continue
                if isinstance(body, list):
                    objects[i] = api_patch.json_patch(obj, body)
                elif isinstance(body, dict):
                    b = copy.deepcopy(body)
                    _align_containers(obj, b)
                    objects[i] = api_patch.strategic_merge(obj, b)
                if fix is not None and fix not in applied:
                    applied.append(fix)
    return applied
