"""Simulated Flux: source-, kustomize- and helm-controller.

- GitRepository → Ready with ``artifact.revision`` ``<branch>@sha1:<40 hex>`` (or, when the
  scenario's DNS refuses, ``GitOperationFailed`` with source-controller's clone error).
- Kustomization → honours ``dependsOn`` (``DependencyNotReady``), applies what
  ``fluxlayout.render_flux_kustomization`` renders from this repository (``spec.path``,
  ``targetNamespace``, ``images``, ``patches``), then health-checks what it applied when
  ``wait: true``.
- HelmRelease → renders the catalog's workloads for the release (``charts``), applies the
  release's post-renderer patches, installs into ``targetNamespace`` and waits for the
  workloads (and Jobs); ``InstallSucceeded`` or ``InstallFailed`` (a failed Job, or
  ``context deadline exceeded`` after the release's timeout, capped by the scenario).

Each controller acts only once its Deployment in flux-system is available.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import queue
import re
from dataclasses import dataclass
from typing import Any

import yaml

from appliance_cli import yamltext
from appliance_lab.controllers.base import (
    CONFIGMAPS,
    DEPLOYMENTS,
    GITREPOS,
    HELMRELEASES,
    KUSTOMIZATIONS,
    Ctx,
    condition,
    get_condition,
    is_true,
    rand5,
    set_condition,
)
from appliance_lab.controllers.charts import CHARTS, apply_post_renderers, fix_of, render_chart
from appliance_lab.store import BY_KIND, AlreadyExists, Obj, StoreError, copy_obj, now_rfc3339

RECONCILE_REQUESTED = "reconcile.fluxcd.io/requestedAt"
# helm-controller api/v2: a one-off forced release / a failure-count reset, honoured only when
# the value equals requestedAt's (what `flux reconcile helmrelease --force` / `--reset` set)
FORCE_REQUESTED = "reconcile.fluxcd.io/forceAt"
RESET_REQUESTED = "reconcile.fluxcd.io/resetAt"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


@functools.lru_cache(maxsize=64)
def _parsed_values(text: str) -> Any:
    return yamltext.safe_load(text)


def _values_yaml(text: str) -> Any:
    """A values ConfigMap's YAML, parsed once per text (every reconcile reads it again)."""
    return copy_obj(_parsed_values(text))


def parse_duration(text: str | None, default: float) -> float:
    if not text:
        return default
    total = 0.0
    for num, unit in _DURATION.findall(str(text)):
        total += float(num) * {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}[unit]
    return total or default


