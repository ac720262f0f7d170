"""What the tool needs from a Kubernetes API, as protocols over plain JSON.

``adapters.kube.KubeClient`` implements all of them (and is the only module that imports
``kubernetes``); tests and the lab hand in their own. Resource keys are
``<apiVersion>/<plural>``: ``v1/configmaps``, ``kustomize.toolkit.fluxcd.io/v1/kustomizations``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

Obj = dict[str, Any]


class KubeReader(Protocol):
    """Reads: LIST (the raw List object as the API returns it), GET, a pod's log tail."""

    def list_raw(
        self,
        key: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
    ) -> Obj: ...

    def get(self, key: str, namespace: str | None, name: str) -> Obj: ...

    def pod_logs(
        self, namespace: str, pod: str, container: str | None = None, tail_lines: int = 50
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
