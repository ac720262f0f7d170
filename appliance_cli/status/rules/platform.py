"""Platform rules: Kubernetes and Talos APIs, the node and its pressure, DNS, Flux."""

from __future__ import annotations

from appliance_cli.status.index import (
    Node,
    Pod,
    SnapshotIndex,
    condition,
    iter_container_statuses,
    key_of,
    parse_time,
    workload_name,
)
from appliance_cli.status.model import Evidence
from appliance_cli.status.readiness import (
    deployment_readiness,
    failing_waiting,
    flux_readiness,
    node_readiness,
)
from appliance_cli.status.rules.registry import Finding, RepairSpec, finding, rule
from appliance_cli.status.rules.signals import (
    DNS_PATTERNS,
    TEMPORARY_DNS,
    crashes,
    event_evidence,
    log_evidence,
    matches,
    object_evidence,
    pods_with_pull_failures_or_crashes,
    pull_failures,
)


@rule(
    code="kubernetes_api_unreachable",
    title="Kubernetes API unreachable",
    layer="platform",
    rank=10,
    meaning=(
        "The Kubernetes API server did not answer, so nothing about the workloads can be known. "
        "Everything else waits on it."
    ),
    signals=(
        "snapshot reachability.kubernetes.reachable = false",
        "dial tcp <node-ip>:6443: connect: connection refused",
        'Get "https://<node-ip>:6443/api": context deadline exceeded',
    ),
    remediation=(
        "If the Talos API answers, the node is up: look at the control plane with "
        "'talosctl -n <node-ip> service' and 'talosctl -n <node-ip> logs kubelet'. If neither "
        "answers, check the machine's power and network. Check that the kubeconfig points at "
        "the node's address."
    ),
    next_action="Check the node and its Kubernetes API server (talosctl -n <node-ip> service).",
)
def kubernetes_api_unreachable(index: SnapshotIndex) -> list[Finding]:
    kube = index.snapshot.reachability.kubernetes
    if kube.reachable:
        return []
    talos = index.snapshot.reachability.talos
    ip = index.snapshot.site.node_ip or "<node-ip>"
    if talos.checked and talos.reachable:
        action = (
            f"The Talos API answers, so the node is up: check the control plane with "
            f"'talosctl -n {ip} service' and 'talosctl -n {ip} logs kubelet'."
        )
    else:
        action = f"Check that the machine at {ip} is powered on and reachable, then retry."
    return [
        finding(
            "kubernetes_api_unreachable",
            name="kubernetes",
            tier="platform",
            reason=f"Kubernetes API unreachable: {kube.error or 'no answer'}",
            next_action=action,
            evidence=[
                Evidence(kind="Reachability", name="kubernetes", message=kube.error or "unreachable"),
                *(
                    [
                        Evidence(
                            kind="Reachability",
                            name="talos",
                            message=_talos_state(talos.reachable, talos.error),
                        )
                    ]
                    if talos.checked
                    else []
                ),
            ],
        )
    ]


def _talos_state(reachable: bool | None, error: str | None) -> str:
    return "Talos API reachable" if reachable else f"Talos API unreachable: {error or 'no answer'}"


@rule(
    code="talos_api_unreachable",
    title="Talos API unreachable",
    layer="platform",
    rank=20,
    meaning=(
        "The Talos machine API (port 50000) did not answer. When Kubernetes is healthy this only "
        "limits maintenance (upgrades, logs, reset) and does not block login."
    ),
    signals=(
        "snapshot reachability.talos.reachable = false",
        'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while '
        'dialing: dial tcp <node-ip>:50000: connect: connection refused"',
        "x509: certificate signed by unknown authority (talosconfig from another cluster)",
    ),
    remediation=(
        "Check that the talosconfig in the site directory belongs to this node and that port "
        "50000 is reachable from this machine (firewall, VPN)."
    ),
    next_action="Check the talosconfig and that port 50000 on the node is reachable.",
)
def talos_api_unreachable(index: SnapshotIndex) -> list[Finding]:
    talos = index.snapshot.reachability.talos
    if not talos.checked or talos.reachable is not False:
        return []
    return [
        finding(
            "talos_api_unreachable",
            name="talos",
            tier="platform",
            # Talos trouble alone never blocks login while Kubernetes is healthy.
            login_blocking=not index.kube_reachable,
            reason=f"Talos API unreachable: {talos.error or 'no answer'}",
            evidence=[Evidence(kind="Reachability", name="talos", message=talos.error or "unreachable")],
        )
    ]


