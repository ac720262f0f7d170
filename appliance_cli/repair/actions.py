"""The repair actions: each builds its changes from one blocker's evidence and the live objects.

A builder reads (never writes) and returns a ``PlannedRepair``: the named objects, each change
and why, or why there is nothing to change. ``carry_out`` makes the changes through the
do-or-record helper (``bootstrap.actions.Actions``), so a dry run records the same calls and
makes none. Every change is checked against ``model.ALLOWED`` first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import yaml

from appliance_cli import fluxlayout
from appliance_cli.adapters.kubeapi import KubeApi, Obj
from appliance_cli.bootstrap.actions import Actions
from appliance_cli.catalog import Catalog, Component
from appliance_cli.env import Clock, SystemClock
from appliance_cli.errors import KubeConflict, KubeError, KubeNotFound
from appliance_cli.repair.model import (
    FORCE_AT,
    KEYS,
    REQUESTED_AT,
    RESET_AT,
    Change,
    PlannedRepair,
)
from appliance_cli.status.model import Blocker
from appliance_cli.status.readiness import flux_readiness
from appliance_cli.status.remedy import FIX_FOR_CODE, fix_applied

FIELD_MANAGER = "appliance-repair"
# Controllers that create a deleted pod again (a bare pod would be lost).
RECREATING_OWNERS = frozenset({"ReplicaSet", "StatefulSet", "Job", "DaemonSet"})
# Verification bounds (seconds at real speed): a fresh pull, a bootstrap Job, a Helm release.
BOUNDS: dict[str, float] = {
    "restart_pull": 600.0,
    "rerun_bootstrap": 900.0,
    "retry_helmrelease": 900.0,
    "reconcile_kustomization": 900.0,
    "reapply_fix": 900.0,
    "show_crash": 0.0,
}
# How long a pod delete waits for its StatefulSet's new template (seconds).
TEMPLATE_BOUND_SECONDS = 300.0
# Root cause first: a pod, the bootstrap, a durable fix, then the release, then its tier.
ORDER = ("restart_pull", "reapply_fix", "rerun_bootstrap", "retry_helmrelease", "reconcile_kustomization")


class Context:
    """What builders read: the cluster, the catalog, and the token of this run's reconcile requests."""

    def __init__(self, kube: KubeApi, catalog: Catalog, token: str) -> None:
        self.kube = kube
        self.catalog = catalog
        self.token = token

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        try:
            return self.kube.get(KEYS[kind], namespace, name)
        except KubeNotFound:
            return None

    def component(self, name: str) -> Component | None:
        return next((c for c in self.catalog.components if c.name == name), None)


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _refs(blocker: Blocker, kind: str) -> list[tuple[str | None, str]]:
    """The objects of ``kind`` the blocker's evidence names, in order, once each."""
    out: list[tuple[str | None, str]] = []
    for e in blocker.evidence:
        if e.kind == kind and e.name and (e.namespace, e.name) not in out:
            out.append((e.namespace, e.name))
    return out


def _annotations(token: str, *, force: bool = False, reset: bool = False) -> dict[str, str]:
    ann = {REQUESTED_AT: token}
    if force:
        ann[FORCE_AT] = token
    if reset:
        ann[RESET_AT] = token
    return ann


def _annotate(kind: str, obj: Mapping[str, Any], ann: dict[str, str], why: str) -> Change:
    meta = _meta(obj)
    what = "annotate " + ", ".join(f"{k}={v}" for k, v in ann.items())
    return Change(
        kind,
        meta.get("namespace"),
        str(meta.get("name")),
        "annotate",
        what,
        why,
        body={"metadata": {"annotations": ann}},
    )


def _release_request(hr: Obj, token: str, why: str) -> Change:
    """Release a HelmRelease again: force (and reset its failure count when it is not Ready)."""
    stuck = not flux_readiness(hr).ready  # type: ignore[arg-type]
    return _annotate("HelmRelease", hr, _annotations(token, force=True, reset=stuck), why)


def _reconcile_with_source(ctx: Context, ks: Obj, why: str) -> list[Change]:
    """``flux reconcile kustomization --with-source``: the source first, then the Kustomization."""
    changes: list[Change] = []
    ref = (ks.get("spec") or {}).get("sourceRef") or {}
    if ref.get("kind") == "GitRepository" and ref.get("name"):
        src = ctx.get("GitRepository", ref.get("namespace") or _meta(ks).get("namespace"), str(ref["name"]))
        if src is not None:
            changes.append(_annotate("GitRepository", src, _annotations(ctx.token), "fetch the source again"))
    changes.append(_annotate("Kustomization", ks, _annotations(ctx.token), why))
    return changes


