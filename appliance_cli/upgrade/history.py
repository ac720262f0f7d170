"""Release history: every upgrade, rollback, backup and restore, newest first.

Kept in the site journal's facts (``history``, at most 50 entries) and published in the facts
ConfigMap (``appliance-system/appliance-facts``, ``facts.json`` key ``history``), which
bootstrap republishes from the same journal facts; the status page's diagnostics show it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from appliance_cli.bootstrap.facts import FACTS_CM, FACTS_NS
from appliance_cli.bootstrap.journal import Journal
from appliance_cli.errors import ApplianceError
from appliance_cli.upgrade.model import HISTORY_LIMIT, HistoryEntry

if TYPE_CHECKING:
    from appliance_cli.adapters.kubeapi import KubeApi
    from appliance_cli.site import Site

HISTORY_KEY = "history"
FIELD_MANAGER = "appliance-cli"  # the manager of facts.json (bootstrap publishes it too)


def read_history(site: Site) -> list[dict[str, Any]]:
    journal = Journal(site.journal_file, site.site_id, dry_run=True)
    entries = journal.fact(HISTORY_KEY, [])
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def record(
    site: Site,
    entry: HistoryEntry,
    *,
    kube: KubeApi | None = None,
    release_version: str | None = None,
    facts: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Add ``entry`` to the site journal (with the running release and facts that changed), then
    publish the history to the facts ConfigMap (best effort: the journal is the record)."""
    journal = Journal(site.journal_file, site.site_id, dry_run=False)
    entries = [entry.model_dump(by_alias=True, exclude_none=True), *read_history(site)][:HISTORY_LIMIT]
    journal.set_fact(HISTORY_KEY, entries)
    if release_version is not None:
        journal.data.release_version = release_version
    for key, value in (facts or {}).items():
        journal.set_fact(key, value)
    journal.save()
    if kube is not None:
        publish(kube, entries)
    return entries


def publish(kube: KubeApi, entries: list[dict[str, Any]]) -> None:
    """The history into ``facts.json`` of the facts ConfigMap (what the status service reads),
    next to what bootstrap published there; bootstrap republishes it from the same journal."""
    from appliance_cli.errors import KubeNotFound

    try:
        cm = kube.get("v1/configmaps", FACTS_NS, FACTS_CM)
    except KubeNotFound:
        return
    except ApplianceError:
        return
    try:
        facts = json.loads((cm.get("data") or {}).get("facts.json") or "{}")
    except ValueError:
        facts = {}
    if not isinstance(facts, dict):
        facts = {}
    facts[HISTORY_KEY] = entries
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": FACTS_CM,
            "namespace": FACTS_NS,
            "labels": {"app.kubernetes.io/part-of": "alga-appliance"},
        },
        "data": {"facts.json": json.dumps(facts, sort_keys=True)},
    }
    try:
        kube.apply(body, field_manager=FIELD_MANAGER, force=True)
    except ApplianceError:
        return


def set_site_facts(site: Site, facts: dict[str, Any]) -> dict[str, Any]:
    """Set facts of the site journal; returns the values they replaced."""
    journal = Journal(site.journal_file, site.site_id, dry_run=False)
    old = {key: journal.fact(key) for key in facts}
    for key, value in facts.items():
        journal.set_fact(key, value)
    journal.save()
    return old
