"""Flux objects: GitRepository, Kustomization, HelmRelease and the controllers' events."""

from __future__ import annotations

from .components import HELM_RELEASES, KUSTOMIZATION_DEPENDS
from .events import event
from .ids import (
    APP_REPO,
    APPLIANCE_REPO,
    APPLIANCE_REV,
    CHARTS_REV,
    RELEASE,
    Obj,
    digest,
    hexdigest,
    meta,
    ts,
)


def cond(ctype: str, status: str, reason: str, message: str, *, when: float, generation: int = 1) -> Obj:
    return {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": ts(when),
    }


def flux_conditions(
    ready: str,
    reason: str,
    message: str,
    *,
    when: float,
    stalled: tuple[str, str] | None = None,
    reconciling: bool = False,
) -> list[Obj]:
    """The kstatus conditions of a Flux object: Ready, plus Reconciling while it works and
    Stalled (reason, message) when it gave up."""
    conds = [cond("Ready", ready, reason, message, when=when)]
    if reconciling:
        conds.append(cond("Reconciling", "True", "Progressing", message, when=when))
    if stalled:
        conds.append(cond("Stalled", "True", stalled[0], stalled[1], when=when))
    return conds


def helm_release_source(hr: str) -> tuple[str, str, str]:
    """(tier Kustomization, chart name, chart path) of a HelmRelease; an unknown one is its own chart."""
    return HELM_RELEASES.get(hr, ("alga-background", hr, f"./helm/charts/{hr}"))


def git_repository(
    name: str, *, ready: bool = True, failure: str | None = None, created: float = 5000
) -> Obj:
    url, branch, revision = (
        (APPLIANCE_REPO, "main", APPLIANCE_REV)
        if name == "alga-appliance"
        else (APP_REPO, "release/1.0-rc5", CHARTS_REV)
    )
    status: Obj = {"observedGeneration": 1}
    if ready:
        status["conditions"] = [
            cond(
                "Ready", "True", "Succeeded", f"stored artifact for revision '{revision}'", when=created - 20
            ),
            cond(
                "ArtifactInStorage",
                "True",
                "Succeeded",
                f"stored artifact for revision '{revision}'",
                when=created - 20,
            ),
        ]
        status["artifact"] = {
            "digest": digest("artifact/" + revision),
            "lastUpdateTime": ts(created - 20),
            "path": f"gitrepository/flux-system/{name}/{revision.split(':')[1]}.tar.gz",
            "revision": revision,
            "size": 184233,
            "url": f"http://source-controller.flux-system.svc.cluster.local./gitrepository/flux-system/{name}/"
            f"{revision.split(':')[1]}.tar.gz",
        }
    else:
        status["conditions"] = [
            cond("Reconciling", "True", "ProgressingWithRetry", "building artifact", when=created - 5),
            cond("Ready", "False", "GitOperationFailed", failure or "", when=created - 5),
            cond("FetchFailed", "True", "GitOperationFailed", failure or "", when=created - 5),
        ]
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": meta(
            "GitRepository",
            name,
            "flux-system",
            created=created,
            generation=1,
            labels={"app.kubernetes.io/part-of": "alga-appliance"},
        )
        | {"finalizers": ["finalizers.fluxcd.io"]},
        "spec": {
            "interval": "5m0s" if name == "alga-appliance" else "10m0s",
            "ref": {"branch": branch},
            "timeout": "60s" if name == "alga-appliance" else "120s",
            "url": url,
        },
        "status": status,
    }