# --- the actions ------------------------------------------------------------------------------


def restart_pull(ctx: Context, blocker: Blocker, plan: PlannedRepair) -> None:
    for ns, name in _refs(blocker, "Pod"):
        pod = ctx.get("Pod", ns, name)
        if pod is None:
            continue  # already gone: its controller made a new one
        owners = [o for o in _meta(pod).get("ownerReferences") or [] if o.get("controller", True)]
        owner = next((o for o in owners if o.get("kind") in RECREATING_OWNERS), None)
        if owner is None:
            plan.unchanged = f"pod {ns}/{name} has no controller that would create it again: not deleted"
            return
        images = [
            str(cs.get("image"))
            for cs in (pod.get("status") or {}).get("containerStatuses") or []
            if ((cs.get("state") or {}).get("waiting") or {}).get("reason")
            in ("ErrImagePull", "ImagePullBackOff")
        ]
        plan.changes.append(
            Change(
                "Pod",
                ns,
                name,
                "delete",
                "delete",
                f"its {owner.get('kind')} {owner.get('name')} creates it again and the kubelet pulls "
                f"{', '.join(images) or 'its image'} afresh",
            )
        )
    if not plan.changes and plan.unchanged is None:
        plan.unchanged = "the pod named by the blocker is gone already"
    plan.settle = f"{blocker.component} ready"


def _bootstrap_mode(ctx: Context, comp: Component) -> str | None:
    ns = ctx.catalog.namespaces.helm_releases
    try:
        cm = ctx.kube.get("v1/configmaps", ns, f"appliance-values-{comp.helm_release}")
    except KubeNotFound:
        return None
    try:
        values = yaml.safe_load((cm.get("data") or {}).get(fluxlayout.VALUES_KEY) or "") or {}
    except yaml.YAMLError:
        return None
    mode = (values.get("bootstrap") or {}).get("mode") if isinstance(values, dict) else None
    return str(mode) if mode else None


def rerun_bootstrap(ctx: Context, blocker: Blocker, plan: PlannedRepair) -> None:
    comp = next((c for c in ctx.catalog.components if c.bootstrap_job_prefix), None)
    if comp is None or comp.helm_release is None:
        plan.unchanged = "the catalog names no bootstrap Job"
        return
    if blocker.code == "seed_data_missing" and _bootstrap_mode(ctx, comp) == "recover":
        plan.unchanged = (
            f"the values of {comp.helm_release} say bootstrap.mode recover, which skips seeding: re-running "
            "the Job would seed nothing. Seeding an existing database is a decision for the admin"
        )
        return
    hr = ctx.get("HelmRelease", ctx.catalog.namespaces.helm_releases, comp.helm_release)
    if hr is None:
        plan.unchanged = f"HelmRelease {comp.helm_release} not found"
        return
    jobs = ctx.kube.list_raw(KEYS["Job"], comp.namespace).get("items") or []
    for job in jobs:
        name = str(_meta(job).get("name", ""))
        if not name.startswith(comp.bootstrap_job_prefix or "\0"):
            continue
        conds = {c.get("type"): c.get("status") for c in (job.get("status") or {}).get("conditions") or []}
        if blocker.code == "bootstrap_job_failed" and conds.get("Failed") != "True":
            continue
        plan.changes.append(
            Change(
                "Job",
                comp.namespace,
                name,
                "delete",
                "delete (propagation Background: its pods go with it)",
                "so the chart creates the bootstrap Job again on the next release",
            )
        )
    plan.changes.append(
        _release_request(
            hr,
            ctx.token,
            "a forced release re-applies the chart, which creates the bootstrap Job again "
            "(requestedAt alone does not release an unchanged chart)",
        )
    )
    plan.settle = "bootstrap ready (Job complete and users seeded)"


def _helm_release_of(ctx: Context, blocker: Blocker) -> Obj | None:
    for ns, name in _refs(blocker, "HelmRelease"):
        hr = ctx.get("HelmRelease", ns, name)
        if hr is not None:
            return hr
    comp = ctx.component(blocker.component)
    if comp is not None and comp.helm_release:
        return ctx.get("HelmRelease", ctx.catalog.namespaces.helm_releases, comp.helm_release)
    return None


