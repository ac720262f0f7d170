"""Carry out a reset plan step by step: bounded waits, progress through the one reporter.

Every step tolerates "already gone" and re-reads what it acts on, so a reset that was
killed or failed half-way completes when run again. Nothing here prints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from appliance_cli.errors import ActionRequired, ApplianceError, Interrupted, KubeNotFound
from appliance_cli.progress import EventState, ProgressEvent, Reporter
from appliance_cli.reset import wipe
from appliance_cli.reset.plan import (
    APP_NAMESPACES,
    GITREPOS,
    HELMRELEASES,
    KUSTOMIZATIONS,
    STATUS_DEPLOYMENT,
    STATUS_SECRET,
)

if TYPE_CHECKING:
    from appliance_cli.adapters.kubeapi import KubeApi
    from appliance_cli.reset.model import ResetPlan

Obj = dict[str, Any]
KEYS = {"Kustomization": KUSTOMIZATIONS, "GitRepository": GITREPOS, "HelmRelease": HELMRELEASES}
TOTAL_STEPS = 6
Ref = tuple[str, str | None, str, str]  # (resource key, namespace, name, label)


@dataclass(frozen=True)
class Bounds:
    """How long each wait may take (seconds) before the reset stops with what it last saw."""

    flux: float = 120.0
    namespaces: float = 600.0
    volumes: float = 120.0
    wipe: float = 300.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class ResetOutcome:
    checks: list[Check] = field(default_factory=list)
    removed_entries: int | None = None
    seconds: float = 0.0

    @property
    def verified(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "removedEntries": self.removed_entries,
            "seconds": self.seconds,
            "checks": [c.to_json() for c in self.checks],
        }


class WaitTimedOut(ActionRequired):
    pass


class Executor:
    """Runs the six steps of a ``ResetPlan`` against the cluster."""

    def __init__(
        self,
        kube: KubeApi,
        reporter: Reporter,
        *,
        embedded: bool = False,
        stop: threading.Event | None = None,
        bounds: Bounds | None = None,
    ) -> None:
        self.kube = kube
        self.reporter = reporter
        self.embedded = embedded  # inside `bootstrap`: no step numbers of its own in the phase list
        self.stop = stop or threading.Event()
        self.bounds = bounds or Bounds()
        self._step = (0, "")

    # -- reporting -----------------------------------------------------------------------------
    def _emit(self, step: str, state: EventState, **details: Any) -> None:
        number, title = self._step
        if self.embedded:
            text = f"reset {number}/{TOTAL_STEPS} {title}: {step}" if step != title else f"reset {title}"
            state = "info" if state in ("start", "done", "progress") else state
            self.reporter.emit(ProgressEvent(None, "Reset", text, state, details))
            return
        self.reporter.emit(ProgressEvent(number, title, step, state, details))

    def _phase(self, state: EventState, **details: Any) -> None:
        if self.embedded:
            if state in ("done", "failed"):
                self._emit(f"{self._step[1]} {state}", "info" if state == "done" else "failed", **details)
            return
        number, title = self._step
        self.reporter.emit(ProgressEvent(number, title, title, state, {"scope": "phase", **details}))

    # -- the run -------------------------------------------------------------------------------
    def execute(self, plan: ResetPlan) -> ResetOutcome:
        started = time.monotonic()
        outcome = ResetOutcome()
        steps: list[tuple[str, Callable[[ResetPlan, ResetOutcome], None]]] = [
            ("Pause Flux", self.pause_flux),
            ("Remove the Flux objects", self.remove_flux),
            ("Delete the application", self.delete_namespaces),
            ("Delete the data volumes", self.delete_volumes),
            ("Wipe the data directory", self.wipe_data),
            ("Verify", self.verify),
        ]
        for number, (title, fn) in enumerate(steps, start=1):
            self._step = (number, title)
            self._phase("start")
            t0 = time.monotonic()
            try:
                fn(plan, outcome)
            except KeyboardInterrupt:
                self._phase("failed", reason="interrupted")
                raise Interrupted(
                    f"reset interrupted during step {number} ({title})",
                    hint="run 'appliance reset --force' again: it continues where it stopped",
                ) from None
            except ApplianceError as exc:
                self._phase("failed", reason=exc.message)
                if exc.hint is None:
                    exc.hint = "fix the cause, then run 'appliance reset --force' again: it continues"
                raise
            self._phase("done", seconds=round(time.monotonic() - t0, 3))
        outcome.seconds = round(time.monotonic() - started, 3)
        return outcome

    # -- steps ---------------------------------------------------------------------------------
    def pause_flux(self, plan: ResetPlan, outcome: ResetOutcome) -> None:
        for obj in [*plan.flux, *plan.helm_releases]:
            if obj.suspended:
                self._emit(f"{obj.ref} already suspended", "done")
                continue
            try:
                self.kube.patch_merge(KEYS[obj.kind], obj.namespace, obj.name, {"spec": {"suspend": True}})
            except KubeNotFound:
                self._emit(f"{obj.ref} already gone", "done")
                continue
            self._emit(f"suspended {obj.ref}", "done")

    def remove_flux(self, plan: ResetPlan, outcome: ResetOutcome) -> None:
        for obj in plan.flux:
            self.kube.delete(KEYS[obj.kind], obj.namespace, obj.name, missing_ok=True)
            self._emit(f"deleted {obj.ref}", "done")
        refs: list[Ref] = [(KEYS[o.kind], o.namespace, o.name, o.ref) for o in plan.flux]
        self._wait_gone("the Flux objects to go", refs, self.bounds.flux)

    def delete_namespaces(self, plan: ResetPlan, outcome: ResetOutcome) -> None:
        for ns in plan.namespaces:
            self.kube.delete("v1/namespaces", None, ns.name, missing_ok=True, propagation="Background")
            self._emit(f"deleting namespace {ns.name} ({ns.pods} pods, {ns.pvcs} volume claims)", "progress")
        refs: list[Ref] = [("v1/namespaces", None, ns.name, f"namespace {ns.name}") for ns in plan.namespaces]
        self._wait_gone("the application namespaces to go", refs, self.bounds.namespaces)

    def delete_volumes(self, plan: ResetPlan, outcome: ResetOutcome) -> None:
        names = {v.name for v in plan.volumes} | {
            str(pv["metadata"]["name"]) for pv in self._app_volumes()
        }  # plus any bound since the plan was read
        for name in sorted(names):
            self.kube.delete("v1/persistentvolumes", None, name, missing_ok=True)
            self._emit(f"deleted PersistentVolume {name}", "done")
        refs: list[Ref] = [("v1/persistentvolumes", None, n, f"PersistentVolume {n}") for n in sorted(names)]
        self._wait_gone("the data volumes to go", refs, self.bounds.volumes)

    def wipe_data(self, plan: ResetPlan, outcome: ResetOutcome) -> None:
        w = plan.wipe
        job_ref: Ref = ("batch/v1/jobs", w.namespace, w.job_name, f"Job {w.namespace}/{w.job_name}")
        # A Job left by an interrupted run is replaced (a Job's pod template cannot change).
        self.kube.delete(job_ref[0], w.namespace, w.job_name, missing_ok=True, propagation="Background")
        self._wait_gone("the previous wipe Job to go", [job_ref], self.bounds.wipe)
        manifest = wipe.wipe_job(w.path, w.root, image=w.image, keep=list(w.keep))
        if not self._exists("v1/namespaces", None, w.namespace):
            self.kube.create(wipe.wipe_namespace())
            self._emit(f"created namespace {w.namespace} for the wipe Job", "done")
        self.kube.create(manifest)
        self._emit(f"started Job {w.namespace}/{w.job_name} to empty {w.path}", "progress")
        job = self._wait_job(w.namespace, w.job_name)
        lines = self._job_log(w.namespace, w.job_name)
        if _condition(job, "Failed"):
            tail = " | ".join(lines[-5:]) or "no log"
            raise ActionRequired(
                f"the wipe Job failed: {_condition(job, 'Failed').get('message') or 'Failed'}; log: {tail}",
                hint=f"see 'kubectl -n {w.namespace} describe job {w.job_name}', then run the reset again",
            )
        result = wipe.parse_log(lines)
        if not result.found:
            raise ActionRequired(
                f"the wipe Job finished but its log does not say what it removed: {' | '.join(lines[-5:])}"
            )
        outcome.removed_entries = result.removed
        outcome.checks.append(
            Check(
                "data directory empty",
                not result.remaining,
                f"{w.path}: removed {result.removed} entries"
                + (f"; still there: {', '.join(result.remaining)}" if result.remaining else "; nothing left")
                + (f" (kept: {', '.join(w.keep)})" if w.keep else ""),
            )
        )
        self.kube.delete(job_ref[0], w.namespace, w.job_name, missing_ok=True, propagation="Background")
        self._emit(f"{w.path} emptied ({result.removed} entries removed)", "done")

    def verify(self, plan: ResetPlan, outcome: ResetOutcome) -> None:
        checks = outcome.checks
        left_ns = [ns for ns in APP_NAMESPACES if self._exists("v1/namespaces", None, ns)]
        checks.append(Check("namespaces gone", not left_ns, ", ".join(left_ns) or ", ".join(APP_NAMESPACES)))
        vols = [str(pv["metadata"]["name"]) for pv in self._app_volumes()]
        checks.append(Check("volumes gone", not vols, ", ".join(vols) or f"{len(plan.volumes)} deleted"))
        flux = [o.ref for o in plan.flux if self._exists(KEYS[o.kind], o.namespace, o.name)]
        checks.append(Check("Flux objects gone", not flux, ", ".join(flux) or f"{len(plan.flux)} deleted"))
        for key, (ns, name), what, before in (
            ("apps/v1/deployments", STATUS_DEPLOYMENT, "status service kept", plan.status_service),
            ("v1/secrets", STATUS_SECRET, "status token kept", plan.status_token),
        ):
            if before:  # what was there before the reset must still be there
                there = self._exists(key, ns, name)
                checks.append(Check(what, there, f"{ns}/{name} {'present' if there else 'MISSING'}"))
        for c in checks:
            self._emit(f"{c.name}: {c.detail}", "done" if c.ok else "warning")
        failed = [c for c in checks if not c.ok]
        if failed:
            raise ActionRequired(
                "the reset did not verify: " + "; ".join(f"{c.name} ({c.detail})" for c in failed),
                hint="run 'appliance reset --force' again; if it stays, send 'appliance support-bundle'",
            )

    # -- helpers -------------------------------------------------------------------------------
    def _app_volumes(self) -> list[Obj]:
        items = self.kube.list_raw("v1/persistentvolumes").get("items") or []
        return [pv for pv in items if _claim_namespace(pv) in APP_NAMESPACES]

    def _exists(self, key: str, namespace: str | None, name: str) -> bool:
        try:
            self.kube.get(key, namespace, name)
        except KubeNotFound:
            return False
        return True

    def _wait(self, what: str, check: Callable[[], tuple[bool, str]], bound: float) -> str:
        """Poll ``check`` until done (soon at first, then every second); stop at ``bound``."""
        started = time.monotonic()
        polls = 0
        while True:
            done, seen = check()
            elapsed = time.monotonic() - started
            if done:
                self._emit(f"done waiting for {what}", "done", lastSaw=seen, seconds=round(elapsed, 1))
                return seen
            if elapsed >= bound:
                raise WaitTimedOut(f"gave up after {bound:g}s waiting for {what}; last saw: {seen}")
            self._emit(what, "waiting", lastSaw=seen, elapsedSeconds=round(elapsed, 1), boundSeconds=bound)
            delay = min(1.0, 0.05 * (1.6**polls))
            polls += 1
            if self.stop.wait(delay):
                raise KeyboardInterrupt

    def _wait_gone(self, what: str, refs: Sequence[Ref], bound: float) -> None:
        if not refs:
            return

        def check() -> tuple[bool, str]:
            left: list[str] = []
            for key, ns, name, label in refs:
                try:
                    obj = self.kube.get(key, ns, name)
                except KubeNotFound:
                    continue
                left.append(f"{label} {_why_still_there(obj)}".strip())
            return not left, "; ".join(left) or "all gone"

        self._wait(what, check, bound)

    def _wait_job(self, namespace: str, name: str) -> Obj:
        holder: dict[str, Obj] = {}

        def check() -> tuple[bool, str]:
            job = self.kube.get("batch/v1/jobs", namespace, name)
            holder["job"] = job
            if _condition(job, "Complete") or _condition(job, "Failed"):
                return True, "finished"
            return False, self._pod_state(namespace, name)

        self._wait(f"the wipe Job {namespace}/{name} to finish", check, self.bounds.wipe)
        return holder["job"]

    def _job_pods(self, namespace: str, job: str) -> list[Obj]:
        items = self.kube.list_raw("v1/pods", namespace, label_selector=f"job-name={job}").get("items") or []
        return sorted(items, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp") or ""))

    def _pod_state(self, namespace: str, job: str) -> str:
        pods = self._job_pods(namespace, job)
        if not pods:
            return "no pod yet"
        pod = pods[-1]
        st = pod.get("status") or {}
        for cs in st.get("containerStatuses") or []:
            waiting = (cs.get("state") or {}).get("waiting")
            if waiting:
                why = f"{waiting.get('reason', '')} {waiting.get('message', '')}".strip()
                return f"pod {pod['metadata']['name']}: {why}"
        return f"pod {pod['metadata']['name']}: {st.get('phase', 'Pending')}"

    def _job_log(self, namespace: str, job: str) -> list[str]:
        pods = self._job_pods(namespace, job)
        if not pods:
            return []
        try:
            return self.kube.pod_logs(namespace, str(pods[-1]["metadata"]["name"]), "wipe", 200)
        except ApplianceError:
            return []


def _claim_namespace(pv: Obj) -> str | None:
    ns = ((pv.get("spec") or {}).get("claimRef") or {}).get("namespace")
    return str(ns) if ns else None


def _condition(obj: Obj, ctype: str) -> Obj:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype and c.get("status") == "True":
            return dict(c)
    return {}


def _why_still_there(obj: Obj) -> str:
    """What keeps an object alive: the namespace's own words, else its finalizers."""
    meta = obj.get("metadata") or {}
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("status") == "True" and c.get("type") in (
            "NamespaceContentRemaining",
            "NamespaceFinalizersRemaining",
            "NamespaceDeletionContentFailure",
        ):
            return f"({c.get('message')})"
    if meta.get("deletionTimestamp"):
        fins = meta.get("finalizers") or (obj.get("spec") or {}).get("finalizers") or []
        return f"(terminating; finalizers: {', '.join(fins) or 'none'})"
    return "(not deleted yet)"