def kustomization(
    name: str, *, state: str = "ready", message: str | None = None, created: float = 4900
) -> Obj:
    """state: ready | dependency | progressing | failed-reconcile | failed-health | artifact."""
    depends = KUSTOMIZATION_DEPENDS.get(name, [])
    path = f"./flux/base/{name.removeprefix('alga-')}"
    status: Obj = {"observedGeneration": 1}
    if state == "ready":
        status["conditions"] = [
            cond(
                "Ready",
                "True",
                "ReconciliationSucceeded",
                f"Applied revision: {APPLIANCE_REV}",
                when=created - 200,
            ),
            cond("Healthy", "True", "Succeeded", "Health check passed in 1m42.318s", when=created - 200),
        ]
        status["lastAppliedRevision"] = APPLIANCE_REV
        status["lastAttemptedRevision"] = APPLIANCE_REV
    elif state == "dependency":
        status["observedGeneration"] = -1
        status["conditions"] = [
            cond(
                "Ready",
                "False",
                "DependencyNotReady",
                message or f"dependency 'flux-system/{depends[0]}' is not ready",
                when=created - 5,
            )
        ]
    elif state == "progressing":
        status["observedGeneration"] = -1
        status["conditions"] = [
            cond(
                "Reconciling",
                "True",
                "Progressing",
                f"Running health checks for revision {APPLIANCE_REV} with a timeout of 30m0s",
                when=created - 10,
            ),
            cond("Ready", "Unknown", "Progressing", "Reconciliation in progress", when=created - 10),
        ]
        status["lastAttemptedRevision"] = APPLIANCE_REV
    elif state == "failed-health":
        status["conditions"] = [
            cond("Ready", "False", "HealthCheckFailed", message or "", when=created - 5),
            cond("Healthy", "False", "HealthCheckFailed", message or "", when=created - 5),
        ]
        status["lastAttemptedRevision"] = APPLIANCE_REV
    elif state == "failed-reconcile":
        status["conditions"] = [
            cond("Ready", "False", "ReconciliationFailed", message or "", when=created - 5)
        ]
        status["lastAttemptedRevision"] = APPLIANCE_REV
    elif state == "artifact":
        status["observedGeneration"] = -1
        status["conditions"] = [
            cond(
                "Ready",
                "False",
                "ArtifactFailed",
                "Source artifact not found, retrying in 30s",
                when=created - 5,
            )
        ]
    spec: Obj = {
        "interval": "10m0s",
        "path": path,
        "prune": True,
        "wait": True,
        "timeout": "30m0s",
        "retryInterval": "1m0s",
        "sourceRef": {"kind": "GitRepository", "name": "alga-appliance"},
    }
    if depends:
        spec["dependsOn"] = [{"name": d} for d in depends]
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": meta(
            "Kustomization",
            name,
            "flux-system",
            created=created,
            generation=1,
            labels={"app.kubernetes.io/part-of": "alga-appliance"},
        )
        | {"finalizers": ["finalizers.fluxcd.io"]},
        "spec": spec,
        "status": status,
    }


def history_entry(hr: str, *, status: str, deployed: float, version: int = 1) -> Obj:
    _tier, chart, _path = helm_release_source(hr)
    return {
        "name": hr,
        "namespace": "msp",
        "version": version,
        "status": status,
        "chartName": chart,
        "chartVersion": "0.1.0",
        "appVersion": RELEASE,
        "configDigest": digest("values/" + hr),
        "digest": digest("release/" + hr + str(version) + status),
        "firstDeployed": ts(deployed),
        "lastDeployed": ts(deployed),
    }


