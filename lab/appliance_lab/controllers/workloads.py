"""Simulated kube-controller-manager pieces: node, Deployments → ReplicaSets → Pods,
StatefulSets → Pods (+ PVCs from volumeClaimTemplates), Jobs, local-path provisioning, and
the cluster add-ons Talos installs (CoreDNS)."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

from appliance_lab.controllers.base import (
    CONFIGMAPS,
    DEPLOYMENTS,
    JOBS,
    NODE_IP,
    NODE_NAME,
    NODES,
    PODS,
    PVCS,
    PVS,
    REPLICASETS,
    SERVICES,
    STATEFULSETS,
    STORAGECLASSES,
    Ctx,
    condition,
    is_true,
    rand5,
    set_condition,
    short_hash,
)
from appliance_lab.store import AlreadyExists, NotFound, Obj, ResourceType, now_rfc3339

LOCAL_PATH_DIR = "/var/local-path-provisioner"  # the root when the provisioner's ConfigMap names none
LOCAL_PATH_CONFIG = ("local-path-storage", "local-path-config")
COREFILE = """.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    log . {
        class error
    }
    prometheus :9153
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
        denial 9984 30
    }
    loop
    reload
    loadbalance
}
"""


def owner_ref(obj: Obj) -> Obj:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owned_by(obj: Obj, owner: Obj) -> bool:
    return any(r.get("uid") == owner["metadata"]["uid"] for r in obj["metadata"].get("ownerReferences") or [])


def template_hash(template: Obj) -> str:
    return short_hash(json.dumps(template, sort_keys=True), 10)


class Workloads:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        # owner uid -> (the stored template it was computed from, its hash)
        self._hashes: dict[str, tuple[Obj, str]] = {}

    def _template_hash(self, owner: Obj) -> str:
        """``template_hash`` of the owner's pod template, computed again only when the stored
        template is a different object (the store never changes one in place)."""
        template = (owner.get("spec") or {}).get("template") or {}
        uid = owner["metadata"]["uid"]
        hit = self._hashes.get(uid)
        if hit is not None and hit[0] is template:
            return hit[1]
        h = template_hash(template)
        self._hashes[uid] = (template, h)
        return h

    # -- cluster bring-up --------------------------------------------------------------------
    def bring_up(self, kubernetes_version: str, talos_version: str) -> None:
        """What a freshly bootstrapped Talos control plane has: namespaces, the node, CoreDNS."""
        ctx = self.ctx
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            ctx.ensure_namespace(ns)
        if ctx.store.try_get_ref(NODES, None, NODE_NAME) is None:
            now = now_rfc3339()
            conds = [
                {
                    "type": t,
                    "status": "False",
                    "reason": r,
                    "message": m,
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
                for t, r, m in (
                    (
                        "MemoryPressure",
                        "KubeletHasSufficientMemory",
                        "kubelet has sufficient memory available",
                    ),
                    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                )
            ] + [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ]
            ctx.store.create(
                NODES,
                {
                    "metadata": {
                        "name": NODE_NAME,
                        "labels": {
                            "kubernetes.io/hostname": NODE_NAME,
                            "kubernetes.io/os": "linux",
                            "kubernetes.io/arch": "amd64",
                            "beta.kubernetes.io/os": "linux",
                            "beta.kubernetes.io/arch": "amd64",
                            "node-role.kubernetes.io/control-plane": "",
                        },
                    },
                    "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
                    "status": {
                        "conditions": conds,
                        "addresses": [
                            {"type": "InternalIP", "address": NODE_IP},
                            {"type": "Hostname", "address": NODE_NAME},
                        ],
                        "capacity": {
                            "cpu": "4",
                            "memory": "16384Mi",
                            "pods": "110",
                            "ephemeral-storage": "119Gi",
                        },
                        "allocatable": {
                            "cpu": "3950m",
                            "memory": "15800Mi",
                            "pods": "110",
                            "ephemeral-storage": "110Gi",
                        },
                        "nodeInfo": {
                            "kubeletVersion": kubernetes_version,
                            "kubeProxyVersion": kubernetes_version,
                            "osImage": f"Talos ({talos_version})",
                            "operatingSystem": "linux",
                            "architecture": "amd64",
                            "containerRuntimeVersion": "containerd://2.1.5",
                            "kernelVersion": "6.12.57-talos",
                            "machineID": short_hash("machine", 32),
                            "systemUUID": "4c4c4544-0042-3010-8051-b4c04f4c4d31",
                            "bootID": short_hash("boot", 32),
                        },
                    },
                },
            )
        if ctx.store.try_get_ref(CONFIGMAPS, "kube-system", "coredns") is None:
            ctx.store.create(
                CONFIGMAPS,
                {
                    "metadata": {
                        "name": "coredns",
                        "namespace": "kube-system",
                        "labels": {"k8s-app": "kube-dns"},
                    },
                    "data": {"Corefile": COREFILE},
                },
            )
        if ctx.store.try_get_ref(SERVICES, "kube-system", "kube-dns") is None:
            ctx.store.create(
                SERVICES,
                {
                    "metadata": {
                        "name": "kube-dns",
                        "namespace": "kube-system",
                        "labels": {"k8s-app": "kube-dns"},
                    },
                    "spec": {
                        "clusterIP": "10.96.0.10",
                        "selector": {"k8s-app": "kube-dns"},
                        "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}],
                    },
                },
            )
        if ctx.store.try_get_ref(SERVICES, "default", "kubernetes") is None:
            ctx.store.create(
                SERVICES,
                {
                    "metadata": {"name": "kubernetes", "namespace": "default"},
                    "spec": {
                        "clusterIP": "10.96.0.1",
                        "ports": [{"name": "https", "port": 443, "targetPort": 6443}],
                    },
                },
            )
        if ctx.store.try_get_ref(DEPLOYMENTS, "kube-system", "coredns") is None:
            ctx.store.create(
                DEPLOYMENTS,
                {
                    "metadata": {
                        "name": "coredns",
                        "namespace": "kube-system",
                        "labels": {"k8s-app": "kube-dns"},
                    },
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        "strategy": {"type": "RollingUpdate"},
                        "template": {
                            "metadata": {"labels": {"k8s-app": "kube-dns"}},
                            "spec": {
                                "containers": [
                                    {
                                        "name": "coredns",
                                        "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                                        "args": ["-conf", "/etc/coredns/Corefile"],
                                        "volumeMounts": [
                                            {
                                                "name": "config-volume",
                                                "mountPath": "/etc/coredns",
                                                "readOnly": True,
                                            }
                                        ],
                                    }
                                ],
                                "dnsPolicy": "Default",
                                "volumes": [{"name": "config-volume", "configMap": {"name": "coredns"}}],
                            },
                        },
                    },
                },
            )
        ctx.kubernetes_up.set()

    # -- reconcile ---------------------------------------------------------------------------
    def reconcile(self) -> None:
        if not self.ctx.kubernetes_up.is_set():
            return
        for d in self.ctx.store.list_refs(DEPLOYMENTS):
            self._deployment(d)
        for rs in self.ctx.store.list_refs(REPLICASETS):
            self._replicaset(rs)
        for sts in self.ctx.store.list_refs(STATEFULSETS):
            self._statefulset(sts)
        for job in self.ctx.store.list_refs(JOBS):
            self._job(job)
        self._provision()
        self._reclaim()

    def local_path_root(self) -> str:
        """The first path of the provisioner's ``config.json`` (as the real provisioner reads it)."""
        cm = self.ctx.store.try_get(CONFIGMAPS, *LOCAL_PATH_CONFIG)
        try:
            node_map = json.loads(((cm or {}).get("data") or {}).get("config.json") or "{}")
            paths = [p for e in node_map.get("nodePathMap") or [] for p in e.get("paths") or []]
        except (ValueError, AttributeError):
            paths = []
        return str(paths[0]).rstrip("/") if paths else LOCAL_PATH_DIR

    def _reclaim(self) -> None:
        """A volume whose claim is gone is Released (reclaimPolicy Retain: its data stays on the
        node) or deleted together with its directory (Delete), as the provisioner does."""
        ctx = self.ctx
        claims = {
            (p["metadata"]["namespace"], p["metadata"]["name"]): p["metadata"].get("uid")
            for p in ctx.store.list_refs(PVCS)
        }
        for pv in ctx.store.list_refs(PVS):
            spec = pv.get("spec") or {}
            ref = spec.get("claimRef") or {}
            if not ref or claims.get((ref.get("namespace"), ref.get("name"))) == ref.get("uid"):
                continue
            if spec.get("persistentVolumeReclaimPolicy") == "Delete":
                with contextlib.suppress(NotFound):
                    ctx.store.delete(PVS, None, pv["metadata"]["name"])
                ctx.host_dirs.discard(str((spec.get("hostPath") or {}).get("path")))
            elif (pv.get("status") or {}).get("phase") != "Released":
                ctx.set_status(PVS, pv, {"phase": "Released"})

    def _children(self, rt: ResourceType, owner: Obj) -> list[Obj]:
        ns = owner["metadata"]["namespace"]
        return self.ctx.store.list_refs(rt, ns, lambda o: owned_by(o, owner))

    def _create(self, rt: ResourceType, obj: Obj) -> Obj | None:
        try:
            return self.ctx.store.create(rt, obj)
        except (AlreadyExists, NotFound):
            return None

    def _pod_from_template(self, owner: Obj, name: str, extra_labels: dict[str, str]) -> Obj:
        tmpl = copy.deepcopy(owner["spec"].get("template") or {})
        meta = tmpl.get("metadata") or {}
        labels = {**(meta.get("labels") or {}), **extra_labels}
        spec = tmpl.get("spec") or {}
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("enableServiceLinks", spec.get("enableServiceLinks", True))
        return {
            "metadata": {
                "name": name,
                "namespace": owner["metadata"]["namespace"],
                "labels": labels,
                "annotations": meta.get("annotations") or {},
                "ownerReferences": [owner_ref(owner)],
            },
            "spec": spec,
        }

    def _pod_ready(self, pod: Obj) -> bool:
        return is_true(pod, "Ready")

    # -- Deployment --------------------------------------------------------------------------
    def _deployment(self, d: Obj) -> None:
        ctx = self.ctx
        meta = d["metadata"]
        spec = d.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        h = self._template_hash(d)
        rs_name = f"{meta['name']}-{h}"
        rss = self._children(REPLICASETS, d)
        current = next((r for r in rss if r["metadata"]["name"] == rs_name), None)
        if current is None:
            tmpl = copy.deepcopy(spec.get("template") or {})
            tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
            sel = copy.deepcopy(spec.get("selector") or {})
            sel.setdefault("matchLabels", {})["pod-template-hash"] = h
            current = self._create(
                REPLICASETS,
                {
                    "metadata": {
                        "name": rs_name,
                        "namespace": meta["namespace"],
                        "labels": {**(tmpl["metadata"].get("labels") or {})},
                        "annotations": {"deployment.kubernetes.io/revision": str(len(rss) + 1)},
                        "ownerReferences": [owner_ref(d)],
                    },
                    "spec": {"replicas": replicas, "selector": sel, "template": tmpl},
                },
            )
            if current is None:
                return
            ctx.event(
                d,
                "ScalingReplicaSet",
                f"Scaled up replica set {rs_name} from 0 to {replicas}",
                component="deployment-controller",
            )
        elif int(current["spec"].get("replicas", 0)) != replicas:

            def scale(o: Obj) -> None:
                o["spec"]["replicas"] = replicas

            ctx.mutate(REPLICASETS, current, scale)
        cur_status = current.get("status") or {}
        new_ready = int(cur_status.get("readyReplicas", 0))
        recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
        old_total = 0
        for old in rss:
            if old["metadata"]["name"] == rs_name:
                continue
            old_replicas = int(old["spec"].get("replicas", 0))
            if old_replicas and (recreate or new_ready >= replicas):

                def zero(o: Obj) -> None:
                    o["spec"]["replicas"] = 0

                ctx.mutate(REPLICASETS, old, zero)
                ctx.event(
                    d,
                    "ScalingReplicaSet",
                    f"Scaled down replica set {old['metadata']['name']} from {old_replicas} to 0",
                    component="deployment-controller",
                )
            old_total += int((old.get("status") or {}).get("replicas", 0))
        ready = new_ready + sum(
            int((o.get("status") or {}).get("readyReplicas", 0))
            for o in rss
            if o["metadata"]["name"] != rs_name
        )
        available = ready
        st = d.get("status") or {}
        conds = list(st.get("conditions") or [])
        if available >= replicas:
            conds = set_condition(
                conds,
                condition(
                    "Available", True, "MinimumReplicasAvailable", "Deployment has minimum availability."
                ),
            )
        else:
            conds = set_condition(
                conds,
                condition(
                    "Available",
                    False,
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                ),
            )
        if new_ready >= replicas and old_total == 0:
            conds = set_condition(
                conds,
                condition(
                    "Progressing",
                    True,
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{rs_name}" has successfully progressed.',
                ),
            )
        else:
            conds = set_condition(
                conds,
                condition(
                    "Progressing", True, "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.'
                ),
            )
        total = int(cur_status.get("replicas", 0)) + old_total
        status: Obj = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": total,
            "updatedReplicas": int(cur_status.get("replicas", 0)),
            "readyReplicas": ready,
            "availableReplicas": available,
            "conditions": conds,
        }
        if total - available > 0:
            status["unavailableReplicas"] = total - available
        status = {k: v for k, v in status.items() if v != 0 or k == "observedGeneration"}
        if _differs(st, status):
            ctx.set_status(DEPLOYMENTS, d, status)

    def _replicaset(self, rs: Obj) -> None:
        ctx = self.ctx
        meta = rs["metadata"]
        replicas = int(rs["spec"].get("replicas", 0))
        pods = [
            p
            for p in self._children(PODS, rs)
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        ]
        h = (rs["spec"].get("template", {}).get("metadata", {}).get("labels") or {}).get(
            "pod-template-hash", ""
        )
        while len(pods) < replicas:
            name = f"{meta['name']}-{rand5()}"
            pod = self._create(PODS, self._pod_from_template(rs, name, {"pod-template-hash": h} if h else {}))
            if pod is None:
                return
            ctx.event(rs, "SuccessfulCreate", f"Created pod: {name}", component="replicaset-controller")
            pods.append(pod)
        for extra in pods[replicas:]:
            try:
                ctx.store.delete(PODS, meta["namespace"], extra["metadata"]["name"])
                ctx.event(
                    rs,
                    "SuccessfulDelete",
                    f"Deleted pod: {extra['metadata']['name']}",
                    component="replicaset-controller",
                )
            except NotFound:
                pass
        pods = pods[:replicas]
        ready = sum(1 for p in pods if self._pod_ready(p))
        status: Obj = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": meta.get("generation", 1),
        }
        status = {k: v for k, v in status.items() if v != 0 or k in ("replicas", "observedGeneration")}
        if _differs(rs.get("status") or {}, status):
            ctx.set_status(REPLICASETS, rs, status)

    # -- StatefulSet -------------------------------------------------------------------------
    def _statefulset(self, sts: Obj) -> None:
        ctx = self.ctx
        meta = sts["metadata"]
        ns = meta["namespace"]
        spec = sts.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        rev = f"{meta['name']}-{self._template_hash(sts)}"
        ready = 0
        current = 0
        for i in range(replicas):
            pod_name = f"{meta['name']}-{i}"
            pod = ctx.store.try_get_ref(PODS, ns, pod_name)
            if pod is None:
                for tmpl in spec.get("volumeClaimTemplates") or []:
                    claim = f"{tmpl['metadata']['name']}-{pod_name}"
                    if ctx.store.try_get_ref(PVCS, ns, claim) is None:
                        pvc = copy.deepcopy(tmpl)
                        pvc["metadata"] = {
                            "name": claim,
                            "namespace": ns,
                            "labels": (spec.get("selector") or {}).get("matchLabels") or {},
                        }
                        if self._create(PVCS, pvc) is not None:
                            ctx.event(
                                sts,
                                "SuccessfulCreate",
                                f"create Claim {claim} Pod {pod_name} in StatefulSet {meta['name']} success",
                                component="statefulset-controller",
                            )
                body = self._pod_from_template(
                    sts,
                    pod_name,
                    {
                        "controller-revision-hash": rev,
                        "statefulset.kubernetes.io/pod-name": pod_name,
                        "apps.kubernetes.io/pod-index": str(i),
                    },
                )
                body["spec"]["hostname"] = pod_name
                body["spec"]["subdomain"] = spec.get("serviceName", meta["name"])
                vols = body["spec"].setdefault("volumes", [])
                for tmpl in spec.get("volumeClaimTemplates") or []:
                    vname = tmpl["metadata"]["name"]
                    vols[:] = [v for v in vols if v.get("name") != vname]
                    vols.append(
                        {"name": vname, "persistentVolumeClaim": {"claimName": f"{vname}-{pod_name}"}}
                    )
                pod = self._create(PODS, body)
                if pod is None:
                    continue
                ctx.event(
                    sts,
                    "SuccessfulCreate",
                    f"create Pod {pod_name} in StatefulSet {meta['name']} successful",
                    component="statefulset-controller",
                )
            elif (pod["metadata"].get("labels") or {}).get("controller-revision-hash") != rev:
                # a template change: delete and recreate (OnDelete is not simulated)
                with contextlib.suppress(NotFound):
                    ctx.store.delete(PODS, ns, pod_name)
                continue
            current += 1
            if self._pod_ready(pod):
                ready += 1
        status: Obj = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": current,
            "readyReplicas": ready,
            "currentReplicas": current,
            "updatedReplicas": current,
            "availableReplicas": ready,
            "currentRevision": rev,
            "updateRevision": rev,
            "collisionCount": 0,
        }
        status = {
            k: v
            for k, v in status.items()
            if v != 0 or k in ("replicas", "observedGeneration", "collisionCount")
        }
        if _differs(sts.get("status") or {}, status):
            ctx.set_status(STATEFULSETS, sts, status)

    # -- Job ---------------------------------------------------------------------------------
    def _job(self, job: Obj) -> None:
        ctx = self.ctx
        meta = job["metadata"]
        st = job.get("status") or {}
        if any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in st.get("conditions") or []
        ):
            self._ttl_after_finished(job)
            return
        spec = job.get("spec") or {}
        backoff_limit = int(spec.get("backoffLimit", 6))
        pods = self._children(PODS, job)
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        active = len(pods) - succeeded - failed
        now = now_rfc3339()
        status: Obj = {
            "startTime": st.get("startTime") or now,
            "active": active,
            "succeeded": succeeded,
            "failed": failed,
            "ready": sum(1 for p in pods if self._pod_ready(p)),
            "terminating": 0,
            "uncountedTerminatedPods": {},
        }
        conds = list(st.get("conditions") or [])
        if succeeded >= int(spec.get("completions", 1)):
            conds = set_condition(
                conds,
                condition(
                    "SuccessCriteriaMet",
                    True,
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    lastProbeTime=now,
                ),
            )
            conds = set_condition(
                conds,
                condition(
                    "Complete",
                    True,
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    lastProbeTime=now,
                ),
            )
            status["completionTime"] = now
            ctx.event(job, "Completed", "Job completed", component="job-controller")
        elif failed > backoff_limit:
            msg = "Job has reached the specified backoff limit"
            conds = set_condition(
                conds, condition("FailureTarget", True, "BackoffLimitExceeded", msg, lastProbeTime=now)
            )
            conds = set_condition(
                conds, condition("Failed", True, "BackoffLimitExceeded", msg, lastProbeTime=now)
            )
            ctx.event(job, "BackoffLimitExceeded", msg, type_="Warning", component="job-controller")
        elif active == 0:
            name = f"{meta['name']}-{rand5()}"
            labels = {
                "batch.kubernetes.io/controller-uid": meta["uid"],
                "controller-uid": meta["uid"],
                "batch.kubernetes.io/job-name": meta["name"],
                "job-name": meta["name"],
            }
            body = self._pod_from_template(job, name, labels)
            if self._create(PODS, body) is not None:
                ctx.event(job, "SuccessfulCreate", f"Created pod: {name}", component="job-controller")
                status["active"] = 1
        if conds:
            status["conditions"] = conds
        status = {k: v for k, v in status.items() if v != 0 or k in ("startTime",)}
        if _differs(st, status):
            ctx.set_status(JOBS, job, status)

    def _ttl_after_finished(self, job: Obj) -> None:
        """The TTL-after-finished controller: a finished Job (and its pods) goes after its TTL."""
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None or not self.ctx.due(f"ttl:{job['metadata']['uid']}", float(ttl)):
            return
        meta = job["metadata"]
        for pod in self._children(PODS, job):
            with contextlib.suppress(NotFound):
                self.ctx.store.delete(PODS, meta["namespace"], pod["metadata"]["name"])
        with contextlib.suppress(NotFound):
            self.ctx.store.delete(JOBS, meta["namespace"], meta["name"])

    # -- local-path provisioner --------------------------------------------------------------
    def _provision(self) -> None:
        ctx = self.ctx
        pvcs = [p for p in ctx.store.list_refs(PVCS) if (p.get("status") or {}).get("phase") != "Bound"]
        if not pvcs:
            return
        sc = ctx.store.try_get_ref(STORAGECLASSES, None, "local-path")
        pods = ctx.store.list_refs(PODS)
        for pvc in pvcs:
            meta = pvc["metadata"]
            ns, name = meta["namespace"], meta["name"]
            cls = (pvc.get("spec") or {}).get("storageClassName") or "local-path"
            if cls != "local-path" or sc is None:
                if ctx.once(f"nosc:{meta['uid']}"):
                    ctx.event(
                        pvc,
                        "ProvisioningFailed",
                        f'storageclass.storage.k8s.io "{cls}" not found',
                        type_="Warning",
                        component="persistentvolume-controller",
                    )
                continue
            consumer = next(
                (
                    p
                    for p in pods
                    if p["metadata"].get("namespace") == ns
                    and (p.get("spec") or {}).get("nodeName")
                    and any(
                        (v.get("persistentVolumeClaim") or {}).get("claimName") == name
                        for v in (p.get("spec") or {}).get("volumes") or []
                    )
                ),
                None,
            )
            if (pvc.get("status") or {}).get("phase") != "Pending" and ctx.once(f"pending:{meta['uid']}"):
                ctx.set_status(PVCS, pvc, {"phase": "Pending"})
            if consumer is None:
                if ctx.once(f"wffc:{meta['uid']}"):
                    ctx.event(
                        pvc,
                        "WaitForFirstConsumer",
                        "waiting for first consumer to be created before binding",
                        component="persistentvolume-controller",
                    )
                continue
            key = f"prov:{meta['uid']}"
            if ctx.once(f"provev:{meta['uid']}"):
                ctx.event(
                    pvc,
                    "Provisioning",
                    f'External provisioner is provisioning volume for claim "{ns}/{name}"',
                    component="rancher.io/local-path_local-path-provisioner-7dfbb94d4c-lab01",
                )
            if not ctx.due(key, ctx.t.pvc_bind):
                continue
            pv_name = f"pvc-{meta['uid']}"
            host_path = f"{self.local_path_root()}/{pv_name}_{ns}_{name}"
            policy = (sc or {}).get("reclaimPolicy") or "Delete"
            size = ((pvc.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage", "1Gi")
            modes = (pvc.get("spec") or {}).get("accessModes") or ["ReadWriteOnce"]
            self._create(
                PVS,
                {
                    "metadata": {
                        "name": pv_name,
                        "annotations": {
                            "local.path.provisioner/selected-node": NODE_NAME,
                            "pv.kubernetes.io/provisioned-by": "rancher.io/local-path",
                        },
                        "finalizers": ["kubernetes.io/pv-protection"],
                    },
                    "spec": {
                        "capacity": {"storage": size},
                        "accessModes": modes,
                        "hostPath": {
                            "path": host_path,
                            "type": "DirectoryOrCreate",
                        },
                        "claimRef": {
                            "apiVersion": "v1",
                            "kind": "PersistentVolumeClaim",
                            "namespace": ns,
                            "name": name,
                            "uid": meta["uid"],
                        },
                        "persistentVolumeReclaimPolicy": policy,
                        "storageClassName": "local-path",
                        "volumeMode": "Filesystem",
                        "nodeAffinity": {
                            "required": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {
                                                "key": "kubernetes.io/hostname",
                                                "operator": "In",
                                                "values": [NODE_NAME],
                                            }
                                        ]
                                    }
                                ]
                            }
                        },
                    },
                    "status": {"phase": "Bound"},
                },
            )

            def bind(o: Obj, pv_name: str = pv_name, modes: Any = modes, size: Any = size) -> None:
                o["spec"]["volumeName"] = pv_name
                o["spec"].setdefault("storageClassName", "local-path")
                ann = o["metadata"].setdefault("annotations", {})
                ann["pv.kubernetes.io/bind-completed"] = "yes"
                ann["pv.kubernetes.io/bound-by-controller"] = "yes"
                ann["volume.kubernetes.io/selected-node"] = NODE_NAME
                ann["volume.kubernetes.io/storage-provisioner"] = "rancher.io/local-path"
                o["status"] = {"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}}

            ctx.host_dirs.add(host_path)
            ctx.mutate(PVCS, pvc, bind)
            ctx.event(
                pvc,
                "ProvisioningSucceeded",
                f"Successfully provisioned volume {pv_name}",
                component="rancher.io/local-path_local-path-provisioner-7dfbb94d4c-lab01",
            )


def _differs(cur: Obj, new: Obj) -> bool:
    def strip(s: Any) -> Any:
        if isinstance(s, dict):
            return {
                k: strip(v)
                for k, v in s.items()
                if k not in ("lastTransitionTime", "lastProbeTime", "completionTime", "lastUpdateTime")
            }
        if isinstance(s, list):
            return [strip(x) for x in s]
        return s

    return bool(strip(cur) != strip(new))
