"""core/v1 Events: the legacy recorder (kubelet, controllers, Flux) and the events.k8s.io
recorder the scheduler uses, both read through core/v1."""

from __future__ import annotations

from .ids import NODE, Obj, hexdigest, rv, ts, ts_micro, uid


def event(
    obj: Obj,
    reason: str,
    message: str,
    *,
    type: str = "Warning",
    count: int = 1,
    first: float,
    last: float | None = None,
    component: str = "kubelet",
    field_path: str | None = None,
    salt: str = "",
) -> Obj:
    """A core/v1 Event as a legacy (core/v1) recorder writes it: kubelet, controllers, Flux."""
    m = obj["metadata"]
    ns = m.get("namespace", "default")
    name = f"{m['name']}.{hexdigest('ev', m['uid'], reason, message, salt, n=16)}"
    involved: Obj = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": m["name"],
        "namespace": ns,
        "resourceVersion": m["resourceVersion"],
        "uid": m["uid"],
    }
    if m.get("namespace") is None:
        involved.pop("namespace")
    if field_path:
        involved["fieldPath"] = field_path
    last = first if last is None else last
    source: Obj = {"component": component}
    if component == "kubelet":
        source["host"] = NODE
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": uid("Event", name),
            "resourceVersion": rv("Event", name),
            "creationTimestamp": ts(first),
        },
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": type,
        "count": count,
        "firstTimestamp": ts(first),
        "lastTimestamp": ts(last),
        "eventTime": None,
        "source": source,
        "reportingComponent": component,
        "reportingInstance": NODE if component == "kubelet" else "",
    }


def scheduler_event(
    obj: Obj, message: str, *, first: float, last: float | None = None, count: int = 1
) -> Obj:
    """FailedScheduling as the scheduler writes it (events.k8s.io/v1 recorder, read via core/v1):
    eventTime + series, firstTimestamp/lastTimestamp null, empty source."""
    m = obj["metadata"]
    name = f"{m['name']}.{hexdigest('ev', m['uid'], 'FailedScheduling', message, n=16)}"
    ev: Obj = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": name,
            "namespace": m["namespace"],
            "uid": uid("Event", name),
            "resourceVersion": rv("Event", name),
            "creationTimestamp": ts(first),
        },
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": m["name"],
            "namespace": m["namespace"],
            "resourceVersion": m["resourceVersion"],
            "uid": m["uid"],
        },
        "action": "Scheduling",
        "reason": "FailedScheduling",
        "message": message,
        "type": "Warning",
        "eventTime": ts_micro(first),
        "firstTimestamp": None,
        "lastTimestamp": None,
        "source": {},
        "reportingComponent": "default-scheduler",
        "reportingInstance": f"default-scheduler-{NODE}",
    }
    if count > 1 and last is not None:
        ev["series"] = {"count": count, "lastObservedTime": ts_micro(last)}
    return ev
