"""`appliance repair`: collect, classify, plan the blockers that have a repair, carry it out, verify.

Root cause first: the blockers the status document marks repairable now are repaired in a
fixed action order (a pod, a durable fix, the bootstrap, a release, its tier), each verified
with the classifier before the next. A symptom whose cause was repaired becomes repairable
in the next round (at most ``MAX_ROUNDS``); a blocker is attempted once per run. A repair
that makes things worse stops the run. The CLI decides about confirmation and output;
nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from appliance_cli.adapters.kubeapi import KubeApi
from appliance_cli.bootstrap.actions import Actions
from appliance_cli.catalog import Catalog, load_catalog
from appliance_cli.env import Clock, open_env
from appliance_cli.errors import UsageError
from appliance_cli.lock import site_lock
from appliance_cli.progress import EventState, ProgressEvent, Reporter
from appliance_cli.repair import actions as repair_actions
from appliance_cli.repair.model import Outcome, PlannedRepair, RepairReport, RepairResult
from appliance_cli.repair.verify import StatusFn, verify
from appliance_cli.site import Site
from appliance_cli.status.model import Blocker, StatusDocument
from appliance_cli.status.rules.registry import repair_for

MAX_ROUNDS = 4
Confirm = Callable[[list[PlannedRepair]], bool]


def check_codes(codes: Collection[str]) -> list[str]:
    """``--code`` values as blocker codes that have a repair (``UsageError`` naming the flag)."""
    from appliance_cli.status.rules import registered

    specs = {r.spec.code: r.spec for r in registered()}
    out: list[str] = []
    for raw in codes:
        c = raw.strip().lower().replace("-", "_")
        if c not in specs:
            raise UsageError(
                f"unknown blocker code {raw!r}", param="--code", hint="see 'appliance explain --list'"
            )
        if specs[c].repair.action is None:
            raise UsageError(f"{c} has no automatic repair: {specs[c].repair.summary}", param="--code")
        out.append(c)
    return out


@dataclass
class Session:
    """The ports one repair run is built from (``open_session`` makes the real ones)."""

    site: Site
    kube: KubeApi
    status: StatusFn
    clock: Clock
    catalog: Catalog
    interval: float = 2.0
    verify_seconds: float | None = None  # one bound for every verification (default: per action)


def open_session(site_id: str, *, kubeconfig: Path | None, config_dir: Path | None = None) -> Session:
    """The site, its cluster client and its status; a site without a kubeconfig is bad input."""
    from appliance_cli.status.live import collect_status

    site = Site.open(site_id, config_dir=config_dir)
    path = kubeconfig or site.kubeconfig
    if not path.is_file():
        raise UsageError(
            f"no kubeconfig at {path}: site {site_id!r} has no installed cluster to repair",
            param="--kubeconfig" if kubeconfig else "--site-id",
            hint="pass --site-id of a bootstrapped site, or --kubeconfig of the appliance's cluster",
        )
    env = open_env(site)

    def status() -> StatusDocument:
        return collect_status(site.site_id, kubeconfig=path)

    return Session(site=site, kube=env.kube(path), status=status, clock=env.clock, catalog=load_catalog())


def _token(clock: Clock) -> str:
    """A reconcile request value, as the flux CLI writes one (RFC 3339 time)."""
    return clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _select(
    doc: StatusDocument, codes: Collection[str], attempted: set[tuple[str, str]]
) -> tuple[list[tuple[Blocker, str]], list[tuple[str, str, str]]]:
    """Blockers to repair now (with their action), and the others with why not."""
    picks: list[tuple[Blocker, str]] = []
    others: list[tuple[str, str, str]] = []
    for b in doc.top_blockers:
        if codes and b.code not in codes:
            continue
        if (b.code, b.component) in attempted:
            continue
        hint = b.repair
        action = repair_for(b.code).action
        repairable = hint is not None and hint.available
        if action is not None and (repairable or (action == "show_crash" and codes)):
            picks.append((b, action))
        else:
            others.append((b.code, b.component, hint.summary if hint else repair_for(b.code).summary))
    order = {a: i for i, a in enumerate(repair_actions.ORDER)}
    picks.sort(key=lambda p: order.get(p[1], len(order)))  # stable: status order within an action
    return picks, others


def plan(
    session: Session, doc: StatusDocument, codes: Collection[str], attempted: set[tuple[str, str]]
) -> tuple[list[PlannedRepair], list[tuple[str, str, str]]]:
    ctx = repair_actions.Context(session.kube, session.catalog, _token(session.clock))
    picks, others = _select(doc, codes, attempted)
    plans = [repair_actions.build(ctx, b, action) for b, action in picks]
    for p in plans:
        if session.verify_seconds is not None:
            p.bound_seconds = session.verify_seconds
    return plans, others


def _emit(reporter: Reporter, step: str, state: EventState, **details: object) -> None:
    reporter.emit(ProgressEvent(None, "repair", step, state, dict(details)))


def run(
    session: Session,
    *,
    codes: Collection[str] = (),
    dry_run: bool = False,
    confirm: Confirm,
    reporter: Reporter,
) -> RepairReport:
    """Repair what can be repaired; in a dry run, only plan (nothing is changed, no lock taken)."""
    report = RepairReport(site_id=session.site.site_id, dry_run=dry_run)
    with site_lock(session.site, "repair", dry_run=dry_run):
        attempted: set[tuple[str, str]] = set()
        done_changes: set[tuple[str, str | None, str, str]] = set()
        doc = session.status()
        for _round in range(1 if dry_run else MAX_ROUNDS):
            plans, others = plan(session, doc, codes, attempted)
            report.not_repairable = others
            if not plans:
                break
            report.plans += plans
            if dry_run:
                break
            if any(p.changes for p in plans) and not confirm(plans):
                report.stopped = "declined: nothing was changed"
                break
            for p in plans:
                attempted.add(p.key)
                if not p.changes:
                    outcome: Outcome = "shown" if p.action == "show_crash" else "unchanged"
                    report.results.append(_result(p, outcome, p.unchanged or ""))
                    continue
                new = [c for c in p.changes if (c.kind, c.namespace, c.name, c.what) not in done_changes]
                p.changes = new or p.changes
                actions = Actions(dry_run=False, field_manager=repair_actions.FIELD_MANAGER)
                if new:
                    repair_actions.carry_out(session.kube, actions, p, clock=session.clock)
                    done_changes |= {(c.kind, c.namespace, c.name, c.what) for c in new}
                for rec in actions.records:
                    _emit(reporter, rec.summary, "done", code=p.code, component=p.component)

                def progress(seen: str, waited: float, bound: float, p: PlannedRepair = p) -> None:
                    _emit(
                        reporter,
                        f"verify {p.code} ({p.component})",
                        "waiting",
                        lastSaw=seen,
                        elapsedSeconds=round(waited, 1),
                        boundSeconds=bound,
                    )

                result = verify(
                    p,
                    before=doc,
                    status=session.status,
                    kube=session.kube,
                    clock=session.clock,
                    interval=session.interval,
                    progress=progress,
                )
                report.results.append(result)
                _emit(
                    reporter,
                    f"{p.code} ({p.component}): {result.outcome.replace('_', ' ')}",
                    "done" if result.outcome == "fixed" else "failed",
                    lastSaw=result.saw,
                )
                if result.outcome == "worse":
                    report.stopped = f"{p.code} ({p.component}) made things worse: {result.saw}"
                    break
            if report.stopped:
                break
            doc = session.status()
        final = doc if dry_run else session.status()
        report.final_state = final.rollup.state
        if not dry_run:
            report.not_repairable = [
                (b.code, b.component, b.repair.summary if b.repair else repair_for(b.code).summary)
                for b in final.top_blockers
                if (not codes or b.code in codes)
            ]
    return report


def _result(p: PlannedRepair, outcome: Outcome, saw: str) -> RepairResult:
    return RepairResult(p.code, p.component, p.action, outcome, saw)
