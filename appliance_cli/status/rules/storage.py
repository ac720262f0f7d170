"""Storage and scheduling rules: subPath creation, PVCs that never bind, unschedulable pods."""

from __future__ import annotations

import re

from appliance_cli.status.index import (
    SnapshotIndex,
    condition,
    iter_container_statuses,
    key_of,
    meta,
    parse_time,
)
from appliance_cli.status.model import Evidence
from appliance_cli.status.readiness import pvc_readiness
from appliance_cli.status.rules.registry import Finding, RepairSpec, finding, rule, unowned_tier
from appliance_cli.status.rules.signals import event_evidence, object_evidence

SUBPATH = re.compile(r'failed to create subPath directory for volumeMount "([^"]+)" of container "([^"]+)"')
PVC_PENDING_GRACE_SECONDS = 300
UNBOUND_PVC = "unbound immediate PersistentVolumeClaims"


@rule(
    code="storage_pvc_subpath_failed",
    title="Volume subPath could not be created",
    layer="storage",
    rank=60,
    meaning=(
        "The kubelet could not create the subPath directory of a volume mount (e.g. Postgres "
        "data on a local-path PVC), so the container never starts. Helm then times out with a "
        "generic 'context deadline exceeded' that hides this cause."
    ),
    signals=(
        'container waiting reason CreateContainerConfigError with message "failed to create '
        'subPath directory for volumeMount \\"db-data\\" of container \\"db\\""',
        'Warning Failed event "Error: failed to create subPath directory for volumeMount ..."',
    ),
    remediation=(
        "Check the storage provisioner's host path (local-path on Talos needs a writable "
        "directory under /var, bind-mounted into the kubelet, with the right permissions) and "
        "the volume's ownership. Delete the "
        "failed PVC only if it holds no data, then let the StatefulSet recreate it."
    ),
    next_action="Fix the volume's host path permissions (local-path storage), then restart the pod.",
    repair=RepairSpec(
        "reapply_fix",
        (
            "Check that the layout's Postgres-without-subPath fix (a HelmRelease "
            "postRenderer) is in the applied alga-core HelmRelease; if not (an install "
            "older than the fix), apply the current layout's postRenderers to it and "
            "release it again. Never deletes the volume claim or its volume. When the fix "
            "is there, the cause is elsewhere: nothing is changed."
        ),
        touches=("HelmRelease",),
    ),
)
def storage_pvc_subpath_failed(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    for pod in index.pods.values():
        comp = index.component_of_pod(pod)
        for cs in iter_container_statuses(pod):
            state = cs.get("state") or {}
            if state.get("running") or state.get("terminated"):
                continue  # it started since: any subPath event is stale
            waiting = state.get("waiting") or {}
            evidence: list[Evidence] = []
            msg = waiting.get("message", "")
            if SUBPATH.search(msg):
                evidence.append(object_evidence(pod, "Pod", waiting.get("reason", ""), msg))
            if waiting.get("reason") in ("CreateContainerConfigError", "CreateContainerError", None, ""):
                for te in reversed(index.events_for(pod)):
                    m = SUBPATH.search(te.message)
                    if m and m.group(2) == cs.get("name"):
                        evidence.append(event_evidence(pod, te))
                        msg = msg or te.message
                        break
            if not evidence:
                continue
            m = SUBPATH.search(msg)
            vol = m.group(1) if m else "?"
            out.append(
                finding(
                    "storage_pvc_subpath_failed",
                    component=comp,
                    name=None if comp else key_of(pod)[1],
                    tier=None if comp else unowned_tier(key_of(pod)[0]),
                    reason=f"Could not create the subPath of volume {vol!r} for container {cs.get('name')!r} "
                    f"of pod {key_of(pod)[1]}",
                    evidence=evidence,
                )
            )
    return out


@rule(
    code="pvc_pending",
    title="PersistentVolumeClaim not bound",
    layer="storage",
    rank=70,
    meaning=(
        "A volume claim stays Pending: the provisioner failed or no storage class can serve it, "
        "so the pod that needs it cannot be scheduled. A claim waiting for its first consumer "
        "or freshly provisioning is progress, not a blocker."
    ),
    signals=(
        "PVC status.phase Pending with a Warning ProvisioningFailed event",
        'storageclass.storage.k8s.io "local-path" not found',
        f"PVC Pending for more than {PVC_PENDING_GRACE_SECONDS // 60} minutes",
    ),
    remediation=(
        "Check the storage class and the local-path provisioner: 'kubectl -n local-path-storage "
        "logs deploy/local-path-provisioner'. The bootstrap storage smoke test exercises the same path."
    ),
    next_action="Check the storage class and the local-path provisioner logs.",
)
def pvc_pending(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    for pvc in index.pvcs.values():
        r = pvc_readiness(pvc)
        if r.ready:
            continue
        events = index.events_for(pvc)
        failed = [te for te in events if te.type == "Warning" and te.reason == "ProvisioningFailed"]
        created = parse_time(meta(pvc).get("creationTimestamp"))
        age = (index.now - created).total_seconds() if created else 0.0
        if not failed and not r.failed and age < PVC_PENDING_GRACE_SECONDS:
            continue
        comp = index.component_of_pvc(pvc)
        _, name = key_of(pvc)
        evidence = [object_evidence(pvc, "PersistentVolumeClaim", r.reason, r.message)]
        if failed:
            evidence.append(event_evidence(pvc, failed[-1]))
            reason = f"PVC {name} is not bound: {failed[-1].message}"
        else:
            reason = f"PVC {name} is still {r.reason} after {int(age // 60)} minutes"
        out.append(
            finding(
                "pvc_pending",
                component=comp,
                name=None if comp else name,
                tier=None if comp else unowned_tier(key_of(pvc)[0]),
                reason=reason,
                evidence=evidence,
            )
        )
    return out


@rule(
    code="unschedulable",
    title="Pod cannot be scheduled",
    layer="scheduling",
    rank=80,
    meaning=(
        "The scheduler found no node for a pod: not enough memory or CPU, a taint, or a node "
        "selector that matches nothing. On a single node this usually means the machine is too small."
    ),
    signals=(
        'PodScheduled=False reason Unschedulable "0/1 nodes are available: 1 Insufficient memory."',
        'Warning FailedScheduling "0/1 nodes are available: 1 node(s) had untolerated taint '
        '{node-role.kubernetes.io/control-plane: }"',
    ),
    remediation=(
        "Give the machine more memory/CPU, or lower the requests of background services in the "
        "values. On a single control-plane node, allowSchedulingOnControlPlanes must be true."
    ),
    next_action="Add memory/CPU to the machine or lower resource requests, then wait for rescheduling.",
)
def unschedulable(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    for pod in index.pods.values():
        status = pod.get("status") or {}
        sched = condition(status, "PodScheduled")
        if not sched or sched.get("status") != "False" or sched.get("reason") != "Unschedulable":
            continue
        msg = sched.get("message", "")
        if UNBOUND_PVC in msg and "Insufficient" not in msg and "taint" not in msg:
            continue  # waiting for its volume: pvc_pending owns that
        comp = index.component_of_pod(pod)
        _, name = key_of(pod)
        evidence = [object_evidence(pod, "Pod", "Unschedulable", msg)]
        for te in reversed(index.events_for(pod)):
            if te.reason == "FailedScheduling":
                evidence.append(event_evidence(pod, te))
                break
        out.append(
            finding(
                "unschedulable",
                component=comp,
                name=None if comp else name,
                tier=None if comp else unowned_tier(key_of(pod)[0]),
                reason=f"Pod {name} cannot be scheduled: {msg}",
                evidence=evidence,
            )
        )
    return out
