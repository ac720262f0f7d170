"""Server-side printing (``meta.k8s.io/v1`` ``Table``) for ``kubectl get``'s human output."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from appliance_lab.store import Obj, ResourceType

Cell = Any
Column = tuple[str, str, str, int, Callable[[Obj], Cell]]  # name, type, format, priority, getter


def human_duration(seconds: int) -> str:
    """kubectl's age format (``duration.HumanDuration``)."""
    if seconds < 0:
        return "<invalid>"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        h = hours % 24
        return f"{days}d" if h == 0 else f"{days}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        return f"{years}y{days % 365}d"
    return f"{years}y"


def _since(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    try:
        then = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<unknown>"
    return human_duration(int((datetime.now(UTC) - then).total_seconds()))


def _age(o: Obj) -> str:
    return _since((o.get("metadata") or {}).get("creationTimestamp"))


def _name(o: Obj) -> str:
    return str((o.get("metadata") or {}).get("name", ""))


def _cond(o: Obj, ctype: str, field: str) -> str:
    for c in (o.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return str(c.get(field, ""))
    return "Unknown" if field == "status" else ""


def _pod_ready(o: Obj) -> str:
    statuses = (o.get("status") or {}).get("containerStatuses") or []
    total = len((o.get("spec") or {}).get("containers") or []) or len(statuses)
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(o: Obj) -> str:
    if (o.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    status = o.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    for cs in status.get("initContainerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason") not in (None, "PodInitializing"):
            return f"Init:{state['waiting']['reason']}"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state and state["terminated"].get("reason"):
            reason = state["terminated"]["reason"]
    return str(reason)


def _pod_restarts(o: Obj) -> int:
    return sum(int(s.get("restartCount", 0)) for s in (o.get("status") or {}).get("containerStatuses") or [])


def _ports(o: Obj) -> str:
    ports = (o.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _event_object(o: Obj) -> str:
    io = o.get("involvedObject") or {}
    return f"{str(io.get('kind', '')).lower()}/{io.get('name', '')}"


_S, _I = "string", "integer"

_COLUMNS: dict[str, list[Column]] = {
    "Namespace": [("Status", _S, "", 0, lambda o: (o.get("status") or {}).get("phase", "Active"))],
    "Node": [
        ("Status", _S, "", 0, lambda o: "Ready" if _cond(o, "Ready", "status") == "True" else "NotReady"),
        ("Roles", _S, "", 0, lambda o: "control-plane"),
        (
            "Version",
            _S,
            "",
            0,
            lambda o: (o.get("status") or {}).get("nodeInfo", {}).get("kubeletVersion", ""),
        ),
    ],
    "Pod": [
        ("Ready", _S, "", 0, _pod_ready),
        ("Status", _S, "", 0, _pod_status),
        ("Restarts", _S, "", 0, lambda o: str(_pod_restarts(o))),
        ("IP", _S, "", 1, lambda o: (o.get("status") or {}).get("podIP", "<none>")),
        ("Node", _S, "", 1, lambda o: (o.get("spec") or {}).get("nodeName", "<none>")),
    ],
    "Deployment": [
        (
            "Ready",
            _S,
            "",
            0,
            lambda o: (
                f"{(o.get('status') or {}).get('readyReplicas', 0)}/"
                f"{(o.get('spec') or {}).get('replicas', 1)}"
            ),
        ),
        ("Up-to-date", _I, "", 0, lambda o: (o.get("status") or {}).get("updatedReplicas", 0)),
        ("Available", _I, "", 0, lambda o: (o.get("status") or {}).get("availableReplicas", 0)),
    ],
    "StatefulSet": [
        (
            "Ready",
            _S,
            "",
            0,
            lambda o: (
                f"{(o.get('status') or {}).get('readyReplicas', 0)}/"
                f"{(o.get('spec') or {}).get('replicas', 1)}"
            ),
        ),
    ],
    "Job": [
        (
            "Status",
            _S,
            "",
            0,
            lambda o: (
                "Complete"
                if _cond(o, "Complete", "status") == "True"
                else "Failed"
                if _cond(o, "Failed", "status") == "True"
                else "Running"
            ),
        ),
        (
            "Completions",
            _S,
            "",
            0,
            lambda o: (
                f"{(o.get('status') or {}).get('succeeded', 0)}/{(o.get('spec') or {}).get('completions', 1)}"
            ),
        ),
    ],
    "Service": [
        ("Type", _S, "", 0, lambda o: (o.get("spec") or {}).get("type", "ClusterIP")),
        ("Cluster-IP", _S, "", 0, lambda o: (o.get("spec") or {}).get("clusterIP", "<none>")),
        ("External-IP", _S, "", 0, lambda o: "<none>"),
        ("Port(s)", _S, "", 0, _ports),
    ],
    "PersistentVolumeClaim": [
        ("Status", _S, "", 0, lambda o: (o.get("status") or {}).get("phase", "Pending")),
        ("Volume", _S, "", 0, lambda o: (o.get("spec") or {}).get("volumeName", "")),
        ("Capacity", _S, "", 0, lambda o: (o.get("status") or {}).get("capacity", {}).get("storage", "")),
        ("StorageClass", _S, "", 0, lambda o: (o.get("spec") or {}).get("storageClassName", "")),
    ],
    "GitRepository": [
        ("URL", _S, "", 0, lambda o: (o.get("spec") or {}).get("url", "")),
        ("Ready", _S, "", 0, lambda o: _cond(o, "Ready", "status")),
        ("Status", _S, "", 0, lambda o: _cond(o, "Ready", "message")),
    ],
    "Kustomization": [
        ("Ready", _S, "", 0, lambda o: _cond(o, "Ready", "status")),
        ("Status", _S, "", 0, lambda o: _cond(o, "Ready", "message")),
    ],
    "HelmRelease": [
        ("Ready", _S, "", 0, lambda o: _cond(o, "Ready", "status")),
        ("Status", _S, "", 0, lambda o: _cond(o, "Ready", "message")),
    ],
}

_EVENT_COLUMNS: list[Column] = [
    (
        "Last Seen",
        _S,
        "",
        0,
        lambda o: _since(
            o.get("lastTimestamp") or o.get("eventTime") or (o.get("metadata") or {}).get("creationTimestamp")
        ),
    ),
    ("Type", _S, "", 0, lambda o: o.get("type", "")),
    ("Reason", _S, "", 0, lambda o: o.get("reason", "")),
    ("Object", _S, "", 0, _event_object),
    ("Message", _S, "", 0, lambda o: o.get("message", "")),
]


def _columns(rt: ResourceType) -> list[Column]:
    if rt.kind == "Event":
        return _EVENT_COLUMNS
    name: Column = ("Name", _S, "name", 0, _name)
    age: Column = ("Age", _S, "", 0, _age)
    extra = _COLUMNS.get(rt.kind, [])
    if rt.kind in ("GitRepository",):
        return [name, extra[0], age, *extra[1:]]
    if rt.kind in ("Kustomization", "HelmRelease"):
        return [name, age, *extra]
    if rt.kind == "Node":
        return [name, *extra[:2], age, *extra[2:]]
    main = [c for c in extra if c[3] == 0]
    wide = [c for c in extra if c[3] != 0]
    return [name, *main, age, *wide]


def table(
    rt: ResourceType,
    objs: list[Obj],
    resource_version: int,
    *,
    meta: Obj | None = None,
    single: bool = False,
    include_object: str = "Metadata",
) -> Obj:
    cols = _columns(rt)
    rows = []
    for o in objs:
        if include_object == "Object":
            embedded: Obj | None = o
        elif include_object == "None":
            embedded = None
        else:
            embedded = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o.get("metadata") or {},
            }
        row: Obj = {"cells": [c[4](o) for c in cols]}
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    metadata = dict(meta or {"resourceVersion": str(resource_version)})
    if single:
        metadata = {"resourceVersion": str((objs[0].get("metadata") or {}).get("resourceVersion", ""))}
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [
            {"name": c[0], "type": c[1], "format": c[2], "description": "", "priority": c[3]} for c in cols
        ],
        "rows": rows,
    }
