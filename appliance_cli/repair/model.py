"""What a repair plans and what it found: plain data the CLI renders and tests read.

The safety contract is data too: ``ALLOWED`` lists every object kind repair may touch and
how. A change of any other kind, or another verb, is refused before anything is changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Verb = Literal["delete", "annotate", "apply"]
Outcome = Literal["fixed", "still_present", "worse", "unchanged", "shown"]

# Every object kind repair may touch, and how. Nothing else: no PersistentVolumeClaim,
# PersistentVolume, Namespace, Secret, ConfigMap, StatefulSet or Deployment is ever changed,
# and no database is touched (that is `appliance reset`'s job).
ALLOWED: dict[str, frozenset[Verb]] = {
    "Pod": frozenset({"delete"}),  # a pod its controller creates again
    "Job": frozenset({"delete"}),  # the chart's bootstrap Job (its pods go with it)
    "HelmRelease": frozenset({"annotate", "apply"}),  # reconcile requests; the layout's postRenderers
    "Kustomization": frozenset({"annotate"}),  # reconcile requests
    "GitRepository": frozenset({"annotate"}),  # reconcile requests
}
NEVER_TOUCHED = (
    "PersistentVolumeClaim",
    "PersistentVolume",
    "Namespace",
    "Secret",
    "ConfigMap",
    "StatefulSet",
    "Deployment",
    "Node",
)

KEYS: dict[str, str] = {
    "Pod": "v1/pods",
    "Job": "batch/v1/jobs",
    "HelmRelease": "helm.toolkit.fluxcd.io/v2/helmreleases",
    "Kustomization": "kustomize.toolkit.fluxcd.io/v1/kustomizations",
    "GitRepository": "source.toolkit.fluxcd.io/v1/gitrepositories",
}

# Flux's reconcile requests (fluxcd/pkg apis/meta ReconcileRequestAnnotation; helm-controller
# api/v2 ForceRequestAnnotation and ResetRequestAnnotation). forceAt and resetAt are only
# honoured when their value equals requestedAt's, which is how 'flux reconcile helmrelease
# --force' / '--reset' set them.
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
FORCE_AT = "reconcile.fluxcd.io/forceAt"
RESET_AT = "reconcile.fluxcd.io/resetAt"


class RepairRefused(Exception):
    """A planned change is outside what repair may ever do (a bug, never carried out)."""


@dataclass(frozen=True)
class Change:
    """One change to one object, and why."""

    kind: str
    namespace: str | None
    name: str
    verb: Verb
    what: str  # the change in words: "delete", "annotate reconcile.fluxcd.io/forceAt=<token>", ...
    why: str
    body: dict[str, Any] | None = None  # the object applied (verb "apply") or the patch (annotate)
    # "<namespace>/<name>" of a StatefulSet whose new template must be in place first (a pod
    # delete that completes a rolling update the StatefulSet cannot finish on its own)
    after_statefulset: str | None = None
    # the object's uid when the repair was planned: a pod its controller has replaced since
    # (same name, new uid) is not deleted again
    uid: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    def check_allowed(self) -> None:
        if self.verb not in ALLOWED.get(self.kind, frozenset()):
            raise RepairRefused(f"repair never does '{self.verb}' on a {self.kind} ({self.ref})")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "verb": self.verb,
            "what": self.what,
            "why": self.why,
        }


@dataclass
class PlannedRepair:
    """The repair of one blocker: its changes in order, or why nothing is changed."""

    code: str
    component: str
    action: str
    reason: str  # the blocker as status words it
    changes: list[Change] = field(default_factory=list)
    unchanged: str | None = None  # why there is nothing to change (the cause is elsewhere, ...)
    shown: list[str] = field(default_factory=list)  # what a show-only action shows
    settle: str = ""  # what verification waits for besides the blocker going away
    bound_seconds: float = 300.0
    token: str = ""  # the reconcile request value this repair set (verification reads it back)

    @property
    def key(self) -> tuple[str, str]:
        return (self.code, self.component)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "component": self.component,
            "action": self.action,
            "reason": self.reason,
            "changes": [c.to_json() for c in self.changes],
            "unchanged": self.unchanged,
            "shown": self.shown,
            "verify": {"waitsFor": self.settle, "boundSeconds": self.bound_seconds},
        }


@dataclass(frozen=True)
class RepairResult:
    code: str
    component: str
    action: str
    outcome: Outcome
    saw: str  # what verification last saw
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "component": self.component,
            "action": self.action,
            "outcome": self.outcome,
            "saw": self.saw,
            "seconds": round(self.seconds, 1),
        }


@dataclass
class RepairReport:
    site_id: str
    dry_run: bool
    plans: list[PlannedRepair] = field(default_factory=list)
    results: list[RepairResult] = field(default_factory=list)
    not_repairable: list[tuple[str, str, str]] = field(default_factory=list)  # (code, component, why)
    final_state: str | None = None
    stopped: str | None = None  # why repair stopped early (made it worse, declined)

    @property
    def ok(self) -> bool:
        """Everything attempted is fixed (and something was, or nothing needed it)."""
        attempted = [r for r in self.results if r.outcome != "shown"]
        if self.stopped:
            return False
        if not attempted:
            return not self.not_repairable and not self.plans
        return all(r.outcome == "fixed" for r in attempted)

    def to_json(self) -> dict[str, Any]:
        return {
            "siteId": self.site_id,
            "dryRun": self.dry_run,
            "plans": [p.to_json() for p in self.plans],
            "results": [r.to_json() for r in self.results],
            "notRepairable": [{"code": c, "component": n, "why": w} for c, n, w in self.not_repairable],
            "finalState": self.final_state,
            "stopped": self.stopped,
            "ok": self.ok,
        }
