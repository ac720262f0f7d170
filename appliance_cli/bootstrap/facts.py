"""Facts bootstrap establishes, published for the in-cluster status service.

ConfigMap ``appliance-system/appliance-facts``, key ``facts.json``: siteId, releaseVersion,
seedUsers {count, checkedAt}, revisions, phase timings, currentPhase {phase, step, state,
updatedAt}, imageChecks. Applied through the do-or-record helper like everything else.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance_cli.bootstrap.context import BootstrapContext

Obj = dict[str, Any]
FACTS_NS = "appliance-system"
FACTS_CM = "appliance-facts"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def facts_configmap(ctx: BootstrapContext, *, step: str, state: str) -> Obj:
    j = ctx.journal
    facts = {
        "siteId": ctx.site.site_id,
        "releaseVersion": ctx.release.version,
        "seedUsers": j.fact("seedUsers"),
        "revisions": j.fact("revisions", {}),
        "phaseTimings": j.timings(),
        "currentPhase": {"phase": ctx.phase_title, "step": step, "state": state, "updatedAt": now()},
        "imageChecks": j.fact("imageChecks", []),
        "bootstrapMode": j.fact("appBootstrapMode"),
        "history": j.fact("history", []),  # upgrades, rollbacks, backups, restores (upgrade/history.py)
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": FACTS_CM,
            "namespace": FACTS_NS,
            "labels": {"app.kubernetes.io/part-of": "alga-appliance"},
        },
        "data": {"facts.json": json.dumps(facts, sort_keys=True)},
    }


def publish_facts(ctx: BootstrapContext, step: str, state: str) -> None:
    ctx.actions.apply(ctx.kube, facts_configmap(ctx, step=step, state=state))


def record_revisions(ctx: BootstrapContext) -> None:
    """The Flux revisions in effect (source artifacts, applied Kustomizations) into the journal facts."""
    from appliance_cli.errors import ApplianceError

    revisions: dict[str, str] = {}
    try:
        kube = ctx.kube()
        for key, field in (
            ("source.toolkit.fluxcd.io/v1/gitrepositories", "artifact"),
            ("kustomize.toolkit.fluxcd.io/v1/kustomizations", "lastAppliedRevision"),
        ):
            for obj in kube.list_raw(key, "flux-system").get("items") or []:
                status = obj.get("status") or {}
                artifact = status.get("artifact") or {}
                rev = artifact.get("revision") if field == "artifact" else status.get(field)
                if rev:
                    revisions[f"{obj['kind']}/{obj['metadata']['name']}"] = str(rev)
    except ApplianceError:
        return
    ctx.journal.set_fact("revisions", revisions)
