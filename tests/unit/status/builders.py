"""Status-test conveniences over the shared object builder (``appliance_lab.objects``).

The objects are the ones the fixtures are made of (``scripts/make_fixtures.py``): shaped as
the Kubernetes and Flux APIs return them, with the real components' wordings. This module
only adds what the status tests want on top: times in minutes before ``NOW``, objects by name
and image rather than by catalog component, Flux objects by their Ready condition, and a
``Cluster`` to put objects in. ``healthy_cluster()`` is a complete, fully healthy appliance;
tests break one thing at a time with ``Cluster.put(...)`` and classify ``cluster.snapshot()``.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from appliance_lab import objects as o
from appliance_lab.objects import KIND_KEYS, NODE_IP

from appliance_cli.catalog import load_catalog
from appliance_cli.status.snapshot import RESOURCE_KEYS, ClusterSnapshot

Obj = dict[str, Any]
NOW = o.COLLECTED
uid = o.uid
IMAGES = {name: comp.image for name, comp in o.COMPS.items()}
CONTAINER = {"db": "db", "redis": "redis", "alga-core": "web"}  # the catalog's container names
BOOTSTRAP_JOB = o.BOOTSTRAP_JOB
_SECONDS = 60.0


def ts(minutes_ago: float = 0.0) -> str:
    return o.ts(minutes_ago * _SECONDS)


def _owner(owner: tuple[str, str] | None, namespace: str) -> Obj | None:
    if owner is None:
        return None
    kind, name = owner
    return o.owner_ref("batch/v1" if kind == "Job" else "apps/v1", kind, name, namespace)


def _comp(name: str, image: str, *, namespace: str = "msp", container: str | None = None) -> o.Comp:
    """The builder's component for a workload known by name and image only."""
    known = o.COMPS.get(name)
    base = known or o.Comp(name, namespace, "Deployment", name, name, image, 8080, None, None)
    return dataclasses.replace(
        base, namespace=namespace, workload=name, image=image, container=container or name
    )


# --- container states ---------------------------------------------------------------------------


def running(
    name: str,
    image: str,
    *,
    ready: bool = True,
    restarts: int = 0,
    started: float = 30,
    last: Obj | None = None,
) -> Obj:
    return o.container_status_of(
        name,
        image,
        o.running(started * _SECONDS),
        ready=ready,
        restarts=restarts,
        last={"terminated": last} if last else None,
        id_parts=(name, image),
    )


def waiting(
    name: str, image: str, reason: str, message: str = "", *, restarts: int = 0, last: Obj | None = None
) -> Obj:
    return o.container_status_of(
        name,
        image,
        o.waiting(reason, message or None),
        restarts=restarts,
        last={"terminated": last} if last else None,
        pulled=False,
        id_parts=(name, image),
    )


def terminated(reason: str, exit_code: int, *, minutes_ago: float = 1) -> Obj:
    """A ``lastState.terminated`` (for ``running(..., last=)`` / ``waiting(..., last=)``)."""
    state: Obj = o.terminated(
        reason, exit_code, (minutes_ago + 0.5) * _SECONDS, minutes_ago * _SECONDS, reason
    )["terminated"]
    return state


# --- objects ----------------------------------------------------------------------------------------


def _pod(
    name: str,
    containers: list[Obj],
    *,
    namespace: str,
    phase: str | None,
    owner: Obj | None,
    labels: dict[str, str] | None,
    created: float,
    incarnation: str,
    scheduled: Obj | None,
) -> Obj:
    unscheduled = scheduled is not None and scheduled.get("status") == "False"
    return o.pod_object(
        name,
        namespace,
        containers=[o.container_spec(c["name"], c["image"]) for c in containers],
        statuses=containers,
        created=created * _SECONDS,
        phase=phase or o.pod_phase(containers, scheduled=not unscheduled),
        incarnation=incarnation,
        labels=labels,
        owner=owner,
        scheduled=not unscheduled,
        unschedulable_msg=(scheduled or {}).get("message"),
        scheduled_reason=(scheduled or {}).get("reason", "Unschedulable"),
    )


