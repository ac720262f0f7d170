"""The diagnostics view: Flux conditions and tier revisions, read from a snapshot (pure)."""

from __future__ import annotations

from typing import Any

from appliance_cli.status.model import StatusDocument
from appliance_cli.status.snapshot import ClusterSnapshot

Obj = dict[str, Any]

TIER_KUSTOMIZATIONS = ("alga-platform", "alga-core", "alga-background")


def _ready(obj: Obj) -> Obj:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return {
                "status": c.get("status"),
                "reason": c.get("reason"),
                "message": str(c.get("message") or "")[:500],
                "lastTransitionTime": c.get("lastTransitionTime"),
            }
    return {
        "status": "Unknown",
        "reason": None,
        "message": "no Ready condition yet",
        "lastTransitionTime": None,
    }


def _name(obj: Obj) -> tuple[str, str]:
    m = obj.get("metadata") or {}
    return str(m.get("namespace") or ""), str(m.get("name") or "")


def flux_view(snapshot: ClusterSnapshot) -> Obj:
    """GitRepositories, Kustomizations (each against its source's artifact) and HelmReleases."""
    sources: dict[tuple[str, str], Obj] = {}
    repos: list[Obj] = []
    for g in snapshot.items("source.toolkit.fluxcd.io/v1/gitrepositories"):
        ns, name = _name(g)
        artifact = (g.get("status") or {}).get("artifact") or {}
        sources[(ns, name)] = g
        ref = (g.get("spec") or {}).get("ref") or {}
        repos.append(
            {
                "namespace": ns,
                "name": name,
                "url": (g.get("spec") or {}).get("url"),
                "ref": ref.get("branch") or ref.get("tag") or ref.get("commit") or ref.get("name"),
                "artifactRevision": artifact.get("revision"),
                "ready": _ready(g),
            }
        )
    kustomizations: list[Obj] = []
    for k in snapshot.items("kustomize.toolkit.fluxcd.io/v1/kustomizations"):
        ns, name = _name(k)
        spec = k.get("spec") or {}
        status = k.get("status") or {}
        src = spec.get("sourceRef") or {}
        src_obj = sources.get((str(src.get("namespace") or ns), str(src.get("name") or "")))
        source_rev = (
            ((src_obj or {}).get("status") or {}).get("artifact", {}).get("revision") if src_obj else None
        )
        applied = status.get("lastAppliedRevision")
        stale = bool(source_rev and applied and applied != source_rev)
        kustomizations.append(
            {
                "namespace": ns,
                "name": name,
                "tier": name in TIER_KUSTOMIZATIONS,
                "path": spec.get("path"),
                "dependsOn": [d.get("name") for d in spec.get("dependsOn") or []],
                "suspended": bool(spec.get("suspend")),
                "lastAppliedRevision": applied,
                "lastAttemptedRevision": status.get("lastAttemptedRevision"),
                "sourceRevision": source_rev,
                "stale": stale,
                "ready": _ready(k),
            }
        )
    kustomizations.sort(
        key=lambda x: (not x["tier"], TIER_KUSTOMIZATIONS.index(x["name"]) if x["tier"] else 0, x["name"])
    )
    releases: list[Obj] = []
    for h in snapshot.items("helm.toolkit.fluxcd.io/v2/helmreleases"):
        ns, name = _name(h)
        status = h.get("status") or {}
        history = status.get("history") or []
        releases.append(
            {
                "namespace": ns,
                "name": name,
                "lastAttemptedRevision": status.get("lastAttemptedRevision"),
                "chartVersion": (history[0] if history else {}).get("chartVersion"),
                "ready": _ready(h),
            }
        )
    releases.sort(key=lambda x: x["name"])
    return {"gitRepositories": repos, "kustomizations": kustomizations, "helmReleases": releases}


def diagnostics(snapshot: ClusterSnapshot, doc: StatusDocument) -> Obj:
    """Everything the diagnostics page shows, as JSON (``GET /api/diagnostics``)."""
    return {
        "status": doc.model_dump(mode="json", by_alias=True),
        "flux": flux_view(snapshot),
        "releaseHistory": list(snapshot.release_facts.get("history") or [])[:20],
        "collection": {
            "collectedAt": snapshot.collected_at,
            "apiRequests": snapshot.collection.api_requests,
            "seconds": snapshot.collection.seconds,
            "unavailable": dict(snapshot.collection.unavailable),
            "reachability": snapshot.reachability.model_dump(mode="json", by_alias=True),
        },
    }
