"""Generic rules: Flux Kustomizations and HelmReleases, and workloads that are simply not ready.

These are symptoms: they rank below any specific cause, and the classifier lists them after it.
"""

from __future__ import annotations

from appliance_cli.status.index import SnapshotIndex, TimedEvent, key_of, parse_time
from appliance_cli.status.model import ComponentTier, Evidence
from appliance_cli.status.readiness import (
    IMAGE_PULL_WAITING_REASONS,
    failing_waiting,
    flux_readiness,
    workload_readiness,
)
from appliance_cli.status.rules.registry import Finding, RepairSpec, finding, rule
from appliance_cli.status.rules.signals import event_evidence, object_evidence, pull_failures

NOT_READY_GRACE_SECONDS = 600


@rule(
    code="kustomization_failed",
    title="Flux Kustomization failed",
    layer="gitops",
    rank=210,
    meaning=(
        "A tier Kustomization (alga-platform, alga-core, alga-background) failed to build, "
        "apply or pass its health checks. Held by DependencyNotReady or still reconciling is "
        "waiting, not failure. A specific cause listed above usually explains it."
    ),
    signals=(
        "Kustomization Ready=False reason BuildFailed / ReconciliationFailed / HealthCheckFailed",
        '"health check failed after 5m0s: timeout waiting for: [Deployment/msp/workflow-worker '
        "status: 'InProgress']\"",
        "Stalled=True",
    ),
    remediation=(
        "Fix the cause named in its message (or the specific blocker listed above), then "
        "'flux reconcile kustomization <name> -n flux-system --with-source'."
    ),
    next_action="Fix the cause listed above, then 'flux reconcile kustomization <name> --with-source'.",
    generic=True,
    repair=RepairSpec(
        "reconcile_kustomization",
        (
            "Once no specific cause is listed: ask kustomize-controller to reconcile the "
            "Kustomization with its source (reconcile.fluxcd.io/requestedAt on the "
            "GitRepository, then on the Kustomization, as 'flux reconcile kustomization "
            "--with-source' does)."
        ),
        touches=("Kustomization", "GitRepository"),
        after_cause=True,
    ),
)
def kustomization_failed(index: SnapshotIndex) -> list[Finding]:
    tiers: dict[str, ComponentTier] = {k.name: k.tier for k in index.catalog.kustomizations}
    out: list[Finding] = []
    for name, ks in index.kustomizations.items():
        r = flux_readiness(ks)
        if not r.failed:
            continue
        tier = tiers.get(name, "platform")
        out.append(
            finding(
                "kustomization_failed",
                name=name,
                tier=tier,
                reason=f"Kustomization {name} failed ({r.reason}): {' '.join(r.message.split())}",
                next_action=f"Fix the cause listed above, then 'flux reconcile kustomization {name} "
                "-n flux-system --with-source'.",
                evidence=[object_evidence(ks, "Kustomization", r.reason, r.message)],
            )
        )
    return out