@rule(
    code="node_not_ready",
    title="Node not Ready",
    layer="platform",
    rank=30,
    meaning="The node's kubelet reports NotReady (or stopped reporting), so pods cannot run.",
    signals=(
        'Node condition Ready=False reason KubeletNotReady, e.g. "container runtime network not '
        "ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns "
        'error: cni plugin not initialized"',
        'Node condition Ready=Unknown reason NodeStatusUnknown "Kubelet stopped posting node status."',
    ),
    remediation=(
        "Look at the kubelet and CNI: 'talosctl -n <node-ip> logs kubelet', "
        "'talosctl -n <node-ip> dmesg'. Disk pressure or a crashed CNI pod are common causes."
    ),
    next_action="Check the kubelet on the node (talosctl -n <node-ip> logs kubelet).",
)
def node_not_ready(index: SnapshotIndex) -> list[Finding]:
    if not index.kube_reachable or index.unavailable("v1/nodes"):
        return []
    if not index.nodes:
        if "v1/nodes" not in index.snapshot.resources:
            return []
        return [
            finding(
                "node_not_ready",
                name="node",
                tier="platform",
                reason="No node has registered with Kubernetes yet",
                evidence=[Evidence(kind="NodeList", message="no nodes")],
            )
        ]
    out: list[Finding] = []
    for node in index.nodes:
        r = node_readiness(node)
        if not r.failed:
            continue
        _, name = key_of(node)
        out.append(
            finding(
                "node_not_ready",
                name="node",
                tier="platform",
                reason=f"Node {name} is not Ready ({r.reason}): {r.message}",
                evidence=[object_evidence(node, "Node", r.reason, r.message)],
            )
        )
    return out


# Node pressure conditions (kubelet setters.go: reason KubeletHas<X>Pressure, "kubelet has disk
# pressure") and the taint the node lifecycle controller adds for each
# (node.kubernetes.io/<x>-pressure:NoSchedule; the scheduler then says "… had untolerated taint
# {node.kubernetes.io/disk-pressure: }").
PRESSURE_TAINTS = {
    "DiskPressure": "node.kubernetes.io/disk-pressure",
    "MemoryPressure": "node.kubernetes.io/memory-pressure",
    "PIDPressure": "node.kubernetes.io/pid-pressure",
}
PRESSURE_ACTIONS = {
    "DiskPressure": (
        "Free disk on the node: the kubelet evicts pods while its ephemeral storage or image store "
        "(/var) is below its eviction thresholds (nodefs.available 10%, imagefs.available 15% by "
        "default). See what fills it with 'talosctl -n {ip} usage /var --depth 2' (images under "
        "/var/lib/containerd, pod logs, emptyDir volumes), remove what is not needed or give the "
        "machine a bigger disk; DiskPressure and its taint clear once the kubelet sees enough free space."
    ),
    "MemoryPressure": (
        "The node is short of memory (memory.available below the kubelet's threshold, 100Mi by "
        "default): add memory to the machine or lower the memory requests and limits of "
        "background services in the values."
    ),
    "PIDPressure": (
        "The node is running out of process IDs: find the workload that keeps forking (a "
        "crash-looping wrapper, a runaway worker) and stop it; then the kubelet clears PIDPressure."
    ),
}


def pressure_conditions(node: Node) -> list[tuple[str, str, str]]:
    """(type, reason, message) of each pressure condition that is True on a node."""
    out = []
    for ctype in PRESSURE_TAINTS:
        c = condition(node.get("status") or {}, ctype)
        if c and c.get("status") == "True":
            out.append((ctype, c.get("reason", ""), c.get("message", "")))
    return out


