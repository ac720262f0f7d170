"""Deployments, StatefulSets, PersistentVolumeClaims and the bootstrap Job (apps/v1, v1, batch/v1)."""

from __future__ import annotations

from .components import BOOTSTRAP_JOB, COMPS, Comp, labels_for, pod_suffix, rs_hash
from .ids import NODE, Obj, hexdigest, meta, owner_ref, ts, uid
from .pods import CS, pod


def deployment(
    comp: Comp,
    *,
    ready: int = 1,
    updated: int = 1,
    available: bool = True,
    progressing: tuple[str, str, str] | None = None,
    created: float = 3000,
    image: str | None = None,
    generation: int = 1,
    observed: int | None = None,
) -> Obj:
    rs = f"{comp.workload}-{rs_hash(comp)}"
    if progressing is None:
        progressing = (
            ("True", "NewReplicaSetAvailable", f'ReplicaSet "{rs}" has successfully progressed.')
            if available
            else ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs}" is progressing.')
        )
    status: Obj = {
        "observedGeneration": generation if observed is None else observed,
        "replicas": 1,
        "updatedReplicas": updated,
        "conditions": [
            {
                "type": "Available",
                "status": "True" if available else "False",
                "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if available
                else "Deployment does not have minimum availability.",
                "lastTransitionTime": ts(created - 30),
                "lastUpdateTime": ts(created - 30),
            },
            {
                "type": "Progressing",
                "status": progressing[0],
                "reason": progressing[1],
                "message": progressing[2],
                "lastTransitionTime": ts(created - 1),
                "lastUpdateTime": ts(created - 30),
            },
        ],
    }
    if ready:
        status["readyReplicas"] = ready
    if available and ready:
        status["availableReplicas"] = ready
    else:
        status["unavailableReplicas"] = 1
    lab = labels_for(comp)
    annotations = {"deployment.kubernetes.io/revision": "1"}
    if comp.helm_release:
        annotations.update(
            {"meta.helm.sh/release-name": comp.helm_release, "meta.helm.sh/release-namespace": "msp"}
        )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(
            "Deployment",
            comp.workload,
            comp.namespace,
            created=created,
            labels=lab,
            generation=generation,
            annotations=annotations,
        ),
        "spec": {
            "replicas": 1,
            "progressDeadlineSeconds": 600,
            "revisionHistoryLimit": 10,
            "selector": {
                "matchLabels": {
                    "app.kubernetes.io/name": comp.name,
                    "app.kubernetes.io/instance": comp.helm_release or comp.name,
                }
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": dict(lab)},
                "spec": {
                    "containers": [
                        {
                            "name": comp.container,
                            "image": image or comp.image,
                            "imagePullPolicy": "IfNotPresent",
                        }
                    ]
                },
            },
        },
        "status": status,
    }


def statefulset(comp: Comp, *, ready: int = 1, created: float = 3000) -> Obj:
    rev = f"{comp.workload}-" + hexdigest("crh", comp.name, n=10)
    pvc_name = "db-data" if comp.name == "db" else "redis-data"
    status: Obj = {
        "observedGeneration": 1,
        "replicas": 1,
        "currentReplicas": 1,
        "updatedReplicas": 1,
        "currentRevision": rev,
        "updateRevision": rev,
        "collisionCount": 0,
        "availableReplicas": ready,
    }
    if ready:
        status["readyReplicas"] = ready
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(
            "StatefulSet",
            comp.workload,
            comp.namespace,
            created=created,
            labels=labels_for(comp),
            generation=1,
            annotations={"meta.helm.sh/release-name": "alga-core", "meta.helm.sh/release-namespace": "msp"},
        ),
        "spec": {
            "replicas": 1,
            "serviceName": comp.workload,
            "podManagementPolicy": "OrderedReady",
            "selector": {"matchLabels": {"app.kubernetes.io/name": comp.name}},
            "template": {
                "metadata": {"labels": labels_for(comp)},
                "spec": {
                    "containers": [
                        {"name": comp.container, "image": comp.image, "imagePullPolicy": "IfNotPresent"}
                    ]
                },
            },
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "volumeClaimTemplates": [
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": pvc_name},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": "local-path",
                        "resources": {"requests": {"storage": "10Gi"}},
                        "volumeMode": "Filesystem",
                    },
                }
            ],
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        },
        "status": status,
    }


