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


def container_status(comp: Comp, cs: CS, incarnation: str, *, name: str | None = None) -> Obj:
    image = cs.image or comp.image
    out: Obj = {
        "name": name or comp.container,
        "image": image,
        "imageID": "",
        "ready": cs.ready,
        "restartCount": cs.restarts,
        "started": "running" in cs.state,
        "state": cs.state,
        "lastState": cs.last or {},
    }
    if cs.image_pulled:
        out["imageID"] = f"{image.rsplit(':', 1)[0]}@{digest(image)}"
    if "running" in cs.state or "terminated" in cs.state or cs.restarts:
        out["containerID"] = "containerd://" + hexdigest("ctr", comp.name, incarnation, str(cs.restarts))
    return out


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
    pname = name or pod_name(comp, incarnation)
    cname = container or comp.container
    img = image or cs.image or comp.image
    if owner is None:
        if comp.kind == "StatefulSet":
            owner = owner_ref("apps/v1", "StatefulSet", comp.workload, comp.namespace)
        else:
            owner = owner_ref("apps/v1", "ReplicaSet", f"{comp.workload}-{rs_hash(comp)}", comp.namespace)
    lab = labels if labels is not None else dict(labels_for(comp))
    if labels is None:
        if comp.kind == "StatefulSet":
            lab.update(
                {
                    "apps.kubernetes.io/pod-index": "0",
                    "controller-revision-hash": f"{comp.workload}-" + hexdigest("crh", comp.name, n=10),
                    "statefulset.kubernetes.io/pod-name": pname,
                }
            )
        else:
            lab["pod-template-hash"] = rs_hash(comp)
    is_ready = cs.ready
    if phase is None:
        if not scheduled or ("waiting" in cs.state and not cs.restarts and "running" not in cs.state):
            phase = "Pending" if not cs.restarts else "Running"
        elif "terminated" in cs.state:
            phase = "Succeeded" if cs.state["terminated"]["exitCode"] == 0 else "Failed"
        else:
            phase = "Running"
    if not scheduled:
        phase = "Pending"
    volume_mounts = [
        {
            "name": "kube-api-access",
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "readOnly": True,
        }
    ]
    volumes: list[Obj] = [
        {
            "name": "kube-api-access",
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {
                        "configMap": {
                            "name": "kube-root-ca.crt",
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        }
                    },
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
    ]
    if comp.name == "db" and cname == "postgres":
        volume_mounts.insert(
            0, {"name": "db-data", "mountPath": "/var/lib/postgresql/data", "subPath": "data"}
        )
        volumes.insert(0, {"name": "db-data", "persistentVolumeClaim": {"claimName": "db-data-db-0"}})
    if comp.name == "redis" and cname == "redis":
        volume_mounts.insert(0, {"name": "redis-data", "mountPath": "/data"})
        volumes.insert(
            0, {"name": "redis-data", "persistentVolumeClaim": {"claimName": "redis-data-redis-0"}}
        )
    spec: Obj = {
        "containers": [
            {
                "name": cname,
                "image": img,
                "imagePullPolicy": "IfNotPresent",
                "ports": [
                    {
                        "containerPort": comp.port,
                        "name": "http" if comp.port != 5432 else "postgres",
                        "protocol": "TCP",
                    }
                ],
                "resources": {
                    "limits": {"memory": comp.memory},
                    "requests": {"cpu": "100m", "memory": comp.memory},
                },
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "volumeMounts": volume_mounts,
            }
        ],
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
        "tolerations": [
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
        ],
        "volumes": volumes,
    }
    if scheduled:
        spec["nodeName"] = NODE
    if extra_spec:
        spec.update(extra_spec)
    status: Obj = {
        "phase": phase,
        "qosClass": "Burstable",
        "conditions": pod_conditions(
            scheduled=scheduled,
            ready=is_ready,
            started=created - 1,
            unschedulable_msg=unschedulable_msg,
            scheduled_reason=scheduled_reason,
            not_ready_containers=cname,
            sandbox=phase not in ("Succeeded", "Failed"),
            phase_failed=phase in ("Succeeded", "Failed"),
        ),
    }
    if scheduled:
        status.update(
            {
                "hostIP": NODE_IP,
                "hostIPs": [{"ip": NODE_IP}],
                "podIP": f"10.244.0.{10 + int(hexdigest('ip', pname, incarnation, n=2), 16) % 200}",
                "startTime": ts(created - 1),
            }
        )
        status["podIPs"] = [{"ip": status["podIP"]}]
        status["containerStatuses"] = [container_status(comp, cs, incarnation or pname, name=cname)]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(
            "Pod", pname, comp.namespace, created=created, incarnation=incarnation, labels=lab, owner=owner
        ),
        "spec": spec,
        "status": status,
    }


def cfp(comp: Comp, container: str | None = None) -> str:
    return f"spec.containers{{{container or comp.container}}}"
