"""Discovery documents of the lab's Kubernetes API.

``/api``, ``/apis``, ``/api/v1``, ``/apis/<group>/<version>`` and ``/version``.
"""

from __future__ import annotations

from typing import Any

from appliance_lab.store import RESOURCE_TYPES, ResourceType

Obj = dict[str, Any]

GIT_VERSION = "v1.31.4"

VERSION_INFO: Obj = {
    "major": "1",
    "minor": "31",
    "gitVersion": GIT_VERSION,
    "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
    "gitTreeState": "clean",
    "buildDate": "2024-12-10T18:05:34Z",
    "goVersion": "go1.22.9",
    "compiler": "gc",
    "platform": "linux/amd64",
}

# Kinds served without a ``status`` subresource (their status, if any, is part of the object).
NO_STATUS_KINDS = frozenset(
    {
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "Event",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "StorageClass",
    }
)

_ALL_CATEGORY = frozenset({"Pod", "Service", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
_FLUX_CATEGORY = {"gitrepositories", "helmrepositories", "ocirepositories", "kustomizations", "helmreleases"}

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def has_status_subresource(rt: ResourceType) -> bool:
    return rt.kind not in NO_STATUS_KINDS


def singular(rt: ResourceType) -> str:
    return rt.kind.lower()


def _resource_entries(rt: ResourceType) -> list[Obj]:
    main: Obj = {
        "name": rt.plural,
        "singularName": singular(rt),
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": VERBS if rt.kind != "Namespace" else [v for v in VERBS if v != "deletecollection"],
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.kind in _ALL_CATEGORY:
        main["categories"] = ["all"]
    elif rt.plural in _FLUX_CATEGORY:
        main["categories"] = ["fluxcd"]
    entries = [main]
    if has_status_subresource(rt):
        entries.append(
            {
                "name": f"{rt.plural}/status",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    if rt.kind == "Pod":
        entries.append(
            {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]}
        )
        entries.append(
            {
                "name": "pods/exec",
                "singularName": "",
                "namespaced": True,
                "kind": "PodExecOptions",
                "verbs": ["create", "get"],
            }
        )
    return entries


def groups() -> dict[str, list[str]]:
    """Named API groups and their versions, in registry order."""
    out: dict[str, list[str]] = {}
    for rt in RESOURCE_TYPES:
        if rt.group:
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
    return out


def api_versions() -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    }


def _group_doc(name: str, versions: list[str]) -> Obj:
    vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": vs, "preferredVersion": vs[0]}


def api_group_list() -> Obj:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_doc(g, vs) for g, vs in groups().items()],
    }


def api_group(name: str) -> Obj | None:
    vs = groups().get(name)
    if vs is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(name, vs)}


def api_resource_list(group: str, version: str) -> Obj | None:
    types = [rt for rt in RESOURCE_TYPES if rt.group == group and rt.version == version]
    if not types:
        return None
    gv = f"{group}/{version}" if group else version
    resources: list[Obj] = []
    for rt in types:
        resources.extend(_resource_entries(rt))
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def _gv_paths() -> list[str]:
    out = ["api/v1"]
    for g, vs in groups().items():
        out.extend(f"apis/{g}/{v}" for v in vs)
    return out


def openapi_v3(path: str) -> Obj | None:
    """``/openapi/v3`` (the index) and ``/openapi/v3/<group-version>`` documents."""
    if path == "/openapi/v3":
        return {
            "paths": {
                gv: {"serverRelativeURL": f"/openapi/v3/{gv}?hash=lab{GIT_VERSION}"} for gv in _gv_paths()
            }
        }
    gv = path[len("/openapi/v3/") :]
    if gv not in _gv_paths():
        return None
    paths: Obj = {}
    for rt in RESOURCE_TYPES:
        rt_gv = f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"
        if rt_gv != gv:
            continue
        scope = "/namespaces/{namespace}" if rt.namespaced else ""
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        media = [
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
        ]
        if rt.group in ("", "apps", "batch", "rbac.authorization.k8s.io", "storage.k8s.io"):
            media.append("application/strategic-merge-patch+json")
        paths[f"/{gv}{scope}/{rt.plural}/{{name}}"] = {
            "patch": {
                "description": f"partially update the specified {rt.kind}",
                "operationId": f"patch{rt.kind}",
                "requestBody": {
                    "content": {m: {"schema": {"type": "object"}} for m in media},
                    "required": True,
                },
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [
                    {"name": n, "in": "query", "schema": {"type": t, "uniqueItems": True}}
                    for n, t in (
                        ("dryRun", "string"),
                        ("fieldManager", "string"),
                        ("fieldValidation", "string"),
                        ("force", "boolean"),
                    )
                ],
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    }
