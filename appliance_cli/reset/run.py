"""`appliance reset` and the reset that `bootstrap --bootstrap-mode fresh --force` runs first.

``open_cluster`` finds the site's kubeconfig; ``build_plan`` reads the cluster; ``Executor``
carries the plan out; ``mark_journal`` tells the site journal that the next bootstrap
installs fresh. The CLI decides about confirmation and output; nothing here prints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from appliance_cli.bootstrap.journal import Journal, now_rfc3339
from appliance_cli.errors import UsageError
from appliance_cli.lock import site_lock
from appliance_cli.progress import Reporter
from appliance_cli.reset.execute import Bounds, Executor, ResetOutcome
from appliance_cli.reset.plan import build_plan
from appliance_cli.site import Site

if TYPE_CHECKING:
    from appliance_cli.adapters.kubeapi import KubeApi
    from appliance_cli.bootstrap.context import BootstrapContext
    from appliance_cli.reset.model import ResetPlan

RESET_PHASES = ("2", "3", "4", "5")  # what a reset undoes; Talos (0) and the platform (1) stay


@dataclass
class Cluster:
    site: Site
    kube: KubeApi
    server: str


def open_cluster(site_id: str, *, kubeconfig: Path | None, config_dir: Path | None) -> Cluster:
    """The site and a client for its cluster; a missing or unreadable kubeconfig is bad input."""
    site = Site.open(site_id, config_dir=config_dir)
    path = kubeconfig or site.kubeconfig
    param = "--kubeconfig" if kubeconfig else "--site-id"
    if not path.is_file():
        raise UsageError(
            f"no kubeconfig at {path}: site {site_id!r} has no installed cluster to reset",
            param=param,
            hint="pass --site-id of a bootstrapped site, or --kubeconfig of the appliance's cluster",
        )
    from appliance_cli.env import open_env

    client = open_env(site).kube(path)  # its retries wait in the site's clock
    return Cluster(site=site, kube=client, server=client.server)


def plan_for(cluster: Cluster) -> ResetPlan:
    site_dir = cluster.site.root if cluster.site.exists() else None
    return build_plan(cluster.kube, site_id=cluster.site.site_id, server=cluster.server, site_dir=site_dir)


def execute(
    cluster: Cluster,
    plan: ResetPlan,
    reporter: Reporter,
    *,
    stop: threading.Event | None = None,
    bounds: Bounds | None = None,
) -> ResetOutcome:
    """Carry the plan out, then mark the site journal (only once everything verified).

    Holds the site's lock (``appliance_cli.lock``): no bootstrap, upgrade or repair runs meanwhile.
    """
    with site_lock(cluster.site, "reset"):
        outcome = Executor(cluster.kube, reporter, stop=stop, bounds=bounds).execute(plan)
        if cluster.site.journal_file.is_file():
            journal = Journal(cluster.site.journal_file, cluster.site.site_id, dry_run=False)
            mark_journal(journal, outcome)
            journal.save()
    return outcome


def mark_journal(journal: Journal, outcome: ResetOutcome) -> None:
    """Phases 2-5 are to be done again, and the application installs fresh (its data is gone)."""
    data = journal.data
    for phase in RESET_PHASES:
        data.phases.pop(phase, None)
    data.facts.pop("appBootstrapMode", None)
    data.facts.pop("seedUsers", None)
    data.bootstrap_mode = None
    data.facts["lastReset"] = {"at": now_rfc3339(), "removedEntries": outcome.removed_entries}


def bootstrap_hook(ctx: BootstrapContext, confirm: Callable[[str], None] | None = None) -> None:
    """What ``bootstrap --bootstrap-mode fresh --force`` runs over an installed appliance: the
    same plan, shown first (in a dry run only shown), confirmed (``confirm(site_id)`` raises
    to refuse), then carried out."""
    kube = ctx.kube()
    server = str(getattr(kube, "server", "") or ctx.kubeconfig_path)
    plan = build_plan(kube, site_id=ctx.site.site_id, server=server, site_dir=ctx.site.root)
    from appliance_cli.reset.render import plan_lines

    if ctx.options.dry_run:
        for line in plan_lines(plan):
            if line.strip():
                ctx.actions.note(f"reset first: {line.strip()}")
        return
    for line in plan_lines(plan):
        if line.strip():
            ctx.report(line.strip(), "info")
    if confirm is not None:
        confirm(ctx.site.site_id)
    outcome = Executor(kube, ctx.reporter, embedded=True, stop=ctx.state.stop).execute(plan)
    mark_journal(ctx.journal, outcome)
    ctx.journal.save()