def _kustomization_of(ctx: Context, obj: Mapping[str, Any]) -> Obj | None:
    labels = _meta(obj).get("labels") or {}
    name = labels.get("kustomize.toolkit.fluxcd.io/name")
    ns = labels.get("kustomize.toolkit.fluxcd.io/namespace")
    return ctx.get("Kustomization", ns, name) if name and ns else None


def retry_helmrelease(ctx: Context, blocker: Blocker, plan: PlannedRepair) -> None:
    hr = _helm_release_of(ctx, blocker)
    if hr is None:
        plan.unchanged = "the HelmRelease named by the blocker is gone"
        return
    plan.changes.append(
        _release_request(
            hr,
            ctx.token,
            "its cause is gone: reset the failure count and release again (flux reconcile helmrelease "
            "--reset --force)",
        )
    )
    ks = _kustomization_of(ctx, hr)
    if ks is not None:
        plan.changes += _reconcile_with_source(ctx, ks, "re-apply its tier and run its health checks again")
    plan.settle = f"HelmRelease {_meta(hr).get('name')} Ready"


def reconcile_kustomization(ctx: Context, blocker: Blocker, plan: PlannedRepair) -> None:
    ks = None
    for ns, name in _refs(blocker, "Kustomization"):
        ks = ctx.get("Kustomization", ns, name)
        if ks is not None:
            break
    if ks is None:
        plan.unchanged = "the Kustomization named by the blocker is gone"
        return
    plan.changes += _reconcile_with_source(ctx, ks, "its cause is gone: apply and health-check it again")
    plan.settle = f"Kustomization {_meta(ks).get('name')} Ready"


def reapply_fix(ctx: Context, blocker: Blocker, plan: PlannedRepair) -> None:
    fix = FIX_FOR_CODE[blocker.code]
    comp = ctx.component(blocker.component)
    if comp is None or comp.helm_release is None:
        plan.unchanged = f"the catalog names no HelmRelease for {blocker.component}"
        return
    hr = ctx.get("HelmRelease", ctx.catalog.namespaces.helm_releases, comp.helm_release)
    if hr is None:
        plan.unchanged = f"HelmRelease {comp.helm_release} not found"
        return
    if fix_applied(hr, fix, comp.workload.name):
        plan.unchanged = (
            f"the layout's {fix} fix is already in HelmRelease {comp.helm_release}'s postRenderers: "
            "the cause is elsewhere, nothing to re-apply"
        )
        return
    layout = next((h for h in fluxlayout.helm_releases() if h["metadata"]["name"] == comp.helm_release), None)
    renderers = ((layout or {}).get("spec") or {}).get("postRenderers")
    if not renderers or not fix_applied(layout or {}, fix, comp.workload.name):
        plan.unchanged = f"this version's layout has no {fix} fix for {comp.helm_release} to apply"
        return
    meta = _meta(hr)
    body = {
        "apiVersion": hr.get("apiVersion", "helm.toolkit.fluxcd.io/v2"),
        "kind": "HelmRelease",
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
        "spec": {"postRenderers": renderers},
    }
    plan.changes.append(
        Change(
            "HelmRelease",
            meta.get("namespace"),
            str(meta.get("name")),
            "apply",
            f"server-side apply spec.postRenderers of the current layout (field manager {FIELD_MANAGER})",
            f"the install predates the {fix} fix: its postRenderers lack it",
            body=body,
        )
    )
    plan.changes.append(_release_request(hr, ctx.token, "release it with the fix"))
    plan.changes += _stuck_statefulset_pods(ctx, blocker)
    plan.settle = f"{blocker.component} ready"


def _stuck_statefulset_pods(ctx: Context, blocker: Blocker) -> list[Change]:
    """Pods of a StatefulSet that its rolling update will not replace by itself.

    With the default OrderedReady policy a StatefulSet waits for a pod that never became
    Running and Ready instead of replacing it, even once its template is fixed; Kubernetes'
    documented way out (forced rollback) is to delete that pod. Its volume claim stays.
    """
    out: list[Change] = []
    for ns, name in _refs(blocker, "Pod"):
        pod = ctx.get("Pod", ns, name)
        if pod is None:
            continue
        owner = next(
            (o for o in _meta(pod).get("ownerReferences") or [] if o.get("kind") == "StatefulSet"), None
        )
        if owner is None:
            continue
        out.append(
            Change(
                "Pod",
                ns,
                name,
                "delete",
                f"delete once StatefulSet {owner.get('name')} has the new template",
                "a StatefulSet does not replace a pod that never became ready (forced rollback); "
                "its volume claim and data stay",
                after_statefulset=f"{ns}/{owner.get('name')}",
                uid=_meta(pod).get("uid"),
            )
        )
    return out