def helm_release(
    hr: str,
    *,
    state: str = "ready",
    message: str | None = None,
    created: float = 4200,
    failed_at: float | None = None,
    remediated: bool = False,
) -> Obj:
    """state: ready | installing | install-failed | dependency."""
    _tier, chart, path = helm_release_source(hr)
    full = f"msp/{hr}.v1"
    status: Obj = {
        "observedGeneration": 1,
        "helmChart": f"flux-system/alga-system-{hr}",
        "lastAttemptedGeneration": 1,
        "lastAttemptedRevision": "0.1.0",
        "lastAttemptedConfigDigest": digest("values/" + hr),
        "storageNamespace": "msp",
    }
    if state == "ready":
        msg = f"Helm install succeeded for release {full} with chart {chart}@0.1.0"
        status.update(
            {
                "conditions": [
                    cond("Ready", "True", "InstallSucceeded", msg, when=created - 300),
                    cond("Released", "True", "InstallSucceeded", msg, when=created - 300),
                ],
                "history": [history_entry(hr, status="deployed", deployed=created - 10)],
                "lastAttemptedReleaseAction": "install",
                "lastAttemptedReleaseActionDuration": "4m48.211s",
            }
        )
    elif state == "installing":
        msg = "Running 'install' action with timeout of 30m0s"
        status.update(
            {
                "conditions": [
                    cond("Reconciling", "True", "Progressing", msg, when=created - 5),
                    cond("Ready", "Unknown", "Progressing", msg, when=created - 5),
                ],
                "history": [history_entry(hr, status="pending-install", deployed=created - 8)],
                "lastAttemptedReleaseAction": "install",
            }
        )
    elif state == "install-failed":
        msg = message or (
            f"Helm install failed for release msp/{hr} with chart {chart}@0.1.0: context deadline exceeded"
        )
        at = failed_at if failed_at is not None else max(created - (1810 if hr == "alga-core" else 610), 30)
        conditions = [
            cond("Stalled", "True", "RetriesExceeded", "Failed to install after 1 attempt(s)", when=at),
            cond("Ready", "False", "InstallFailed", msg, when=at),
            cond("Released", "False", "InstallFailed", msg, when=at),
        ]
        history_status = "failed"
        if remediated:
            conditions.append(
                cond(
                    "Remediated",
                    "True",
                    "UninstallSucceeded",
                    f"Helm uninstall remediation for release {full} with chart {chart}@0.1.0 succeeded",
                    when=at - 2,
                )
            )
            history_status = "uninstalled"
        status.update(
            {
                "conditions": conditions,
                "history": [history_entry(hr, status=history_status, deployed=created - 10)],
                "failures": 1,
                "installFailures": 1,
                "lastAttemptedReleaseAction": "install",
                "lastAttemptedReleaseActionDuration": "30m0.042s" if hr == "alga-core" else "10m0.018s",
            }
        )
    elif state == "dependency":
        msg = message or "dependency 'alga-system/temporal' is not ready"
        status.update(
            {
                "observedGeneration": -1,
                "conditions": [cond("Ready", "False", "DependencyNotReady", msg, when=created - 5)],
            }
        )
    tier = helm_release_source(hr)[0]
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": meta(
            "HelmRelease",
            hr,
            "alga-system",
            created=created,
            generation=1,
            labels={
                "app.kubernetes.io/part-of": "alga-appliance",
                "kustomize.toolkit.fluxcd.io/name": tier,
                "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
            },
        )
        | {"finalizers": ["finalizers.fluxcd.io"]},
        "spec": {
            "chart": {
                "spec": {
                    "chart": path,
                    "reconcileStrategy": "Revision",
                    "interval": "10m0s",
                    "sourceRef": {
                        "kind": "GitRepository",
                        "name": "alga-psa-charts",
                        "namespace": "flux-system",
                    },
                }
            },
            "interval": "10m0s",
            "releaseName": hr,
            "storageNamespace": "msp",
            "targetNamespace": "msp",
            "timeout": "30m0s" if hr == "alga-core" else "10m0s",
            "install": {
                "remediation": {"retries": 0, "remediateLastFailure": True} if remediated else {"retries": 0}
            },
            "valuesFrom": [
                {"kind": "ConfigMap", "name": f"appliance-values-{hr}", "valuesKey": "values.yaml"}
            ],
        },
        "status": status,
    }


def flux_event(
    obj: Obj,
    reason: str,
    message: str,
    *,
    type: str = "Warning",
    first: float,
    last: float | None = None,
    count: int = 1,
) -> Obj:
    controller = {
        "GitRepository": "source-controller",
        "Kustomization": "kustomize-controller",
        "HelmRelease": "helm-controller",
    }[obj["kind"]]
    ev = event(obj, reason, message, type=type, first=first, last=last, count=count, component=controller)
    ev["reportingInstance"] = (
        f"{controller}-{hexdigest('ctl', controller, n=10)[:10]}-{hexdigest(controller, n=5)}"
    )
    return ev


# --- ConfigMaps ------------------------------------------------------------------------------
