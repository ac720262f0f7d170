"""Deterministic identity and time for built objects.

Every built object is placed relative to one reference moment (``COLLECTED``) and named
from its kind, namespace, name and incarnation, so building the same cluster twice gives
byte-identical documents: uids are uuid5, resourceVersions and digests are hashes of names.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

Obj = dict[str, Any]

COLLECTED = datetime(2026, 4, 30, 2, 8, 10, tzinfo=UTC)
"""The moment every relative time (``seconds_ago``) counts back from."""
NODE = "alga-appliance"
NODE_IP = "192.168.64.8"
RELEASE = "1.0-rc5"
APP_REPO = "https://github.com/Nine-Minds/alga-psa.git"
APPLIANCE_REPO = "https://github.com/Nine-Minds/alga-psa-appliance.git"
CHARTS_REV = "release/1.0-rc5@sha1:979e20794a1b7c3d2e5f60718293a4b5c6d7e8f9"
APPLIANCE_REV = "main@sha1:4c1d2e3f40516273849a0b1c2d3e4f5061728394"


def ts(seconds_ago: float) -> str:
    """RFC3339 time ``seconds_ago`` before collectedAt."""
    return (COLLECTED - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ts_micro(seconds_ago: float) -> str:
    """MicroTime (events.k8s.io eventTime / series.lastObservedTime)."""
    return (COLLECTED - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_UID_NS = uuid.UUID("6b1f0c3e-2d4a-4f5e-9a7b-8c9d0e1f2a3b")


def uid(*parts: str) -> str:
    return str(uuid.uuid5(_UID_NS, "/".join(parts)))


def hexdigest(*parts: str, n: int = 64) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


def rv(*parts: str) -> str:
    return str(100000 + int(hexdigest(*parts, n=8), 16) % 800000)


def digest(image: str) -> str:
    return "sha256:" + hexdigest("digest", image)


def meta(
    kind: str,
    name: str,
    namespace: str | None,
    *,
    created: float,
    incarnation: str = "",
    labels: dict[str, str] | None = None,
    generation: int | None = None,
    owner: Obj | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    m: Obj = {
        "name": name,
        "uid": uid(kind, namespace or "", name, incarnation),
        "resourceVersion": rv(kind, namespace or "", name, incarnation),
        "creationTimestamp": ts(created),
    }
    if namespace:
        m["namespace"] = namespace
    if generation is not None:
        m["generation"] = generation
    if labels:
        m["labels"] = dict(labels)
    if annotations:
        m["annotations"] = dict(annotations)
    if owner:
        m["ownerReferences"] = [owner]
    return m


def owner_ref(api_version: str, kind: str, name: str, namespace: str, incarnation: str = "") -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid(kind, namespace, name, incarnation),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def set_condition(conditions: list[Obj], condition: Obj) -> None:
    """Put ``condition`` in a status' conditions: it replaces the one of its type, else is appended."""
    for i, c in enumerate(conditions):
        if c.get("type") == condition["type"]:
            conditions[i] = condition
            return
    conditions.append(condition)
