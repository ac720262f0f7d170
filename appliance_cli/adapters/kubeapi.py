"""What the tool needs from a Kubernetes API, as protocols over plain JSON.

``adapters.kube.KubeClient`` implements all of them (and is the only module that imports
``kubernetes``); tests and the lab hand in their own. Resource keys are
``<apiVersion>/<plural>``: ``v1/configmaps``, ``kustomize.toolkit.fluxcd.io/v1/kustomizations``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

Obj = dict[str, Any]

# Resources that live outside namespaces (plural names).
CLUSTER_SCOPED = frozenset(
    {
        "nodes",
        "namespaces",
        "persistentvolumes",
        "storageclasses",
        "customresourcedefinitions",
        "clusterroles",
        "clusterrolebindings",
        "priorityclasses",
        "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations",
        "apiservices",
        "csidrivers",
        "csinodes",
        "volumeattachments",
        "runtimeclasses",
    }
)


def _split_key(key: str) -> tuple[str, str]:
    """``(api prefix, plural)``: ``"/api/v1"`` or ``"/apis/<group>/<version>"``."""
    parts = key.strip("/").split("/")
    if len(parts) == 2:
        return f"/api/{parts[0]}", parts[1]
    if len(parts) == 3:
        return f"/apis/{parts[0]}/{parts[1]}", parts[2]
    raise ValueError(f"not a resource key: {key!r} (expected '<apiVersion>/<plural>')")


def resource_path(
    key: str, namespace: str | None = None, name: str | None = None, sub: str | None = None
) -> str:
    prefix, plural = _split_key(key)
    path = prefix
    if namespace and plural not in CLUSTER_SCOPED:
        path += f"/namespaces/{quote(namespace, safe='')}"
    path += f"/{plural}"
    if name is not None:
        path += f"/{quote(name, safe='')}"
    if sub:
        path += f"/{sub}"
    return path


class KubeReader(Protocol):
    """Reads, as ``adapters.kube.KubeClient`` offers them: LIST (the raw List object as the API
    returns it, one page with ``limit``), GET, a pod's log tail, and the count of requests made.
    Status collection, logs and informers each add what else they need (exec, follow, watch)."""

    @property
    def requests(self) -> int: ...

    def list_raw(
        self,
        key: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        *,
        continue_token: str | None = None,
        timeout: float | None = None,
    ) -> Obj: ...

    def get(self, key: str, namespace: str | None, name: str) -> Obj: ...

    def pod_logs(
        self,
        namespace: str,
        pod: str,
        container: str | None = None,
        tail_lines: int = 50,
        *,
        previous: bool = False,
        since_seconds: int | None = None,
    ) -> list[str]: ...


class KubeApi(KubeReader, Protocol):
    """Reads and writes (what bootstrap, reset, upgrade and repair change the cluster with)."""

    def apply(self, obj: Obj, field_manager: str = ..., force: bool = ...) -> Obj: ...

    def patch_merge(self, key: str, namespace: str | None, name: str, patch: Obj) -> Obj: ...

    def delete(
        self,
        key: str,
        namespace: str | None,
        name: str,
        *,
        missing_ok: bool = ...,
        propagation: str | None = ...,
        uid: str | None = ...,
    ) -> Any: ...

    def create(self, obj: Obj) -> Obj: ...


_IRREGULAR_PLURALS = {
    "Endpoints": "endpoints",
    "PodSecurityPolicy": "podsecuritypolicies",
    "NetworkPolicy": "networkpolicies",
    "Ingress": "ingresses",
    "IngressClass": "ingressclasses",
    "PriorityClass": "priorityclasses",
    "StorageClass": "storageclasses",
    "RuntimeClass": "runtimeclasses",
}


def plural_of(kind: str) -> str:
    if kind in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[kind]
    lower = kind.lower()
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    return lower + "s"


def key_for(obj: Mapping[str, Any]) -> str:
    """The resource key of an object: ``<apiVersion>/<plural>``."""
    return f"{obj.get('apiVersion', 'v1')}/{plural_of(str(obj.get('kind', '')))}"