def show_crash(ctx: Context, blocker: Blocker, plan: PlannedRepair) -> None:
    plan.shown = [f"{e.kind} {e.name}: {e.message}" for e in blocker.evidence if e.message]
    comp = ctx.component(blocker.component)
    if comp is not None:
        key = "apps/v1/deployments" if comp.workload.kind == "Deployment" else "apps/v1/statefulsets"
        try:
            wl = ctx.kube.get(key, comp.namespace, comp.workload.name)
        except KubeError:
            wl = {}
        for c in ((wl.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []:
            limit = ((c.get("resources") or {}).get("limits") or {}).get("memory")
            plan.shown.append(f"container {c.get('name')}: memory limit {limit or 'none set'}")
    plan.unchanged = (
        "no blind restart: read the lines above. A memory increase is not offered: the values "
        "profile sets no headroom repair may use; raise the limit in the values, then reconcile"
    )


BUILDERS: dict[str, Callable[[Context, Blocker, PlannedRepair], None]] = {
    "restart_pull": restart_pull,
    "rerun_bootstrap": rerun_bootstrap,
    "retry_helmrelease": retry_helmrelease,
    "reconcile_kustomization": reconcile_kustomization,
    "reapply_fix": reapply_fix,
    "show_crash": show_crash,
}


def build(ctx: Context, blocker: Blocker, action: str) -> PlannedRepair:
    plan = PlannedRepair(
        code=blocker.code,
        component=blocker.component,
        action=action,
        reason=blocker.reason,
        bound_seconds=BOUNDS.get(action, 600.0),
        token=ctx.token,
    )
    BUILDERS[action](ctx, blocker, plan)
    for change in plan.changes:
        change.check_allowed()
    return plan


def carry_out(
    kube: KubeApi,
    actions: Actions,
    plan: PlannedRepair,
    *,
    clock: Clock | None = None,
    bound_seconds: float = TEMPLATE_BOUND_SECONDS,
) -> None:
    """Make the plan's changes through the do-or-record helper (a dry run records them only)."""
    for change in plan.changes:  # every change is checked before any is made
        change.check_allowed()
    for change in plan.changes:
        waits = change.after_statefulset is not None and not actions.dry_run
        if waits and not _template_rolled(kube, change, clock or SystemClock(), bound_seconds):
            continue  # the pod went (its controller replaced it) or the template never came
        actions.do(change_summary(change), _doer(kube, change), default=None)


def _template_rolled(kube: KubeApi, change: Change, clock: Clock, bound_seconds: float) -> bool:
    """Wait, bounded, until the pod is outdated by its StatefulSet's new template (True), or
    gone or already replaced by its controller (False: nothing left to delete)."""
    ns, _, sts_name = str(change.after_statefulset).partition("/")
    deadline = clock.monotonic() + bound_seconds
    while True:
        try:
            pod = kube.get(KEYS["Pod"], change.namespace, change.name)
            sts = kube.get("apps/v1/statefulsets", ns, sts_name)
        except KubeNotFound:
            return False
        if change.uid and _meta(pod).get("uid") != change.uid:
            return False
        revision = (_meta(pod).get("labels") or {}).get("controller-revision-hash")
        update = (sts.get("status") or {}).get("updateRevision")
        if revision and update and revision != update:
            return True
        if clock.monotonic() >= deadline:
            return False
        clock.sleep(1.0)


def change_summary(change: Change) -> str:
    return f"{change.what} {change.ref}" if change.verb == "delete" else f"{change.ref}: {change.what}"


def _doer(kube: KubeApi, change: Change) -> Callable[[], None]:
    key = KEYS[change.kind]

    def do() -> None:
        if change.verb == "delete":
            propagation = "Background" if change.kind == "Job" else None
            try:
                # only the incarnation the plan looked at: a pod its controller has replaced
                # since then (same name, new uid) is already what this delete was for
                kube.delete(key, change.namespace, change.name, propagation=propagation, uid=change.uid)
            except KubeConflict:
                if not change.uid:
                    raise
        elif change.verb == "annotate":
            kube.patch_merge(key, change.namespace, change.name, change.body or {})
        else:
            kube.apply(dict(change.body or {}), field_manager=FIELD_MANAGER, force=True)

    return do
