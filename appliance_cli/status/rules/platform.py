"""Platform rules: Kubernetes and Talos APIs, the node, DNS, the Flux source."""

from __future__ import annotations

from appliance_cli.status.index import SnapshotIndex, condition, key_of
from appliance_cli.status.model import Evidence
from appliance_cli.status.readiness import flux_readiness, node_readiness
from appliance_cli.status.rules.registry import Finding, RepairSpec, finding, rule
from appliance_cli.status.rules.signals import (
    DNS_PATTERNS,
    TEMPORARY_DNS,
    crashes,
    log_evidence,
    matches,
    object_evidence,
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
    for pod in index.pods.values():
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