@rule(
    code="helmrelease_failed",
    title="HelmRelease failed",
    layer="gitops",
    rank=220,
    meaning=(
        "Helm could not install or upgrade a release. 'context deadline exceeded' only means Helm "
        "gave up waiting for the workloads: the real cause (a volume, an image, a crash) is the "
        "specific blocker listed before it."
    ),
    signals=(
        'HelmRelease Ready=False reason InstallFailed "Helm install failed for release '
        'alga-system/alga-core with chart alga-core@0.1.0: context deadline exceeded"',
        'Stalled=True reason RetriesExceeded "Failed to install after 1 attempt(s)"',
        '"install retries exhausted" / "upgrade retries exhausted"',
    ),
    remediation=(
        "Fix the specific cause listed above, then retry: 'flux reconcile helmrelease <name> "
        "-n alga-system --force' (or suspend/resume to reset the retry counter)."
    ),
    next_action=(
        "Fix the cause listed above, then 'flux reconcile helmrelease <name> -n alga-system --force'."
    ),
    generic=True,
    repair=RepairSpec(
        "retry_helmrelease",
        (
            "Once no specific cause is listed (the classifier no longer sees it): reset the "
            "release's failure count and force a new release the documented Flux way "
            "(reconcile.fluxcd.io/resetAt and forceAt equal to requestedAt, as 'flux "
            "reconcile helmrelease --reset --force' does), then reconcile its tier "
            "Kustomization with its source."
        ),
        touches=("HelmRelease", "Kustomization", "GitRepository"),
        after_cause=True,
    ),
)
def helmrelease_failed(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    for name, hr in index.helm_releases.items():
        r = flux_readiness(hr)
        if not r.failed:
            continue
        comp = index.component_of_helm_release(name)
        evidence = [object_evidence(hr, "HelmRelease", r.reason, r.message)]
        warnings: list[TimedEvent] = [te for te in index.events_for(hr) if te.type == "Warning"]
        if warnings:
            evidence.append(event_evidence(hr, warnings[-1]))
        ns, _ = key_of(hr)
        out.append(
            finding(
                "helmrelease_failed",
                component=comp,
                name=None if comp else name,
                tier=None if comp else "background",
                reason=f"HelmRelease {name} failed ({r.reason}): {' '.join(r.message.split())}",
                next_action=f"Fix the cause listed above, then 'flux reconcile helmrelease {name} "
                f"-n {ns or index.catalog.namespaces.helm_releases} --force'.",
                evidence=evidence,
            )
        )
    return out


@rule(
    code="workload_not_ready",
    title="Workload not ready",
    layer="workload",
    rank=230,
    meaning=(
        "A component's Deployment/StatefulSet is not ready and no more specific cause was found: "
        "its rollout exceeded the progress deadline, a pod fails in a way no other rule names, "
        "or it stays unready (failing readiness probe) for more than 10 minutes."
    ),
    signals=(
        "Deployment condition Progressing=False reason ProgressDeadlineExceeded",
        'Warning Unhealthy "Readiness probe failed: HTTP probe failed with statuscode: 503"',
        'Back-off pulling image "X" with no recorded cause',
    ),
    remediation=(
        "Look at the component's pods and events ('appliance support-bundle' collects them) for "
        "the error; 'appliance status' names the specific cause once it is visible."
    ),
    next_action="Inspect the component's pods and events (appliance support-bundle) for the error.",
    generic=True,
)
def workload_not_ready(index: SnapshotIndex) -> list[Finding]:
    out: list[Finding] = []
    for comp in index.catalog.components:
        wl = index.workload(comp)
        if wl is None:
            continue
        r = workload_readiness(wl, comp.workload.kind)
        if r.ready:
            continue
        _ns, name = key_of(wl)
        evidence: list[Evidence] = []
        reason = ""
        if r.failed:
            evidence.append(object_evidence(wl, comp.workload.kind, r.reason, r.message))
            reason = f"{comp.workload.kind} {name} failed to progress: {r.message}"
        for pod in index.pods_by_component.get(comp.name, []):
            if reason:
                break
            for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                bad = failing_waiting(cs)
                if bad is None or bad[0] in ("CrashLoopBackOff", "CreateContainerConfigError"):
                    continue  # crash_loop / container_config_error / subPath own these
                if bad[0] in IMAGE_PULL_WAITING_REASONS and any(
                    pf.cause != "unknown" for pf in pull_failures(index, pod)
                ):
                    continue
                evidence.append(object_evidence(pod, "Pod", bad[0], bad[1]))
                reason = f"Pod {key_of(pod)[1]} is in {bad[0]}: {bad[1]}"
                break
            if reason:
                break
            state_running = [
                cs
                for cs in (pod.get("status") or {}).get("containerStatuses") or []
                if (cs.get("state") or {}).get("running") and not cs.get("ready")
            ]
            for cs in state_running:
                started = parse_time(((cs.get("state") or {}).get("running") or {}).get("startedAt"))
                if started and (index.now - started).total_seconds() > NOT_READY_GRACE_SECONDS:
                    unhealthy = [te for te in index.events_for(pod) if te.reason == "Unhealthy"]
                    if unhealthy:
                        evidence.append(event_evidence(pod, unhealthy[-1]))
                    minutes = int((index.now - started).total_seconds() // 60)
                    reason = f"Pod {key_of(pod)[1]} has run {minutes} minutes without becoming ready"
                    break
        if reason:
            out.append(finding("workload_not_ready", component=comp, reason=reason, evidence=evidence))
    return out
