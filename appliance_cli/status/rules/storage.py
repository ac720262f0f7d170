"""Storage and scheduling rules: subPath creation, volume mounts, PVCs that never bind, unschedulable pods."""

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
from appliance_cli.status.rules.registry import Finding, RepairSpec, finding, pod_subject, rule, unowned_tier
from appliance_cli.status.rules.signals import event_evidence, object_evidence

SUBPATH_WORDS = "failed to create subPath directory for volumeMount"
SUBPATH = re.compile(re.escape(SUBPATH_WORDS) + r' "([^"]+)" of container "([^"]+)"')
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
            "release it again, then delete the stuck db pod once its StatefulSet has the "
            "new template (a StatefulSet does not replace a pod that never became ready). "
            "Never deletes the volume claim or its volume. When the fix is there, the cause "
            "is elsewhere: nothing is changed."
        ),
        touches=("HelmRelease", "Pod"),
    ),
)
def storage_pvc_subpath_failed(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    # the objects with an event that has the subPath words: only their events can give evidence
    with_words = {
        uid
        for uid, events in index.events_by_uid.items()
        if any(SUBPATH_WORDS in te.message for te in events)
    }
    for pod in index.unsettled_pods:
        for cs in iter_container_statuses(pod):
            state = cs.get("state") or {}
            if state.get("running") or state.get("terminated"):
                continue  # it started since: any subPath event is stale
            waiting = state.get("waiting") or {}
            evidence: list[Evidence] = []
            msg = waiting.get("message", "")
            if SUBPATH.search(msg):
                evidence.append(object_evidence(pod, "Pod", waiting.get("reason", ""), msg))
            if waiting.get("reason") in ("CreateContainerConfigError", "CreateContainerError", None, "") and (
                meta(pod).get("uid") in with_words
            ):
                for te in reversed(index.events_for(pod)):
                    if SUBPATH_WORDS not in te.message:
                        continue  # the pattern's literal part: a cheap test before the search
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
                    **pod_subject(index, pod),
                    reason=f"Could not create the subPath of volume {vol!r} for container {cs.get('name')!r} "
                    f"of pod {key_of(pod)[1]}",
                    evidence=evidence,
                )
            )
    return out


# kubelet volume manager wordings (operation_generator.go / volume_manager.go), Warning FailedMount:
#   MountVolume.NewMounter initialization failed for volume "pvc-…" :
#     path "/var/local-path-provisioner/…" does not exist
#   MountVolume.SetUp failed for volume "x" : secret "y" not found
#   Unable to attach or mount volumes: unmounted volumes=[db-data], unattached volumes=[…]:
#     timed out waiting for the condition
MOUNT_FAILED = re.compile(
    r'MountVolume\.\w+ (?:initialization )?failed for volume "([^"]+)"'
    r"|Unable to (?:attach or )?mount volumes: unmounted volumes=\[([^\]]*)\]"
)
MOUNT_PATH_MISSING = re.compile(r'path "([^"]+)" does not exist')
MOUNT_SOURCE_MISSING = re.compile(r'(?:secret|configmap) "[^"]+" not found')
MOUNT_GRACE_SECONDS = 60
# Events the kubelet records only after every volume is mounted.
AFTER_MOUNT = frozenset({"Pulling", "Pulled", "Created", "Started"})


def _mount_next_action(message: str) -> str:
    if MOUNT_PATH_MISSING.search(message):
        return (
            "The volume's directory is gone from the node (local-path keeps it under "
            "/var/local-path-provisioner): restore it from a backup, or — only if its data may be "
            "lost — delete the PVC and the pod so the provisioner creates an empty volume."
        )
    if MOUNT_SOURCE_MISSING.search(message):
        return "Create the Secret or ConfigMap the volume mounts (re-run bootstrap in recover mode)."
    return "Read the FailedMount event (evidence) and fix the volume it names; the pod starts once it mounts."


