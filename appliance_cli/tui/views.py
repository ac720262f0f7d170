"""What the console's screens show, as plain text rows (no Textual): the tier ladder, the
top blockers and the workloads table, from the same snapshot and status document as
``appliance status``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from appliance_cli.catalog import load_catalog

if TYPE_CHECKING:
    from appliance_cli.status.model import StatusDocument
    from appliance_cli.status.snapshot import ClusterSnapshot

TIERS = (
    ("platform", "Platform"),
    ("core", "Core"),
    ("bootstrap", "Bootstrap"),
    ("login", "Login"),
    ("background", "Background"),
    ("full_health", "Full health"),
)
MARK = {"healthy": "✓", "progressing": "…", "degraded": "⚠", "failed": "✗", "unknown": "?"}
TIER_ORDER = {"platform": 0, "core": 1, "login": 2, "background": 3}


def ladder_lines(doc: StatusDocument) -> list[str]:
    out = []
    for attr, title in TIERS:
        tier = getattr(doc.tiers, attr)
        mark = "✓" if tier.ready else MARK.get(tier.status, "·")
        line = f"{mark} {title:<12}{tier.status}"
        if tier.message and not tier.ready:
            line += f" — {tier.message}"
        out.append(line)
    return out


def blocker_lines(doc: StatusDocument, limit: int = 3) -> list[str]:
    if not doc.top_blockers:
        return ["No blockers."]
    out = []
    for b in doc.top_blockers[:limit]:
        out.append(f"✗ {b.code} [{b.component}] {b.reason}")
        out.append(f"  next: {b.next_action}")
    return out


def _age(created: str | None, now: datetime) -> str:
    if not created:
        return "-"
    try:
        t = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    s = max(0, int((now - t).total_seconds()))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


@dataclass(frozen=True)
class WorkloadRow:
    tier: str
    component: str
    status: str
    pod: str
    ready: str
    restarts: int
    age: str


def workload_rows(
    snapshot: ClusterSnapshot, doc: StatusDocument, now: datetime | None = None
) -> list[WorkloadRow]:
    """Components by tier with their pods (a component without pods gets one row, pod '-')."""
    now = now or datetime.now(UTC)
    catalog = load_catalog()
    status = {c.name: c for c in doc.components}
    pods: dict[str, list[dict[str, object]]] = {}
    for pod in snapshot.items("v1/pods"):
        meta = pod.get("metadata") or {}
        if any(ref.get("kind") == "Job" for ref in meta.get("ownerReferences") or []):
            continue
        comp = catalog.component_for_pod(str(meta.get("namespace")), str(meta.get("name")))
        if comp is not None:
            pods.setdefault(comp.name, []).append(pod)
    rows = []
    for comp in sorted(catalog.components, key=lambda c: TIER_ORDER.get(c.tier, 9)):
        st = status.get(comp.name)
        health = st.status if st else "unknown"
        mine = pods.get(comp.name) or []
        if not mine:
            rows.append(WorkloadRow(comp.tier, comp.name, health, "-", "-", 0, "-"))
        for pod in mine:
            meta = pod.get("metadata") or {}
            assert isinstance(meta, dict)
            stat = pod.get("status") or {}
            assert isinstance(stat, dict)
            cs = stat.get("containerStatuses") or []
            ready = sum(1 for c in cs if c.get("ready"))
            rows.append(
                WorkloadRow(
                    comp.tier,
                    comp.name,
                    health,
                    str(meta.get("name")),
                    f"{ready}/{len(cs)}",
                    sum(int(c.get("restartCount") or 0) for c in cs),
                    _age(meta.get("creationTimestamp"), now),
                )
            )
    return rows