def pvc(
    name: str,
    *,
    namespace: str = "msp",
    bound: bool = True,
    created: float = 3000,
    selected_node: bool = True,
) -> Obj:
    annotations = {
        "volume.beta.kubernetes.io/storage-provisioner": "rancher.io/local-path",
        "volume.kubernetes.io/storage-provisioner": "rancher.io/local-path",
    }
    if bound:
        annotations.update(
            {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"}
        )
    if selected_node:
        annotations["volume.kubernetes.io/selected-node"] = NODE
    app = "db" if name.startswith("db-") else "redis"
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta(
            "PersistentVolumeClaim",
            name,
            namespace,
            created=created,
            annotations=annotations,
            labels={"app.kubernetes.io/name": app, "app.kubernetes.io/instance": "alga-core"},
        ),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "10Gi"}},
            "storageClassName": "local-path",
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Pending"},
    }
    obj["metadata"]["finalizers"] = ["kubernetes.io/pvc-protection"]
    if bound:
        obj["spec"]["volumeName"] = "pvc-" + uid("PersistentVolumeClaim", namespace, name, "")
        obj["status"] = {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"}}
    return obj


def job(*, state: str, created: float, finished: float | None = None, name: str = BOOTSTRAP_JOB) -> Obj:
    """The alga-core bootstrap Job: state complete | failed | running."""
    comp = COMPS["alga-core"]
    lab = {
        "app.kubernetes.io/name": "alga-core-bootstrap",
        "app.kubernetes.io/instance": "alga-core",
        "app.kubernetes.io/managed-by": "Helm",
        "batch.kubernetes.io/job-name": name,
        "job-name": name,
    }
    status: Obj = {"startTime": ts(created - 1), "terminating": 0, "uncountedTerminatedPods": {}}
    if state == "complete":
        done = ts(finished if finished is not None else created - 95)
        status.update(
            {
                "succeeded": 1,
                "ready": 0,
                "completionTime": done,
                "conditions": [
                    {
                        "type": "SuccessCriteriaMet",
                        "status": "True",
                        "lastProbeTime": done,
                        "lastTransitionTime": done,
                    },
                    {"type": "Complete", "status": "True", "lastProbeTime": done, "lastTransitionTime": done},
                ],
            }
        )
    elif state == "failed":
        done = ts(finished if finished is not None else created - 400)
        cond = {
            "reason": "BackoffLimitExceeded",
            "message": "Job has reached the specified backoff limit",
            "lastProbeTime": done,
            "lastTransitionTime": done,
        }
        status.update(
            {
                "failed": 2,
                "ready": 0,
                "conditions": [
                    {"type": "FailureTarget", "status": "True", **cond},
                    {"type": "Failed", "status": "True", **cond},
                ],
            }
        )
    else:
        status.update({"active": 1, "ready": 0})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(
            "Job",
            name,
            "msp",
            created=created,
            labels=lab,
            generation=1,
            annotations={
                "helm.sh/hook": "post-install,post-upgrade",
                "helm.sh/hook-delete-policy": "before-hook-creation",
                "meta.helm.sh/release-name": "alga-core",
                "meta.helm.sh/release-namespace": "msp",
            },
        ),
        "spec": {
            "backoffLimit": 1,
            "completionMode": "NonIndexed",
            "completions": 1,
            "manualSelector": False,
            "parallelism": 1,
            "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid("Job", "msp", name, "")}},
            "suspend": False,
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": {"job-name": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "bootstrap",
                            "image": comp.image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["/app/scripts/bootstrap.sh"],
                        }
                    ],
                    "restartPolicy": "Never",
                },
            },
        },
        "status": status,
    }


def job_pod(cs: CS, *, created: float, incarnation: str, job_name: str = BOOTSTRAP_JOB) -> Obj:
    comp = COMPS["alga-core"]
    name = f"{job_name}-{pod_suffix(comp, 'job' + incarnation)}"
    lab = {
        "batch.kubernetes.io/controller-uid": uid("Job", "msp", job_name, ""),
        "batch.kubernetes.io/job-name": job_name,
        "controller-uid": uid("Job", "msp", job_name, ""),
        "job-name": job_name,
    }
    return pod(
        comp,
        cs,
        created=created,
        incarnation="job" + incarnation,
        name=name,
        container="bootstrap",
        owner=owner_ref("batch/v1", "Job", job_name, "msp"),
        labels=lab,
        restart_policy="Never",
    )


# --- Flux ------------------------------------------------------------------------------------


def configmap(
    name: str,
    namespace: str,
    data: dict[str, str],
    *,
    labels: dict[str, str] | None = None,
    created: float = 5000,
) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("ConfigMap", name, namespace, created=created, labels=labels),
        "data": data,
    }
