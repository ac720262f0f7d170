"""Label and field selectors of the lab's Kubernetes API (the ``labelSelector``/``fieldSelector`` grammar).

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists),
``!k`` (does not exist), comma-separated (all must hold). Field selectors: ``f=v``, ``f==v``,
``f!=v`` over the fields the real API server indexes for each kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance_lab.store import Obj, StoreError

Matcher = Callable[[Obj], bool]


class BadRequest(StoreError):
    code = 400
    reason = "BadRequest"


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, Any]) -> bool:
        present = self.key in labels
        value = str(labels.get(self.key, ""))
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        return not present or value not in self.values  # notin


_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_SET_RE = re.compile(rf"^\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<vals>[^)]*)\)\s*$")
_EQ_RE = re.compile(rf"^\s*(?P<key>{_KEY})\s*(?P<op>==|!=|=)\s*(?P<val>[-A-Za-z0-9_.]*)\s*$")
_EXISTS_RE = re.compile(rf"^\s*(?P<neg>!?)\s*(?P<key>{_KEY})\s*$")


def _split_top(selector: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    cur = ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p for p in parts if p.strip()]


def parse_label_selector(selector: str) -> tuple[Requirement, ...]:
    reqs: list[Requirement] = []
    for part in _split_top(selector):
        if m := _SET_RE.match(part):
            vals = tuple(v.strip() for v in m["vals"].split(",") if v.strip())
            reqs.append(Requirement(m["key"], m["op"], vals))
        elif m := _EQ_RE.match(part):
            op = "=" if m["op"] in ("=", "==") else "!="
            reqs.append(Requirement(m["key"], op, (m["val"],)))
        elif m := _EXISTS_RE.match(part):
            reqs.append(Requirement(m["key"], "!" if m["neg"] else "exists"))
        else:
            raise BadRequest(f"unable to parse requirement: found '{part.strip()}', expected: identifier")
    return tuple(reqs)


def label_matcher(selector: str | None) -> Matcher | None:
    if not selector or not selector.strip():
        return None
    reqs = parse_label_selector(selector)

    def match(obj: Obj) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in reqs)

    return match


# Field selectors the real API server supports, per kind (beyond metadata.name/namespace).
_FIELDS: dict[str, frozenset[str]] = {
    "Pod": frozenset(
        {
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        }
    ),
    "Event": frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    "Secret": frozenset({"type"}),
    "Namespace": frozenset({"status.phase"}),
    "Node": frozenset({"spec.unschedulable"}),
    "Job": frozenset({"status.successful"}),
    "ReplicaSet": frozenset({"status.replicas"}),
    "PersistentVolumeClaim": frozenset(),
}
_COMMON = frozenset({"metadata.name", "metadata.namespace"})


def _field_value(obj: Obj, path: str) -> str:
    if path == "source":
        return str((obj.get("source") or {}).get("component", ""))
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_matcher(selector: str | None, kind: str) -> Matcher | None:
    if not selector or not selector.strip():
        return None
    allowed = _COMMON | _FIELDS.get(kind, frozenset())
    terms: list[tuple[str, bool, str]] = []
    for part in _split_top(selector):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if not m:
            raise BadRequest(f"invalid selector: '{selector}'; can't understand '{part.strip()}'")
        field, op, value = m.group(1), m.group(2), m.group(3)
        if field not in allowed:
            raise BadRequest(f"field label not supported: {field}")
        terms.append((field, op != "!=", value))

    compiled = [(tuple(f.split(".")), f == "source", eq, v) for f, eq, v in terms]

    def match(obj: Obj) -> bool:
        for parts, is_source, eq, value in compiled:
            if is_source:
                got = _field_value(obj, "source")
            else:
                cur: Any = obj
                for part in parts:
                    cur = cur.get(part) if isinstance(cur, dict) else None
                got = "" if cur is None else str(cur).lower() if isinstance(cur, bool) else str(cur)
            if (got == value) != eq:
                return False
        return True

    return match


def combine(*matchers: Matcher | None) -> Matcher | None:
    active = [m for m in matchers if m is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(m(obj) for m in active)