def pod(
    name: str,
    containers: list[Obj],
    *,
    namespace: str = "msp",
    phase: str | None = None,
    owner: tuple[str, str] | None = None,
    created: float = 30,
    incarnation: str = "",
    scheduled: Obj | None = None,
) -> Obj:
    """A pod with these container statuses; ``owner`` (kind, name) its controller, ``scheduled`` a
    PodScheduled=False condition (reason, message) for a pod the scheduler cannot place."""
    return _pod(
        name,
        containers,
        namespace=namespace,
        phase=phase,
        owner=_owner(owner, namespace),
        labels=None,
        created=created,
        incarnation=incarnation,
        scheduled=scheduled,
    )


def event(
    obj: Obj,
    reason: str,
    message: str,
    *,
    type: str = "Warning",
    minutes_ago: float = 1,
    count: int = 1,
    first_minutes_ago: float | None = None,
    source: str = "kubelet",
    uid_override: str | None = None,
) -> Obj:
    """An Event about ``obj``; ``uid_override`` makes it about an object of the same name that
    no longer exists (another uid)."""
    first = first_minutes_ago if first_minutes_ago is not None else minutes_ago
    ev = o.event(
        obj,
        reason,
        message,
        type=type,
        count=count,
        first=first * _SECONDS,
        last=minutes_ago * _SECONDS,
        component=source,
        salt=f"{minutes_ago}/{uid_override or ''}",
    )
    if uid_override:
        ev["involvedObject"]["uid"] = uid_override
    return ev