def go_duration(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    if m >= 60:
        h, m = divmod(m, 60)
        return f"{int(h)}h{int(m)}m{s:.0f}s"
    return f"{int(m)}m{s:.0f}s" if m else f"{s:.3f}s"


def commit_sha(url: str, branch: str) -> str:
    return hashlib.sha1(f"{url}#{branch}".encode()).hexdigest()


@dataclass
class _Run:
    """One reconciliation attempt of a Kustomization or HelmRelease (controller memory)."""

    key: str
    t0: float
    stage: str = "start"  # start|applied|done
    revision: str = ""
    applied: list[tuple[str, str, str, str]] | None = None  # (apiVersion, kind, namespace, name)
    version: int = 0  # the Helm release version this HelmRelease run installs or upgrades to
    action: str = "install"


class Flux:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.runs: dict[str, _Run] = {}
        # Deleted Kustomizations arrive here as they were at deletion (suspended or not).
        self._deleted = ctx.store.watch(KUSTOMIZATIONS)

    # -- helpers ---------------------------------------------------------------------------
    def controller_ready(self, name: str) -> bool:
        d = self.ctx.store.try_get_ref(DEPLOYMENTS, "flux-system", name)
        return d is not None and is_true(d, "Available")

    def _elapsed(self, run: _Run) -> float:
        return (self.ctx.monotonic() - run.t0) * self.ctx.speed

    def _run(self, obj: Obj, extra: str = "") -> _Run:
        meta = obj["metadata"]
        key = f"{meta['uid']}:{meta.get('generation', 1)}:{extra}"
        run = self.runs.get(meta["uid"])
        if run is None or run.key != key:
            run = _Run(key=key, t0=self.ctx.monotonic())
            self.runs[meta["uid"]] = run
        return run

    def _status(self, rt: Any, obj: Obj, conds: list[Obj], **fields: Any) -> None:
        st = copy.deepcopy(obj.get("status") or {})
        cur = list(st.get("conditions") or [])
        for c in conds:
            cur = set_condition(cur, c)
        types = {c["type"] for c in conds}
        if "Reconciling" not in types:
            cur = [c for c in cur if c["type"] != "Reconciling"]
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
            cur = [c for c in cur if c["type"] != "Stalled"]  # a success ends a stall
        st["conditions"] = cur
        st.update(fields)
        if st != (obj.get("status") or {}):

            def fn(o: Obj) -> None:
                o["status"] = st

            self.ctx.mutate(rt, obj, fn)

    # -- reconcile -------------------------------------------------------------------------
    def reconcile(self) -> None:
        store = self.ctx.store
        if self.controller_ready("source-controller"):
            for gr in store.list_refs(GITREPOS):
                if not _suspended(gr):
                    self._gitrepo(gr)
        if self.controller_ready("kustomize-controller"):
            self._garbage_collect()
            for ks in store.list_refs(KUSTOMIZATIONS):
                if not _suspended(ks):
                    self._kustomization(ks)
        if self.controller_ready("helm-controller"):
            for hr in store.list_refs(HELMRELEASES):
                if not _suspended(hr):
                    self._helmrelease(hr)

    def _garbage_collect(self) -> None:
        """A deleted Kustomization with ``prune`` that was not suspended takes what it applied
        (its status inventory) with it; a suspended one leaves everything in place."""
        while True:
            try:
                ev = self._deleted.queue.get_nowait()
            except queue.Empty:
                return
            if ev is None or ev.type != "DELETED":
                continue
            ks = ev.object
            if not (ks.get("spec") or {}).get("prune") or _suspended(ks):
                continue
            for entry in reversed(((ks.get("status") or {}).get("inventory") or {}).get("entries") or []):
                parts = str(entry.get("id", "")).split("_", 3)
                if len(parts) != 4:
                    continue
                ns, name, group, kind = parts
                version = str(entry.get("v", ""))
                rt = BY_KIND.get((f"{group}/{version}" if group else version, kind))
                if rt is not None:
                    with contextlib.suppress(StoreError):
                        self.ctx.store.delete(rt, ns or None, name)

    # -- GitRepository -----------------------------------------------------------------------
    def _gitrepo(self, gr: Obj) -> None:
        meta = gr["metadata"]
        st = gr.get("status") or {}
        gen = meta.get("generation", 1)
        ready = get_condition(gr, "Ready")
        if st.get("observedGeneration") == gen and ready and ready.get("status") in ("True", "False"):
            requested = (meta.get("annotations") or {}).get(RECONCILE_REQUESTED)
            if requested and st.get("lastHandledReconcileAt") != requested:
                self._status(GITREPOS, gr, [], lastHandledReconcileAt=requested)
            return
        run = self._run(gr)
        spec = gr.get("spec") or {}
        url = str(spec.get("url", ""))
        branch = str((spec.get("ref") or {}).get("branch") or "main")
        if run.stage == "start":
            run.stage = "fetching"
            self._status(
                GITREPOS,
                gr,
                [
                    condition("Reconciling", True, "Progressing", "building artifact"),
                    condition("Ready", "Unknown", "Progressing", "building artifact"),
                ],
            )
            return
        if not self.ctx.passed(run.t0, self.ctx.t.git_fetch):
            return
        if self.ctx.scenario.dns_refused:
            msg = (
                f"failed to checkout and determine revision: unable to clone '{url}': dial tcp: "
                "lookup github.com on 10.96.0.10:53: server misbehaving"
            )
            self._status(
                GITREPOS,
                gr,
                [
                    condition("FetchFailed", True, "GitOperationFailed", msg),
                    condition("Ready", False, "GitOperationFailed", msg),
                ],
                observedGeneration=gen,
            )
            self.ctx.event(gr, "GitOperationFailed", msg, type_="Warning", component="source-controller")
            return
        sha = commit_sha(url, branch)
        revision = f"{branch}@sha1:{sha}"
        name, ns = meta["name"], meta["namespace"]
        artifact = {
            "digest": "sha256:" + hashlib.sha256(revision.encode()).hexdigest(),
            "lastUpdateTime": now_rfc3339(),
            "path": f"gitrepository/{ns}/{name}/{sha}.tar.gz",
            "revision": revision,
            "size": 48213,
            "url": f"http://source-controller.flux-system.svc.cluster.local./gitrepository/{ns}/{name}/{sha}.tar.gz",
        }
        msg = f"stored artifact for revision '{revision}'"
        self._status(
            GITREPOS,
            gr,
            [
                condition("ArtifactInStorage", True, "Succeeded", msg),
                condition("Ready", True, "Succeeded", msg),
            ],
            observedGeneration=gen,
            artifact=artifact,
        )
        self.ctx.event(
            gr, "NewArtifact", f"stored artifact for commit '{sha[:12]}'", component="source-controller"
        )

    def _source(self, kind: str, name: str, ns: str) -> Obj | None:
        """The stored source object itself: callers only read it."""
        if kind != "GitRepository":
            return None
        return self.ctx.store.try_get_ref(GITREPOS, ns, name)  # read only

    # -- Kustomization -----------------------------------------------------------------------
    def _deps_ready(self, obj: Obj, rt: Any) -> str | None:
        ns = obj["metadata"]["namespace"]
        for dep in (obj.get("spec") or {}).get("dependsOn") or []:
            dns = dep.get("namespace") or ns
            d = self.ctx.store.try_get_ref(rt, dns, dep["name"])
            if (
                d is None
                or not is_true(d, "Ready")
                or (d.get("status") or {}).get("observedGeneration") != d["metadata"].get("generation")
            ):
                return f"dependency '{dns}/{dep['name']}' is not ready"
        return None

    def _kustomization(self, ks: Obj) -> None:
        ctx = self.ctx
        meta = ks["metadata"]
        spec = ks.get("spec") or {}
        st = ks.get("status") or {}
        gen = meta.get("generation", 1)
        ref = spec.get("sourceRef") or {}
        src = self._source(
            str(ref.get("kind")), str(ref.get("name")), ref.get("namespace") or meta["namespace"]
        )
        if src is None or not is_true(src, "Ready"):
            self._status(
                KUSTOMIZATIONS,
                ks,
                [condition("Ready", False, "ArtifactFailed", "Source artifact not found, retrying in 30s")],
                observedGeneration=gen,
            )
            return
        revision = str(((src.get("status") or {}).get("artifact") or {}).get("revision", ""))
        # `flux reconcile kustomization` sets requestedAt: a new request is a new attempt
        requested = str((meta.get("annotations") or {}).get(RECONCILE_REQUESTED, ""))
        run = self._run(ks, f"{revision}|{requested}")
        if run.stage == "done":
            return
        if (
            st.get("lastAppliedRevision") == revision
            and st.get("observedGeneration") == gen
            and is_true(ks, "Ready")
        ):
            if requested and st.get("lastHandledReconcileAt") != requested:
                self._status(KUSTOMIZATIONS, ks, [], lastHandledReconcileAt=requested)
            run.stage = "done"
            return
        waiting = self._deps_ready(ks, KUSTOMIZATIONS)
        if waiting is not None:
            self._status(KUSTOMIZATIONS, ks, [condition("Ready", False, "DependencyNotReady", waiting)])
            run.t0 = self.ctx.monotonic()
            return
        timeout = min(parse_duration(spec.get("timeout"), 300.0), ctx.t.helm_timeout + 20.0)
        if run.stage == "start":
            run.stage = "applying"
            run.t0 = self.ctx.monotonic()
            self._status(
                KUSTOMIZATIONS,
                ks,
                [
                    condition("Reconciling", True, "Progressing", "Reconciliation in progress"),
                    condition("Ready", "Unknown", "Progressing", "Reconciliation in progress"),
                ],
                lastAttemptedRevision=revision,
            )
            return
        if run.stage == "applying":
            if not ctx.passed(run.t0, ctx.t.kustomization_apply):
                return
            try:
                run.applied = self._apply_kustomization(ks)
            except (StoreError, ValueError) as exc:
                msg = f"{getattr(exc, 'message', str(exc))}"
                self._status(
                    KUSTOMIZATIONS,
                    ks,
                    [condition("Ready", False, "ReconciliationFailed", msg)],
                    observedGeneration=gen,
                    lastAttemptedRevision=revision,
                )
                ctx.event(ks, "ReconciliationFailed", msg, type_="Warning", component="kustomize-controller")
                run.stage = "done"
                return
            run.stage = "health"
            run.t0 = self.ctx.monotonic()
            inventory = {
                "entries": [
                    {
                        "id": f"{ns}_{name}_{av.split('/')[0] if '/' in av else ''}_{kind}",
                        "v": av.split("/")[-1],
                    }
                    for av, kind, ns, name in run.applied
                ]
            }
            msg = f"Running health checks for revision {revision} with a timeout of {go_duration(timeout)}"
            self._status(
                KUSTOMIZATIONS,
                ks,
                [
                    condition("Reconciling", True, "Progressing", msg),
                    condition("Ready", "Unknown", "Progressing", msg),
                    condition("Healthy", "Unknown", "Progressing", "Health check in progress"),
                ],
                inventory=inventory,
                lastAttemptedRevision=revision,
            )
            if not spec.get("wait"):
                run.stage = "health"
        if run.stage == "health":
            failing, failed_early = self._health(run.applied or []) if spec.get("wait") else ([], [])
            took = self._elapsed(run)
            if not failing:
                self._status(
                    KUSTOMIZATIONS,
                    ks,
                    [
                        condition(
                            "Healthy", True, "Succeeded", f"Health check passed in {go_duration(took)}"
                        ),
                        condition("Ready", True, "ReconciliationSucceeded", f"Applied revision: {revision}"),
                    ],
                    observedGeneration=gen,
                    lastAppliedRevision=revision,
                    lastAttemptedRevision=revision,
                    lastHandledReconcileAt=requested or now_rfc3339(),
                )
                ctx.event(
                    ks,
                    "ReconciliationSucceeded",
                    f"Reconciliation finished in {go_duration(took)}, "
                    f"next run in {spec.get('interval', '10m')}",
                    component="kustomize-controller",
                )
                run.stage = "done"
                return
            if failed_early or took >= timeout:
                what = ", ".join(failed_early or failing)
                if failed_early:
                    msg = (
                        f"health check failed after {go_duration(took)}: "
                        f"failed early due to stalled resources: [{what}]"
                    )
                else:
                    msg = f"health check failed after {go_duration(took)}: timeout waiting for: [{what}]"
                self._status(
                    KUSTOMIZATIONS,
                    ks,
                    [
                        condition("Healthy", False, "HealthCheckFailed", msg),
                        condition("Ready", False, "HealthCheckFailed", msg),
                    ],
                    observedGeneration=gen,
                    lastAttemptedRevision=revision,
                )
                ctx.event(ks, "HealthCheckFailed", msg, type_="Warning", component="kustomize-controller")
                run.stage = "done"

    def _apply_kustomization(self, ks: Obj) -> list[tuple[str, str, str, str]]:
        from appliance_cli import fluxlayout
        from appliance_lab import api_patch

        objects = fluxlayout.render_flux_kustomization(ks)
        for p in (ks.get("spec") or {}).get("patches") or []:
            target = p.get("target") or {}
            body = p.get("patch")
            ops = yaml.safe_load(body) if isinstance(body, str) else body
            for i, obj in enumerate(objects):
                if target.get("kind") and target["kind"] != obj.get("kind"):
                    continue
                if target.get("name") and target["name"] != obj["metadata"].get("name"):
                    continue
                if isinstance(ops, list):
                    objects[i] = api_patch.json_patch(obj, ops)
                elif isinstance(ops, dict):
                    objects[i] = api_patch.strategic_merge(obj, ops)
        labels = {
            "kustomize.toolkit.fluxcd.io/name": ks["metadata"]["name"],
            "kustomize.toolkit.fluxcd.io/namespace": ks["metadata"]["namespace"],
        }
        applied = []
        for obj in objects:
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
            self._as_installed_before(obj)
            self.apply(obj)
            m = obj["metadata"]
            applied.append((obj["apiVersion"], obj["kind"], m.get("namespace", ""), m["name"]))
        return applied

    def _as_installed_before(self, obj: Obj) -> None:
        """``installedWithoutFixes``: the install predates these durable fixes, so a HelmRelease
        created now lacks their postRenderer patches (a later apply carries the layout as it is)."""
        old = self.ctx.scenario.installed_without_fixes
        if not old or obj.get("kind") != "HelmRelease":
            return
        rt = BY_KIND.get((obj.get("apiVersion", ""), "HelmRelease"))
        meta = obj.get("metadata") or {}
        if rt is None or self.ctx.store.try_get_ref(rt, meta.get("namespace"), str(meta.get("name"))):
            return
        for renderer in (obj.get("spec") or {}).get("postRenderers") or []:
            kustomize = renderer.get("kustomize") or {}
            kustomize["patches"] = [p for p in kustomize.get("patches") or [] if fix_of(p) not in old]

    def apply(self, obj: Obj, namespace: str | None = None) -> Obj:
        """Create or update (spec/data/labels; status kept) — what a server-side apply does here."""
        rt = BY_KIND.get((obj.get("apiVersion", ""), obj.get("kind", "")))
        if rt is None:
            raise ValueError(f'no matches for kind "{obj.get("kind")}" in version "{obj.get("apiVersion")}"')
        body = copy.deepcopy(obj)
        if rt.namespaced:
            body["metadata"]["namespace"] = namespace or body["metadata"].get("namespace") or "default"
        try:
            return self.ctx.store.create(rt, body)
        except AlreadyExists:

            def fn(cur: Obj) -> None:
                for k, v in body.items():
                    if k in ("metadata", "status", "apiVersion", "kind"):
                        continue
                    cur[k] = v
                for k in ("labels", "annotations"):
                    if body["metadata"].get(k):
                        cur["metadata"].setdefault(k, {}).update(body["metadata"][k])

            out: Obj = self.ctx.store.mutate(
                rt, body["metadata"].get("namespace"), body["metadata"]["name"], fn
            )
            return out

    def _health(self, applied: list[tuple[str, str, str, str]]) -> tuple[list[str], list[str]]:
        failing: list[str] = []
        failed_early: list[str] = []
        for av, kind, ns, name in applied:
            rt = BY_KIND.get((av, kind))
            if rt is None:
                continue
            obj = self.ctx.store.try_get_ref(rt, ns or None, name)  # read only
            ref = f"{kind}/{ns}/{name}" if ns else f"{kind}/{name}"
            if obj is None:
                failing.append(f"{ref} status: 'NotFound'")
                continue
            ok, failed = workload_ready(obj)
            if failed:
                failed_early.append(f"{ref} status: 'Failed'")
            elif not ok:
                failing.append(f"{ref} status: 'InProgress'")
        return failing + failed_early, failed_early

    # -- HelmRelease -------------------------------------------------------------------------
    def _helmrelease(self, hr: Obj) -> None:
        ctx = self.ctx
        meta = hr["metadata"]
        spec = hr.get("spec") or {}
        gen = meta.get("generation", 1)
        name = meta["name"]
        target_ns = spec.get("targetNamespace") or meta["namespace"]
        release_name = spec.get("releaseName") or name
        chart_name, chart_version = CHARTS.get(name, (name, "0.1.0"))
        # `flux reconcile helmrelease` sets this annotation; the lab reconciles on request only
        requested = str((meta.get("annotations") or {}).get(RECONCILE_REQUESTED, ""))
        annotations = meta.get("annotations") or {}
        force = bool(requested) and annotations.get(FORCE_REQUESTED) == requested
        run = self._run(hr, requested)
        if run.stage == "done":
            return
        chart_ref = ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
        src = self._source(
            str(chart_ref.get("kind")),
            str(chart_ref.get("name")),
            chart_ref.get("namespace") or meta["namespace"],
        )
        helmchart = f"{meta['namespace']}/{meta['namespace']}-{name}"
        if src is None or not is_true(src, "Ready"):
            self._status(
                HELMRELEASES,
                hr,
                [
                    condition(
                        "Ready",
                        False,
                        "ArtifactFailed",
                        f"HelmChart '{helmchart}' is not ready: "
                        "latest generation of object has not been reconciled",
                    )
                ],
            )
            run.t0 = self.ctx.monotonic()
            return
        waiting = self._deps_ready(hr, HELMRELEASES)
        if waiting is not None:
            self._status(HELMRELEASES, hr, [condition("Ready", False, "DependencyNotReady", waiting)])
            run.t0 = self.ctx.monotonic()
            return
        values: Obj = {}
        for ref in spec.get("valuesFrom") or []:
            if ref.get("kind") != "ConfigMap":
                continue
            key = ref.get("valuesKey") or "values.yaml"
            cm = ctx.store.try_get(CONFIGMAPS, meta["namespace"], ref["name"])
            if cm is None or key not in (cm.get("data") or {}):
                if ref.get("optional"):
                    continue
                msg = (
                    f"could not resolve ConfigMap chart values reference '{meta['namespace']}/{ref['name']}' "
                    f"with key '{key}': ConfigMap/{meta['namespace']}/{ref['name']} not found"
                )
                self._status(HELMRELEASES, hr, [condition("Ready", False, "InitFailed", msg)])
                run.t0 = self.ctx.monotonic()
                return
            loaded = _values_yaml(str(cm["data"][key])) or {}
            if isinstance(loaded, dict):
                from appliance_cli.fluxlayout import deep_merge

                values = deep_merge(values, loaded)
        values = _deep(values, spec.get("values") or {})
        chart_label = f"{chart_name}@{chart_version}"
        timeout = min(parse_duration(spec.get("timeout"), 300.0), ctx.t.helm_timeout)
        latest = _latest(hr)
        config_digest = "sha256:" + hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
        handled = {"lastHandledReconcileAt": requested} if requested else {}
        for field, key in (("lastHandledForceAt", FORCE_REQUESTED), ("lastHandledResetAt", RESET_REQUESTED)):
            if key in annotations:
                handled[field] = str(annotations[key])
        in_sync = latest is not None and latest.get("status") == "deployed"
        if (
            run.stage == "start"
            and not force
            and in_sync
            and latest is not None
            and latest.get("configDigest") == config_digest
        ):
            # a requested reconcile of a release already in sync: nothing to upgrade
            self._status(HELMRELEASES, hr, [], **handled)
            run.stage = "done"
            return
        if run.stage == "start":
            # an upgrade when a release exists (deployed, failed or still pending)
            run.action = "upgrade" if latest is not None else "install"
            run.version = int(latest.get("version", 1)) + 1 if latest is not None else 1
        action, version = run.action, run.version
        older = [
            {**h, "status": "superseded"} if h.get("status") == "deployed" else h
            for h in ((hr.get("status") or {}).get("history") or [])
            if not str(h.get("status", "")).startswith("pending-")
        ][:4]
        history_entry = {
            "chartName": chart_name,
            "chartVersion": chart_version,
            "appVersion": str(values.get("appVersion", "")),
            "name": release_name,
            "namespace": target_ns,
            "version": version,
            "configDigest": config_digest,
            "digest": "sha256:" + hashlib.sha256(f"{release_name}{gen}".encode()).hexdigest(),
            "firstDeployed": now_rfc3339(),
            "lastDeployed": now_rfc3339(),
        }
        if run.stage == "start":
            run.stage = "installing"
            run.t0 = self.ctx.monotonic()
            self._status(
                HELMRELEASES,
                hr,
                [
                    condition("Reconciling", True, "Progressing", "Fulfilling prerequisites"),
                    condition("Ready", "Unknown", "Progressing", "Fulfilling prerequisites"),
                ],
                lastAttemptedGeneration=gen,
                observedGeneration=st_gen(hr),
                helmChart=helmchart,
                storageNamespace=spec.get("storageNamespace") or target_ns,
            )
            return
        if run.stage == "installing":
            if not ctx.passed(run.t0, ctx.t.helm_install):
                return
            objects = render_chart(name, values, self._release_images(), rand5())
            apply_post_renderers(objects, hr, ctx.scenario)
            ctx.ensure_namespace(target_ns)
            applied = []
            for obj in objects:
                m = obj.setdefault("metadata", {})
                m["namespace"] = target_ns
                m.setdefault("labels", {}).update(
                    {
                        "app.kubernetes.io/managed-by": "Helm",
                        "app.kubernetes.io/instance": release_name,
                        "helm.sh/chart": f"{chart_name}-{chart_version}",
                        "helm.toolkit.fluxcd.io/name": name,
                        "helm.toolkit.fluxcd.io/namespace": meta["namespace"],
                    }
                )
                m.setdefault("annotations", {}).update(
                    {"meta.helm.sh/release-name": release_name, "meta.helm.sh/release-namespace": target_ns}
                )
                try:
                    self.apply(obj, target_ns)
                except (StoreError, ValueError):
                    continue
                applied.append((obj["apiVersion"], obj["kind"], target_ns, m["name"]))
            run.applied = applied
            run.stage = "waiting"
            run.t0 = self.ctx.monotonic()
            msg = f"Running '{action}' action with timeout of {go_duration(timeout)}"
            self._status(
                HELMRELEASES,
                hr,
                [
                    condition("Reconciling", True, "Progressing", msg),
                    condition("Ready", "Unknown", "Progressing", msg),
                ],
                lastAttemptedRevision=chart_version,
                lastAttemptedReleaseAction=action,
                history=[{**history_entry, "status": f"pending-{action}"}, *older],
            )
            return
        if run.stage != "waiting":
            return
        pending: list[str] = []
        failed_job: str | None = None
        for av, kind, ns, oname in run.applied or []:
            rt = BY_KIND.get((av, kind))
            if rt is None:
                continue
            live = ctx.store.try_get_ref(rt, ns, oname)  # read only
            if live is None:
                if kind == "Job":
                    continue  # a finished Job the chart cleaned up
                pending.append(f"{kind}/{ns}/{oname}")
                continue
            ok, failed = workload_ready(live)
            if kind == "Job" and ok and name == "alga-core":
                ctx.seeded_users = ctx.scenario.seed_users
            if failed and kind == "Job":
                failed_job = oname
            elif not ok:
                pending.append(f"{kind}/{ns}/{oname}")
        timed_out = ctx.passed(run.t0, timeout)
        title = action.capitalize()
        if failed_job is None and not pending:
            msg = (
                f"Helm {action} succeeded for release {target_ns}/{release_name}.v{version} "
                f"with chart {chart_label}"
            )
            self._status(
                HELMRELEASES,
                hr,
                [
                    condition("Released", True, f"{title}Succeeded", msg),
                    condition("Ready", True, f"{title}Succeeded", msg),
                ],
                observedGeneration=gen,
                lastAttemptedGeneration=gen,
                lastAttemptedRevision=chart_version,
                history=[{**history_entry, "status": "deployed"}, *older],
                lastAttemptedConfigDigest=history_entry["configDigest"],
                **handled,
            )
            ctx.event(hr, f"{title}Succeeded", msg, component="helm-controller")
            run.stage = "done"
            return
        if failed_job is not None or timed_out:
            cause = (
                f"job {failed_job} failed: BackoffLimitExceeded"
                if failed_job
                else "context deadline exceeded"
            )
            msg = (
                f"Helm {action} failed for release {target_ns}/{release_name} "
                f"with chart {chart_label}: {cause}"
            )
            failures = {"upgradeFailures": 1} if action == "upgrade" else {"installFailures": 1}
            self._status(
                HELMRELEASES,
                hr,
                [
                    condition("Released", False, f"{title}Failed", msg),
                    condition("Stalled", True, "RetriesExceeded", f"Failed to {action} after 1 attempt(s)"),
                    condition("Ready", False, f"{title}Failed", msg),
                ],
                observedGeneration=gen,
                lastAttemptedGeneration=gen,
                history=[{**history_entry, "status": "failed"}, *older],
                **failures,
                **handled,
            )
            ctx.event(hr, f"{title}Failed", msg, type_="Warning", component="helm-controller")
            run.stage = "done"

    def _release_images(self) -> dict[str, str]:
        cm = self.ctx.store.try_get(CONFIGMAPS, "alga-system", "appliance-release-selection")
        out: dict[str, str] = {}
        if cm is not None:
            with contextlib.suppress(ValueError):
                out.update(json.loads((cm.get("data") or {}).get("images.json", "{}")))
        if not out:
            try:
                from appliance_cli.releases import load_release

                rel = load_release(self.ctx.release_version)
                out = {k: v.reference for k, v in rel.images.items()}
            except Exception:
                pass
        return out


def _latest(hr: Obj) -> Obj | None:
    """The release's latest history entry, deployed or failed (``None``: never installed)."""
    history = (hr.get("status") or {}).get("history") or []
    return dict(history[0]) if history else None


def _suspended(obj: Obj) -> bool:
    return bool((obj.get("spec") or {}).get("suspend"))


def st_gen(obj: Obj) -> int:
    return int((obj.get("status") or {}).get("observedGeneration", -1))


def _deep(base: Obj, override: Obj) -> Obj:
    out = copy.deepcopy(base)
    for k, v in override.items():
        out[k] = (
            _deep(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
        )
    return out


def workload_ready(obj: Obj) -> tuple[bool, bool]:
    """(ready, failed) the way Flux's and Helm's health checks see an object."""
    kind = obj.get("kind")
    st = obj.get("status") or {}
    spec = obj.get("spec") or {}
    gen = obj["metadata"].get("generation")
    if kind == "Deployment":
        want = int(spec.get("replicas", 1))
        ok = (
            st.get("observedGeneration") == gen
            and int(st.get("updatedReplicas", 0)) >= want
            and int(st.get("availableReplicas", 0)) >= want
            and int(st.get("replicas", 0)) == want
        )
        return ok, False
    if kind == "StatefulSet":
        want = int(spec.get("replicas", 1))
        return st.get("observedGeneration") == gen and int(st.get("readyReplicas", 0)) >= want, False
    if kind == "Job":
        return is_true(obj, "Complete"), is_true(obj, "Failed")
    if kind in ("HelmRelease", "Kustomization", "GitRepository"):
        ready = get_condition(obj, "Ready")
        if ready is None:
            return False, False
        if ready.get("status") == "True":
            return st.get("observedGeneration") == gen, False
        failed = ready.get("status") == "False" and is_true(obj, "Stalled")
        return False, failed
    return True, False
