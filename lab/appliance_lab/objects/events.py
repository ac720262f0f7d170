"""core/v1 Events: the legacy recorder (kubelet, controllers, Flux) and the events.k8s.io
recorder the scheduler uses, both read through core/v1."""

from __future__ import annotations

from .ids import NODE, Obj, hexdigest, rv, ts, ts_micro, uid


def involved_object(obj: Obj, field_path: str | None = None) -> Obj:
    """``involvedObject`` of an Event about ``obj`` (no namespace for a cluster-scoped object)."""
    m = obj["metadata"]
    involved: Obj = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": m["name"], "uid": m["uid"]}
    if m.get("namespace") is not None:
        involved["namespace"] = m["namespace"]
    if m.get("resourceVersion") is not None:
        involved["resourceVersion"] = m["resourceVersion"]
    if field_path:
        involved["fieldPath"] = field_path
    return involved


def legacy_event(
    obj: Obj,
    reason: str,
    message: str,
    *,
    name: str,
    first_timestamp: str,
    last_timestamp: str | None = None,
    type: str = "Warning",
    count: int = 1,
    component: str = "kubelet",
    field_path: str | None = None,
    node: str = NODE,
) -> Obj:
    """A core/v1 Event as a legacy (core/v1) recorder writes it: kubelet, controllers, Flux.
    ``metadata`` holds name and namespace; the API server assigns the rest."""
    source: Obj = {"component": component}
    if component == "kubelet":
        source["host"] = node
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": obj["metadata"].get("namespace", "default")},
        "involvedObject": involved_object(obj, field_path),
        "reason": reason,
        "message": message,
        "type": type,
        "count": count,
        "firstTimestamp": first_timestamp,
        "lastTimestamp": last_timestamp or first_timestamp,
        "eventTime": None,
        "source": source,
        "reportingComponent": component,
        "reportingInstance": node if component == "kubelet" else "",
    }


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
    """A legacy-recorder Event as listed from the API, ``first``/``last`` seconds before COLLECTED;
    its name is the object's plus a hash of the object's uid, reason, message and ``salt``."""
    m = obj["metadata"]
    name = f"{m['name']}.{hexdigest('ev', m['uid'], reason, message, salt, n=16)}"
    ev = legacy_event(
        obj,
        reason,
        message,
        name=name,
        first_timestamp=ts(first),
        last_timestamp=ts(first if last is None else last),
        type=type,
        count=count,
        component=component,
        field_path=field_path,
    )
    ev["metadata"].update(
        {"uid": uid("Event", name), "resourceVersion": rv("Event", name), "creationTimestamp": ts(first)}
    )
    return ev


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