@rule(
    code="volume_mount_failed",
    title="Volume cannot be mounted",
    layer="storage",
    rank=65,
    meaning=(
        "The kubelet cannot mount one of the pod's volumes, so the pod stays in ContainerCreating "
        "and its containers never start (a database that never comes up; Helm then times out "
        "with 'context deadline exceeded'). Most often the local-path directory of a bound "
        "volume no longer exists on the node, or a mounted Secret/ConfigMap is missing. A "
        "FailedMount that is followed by the pod starting is transient and not a blocker."
    ),
    signals=(
        'Warning FailedMount "MountVolume.NewMounter initialization failed for volume "pvc-…" : '
        'path "/var/local-path-provisioner/pvc-…_msp_db-data-db-0" does not exist"',
        'Warning FailedMount "MountVolume.SetUp failed for volume "x" : secret "y" not found"',
        'Warning FailedMount "Unable to attach or mount volumes: unmounted volumes=[db-data], '
        'unattached volumes=[...]: timed out waiting for the condition"',
        f"pod Pending, containers waiting ContainerCreating, for more than {MOUNT_GRACE_SECONDS} s",
    ),
    remediation=(
        "For a local-path volume whose directory is gone, restore the directory (from a backup) "
        "or, if its data may be lost, delete the PVC and its pod so a new empty volume is "
        "provisioned; for a missing Secret/ConfigMap, create it (bootstrap in recover mode). "
        "Check the node's /var/local-path-provisioner with 'talosctl -n <node-ip> ls "
        "/var/local-path-provisioner'."
    ),
    next_action="Fix the volume named in the FailedMount event; the pod starts once it mounts.",
)
def volume_mount_failed(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    for pod in index.unsettled_pods:
        status = pod.get("status") or {}
        if status.get("phase", "Pending") != "Pending":
            continue
        statuses = list(iter_container_statuses(pod))
        if any(
            (cs.get("state") or {}).get("running") or (cs.get("state") or {}).get("terminated")
            for cs in statuses
        ):
            continue
        events = index.events_for(pod)
        failed = [te for te in events if te.reason == "FailedMount" and MOUNT_FAILED.search(te.message)]
        if not failed:
            continue
        last_failed = failed[-1].time
        if any(
            te.reason in AFTER_MOUNT and te.time and last_failed and te.time > last_failed for te in events
        ):
            continue  # mounted since: the kubelet moved on to the image and the containers
        first = min(
            (parse_time(te.event.get("firstTimestamp")) or te.time for te in failed if te.time), default=None
        )
        if first is None or (index.now - first).total_seconds() < MOUNT_GRACE_SECONDS:
            continue
        # The specific wording (NewMounter/SetUp) over the generic "Unable to attach or mount".
        best = next((te for te in reversed(failed) if te.message.startswith("MountVolume.")), failed[-1])
        m = MOUNT_FAILED.search(best.message)
        volume = (m.group(1) or m.group(2) or "?") if m else "?"
        evidence = [event_evidence(pod, best)]
        evidence += [event_evidence(pod, te) for te in reversed(failed) if te is not best][:1]
        out.append(
            finding(
                "volume_mount_failed",
                **pod_subject(index, pod),
                reason=f"Volume {volume!r} of pod {key_of(pod)[1]} cannot be mounted: {best.message}",
                next_action=_mount_next_action(best.message),
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
    for pod in index.unsettled_pods:
        status = pod.get("status") or {}
        sched = condition(status, "PodScheduled")
        if not sched or sched.get("status") != "False" or sched.get("reason") != "Unschedulable":
            continue
        msg = sched.get("message", "")
        if UNBOUND_PVC in msg and "Insufficient" not in msg and "taint" not in msg:
            continue  # waiting for its volume: pvc_pending owns that
        _, name = key_of(pod)
        evidence = [object_evidence(pod, "Pod", "Unschedulable", msg)]
        for te in reversed(index.events_for(pod)):
            if te.reason == "FailedScheduling":
                evidence.append(event_evidence(pod, te))
                break
        out.append(
            finding(
                "unschedulable",
                **pod_subject(index, pod),
                reason=f"Pod {name} cannot be scheduled: {msg}",
                evidence=evidence,
            )
        )
    return out
