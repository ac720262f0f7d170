"""Pods and container statuses as the kubelet reports them (core/v1)."""

from __future__ import annotations

from dataclasses import dataclass

from .components import Comp, labels_for, pod_name, rs_hash
from .ids import NODE, NODE_IP, Obj, digest, hexdigest, meta, owner_ref, ts


def running(started: float) -> Obj:
    return {"running": {"startedAt": ts(started)}}


def waiting(reason: str, message: str | None = None) -> Obj:
    w: Obj = {"reason": reason}
    if message is not None:
        w["message"] = message
    return {"waiting": w}


def terminated(
    reason: str,
    exit_code: int,
    started: float,
    finished: float,
    incarnation: str = "",
    message: str | None = None,
) -> Obj:
    t: Obj = {
        "reason": reason,
        "exitCode": exit_code,
        "startedAt": ts(started),
        "finishedAt": ts(finished),
        "containerID": "containerd://" + hexdigest("ctr", incarnation, str(started)),
    }
    if message is not None:
        t["message"] = message
    return {"terminated": t}


@dataclass
class CS:
    """One container's live status (what the kubelet reports)."""

    state: Obj
    ready: bool = False
    restarts: int = 0
    last: Obj | None = None
    image_pulled: bool = True
    image: str | None = None  # defaults to the component's image


def container_status_of(
    name: str,
    image: str,
    state: Obj,
    *,
    ready: bool = False,
    restarts: int = 0,
    last: Obj | None = None,
    pulled: bool = True,
    id_parts: tuple[str, ...] = (),
) -> Obj:
    """One entry of ``status.containerStatuses``; ``imageID`` is empty until the image is pulled,
    ``containerID`` set once the container was created (running, terminated or restarted)."""
    out: Obj = {
        "name": name,
        "image": image,
        "imageID": f"{image.rsplit(':', 1)[0]}@{digest(image)}" if pulled else "",
        "ready": ready,
        "restartCount": restarts,
        "started": "running" in state,
        "state": state,
        "lastState": last or {},
    }
    if "running" in state or "terminated" in state or restarts:
        out["containerID"] = "containerd://" + hexdigest("ctr", *id_parts, str(restarts))
    return out


def container_status(comp: Comp, cs: CS, incarnation: str, *, name: str | None = None) -> Obj:
    return container_status_of(
        name or comp.container,
        cs.image or comp.image,
        cs.state,
        ready=cs.ready,
        restarts=cs.restarts,
        last=cs.last,
        pulled=cs.image_pulled,
        id_parts=(comp.name, incarnation),
    )


API_ACCESS_MOUNT: Obj = {
    "name": "kube-api-access",
    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
    "readOnly": True,
}
API_ACCESS_VOLUME: Obj = {
    "name": "kube-api-access",
    "projected": {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {
                "downwardAPI": {
                    "items": [
                        {
                            "path": "namespace",
                            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                        }
                    ]
                }
            },
        ],
    },
}
NOT_READY_TOLERATIONS: list[Obj] = [
    {
        "effect": "NoExecute",
        "key": f"node.kubernetes.io/{key}",
        "operator": "Exists",
        "tolerationSeconds": 300,
    }
    for key in ("not-ready", "unreachable")
]


def container_spec(
    name: str,
    image: str,
    *,
    port: int | None = None,
    memory: str | None = None,
    mounts: list[Obj] | None = None,
) -> Obj:
    """A container of ``spec.containers`` with the API server's defaults filled in; the service
    account token is mounted after ``mounts``."""
    c: Obj = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [*(mounts or []), dict(API_ACCESS_MOUNT)],
    }
    if port is not None:
        c["ports"] = [
            {"containerPort": port, "name": "http" if port != 5432 else "postgres", "protocol": "TCP"}
        ]
    if memory is not None:
        c["resources"] = {"limits": {"memory": memory}, "requests": {"cpu": "100m", "memory": memory}}
    return c


def pod_phase(statuses: list[Obj], *, scheduled: bool = True) -> str:
    """The phase the kubelet reports for these container statuses (restartPolicy Always)."""
    if not scheduled:
        return "Pending"
    states = [s["state"] for s in statuses]
    restarted = any(s["restartCount"] for s in statuses)
    if any("waiting" in st for st in states) and not restarted and not any("running" in st for st in states):
        return "Pending"
    if states and all("terminated" in st for st in states):
        return "Succeeded" if all(st["terminated"]["exitCode"] == 0 for st in states) else "Failed"
    return "Running"


def pod_object(
    name: str,
    namespace: str,
    *,
    containers: list[Obj],
    statuses: list[Obj],
    created: float,
    phase: str,
    incarnation: str = "",
    labels: dict[str, str] | None = None,
    owner: Obj | None = None,
    scheduled: bool = True,
    unschedulable_msg: str | None = None,
    scheduled_reason: str = "Unschedulable",
    volumes: list[Obj] | None = None,
    restart_policy: str = "Always",
    extra_spec: Obj | None = None,
) -> Obj:
    """A Pod as the API returns it: spec with the defaults the API server fills in, status as the
    kubelet reports it (container statuses only once the pod is scheduled)."""
    spec: Obj = {
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": restart_policy,
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": "default",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [dict(t) for t in NOT_READY_TOLERATIONS],
        "volumes": [*(volumes or []), API_ACCESS_VOLUME],
    }
    if scheduled:
        spec["nodeName"] = NODE
    if extra_spec:
        spec.update(extra_spec)
    finished = phase in ("Succeeded", "Failed")
    status: Obj = {
        "phase": phase,
        "qosClass": "Burstable",
        "conditions": pod_conditions(
            scheduled=scheduled,
            ready=all(s["ready"] for s in statuses) if statuses else False,
            started=created - 1,
            unschedulable_msg=unschedulable_msg,
            scheduled_reason=scheduled_reason,
            not_ready_containers=" ".join(s["name"] for s in statuses if not s["ready"]),
            sandbox=not finished,
            phase_failed=finished,
        ),
    }
    if scheduled:
        pod_ip = f"10.244.0.{10 + int(hexdigest('ip', name, incarnation, n=2), 16) % 200}"
        status.update(
            {
                "hostIP": NODE_IP,
                "hostIPs": [{"ip": NODE_IP}],
                "podIP": pod_ip,
                "podIPs": [{"ip": pod_ip}],
                "startTime": ts(created - 1),
                "containerStatuses": statuses,
            }
        )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(
            "Pod", name, namespace, created=created, incarnation=incarnation, labels=labels, owner=owner
        ),
        "spec": spec,
        "status": status,
    }


