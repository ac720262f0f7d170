"""The blocker-rule registry: each rule's description is data next to its function.

``@rule(...)`` registers a :class:`RuleSpec` (code, title, layer, rank, meaning, the signals
it matches in real wording, remediation) together with a pure function
``SnapshotIndex -> list[Finding]``. ``appliance explain``, the generated table in
``docs/blocker-codes.md`` and the classifier all read this one registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from appliance_cli.catalog import Component
from appliance_cli.status.index import SnapshotIndex
from appliance_cli.status.model import ComponentTier, Evidence, Severity


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
) -> Callable[[RuleFn], RuleFn]:
    """Register a rule function under its blocker code (codes are unique)."""
    spec = RuleSpec(code, title, layer, rank, meaning, signals, remediation, next_action, generic)

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