def _pressure_evidence(index: SnapshotIndex, node: Node, kinds: list[str]) -> list[Evidence]:
    evidence: list[Evidence] = []
    taints = {t.get("key") for t in (node.get("spec") or {}).get("taints") or []}
    for ctype, reason, message in pressure_conditions(node):
        taint = PRESSURE_TAINTS[ctype]
        on = f"; taint {taint}:NoSchedule" if taint in taints else ""
        evidence.append(object_evidence(node, "Node", reason, f"{ctype}=True: {message}{on}"))
    for te in reversed(index.events_for(node)):
        if te.reason == "EvictionThresholdMet":
            evidence.append(event_evidence(node, te))
            break
    # What it caused: evicted pods (history now) and pods the taint keeps Pending.
    evicted = [p for p in index.past_pods.values() if (p.get("status") or {}).get("reason") == "Evicted"]
    for p in sorted(evicted, key=lambda p: key_of(p)[1])[:3]:
        status = p.get("status") or {}
        evidence.append(object_evidence(p, "Pod", "Evicted", status.get("message", "")))
    for p in index.unsettled_pods:
        sched = condition(p.get("status") or {}, "PodScheduled")
        msg = (sched or {}).get("message", "")
        if sched and sched.get("status") == "False" and any(PRESSURE_TAINTS[k] in msg for k in kinds):
            evidence.append(object_evidence(p, "Pod", sched.get("reason", "Unschedulable"), msg))
    return evidence


