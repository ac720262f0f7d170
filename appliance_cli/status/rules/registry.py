"""The blocker-rule registry: each rule's description is data next to its function.

``@rule(...)`` registers a :class:`RuleSpec` (code, title, layer, rank, meaning, the signals
it matches in real wording, remediation) together with a pure function
``SnapshotIndex -> list[Finding]``. ``appliance explain``, the generated table in
``docs/blocker-codes.md`` and the classifier all read this one registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from appliance_cli.catalog import Component
from appliance_cli.status.index import Pod, SnapshotIndex, key_of, workload_name
from appliance_cli.status.model import ComponentTier, Evidence, Severity


@dataclass(frozen=True)
class RepairSpec:
    """What ``appliance repair`` may do about a blocker of this code: data next to the rule.

    ``action`` names a bounded, idempotent operation of ``appliance_cli.repair`` that is built
    from the blocker's evidence (the objects it names); ``None`` says there is none, and
    ``summary`` says why (a release change, the network, a decision only the admin can take).
    ``touches`` lists every object kind the action may change. A repair with
    ``after_cause=True`` repairs a symptom: it runs only once no specific cause of the same
    component is listed any more (repairing the cause repairs the consequence).
    ``mutates=False``: the action only shows what to look at (logs, limits) and changes nothing.
    """

    action: str | None
    summary: str
    touches: tuple[str, ...] = ()
    after_cause: bool = False
    mutates: bool = True


NO_REPAIR = RepairSpec(
    None,
    "No automatic repair: the cause needs a change outside the cluster or a decision only the "
    "admin can take. Follow the remediation.",
)


@dataclass(frozen=True)
class RuleSpec:
    code: str
    title: str
    layer: str
    rank: int
    meaning: str
    signals: tuple[str, ...]
    remediation: str
    next_action: str
    generic: bool = False  # a symptom: folded into a specific cause of the same component
    repair: RepairSpec = NO_REPAIR


@dataclass
class Finding:
    """One blocker candidate, before ranking and de-duplication."""

    code: str
    component: str
    tier: ComponentTier
    reason: str
    next_action: str
    login_blocking: bool
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        if self.login_blocking:
            return "critical"
        return "background" if self.tier == "background" else "warning"


RuleFn = Callable[[SnapshotIndex], list[Finding]]


@dataclass(frozen=True)
class Rule:
    spec: RuleSpec
    fn: RuleFn


_RULES: dict[str, Rule] = {}


def rule(
    *,
    code: str,
    title: str,
    layer: str,
    rank: int,
    meaning: str,
    signals: tuple[str, ...],
    remediation: str,
    next_action: str,
    generic: bool = False,
    repair: RepairSpec = NO_REPAIR,
) -> Callable[[RuleFn], RuleFn]:
    """Register a rule function under its blocker code (codes are unique)."""
    spec = RuleSpec(code, title, layer, rank, meaning, signals, remediation, next_action, generic, repair)

    def register(fn: RuleFn) -> RuleFn:
        if code in _RULES:
            raise ValueError(f"blocker code {code!r} registered twice")
        _RULES[code] = Rule(spec, fn)
        return fn

    return register


def registered() -> list[Rule]:
    """All rules, root causes first (by rank)."""
    return sorted(_RULES.values(), key=lambda r: r.spec.rank)


def spec_for(code: str) -> RuleSpec:
    return _RULES[code].spec


def repair_for(code: str) -> RepairSpec:
    """The repair a code declares; a code no rule knows (yet) has none."""
    rule_ = _RULES.get(code)
    return rule_.spec.repair if rule_ is not None else NO_REPAIR


def finding(
    code: str,
    *,
    component: Component | None = None,
    name: str | None = None,
    tier: ComponentTier | None = None,
    reason: str,
    evidence: list[Evidence] | None = None,
    next_action: str | None = None,
    login_blocking: bool | None = None,
) -> Finding:
    """Build a finding; tier and login-blocking come from the catalog component when given."""
    spec = spec_for(code)
    comp_tier: ComponentTier = component.tier if component else (tier or "platform")
    if tier is not None:
        comp_tier = tier
    blocking = (comp_tier != "background") if login_blocking is None else login_blocking
    return Finding(
        code=code,
        component=name or (component.name if component else code),
        tier=comp_tier,
        reason=reason,
        next_action=next_action or spec.next_action,
        login_blocking=blocking,
        evidence=list(evidence or []),
    )


# Namespaces whose pods the platform depends on even though the catalog does not list them.
PLATFORM_NAMESPACES = frozenset({"kube-system", "flux-system", "local-path-storage", "appliance-system"})


def unowned_tier(namespace: str) -> ComponentTier:
    """Tier of an object no catalog component owns: platform plumbing, or else background."""
    return "platform" if namespace in PLATFORM_NAMESPACES else "background"


def pod_subject(index: SnapshotIndex, pod: Pod) -> dict[str, Any]:
    """Who a finding about a pod is about: its catalog component, or — for a component outside
    the release (Flux controllers, CoreDNS, the local-path provisioner) — its workload's name
    (``kustomize-controller``, not ``kustomize-controller-ddss87m7gq-h78vp``) and tier."""
    comp = index.component_of_pod(pod)
    if comp is not None:
        return {"component": comp}
    return {"name": workload_name(pod), "tier": unowned_tier(key_of(pod)[0])}
