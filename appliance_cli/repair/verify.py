"""Verify one repair with the status classifier: fixed, still present, or made it worse.

After a repair's changes, the site's status is collected and classified (the same brain as
``appliance status``) until the repaired blocker is gone *and* what the action waits for holds
(the component ready, the bootstrap done, the Flux object Ready having handled this run's
reconcile request), or the bound passes. A login-blocking blocker that was not there before,
seen twice in a row, means the repair made things worse: the run stops there.
"""

from __future__ import annotations

from collections.abc import Callable

from appliance_cli.adapters.kubeapi import KubeReader
from appliance_cli.env import Clock
from appliance_cli.errors import ApplianceError, KubeNotFound
from appliance_cli.repair.model import KEYS, PlannedRepair, RepairResult
from appliance_cli.status.model import StatusDocument
from appliance_cli.status.readiness import flux_readiness

StatusFn = Callable[[], StatusDocument]
Progress = Callable[[str, float, float], None]  # (what it saw, seconds waited, bound)


def _blocking(doc: StatusDocument) -> set[tuple[str, str]]:
    return {(b.code, b.component) for b in doc.top_blockers if b.login_blocking}


def settled(plan: PlannedRepair, doc: StatusDocument, kube: KubeReader) -> tuple[bool, str]:
    """Whether what the action waits for holds, and what was seen."""
    if plan.action in ("restart_pull", "reapply_fix"):
        comp = next((c for c in doc.components if c.name == plan.component), None)
        if comp is None:  # not a catalog component: the blocker going away is all there is
            return True, f"{plan.component}: no blocker left"
        return comp.ready, f"{plan.component} {comp.status}{': ' + comp.message if comp.message else ''}"
    if plan.action == "rerun_bootstrap":
        t = doc.tiers.bootstrap
        return t.ready, f"bootstrap {t.status}{': ' + t.message if t.message else ''}"
    kind = "HelmRelease" if plan.action == "retry_helmrelease" else "Kustomization"
    change = next((c for c in plan.changes if c.kind == kind), None)
    if change is None:
        return True, "nothing to wait for"
    try:
        obj = kube.get(KEYS[kind], change.namespace, change.name)
    except KubeNotFound:
        return False, f"{change.ref} is gone"
    r = flux_readiness(obj)  # type: ignore[arg-type]
    handled = (obj.get("status") or {}).get("lastHandledReconcileAt") == plan.token
    state = "Ready" if r.ready else f"{r.reason or 'not Ready'}: {r.message}".strip()
    if not handled:
        state += " (reconcile request not handled yet)"
    return r.ready and handled, f"{change.ref} {state}"


def verify(
    plan: PlannedRepair,
    *,
    before: StatusDocument,
    status: StatusFn,
    kube: KubeReader,
    clock: Clock,
    bound_seconds: float | None = None,
    interval: float = 2.0,
    progress: Progress | None = None,
) -> RepairResult:
    """Wait, bounded, until the repaired blocker is gone and the action's outcome holds."""
    bound = plan.bound_seconds if bound_seconds is None else bound_seconds
    started = clock.monotonic()
    was_blocking = _blocking(before) | {plan.key}
    suspicious: set[tuple[str, str]] = set()
    saw = "nothing yet"
    while True:
        try:
            doc = status()
        except ApplianceError as exc:  # a transient API error is something seen, not the end
            saw = f"status not available: {exc.message}"
            doc = None
        if doc is not None:
            present = next((b for b in doc.top_blockers if (b.code, b.component) == plan.key), None)
            new = _blocking(doc) - was_blocking
            worse = new & suspicious
            suspicious = new
            if worse:
                what = ", ".join(f"{c} ({n})" for c, n in sorted(worse))
                return RepairResult(
                    plan.code,
                    plan.component,
                    plan.action,
                    "worse",
                    f"new: {what}",
                    clock.monotonic() - started,
                )
            if present is not None:
                saw = f"still listed: {present.reason}"
            else:
                ok, seen = settled(plan, doc, kube)
                saw = f"blocker gone; {seen}"
                if ok:
                    return RepairResult(
                        plan.code, plan.component, plan.action, "fixed", seen, clock.monotonic() - started
                    )
        elapsed = clock.monotonic() - started
        if progress is not None:
            progress(saw, elapsed, bound)
        if elapsed >= bound:
            return RepairResult(plan.code, plan.component, plan.action, "still_present", saw, elapsed)
        clock.sleep(min(interval, max(0.0, bound - elapsed)))