def pod_conditions(
    *,
    scheduled: bool,
    ready: bool,
    started: float,
    initialized: bool = True,
    sandbox: bool = True,
    unschedulable_msg: str | None = None,
    scheduled_reason: str = "Unschedulable",
    not_ready_containers: str = "",
    phase_failed: bool = False,
) -> list[Obj]:
    if not scheduled:
        return [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": scheduled_reason,
                "message": unschedulable_msg or "",
                "lastProbeTime": None,
                "lastTransitionTime": ts(started),
            }
        ]

    def c(t: str, ok: bool, reason: str | None = None, message: str | None = None) -> Obj:
        d: Obj = {
            "type": t,
            "status": "True" if ok else "False",
            "lastProbeTime": None,
            "lastTransitionTime": ts(started - 2),
        }
        if not ok and reason:
            d["reason"] = reason
            d["message"] = message or ""
        return d

    msg = f"containers with unready status: [{not_ready_containers}]"
    reason = "PodCompleted" if phase_failed else "ContainersNotReady"
    return [
        c("PodReadyToStartContainers", sandbox),
        c("Initialized", initialized),
        c("Ready", ready, reason, msg),
        c("ContainersReady", ready, reason, msg),
        c("PodScheduled", True),
    ]


def component_volumes(comp: Comp, container: str) -> tuple[list[Obj], list[Obj]]:
    """(volumeMounts, volumes) of the appliance's own data volumes (db and redis PVCs)."""
    if comp.name == "db" and container == "postgres":
        return (
            [{"name": "db-data", "mountPath": "/var/lib/postgresql/data", "subPath": "data"}],
            [{"name": "db-data", "persistentVolumeClaim": {"claimName": "db-data-db-0"}}],
        )
    if comp.name == "redis" and container == "redis":
        return (
            [{"name": "redis-data", "mountPath": "/data"}],
            [{"name": "redis-data", "persistentVolumeClaim": {"claimName": "redis-data-redis-0"}}],
        )
    return [], []


def component_labels(comp: Comp, pod: str) -> dict[str, str]:
    """The labels a component's controller puts on its pod (StatefulSet or ReplicaSet)."""
    lab = dict(labels_for(comp))
    if comp.kind == "StatefulSet":
        lab.update(
            {
                "apps.kubernetes.io/pod-index": "0",
                "controller-revision-hash": f"{comp.workload}-" + hexdigest("crh", comp.name, n=10),
                "statefulset.kubernetes.io/pod-name": pod,
            }
        )
    else:
        lab["pod-template-hash"] = rs_hash(comp)
    return lab


def controller_of(comp: Comp) -> Obj:
    """The ownerReference of a component's pod: its StatefulSet, or its Deployment's ReplicaSet."""
    if comp.kind == "StatefulSet":
        return owner_ref("apps/v1", "StatefulSet", comp.workload, comp.namespace)
    return owner_ref("apps/v1", "ReplicaSet", f"{comp.workload}-{rs_hash(comp)}", comp.namespace)


def pod(
    comp: Comp,
    cs: CS,
    *,
    created: float,
    incarnation: str = "",
    phase: str | None = None,
    scheduled: bool = True,
    unschedulable_msg: str | None = None,
    scheduled_reason: str = "Unschedulable",
    name: str | None = None,
    owner: Obj | None = None,
    labels: dict[str, str] | None = None,
    container: str | None = None,
    image: str | None = None,
    extra_spec: Obj | None = None,
    restart_policy: str = "Always",
) -> Obj:
    """A pod of an appliance component with one container in state ``cs``."""
    pname = name or pod_name(comp, incarnation)
    cname = container or comp.container
    mounts, volumes = component_volumes(comp, cname)
    status = container_status(comp, cs, incarnation or pname, name=cname)
    return pod_object(
        pname,
        comp.namespace,
        containers=[
            container_spec(
                cname, image or cs.image or comp.image, port=comp.port, memory=comp.memory, mounts=mounts
            )
        ],
        statuses=[status],
        created=created,
        phase=phase or pod_phase([status], scheduled=scheduled),
        incarnation=incarnation,
        labels=labels if labels is not None else component_labels(comp, pname),
        owner=owner or controller_of(comp),
        scheduled=scheduled,
        unschedulable_msg=unschedulable_msg,
        scheduled_reason=scheduled_reason,
        volumes=volumes,
        restart_policy=restart_policy,
        extra_spec=extra_spec,
    )


def cfp(comp: Comp, container: str | None = None) -> str:
    return f"spec.containers{{{container or comp.container}}}"
