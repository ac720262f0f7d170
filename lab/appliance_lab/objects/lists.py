"""List objects (``<Kind>List``) of the resources a status snapshot holds, keyed as the snapshot
keys them (``<group/version>/<plural>``, ``appliance_cli.status.snapshot.RESOURCE_KEYS``)."""

from __future__ import annotations

from appliance_cli.status.snapshot import RESOURCE_KEYS

from .ids import Obj

_KINDS = (
    "Node",
    "Pod",
    "Event",
    "PersistentVolumeClaim",
    "ConfigMap",
    "Deployment",
    "StatefulSet",
    "Job",
    "GitRepository",
    "Kustomization",
    "HelmRelease",
)
KIND_KEYS: dict[str, str] = dict(zip(_KINDS, RESOURCE_KEYS, strict=True))
"""Object kind -> snapshot resource key."""


def group_version(key: str) -> str:
    """``apps/v1/deployments`` -> ``apps/v1``; ``v1/pods`` -> ``v1``."""
    return key.rsplit("/", 1)[0]


def resource_list(key: str, items: list[Obj], resource_version: str) -> Obj:
    """The List object the API returns for ``key``."""
    kind = next(k for k, v in KIND_KEYS.items() if v == key)
    return {
        "apiVersion": group_version(key),
        "kind": f"{kind}List",
        "metadata": {"resourceVersion": resource_version},
        "items": items,
    }
