"""Builders of realistic API objects (shaped as the Kubernetes/Flux API returns them) for status tests.

``healthy_cluster()`` is a complete, fully healthy appliance; tests break one thing at a time
with ``Cluster.put(...)`` and classify ``cluster.snapshot()``.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from appliance_cli.catalog import load_catalog
from appliance_cli.status.snapshot import ClusterSnapshot

Obj = dict[str, Any]
NOW = datetime(2026, 4, 30, 2, 8, 10, tzinfo=UTC)
NODE_IP = "192.168.64.8"

IMAGES = {
    "alga-core": "ghcr.io/nine-minds/alga-psa-ee:a2cbb430",
    "workflow-worker": "ghcr.io/nine-minds/workflow-worker:61e4a00e",
    "email-service": "ghcr.io/nine-minds/email-service:61e4a00e",
    "temporal-worker": "ghcr.io/nine-minds/temporal-worker:61e4a00e",
    "appliance-status": "ghcr.io/nine-minds/alga-appliance-status:0.1.0",
    "db": "docker.io/library/postgres:16.4",
    "redis": "docker.io/library/redis:7.2.5",
    "pgbouncer": "docker.io/bitnami/pgbouncer:1.23.1",
    "temporal": "docker.io/temporalio/auto-setup:1.24.2",
    "temporal-ui": "docker.io/temporalio/ui:2.26.2",
}
CONTAINER = {"db": "db", "redis": "redis", "alga-core": "web"}


def ts(minutes_ago: float = 0.0) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def uid(*parts: str) -> str:
    h = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def metadata(
    kind: str,
    name: str,
    namespace: str | None,
    *,
    generation: int | None = 1,
    created: float = 60,
    owner: tuple[str, str] | None = None,
    incarnation: str = "",
) -> Obj:
    m: Obj = {
        "name": name,
        "uid": uid(kind, namespace or "", name, incarnation),
        "resourceVersion": str(1000 + len(name)),
        "creationTimestamp": ts(created),
    }
    if namespace:
        m["namespace"] = namespace
    if generation is not None:
        m["generation"] = generation
    if owner:
        m["ownerReferences"] = [
            {
                "apiVersion": "apps/v1" if owner[0] != "Job" else "batch/v1",
                "kind": owner[0],
                "name": owner[1],
                "uid": uid(owner[0], namespace or "", owner[1]),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return m


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
    cs: Obj = {
        "name": name,
        "image": image,
        "imageID": f"{image.split(':')[0]}@sha256:{'a' * 64}",
        "containerID": f"containerd://{'b' * 64}",
        "ready": ready,
        "started": True,
        "restartCount": restarts,
        "state": {"running": {"startedAt": ts(started)}},
        "lastState": {},
    }
    if last:
        cs["lastState"] = {"terminated": last}
    return cs


def waiting(
    name: str, image: str, reason: str, message: str = "", *, restarts: int = 0, last: Obj | None = None
) -> Obj:
    w: Obj = {"reason": reason}
    if message:
        w["message"] = message
    cs: Obj = {
        "name": name,
        "image": image,
        "imageID": "",
        "ready": False,
        "started": False,
        "restartCount": restarts,
        "state": {"waiting": w},
        "lastState": {},
    }
    if last:
        cs["lastState"] = {"terminated": last}
    return cs


def terminated(reason: str, exit_code: int, *, minutes_ago: float = 1) -> Obj:
    return {
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": ts(minutes_ago + 0.5),
        "finishedAt": ts(minutes_ago),
        "containerID": f"containerd://{'c' * 64}",
    }


# --- objects ----------------------------------------------------------------------------------------


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
    all_ready = all(c.get("ready") for c in containers)
    any_running = any("running" in c["state"] for c in containers)
    phase = phase or ("Running" if any_running else "Pending")
    conds = [
        {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": ts(created)},
        {"type": "Initialized", "status": "True", "lastTransitionTime": ts(created)},
        {
            "type": "Ready",
            "status": "True" if all_ready else "False",
            "lastTransitionTime": ts(created),
            **(
                {}
                if all_ready
                else {
                    "reason": "ContainersNotReady",
                    "message": "containers with unready status: ["
                    + " ".join(c["name"] for c in containers if not c.get("ready"))
                    + "]",
                }
            ),
        },
        {
            "type": "ContainersReady",
            "status": "True" if all_ready else "False",
            "lastTransitionTime": ts(created),
        },
        scheduled or {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(created)},
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata(
            "Pod", name, namespace, generation=None, created=created, owner=owner, incarnation=incarnation
        ),
        "spec": {
            "containers": [{"name": c["name"], "image": c["image"]} for c in containers],
            "nodeName": "talos-appliance",
            "enableServiceLinks": True,
        },
        "status": {
            "phase": phase,
            "conditions": conds,
            "hostIP": NODE_IP,
            "podIP": "10.244.0.17",
            "startTime": ts(created),
            "containerStatuses": containers,
            "qosClass": "Burstable",
        },
    }


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
    m = obj["metadata"]
    first = first_minutes_ago if first_minutes_ago is not None else minutes_ago
    name = f"{m['name']}.{hashlib.sha1((reason + message + str(minutes_ago)).encode()).hexdigest()[:16]}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": name,
            "namespace": m.get("namespace", "default"),
            "uid": uid("Event", name),
            "creationTimestamp": ts(first),
        },
        "involvedObject": {
            "kind": obj["kind"],
            "namespace": m.get("namespace"),
            "name": m["name"],
            "uid": uid_override or m["uid"],
            "apiVersion": obj.get("apiVersion", "v1"),
        },
        "reason": reason,
        "message": message,
        "type": type,
        "count": count,
        "source": {"component": source, "host": "talos-appliance"},
        "firstTimestamp": ts(first),
        "lastTimestamp": ts(minutes_ago),
        "eventTime": None,
        "reportingComponent": source,
        "reportingInstance": "talos-appliance",
    }


def deployment(
    name: str,
    image: str,
    *,
    namespace: str = "msp",
    replicas: int = 1,
    ready: int | None = None,
    generation: int = 1,
    observed: int | None = None,
    progress_deadline: bool = False,
    container: str | None = None,
) -> Obj:
    ready = replicas if ready is None else ready
    progressing: Obj = {
        "type": "Progressing",
        "status": "True",
        "reason": "NewReplicaSetAvailable",
        "message": f'ReplicaSet "{name}-7f6f96df87" has successfully progressed.',
    }
    if progress_deadline:
        progressing = {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": f'ReplicaSet "{name}-7f6f96df87" has timed out progressing.',
        }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata("Deployment", name, namespace, generation=generation),
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": container or name, "image": image}]}},
        },
        "status": {
            "observedGeneration": generation if observed is None else observed,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            **({} if ready == replicas else {"unavailableReplicas": replicas - ready}),
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if ready else "False",
                    "reason": "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
                    "message": "Deployment has minimum availability."
                    if ready
                    else "Deployment does not have minimum availability.",
                },
                progressing,
            ],
        },
    }


def statefulset(
    name: str,
    image: str,
    *,
    namespace: str = "msp",
    ready: int = 1,
    container: str | None = None,
    claim: str = "data",
) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata("StatefulSet", name, namespace),
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "template": {"spec": {"containers": [{"name": container or name, "image": image}]}},
            "volumeClaimTemplates": [{"metadata": {"name": claim}}],
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "readyReplicas": ready,
            "currentReplicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": ready,
            "currentRevision": f"{name}-5d8f7c9b4",
            "updateRevision": f"{name}-5d8f7c9b4",
            "collisionCount": 0,
        },
    }


def job(name: str, *, namespace: str = "msp", state: str = "complete", created: float = 40) -> Obj:
    status: Obj = {"startTime": ts(created)}
    if state == "complete":
        status.update(
            succeeded=1,
            completionTime=ts(created - 3),
            conditions=[
                {
                    "type": "SuccessCriteriaMet",
                    "status": "True",
                    "reason": "CompletionsReached",
                    "message": "Reached expected number of succeeded pods",
                },
                {
                    "type": "Complete",
                    "status": "True",
                    "reason": "CompletionsReached",
                    "message": "Reached expected number of succeeded pods",
                },
            ],
        )
    elif state == "failed":
        status.update(
            failed=4,
            conditions=[
                {
                    "type": "FailureTarget",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                },
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                },
            ],
        )
    else:
        status.update(active=1, ready=0)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata("Job", name, namespace, created=created),
        "spec": {"backoffLimit": 3, "template": {"spec": {"restartPolicy": "Never"}}},
        "status": status,
    }


def pvc(name: str, *, namespace: str = "msp", phase: str = "Bound", created: float = 50) -> Obj:
    status: Obj = {"phase": phase}
    if phase == "Bound":
        status.update(accessModes=["ReadWriteOnce"], capacity={"storage": "20Gi"})
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata("PersistentVolumeClaim", name, namespace, generation=None, created=created),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "local-path",
            "resources": {"requests": {"storage": "20Gi"}},
            **({"volumeName": f"pvc-{uid(name)}"} if phase == "Bound" else {}),
        },
        "status": status,
    }


def node(
    *,
    ready: bool = True,
    reason: str = "KubeletReady",
    message: str = "kubelet is posting ready status",
    status: str | None = None,
) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": metadata("Node", "talos-appliance", None, generation=None, created=90),
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                {
                    "type": "Ready",
                    "status": status or ("True" if ready else "False"),
                    "reason": reason,
                    "message": message,
                    "lastTransitionTime": ts(5),
                },
            ],
            "addresses": [{"type": "InternalIP", "address": NODE_IP}],
        },
    }


def flux_conditions(
    ready: str,
    reason: str,
    message: str,
    *,
    stalled: Obj | None = None,
    reconciling: bool = False,
    minutes_ago: float = 2,
) -> list[Obj]:
    conds: list[Obj] = [
        {
            "type": "Ready",
            "status": ready,
            "reason": reason,
            "message": message,
            "observedGeneration": 1,
            "lastTransitionTime": ts(minutes_ago),
        }
    ]
    if reconciling:
        conds.append(
            {
                "type": "Reconciling",
                "status": "True",
                "reason": "Progressing",
                "message": message,
                "observedGeneration": 1,
                "lastTransitionTime": ts(minutes_ago),
            }
        )
    if stalled:
        conds.append(
            {
                "type": "Stalled",
                "status": "True",
                "observedGeneration": 1,
                "lastTransitionTime": ts(minutes_ago),
                **stalled,
            }
        )
    return conds


def git_repository(*, ready: str = "True", reason: str = "Succeeded", message: str | None = None) -> Obj:
    rev = "release/1.0-rc5@sha1:979e2079a4b1c6f0d2e3f4a5b6c7d8e9f0a1b2c3"
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": metadata("GitRepository", "alga-appliance", "flux-system"),
        "spec": {
            "url": "https://github.com/Nine-Minds/alga-psa.git",
            "interval": "1m0s",
            "ref": {"branch": "release/1.0-rc5"},
        },
        "status": {
            "observedGeneration": 1,
            "conditions": flux_conditions(ready, reason, message or f"stored artifact for revision '{rev}'"),
            **({"artifact": {"revision": rev, "digest": "sha256:" + "d" * 64}} if ready == "True" else {}),
        },
    }


def kustomization(
    name: str,
    *,
    ready: str = "True",
    reason: str = "ReconciliationSucceeded",
    message: str | None = None,
    stalled: Obj | None = None,
) -> Obj:
    rev = "release/1.0-rc5@sha1:979e2079a4b1c6f0d2e3f4a5b6c7d8e9f0a1b2c3"
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": metadata("Kustomization", name, "flux-system"),
        "spec": {
            "path": f"./flux/base/{name.removeprefix('alga-')}",
            "prune": True,
            "wait": True,
            "sourceRef": {"kind": "GitRepository", "name": "alga-appliance"},
        },
        "status": {
            "observedGeneration": 1,
            "lastAttemptedRevision": rev,
            **({"lastAppliedRevision": rev} if ready == "True" else {}),
            "conditions": flux_conditions(
                ready,
                reason,
                message or f"Applied revision: {rev}",
                stalled=stalled,
                reconciling=ready == "Unknown",
            ),
        },
    }


def helm_release(
    name: str,
    *,
    ready: str = "True",
    reason: str = "InstallSucceeded",
    message: str | None = None,
    stalled: Obj | None = None,
    reconciling: bool = False,
) -> Obj:
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": metadata("HelmRelease", name, "alga-system"),
        "spec": {
            "interval": "10m",
            "timeout": "10m0s",
            "chart": {
                "spec": {"chart": "./helm", "sourceRef": {"kind": "GitRepository", "name": "alga-appliance"}}
            },
        },
        "status": {
            "observedGeneration": 1,
            "lastAttemptedRevision": "0.1.0",
            "history": [
                {
                    "chartName": name,
                    "chartVersion": "0.1.0",
                    "status": "deployed" if ready == "True" else "failed",
                    "version": 1,
                }
            ],
            "conditions": flux_conditions(
                ready,
                reason,
                message
                or f"Helm install succeeded for release alga-system/{name}.v1 with chart {name}@0.1.0",
                stalled=stalled,
                reconciling=reconciling,
            ),
        },
    }


def configmap(name: str, data: dict[str, str], namespace: str = "alga-system") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata("ConfigMap", name, namespace, generation=None),
        "data": data,
    }


# --- whole clusters -----------------------------------------------------------------------------------

KIND_KEYS = {
    "Node": "v1/nodes",
    "Pod": "v1/pods",
    "Event": "v1/events",
    "PersistentVolumeClaim": "v1/persistentvolumeclaims",
    "ConfigMap": "v1/configmaps",
    "Deployment": "apps/v1/deployments",
    "StatefulSet": "apps/v1/statefulsets",
    "Job": "batch/v1/jobs",
    "GitRepository": "source.toolkit.fluxcd.io/v1/gitrepositories",
    "Kustomization": "kustomize.toolkit.fluxcd.io/v1/kustomizations",
    "HelmRelease": "helm.toolkit.fluxcd.io/v2/helmreleases",
}
LIST_KINDS = {
    "v1/nodes": "NodeList",
    "v1/pods": "PodList",
    "v1/events": "EventList",
    "v1/persistentvolumeclaims": "PersistentVolumeClaimList",
    "v1/configmaps": "ConfigMapList",
    "apps/v1/deployments": "DeploymentList",
    "apps/v1/statefulsets": "StatefulSetList",
    "batch/v1/jobs": "JobList",
    "source.toolkit.fluxcd.io/v1/gitrepositories": "GitRepositoryList",
    "kustomize.toolkit.fluxcd.io/v1/kustomizations": "KustomizationList",
    "helm.toolkit.fluxcd.io/v2/helmreleases": "HelmReleaseList",
}


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
            "releaseVersion": "1.0-rc5",
        }

    def put(self, *objs: Obj) -> Cluster:
        for o in objs:
            m = o["metadata"]
            self.objects[(o["kind"], m.get("namespace", ""), m["name"])] = o
        return self

    def remove(self, kind: str, name: str, namespace: str = "msp") -> Cluster:
        self.objects.pop((kind, namespace, name), None)
        return self

    def get(self, kind: str, name: str, namespace: str = "msp") -> Obj:
        return self.objects[(kind, namespace, name)]

    def pod_of(self, component: str) -> Obj:
        return next(
            o
            for (k, _, n), o in self.objects.items()
            if k == "Pod" and n.startswith(pod_name(component)[: len(pod_name(component)) - 6])
        )

    def data(self) -> Obj:
        resources: Obj = {
            k: {"apiVersion": "v1", "kind": lk, "metadata": {"resourceVersion": "4242"}, "items": []}
            for k, lk in LIST_KINDS.items()
        }
        for (kind, _, _), o in self.objects.items():
            resources[KIND_KEYS[kind]]["items"].append(copy.deepcopy(o))
        return {
            "apiVersion": "appliance.alga-psa.io/v1alpha1",
            "kind": "ClusterSnapshot",
            "collectedAt": ts(0),
            "collection": {"apiRequests": 12, "seconds": 0.21},
            "site": dict(self.site),
            "reachability": {"kubernetes": dict(self.kube), "talos": dict(self.talos)},
            "resources": resources if self.kube["reachable"] else {},
            "podLogs": copy.deepcopy(self.logs),
            "probes": copy.deepcopy(self.probes),
            "releaseFacts": copy.deepcopy(self.release_facts),
        }

    def snapshot(self) -> ClusterSnapshot:
        return ClusterSnapshot.model_validate(self.data())


def pod_name(component: str) -> str:
    c = load_catalog().component(component)
    if c.workload.kind == "StatefulSet":
        return f"{c.pod_prefix}-0"
    return f"{c.pod_prefix}-7f6f96df87-{hashlib.sha1(component.encode()).hexdigest()[:5]}"


def component_pod(component: str, containers: list[Obj] | None = None, **kw: Any) -> Obj:
    c = load_catalog().component(component)
    image = IMAGES[component]
    cname = CONTAINER.get(component, component)
    owner = (
        ("StatefulSet", c.workload.name)
        if c.workload.kind == "StatefulSet"
        else ("ReplicaSet", f"{c.workload.name}-7f6f96df87")
    )
    return pod(
        pod_name(component), containers or [running(cname, image)], namespace=c.namespace, owner=owner, **kw
    )


def component_workload(component: str, *, ready: bool = True, **kw: Any) -> Obj:
    c = load_catalog().component(component)
    cname = CONTAINER.get(component, component)
    if c.workload.kind == "StatefulSet":
        return statefulset(
            c.workload.name,
            IMAGES[component],
            namespace=c.namespace,
            ready=1 if ready else 0,
            container=cname,
        )
    return deployment(
        c.workload.name,
        IMAGES[component],
        namespace=c.namespace,
        ready=None if ready else 0,
        container=cname,
        **kw,
    )


BOOTSTRAP_JOB = "alga-core-sebastian-bootstrap-7d9c4"


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
    return (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{image}": failed to resolve reference "{image}": {image}: not found'
    )


def image_pull_backoff(
    cl: Cluster, component: str, failure_message: str, *, ready_workload: bool = False
) -> Obj:
    """Put a pod of ``component`` in ImagePullBackOff whose cause is only in its events."""
    image = IMAGES[component]
    cname = CONTAINER.get(component, component)
    p = component_pod(
        component, [waiting(cname, image, "ImagePullBackOff", f'Back-off pulling image "{image}"')]
    )
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
            p,
            "BackOff",
            f'Back-off pulling image "{image}"',
            type="Normal",
            minutes_ago=1,
            count=12,
            first_minutes_ago=6,
        ),
        event(p, "Failed", "Error: ImagePullBackOff", minutes_ago=1, count=12, first_minutes_ago=6),
    )
    return p