@rule(
    code="node_pressure",
    title="Node under resource pressure",
    layer="platform",
    rank=35,
    meaning=(
        "The kubelet reports DiskPressure, MemoryPressure or PIDPressure: it evicts pods to "
        "reclaim the resource and the node is tainted so replacements stay Pending. This is the "
        "root cause of the evictions and Pending pods it produces; they are listed after it "
        "(evicted pods are history, never crash loops)."
    ),
    signals=(
        'Node condition DiskPressure=True reason KubeletHasDiskPressure "kubelet has disk pressure"',
        'Evicted pod (status.reason Evicted) "The node was low on resource: ephemeral-storage. '
        'Threshold quantity: 4902142413, available: 4515852Ki."',
        'Warning EvictionThresholdMet on the node "Attempting to reclaim ephemeral-storage"',
        'FailedScheduling "0/1 nodes are available: 1 node(s) had untolerated taint '
        '{node.kubernetes.io/disk-pressure: }."',
        "MemoryPressure=True (KubeletHasInsufficientMemory), PIDPressure=True (KubeletHasInsufficientPID)",
    ),
    remediation=(
        "DiskPressure: free space under /var on the node ('talosctl -n <node-ip> usage /var "
        "--depth 2': container images, pod logs, emptyDir volumes) or grow the disk; the "
        "kubelet's eviction thresholds are nodefs.available 10% and imagefs.available 15% by "
        "default. MemoryPressure: add memory or lower memory requests. PIDPressure: stop the "
        "workload that keeps forking. The taint lifts by itself once the condition clears, and "
        "the Pending pods are then scheduled."
    ),
    next_action="Free the resource the node is short of (see its condition); the pods then reschedule.",
)
def node_pressure(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    ip = index.snapshot.site.node_ip or "<node-ip>"
    for node in index.nodes:
        conds = pressure_conditions(node)
        if not conds:
            continue
        _, name = key_of(node)
        kinds = [c[0] for c in conds]
        evicted = sum(
            1 for p in index.past_pods.values() if (p.get("status") or {}).get("reason") == "Evicted"
        )
        detail = ", ".join(f"{t} ({r}: {m})" if m else t for t, r, m in conds)
        reason = f"Node {name} has {detail}"
        if evicted:
            reason += f"; the kubelet evicted {evicted} pod(s)"
        out.append(
            finding(
                "node_pressure",
                name="node",
                tier="platform",
                reason=reason,
                next_action=" ".join(PRESSURE_ACTIONS[k].format(ip=ip) for k in kinds),
                evidence=_pressure_evidence(index, node, kinds),
            )
        )
    return out


@rule(
    code="dns_resolution_failed",
    title="DNS resolution failed",
    layer="network",
    rank=40,
    meaning=(
        "Cluster DNS (CoreDNS) or its upstream resolvers cannot resolve external names, so Flux "
        "cannot fetch the Git source and images cannot be pulled. This is the root cause of the "
        "source and pull failures it produces."
    ),
    signals=(
        "failed to checkout and determine revision: unable to clone 'https://github.com/...': "
        "dial tcp: lookup github.com on 10.96.0.10:53: server misbehaving",
        "dial tcp: lookup ghcr.io: no such host",
        "read udp 10.244.0.5:41234->10.96.0.10:53: i/o timeout",
        "crash-looping container log: getaddrinfo EAI_AGAIN db.msp.svc.cluster.local",
    ),
    remediation=(
        "Check the node's resolvers (bootstrap --dns-servers) and CoreDNS: 'kubectl -n kube-system "
        "logs deploy/coredns'. A resolver that refuses recursive queries or a blocked port 53 "
        "gives 'server misbehaving'. Re-run bootstrap with working --dns-servers."
    ),
    next_action="Fix DNS: give the node working resolvers (bootstrap --dns-servers a,b) and check CoreDNS.",
    repair=RepairSpec(
        None,
        (
            "No automatic repair: the node's resolvers or the network must be fixed (re-run "
            "bootstrap with working --dns-servers)."
        ),
    ),
)
def dns_resolution_failed(index: SnapshotIndex) -> list[Finding]:
    evidence: list[Evidence] = []
    flux_objects = [
        *(("GitRepository", o) for o in index.git_repositories),
        *(("Kustomization", o) for o in index.kustomizations.values()),
        *(("HelmRelease", o) for o in index.helm_releases.values()),
    ]
    for kind, obj in flux_objects:
        r = flux_readiness(obj)
        ready = condition(obj.get("status") or {}, "Ready") or {}
        msg = ready.get("message", "") or r.message
        if not r.ready and matches(msg, DNS_PATTERNS):
            evidence.append(object_evidence(obj, kind, ready.get("reason", r.reason), msg))
    for pod in pods_with_pull_failures_or_crashes(index):
        for pf in pull_failures(index, pod):
            if pf.cause == "dns":
                evidence.extend(pf.evidence)
        for crash in crashes(index, pod):
            if any(matches(line, DNS_PATTERNS) or TEMPORARY_DNS.search(line) for line in crash.logs[-20:]):
                evidence.append(log_evidence(pod, crash.container.get("name", ""), crash.logs))
    if not evidence:
        return []
    first = next(
        (e.message for e in evidence if matches(e.message, DNS_PATTERNS) or TEMPORARY_DNS.search(e.message)),
        evidence[0].message,
    )
    return [
        finding(
            "dns_resolution_failed",
            name="dns",
            tier="platform",
            reason=f"DNS resolution failed: {first.splitlines()[-1] if first else ''}",
            evidence=evidence,
        )
    ]


# What each Flux controller stops when it is down (names as `flux install` deploys them).
FLUX_CONTROLLERS = {
    "source-controller": "no Git source is fetched, so no tier (alga-platform, alga-core, "
    "alga-background) gets a new revision",
    "kustomize-controller": "no Kustomization is applied: no tier (alga-platform, alga-core, "
    "alga-background) is reconciled",
    "helm-controller": "no HelmRelease is installed, upgraded or remediated (alga-core and every "
    "background release)",
    "notification-controller": "Flux events and alerts are not delivered (reconciliation goes on)",
}
CONTROLLER_NOT_READY_GRACE_SECONDS = 300


def _controller_cause(index: SnapshotIndex, pod: Pod) -> tuple[str, str, list[Evidence]] | None:
    """(cause, next action, evidence) when a Flux controller's pod is failing now."""
    ns, _ = key_of(pod)
    name = workload_name(pod)
    for crash in crashes(index, pod):
        cname = crash.container.get("name", "")
        t = crash.terminated
        restarts = crash.container.get("restartCount", 0)
        ev = [
            object_evidence(
                pod,
                "Pod",
                t.get("reason") or crash.waiting_reason,
                f"container {cname}: {t.get('reason') or 'exit'} (exit code {t.get('exitCode', '?')}), "
                f"{restarts} restarts",
            )
        ]
        if crash.logs:
            ev.append(log_evidence(pod, cname, crash.logs))
        if t.get("reason") == "OOMKilled":
            return (
                f"OOMKilled (exit {t.get('exitCode', 137)}), {restarts} restarts",
                f"Raise {name}'s memory limit (a patch on deployment/{name} in {ns}, e.g. through "
                f"the flux-system kustomization), then check 'flux check'.",
                ev,
            )
        return (
            f"crash-looping (exit code {t.get('exitCode', '?')}), {restarts} restarts",
            f"Read {name}'s log ('kubectl -n {ns} logs deploy/{name} --previous') and fix what it "
            "names, then check 'flux check'.",
            ev,
        )
    for cs in iter_container_statuses(pod):
        bad = failing_waiting(cs)
        if bad:
            return (
                f"{bad[0]}: {bad[1]}" if bad[1] else bad[0],
                f"Fix {name}'s pod ({bad[0]}, evidence), then check 'flux check'.",
                [object_evidence(pod, "Pod", bad[0], bad[1])],
            )
    return None


@rule(
    code="flux_controller_unavailable",
    title="Flux controller down",
    layer="gitops",
    rank=45,
    meaning=(
        "A Flux controller in flux-system is not running (OOMKilled, crash loop, image or "
        "configuration error, or its Deployment never becomes available). While it is down "
        "nothing it owns is reconciled: source-controller fetches no Git revision, "
        "kustomize-controller applies no tier, helm-controller installs or upgrades no release. "
        "The Flux objects keep their last status, so they can look fine while nothing moves."
    ),
    signals=(
        "flux-system pod of kustomize-controller: lastState.terminated reason OOMKilled, exit code "
        '137; waiting CrashLoopBackOff "back-off 5m0s restarting failed container=manager ..."',
        "Deployment source-controller / kustomize-controller / helm-controller in flux-system not available",
    ),
    remediation=(
        "Read the controller's log ('kubectl -n flux-system logs deploy/<controller> --previous'); "
        "for OOMKilled raise its memory limit with a patch on the flux-system Deployment; then "
        "'flux check' and 'flux reconcile kustomization alga-platform --with-source'."
    ),
    next_action="Bring the Flux controller back (its log and last state are evidence), then 'flux check'.",
)
def flux_controller_unavailable(index: SnapshotIndex) -> list[Finding]:
    flux_ns = index.catalog.namespaces.flux
    found: dict[str, Finding] = {}
    for pod in index.unsettled_pods:
        ns, _ = key_of(pod)
        name = workload_name(pod)
        if ns != flux_ns or name not in FLUX_CONTROLLERS or name in found:
            continue
        cause = _controller_cause(index, pod)
        if cause is None:
            continue
        what, action, evidence = cause
        found[name] = finding(
            "flux_controller_unavailable",
            name=name,
            tier="platform",
            login_blocking=name != "notification-controller",
            reason=f"Flux {name} is down ({what}): {FLUX_CONTROLLERS[name]}",
            next_action=action,
            evidence=evidence,
        )
    for (ns, name), dep in index.deployments.items():
        if ns != flux_ns or name not in FLUX_CONTROLLERS or name in found:
            continue
        r = deployment_readiness(dep)
        if r.ready:
            continue
        if not r.failed:
            available = condition(dep.get("status") or {}, "Available") or {}
            since = available.get("lastTransitionTime")
            t = parse_time(since)
            if available.get("status") != "False" or t is None:
                continue
            if (index.now - t).total_seconds() < CONTROLLER_NOT_READY_GRACE_SECONDS:
                continue
        found[name] = finding(
            "flux_controller_unavailable",
            name=name,
            tier="platform",
            login_blocking=name != "notification-controller",
            reason=f"Flux {name} is not available ({r.reason}: {r.message}): {FLUX_CONTROLLERS[name]}",
            evidence=[object_evidence(dep, "Deployment", r.reason, r.message)],
        )
    return list(found.values())


@rule(
    code="flux_source_failed",
    title="Flux Git source failed",
    layer="gitops",
    rank=50,
    meaning=(
        "Flux could not fetch the appliance's Git repository (clone, authentication, branch or "
        "revision), so no Kustomization can apply."
    ),
    signals=(
        'GitRepository Ready=False reason GitOperationFailed "failed to checkout and determine '
        "revision: unable to clone '<url>': ...\"",
        'couldn\'t find remote ref "refs/heads/<branch>"',
        "authentication required",
    ),
    remediation=(
        "Check the repository URL and branch the bootstrap used (--repo-url, --branch-override): "
        "the branch must exist on the remote, Flux does not read your worktree. Then "
        "'flux reconcile source git <name> -n flux-system'."
    ),
    next_action="Check the Flux source URL and branch exist on the remote, then reconcile the source.",
)
def flux_source_failed(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    for src in index.git_repositories:
        r = flux_readiness(src)
        if not r.failed:
            continue
        _, name = key_of(src)
        out.append(
            finding(
                "flux_source_failed",
                name="flux-source",
                tier="platform",
                reason=f"GitRepository {name} failed ({r.reason}): {r.message}",
                evidence=[object_evidence(src, "GitRepository", r.reason, r.message)],
            )
        )
    return out