def deployment(
    name: str,
    image: str,
    *,
    namespace: str = "msp",
    ready: int | None = None,
    generation: int = 1,
    observed: int | None = None,
    progress_deadline: bool = False,
    container: str | None = None,
) -> Obj:
    comp = _comp(name, image, namespace=namespace, container=container)
    available = ready is None or ready > 0
    rs = f"{comp.workload}-{o.rs_hash(comp)}"
    return o.deployment(
        comp,
        ready=1 if available else 0,
        available=available,
        progressing=("False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs}" has timed out progressing.')
        if progress_deadline
        else None,
        created=60 * _SECONDS,
        generation=generation,
        observed=observed,
    )


def statefulset(
    name: str, image: str, *, namespace: str = "msp", ready: int = 1, container: str | None = None
) -> Obj:
    comp = dataclasses.replace(
        _comp(name, image, namespace=namespace, container=container), kind="StatefulSet"
    )
    return o.statefulset(comp, ready=ready, created=60 * _SECONDS)


def job(name: str, *, namespace: str = "msp", state: str = "complete", created: float = 40) -> Obj:
    """A Job: complete, failed or running."""
    j = o.job(state=state, created=created * _SECONDS, finished=(created - 3) * _SECONDS, name=name)
    if namespace != "msp":
        j["metadata"]["namespace"] = namespace
    return j


def pvc(name: str, *, namespace: str = "msp", phase: str = "Bound", created: float = 50) -> Obj:
    claim = o.pvc(name, namespace=namespace, bound=phase == "Bound", created=created * _SECONDS)
    claim["status"]["phase"] = phase
    return claim


def node(
    *,
    ready: bool = True,
    reason: str = "KubeletReady",
    message: str = "kubelet is posting ready status",
    status: str | None = None,
) -> Obj:
    """The appliance's node with this Ready condition (``status`` overrides ``ready``)."""
    status = status or ("True" if ready else "False")
    n = o.node(ready=status == "True")
    cond = next(c for c in n["status"]["conditions"] if c["type"] == "Ready")
    cond.update(status=status, reason=reason, message=message)
    return n


def _stalled(stalled: Obj | None) -> tuple[str, str] | None:
    return (stalled["reason"], stalled["message"]) if stalled else None


def git_repository(*, ready: str = "True", reason: str = "Succeeded", message: str | None = None) -> Obj:
    """The charts GitRepository (alga-psa, the release branch) with this Ready condition."""
    repo = o.git_repository("alga-psa-charts")
    if ready != "True" or message is not None:
        repo["status"]["conditions"] = o.flux_conditions(
            ready,
            reason,
            message or f"stored artifact for revision '{o.CHARTS_REV}'",
            when=2 * _SECONDS,
            reconciling=ready == "Unknown",
        )
    if ready != "True":
        repo["status"].pop("artifact", None)
    return repo


def kustomization(
    name: str,
    *,
    ready: str = "True",
    reason: str = "ReconciliationSucceeded",
    message: str | None = None,
    stalled: Obj | None = None,
) -> Obj:
    ks = o.kustomization(name)
    if ready != "True" or message is not None or stalled:
        ks["status"]["conditions"] = o.flux_conditions(
            ready,
            reason,
            message or f"Applied revision: {o.APPLIANCE_REV}",
            when=2 * _SECONDS,
            stalled=_stalled(stalled),
            reconciling=ready == "Unknown",
        )
    if ready != "True":
        ks["status"].pop("lastAppliedRevision", None)
    return ks


def helm_release(
    name: str,
    *,
    ready: str = "True",
    reason: str = "InstallSucceeded",
    message: str | None = None,
    stalled: Obj | None = None,
    reconciling: bool = False,
) -> Obj:
    hr = o.helm_release(name)
    if ready != "True" or message is not None or stalled or reconciling:
        _tier, chart, _path = o.helm_release_source(name)
        hr["status"]["conditions"] = o.flux_conditions(
            ready,
            reason,
            message or f"Helm install succeeded for release msp/{name}.v1 with chart {chart}@0.1.0",
            when=2 * _SECONDS,
            stalled=_stalled(stalled),
            reconciling=reconciling,
        )
    if ready != "True":
        for entry in hr["status"].get("history", []):
            entry["status"] = "failed"
    return hr


def configmap(name: str, data: dict[str, str], namespace: str = "alga-system") -> Obj:
    return o.configmap(name, namespace, data, created=60 * _SECONDS)


# --- whole clusters -----------------------------------------------------------------------------------


class Cluster:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.logs: dict[str, list[str]] = {}
        self.probes: Obj = {}
        self.release_facts: Obj = {}
        self.kube: Obj = {"reachable": True, "error": None}
        self.talos: Obj = {"checked": True, "reachable": True, "error": None}
        self.site: Obj = {
            "siteId": "appliance-single-node",
            "nodeIp": NODE_IP,
            "appUrl": f"http://{NODE_IP}:3000",
            "releaseVersion": o.RELEASE,
        }

    def put(self, *objs: Obj) -> Cluster:
        for obj in objs:
            m = obj["metadata"]
            self.objects[(obj["kind"], m.get("namespace", ""), m["name"])] = obj
        return self

    def remove(self, kind: str, name: str, namespace: str = "msp") -> Cluster:
        self.objects.pop((kind, namespace, name), None)
        return self

    def get(self, kind: str, name: str, namespace: str = "msp") -> Obj:
        return self.objects[(kind, namespace, name)]

    def pod_of(self, component: str) -> Obj:
        prefix = pod_name(component)[: len(pod_name(component)) - 6]
        return next(obj for (k, _, n), obj in self.objects.items() if k == "Pod" and n.startswith(prefix))

    def data(self) -> Obj:
        items: dict[str, list[Obj]] = {key: [] for key in RESOURCE_KEYS}
        for (kind, _, _), obj in self.objects.items():
            items[KIND_KEYS[kind]].append(copy.deepcopy(obj))
        return {
            "apiVersion": "appliance.alga-psa.io/v1alpha1",
            "kind": "ClusterSnapshot",
            "collectedAt": ts(0),
            "collection": {"apiRequests": 12, "seconds": 0.21},
            "site": dict(self.site),
            "reachability": {"kubernetes": dict(self.kube), "talos": dict(self.talos)},
            "resources": {k: o.resource_list(k, v, "4242") for k, v in items.items()}
            if self.kube["reachable"]
            else {},
            "podLogs": copy.deepcopy(self.logs),
            "probes": copy.deepcopy(self.probes),
            "releaseFacts": copy.deepcopy(self.release_facts),
        }

    def snapshot(self) -> ClusterSnapshot:
        return ClusterSnapshot.model_validate(self.data())


def _component(component: str) -> o.Comp:
    """The builder's component for a catalog component, with the catalog's container name."""
    c = load_catalog().component(component)
    comp = o.COMPS[component]
    return dataclasses.replace(
        comp, workload=c.workload.name, namespace=c.namespace, container=CONTAINER.get(component, component)
    )


def pod_name(component: str) -> str:
    return o.pod_name(_component(component))


def component_pod(
    component: str,
    containers: list[Obj] | None = None,
    *,
    phase: str | None = None,
    created: float = 30,
    incarnation: str = "",
    scheduled: Obj | None = None,
) -> Obj:
    """The pod of a catalog component, owned and labelled as its controller makes it."""
    comp = _component(component)
    name = o.pod_name(comp)
    return _pod(
        name,
        containers or [running(comp.container, comp.image)],
        namespace=comp.namespace,
        phase=phase,
        owner=o.controller_of(comp),
        labels=o.component_labels(comp, name),
        created=created,
        incarnation=incarnation,
        scheduled=scheduled,
    )


def component_workload(component: str, *, ready: bool = True, **kw: Any) -> Obj:
    comp = _component(component)
    if comp.kind == "StatefulSet":
        return o.statefulset(comp, ready=1 if ready else 0, created=60 * _SECONDS)
    return deployment(
        comp.workload,
        comp.image,
        namespace=comp.namespace,
        ready=None if ready else 0,
        container=comp.container,
        **kw,
    )


def healthy_cluster() -> Cluster:
    cat = load_catalog()
    cl = Cluster()
    cl.put(node(), git_repository())
    for k in cat.kustomizations:
        cl.put(kustomization(k.name))
    for hr in cat.helm_releases():
        cl.put(helm_release(hr))
    for c in cat.components:
        cl.put(component_workload(c.name), component_pod(c.name))
        for claim in c.pvcs:
            cl.put(pvc(claim, namespace=c.namespace))
    cl.put(job(BOOTSTRAP_JOB))
    cl.probes = {
        "login": {
            "url": f"http://{NODE_IP}:3000",
            "statusCode": 307,
            "location": "/msp/dashboard",
            "error": None,
        },
        "seedUsers": {"count": 7, "error": None, "source": "exec"},
    }
    return cl


def not_found_message(image: str) -> str:
    return f'Failed to pull image "{image}": {o.not_found_error(image)}'


def image_pull_backoff(
    cl: Cluster, component: str, failure_message: str, *, ready_workload: bool = False
) -> Obj:
    """Put a pod of ``component`` in ImagePullBackOff whose cause is only in its events."""
    comp = _component(component)
    image, cname = comp.image, comp.container
    p = component_pod(component, [waiting(cname, image, "ImagePullBackOff", o.backoff_msg(image))])
    cl.put(p, component_workload(component, ready=ready_workload))
    cl.put(
        event(
            p,
            "Pulling",
            f'Pulling image "{image}"',
            type="Normal",
            minutes_ago=4,
            count=3,
            first_minutes_ago=6,
        ),
        event(p, "Failed", failure_message, minutes_ago=4, count=3, first_minutes_ago=6),
        event(p, "Failed", "Error: ErrImagePull", minutes_ago=4, count=3, first_minutes_ago=6),
        event(
            p, "BackOff", o.backoff_msg(image), type="Normal", minutes_ago=1, count=12, first_minutes_ago=6
        ),
        event(p, "Failed", "Error: ImagePullBackOff", minutes_ago=1, count=12, first_minutes_ago=6),
    )
    return p
