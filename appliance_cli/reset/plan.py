"""Read the live cluster and build the reset plan (reads only; a fixed set of calls, in parallel)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from appliance_cli import fluxlayout
from appliance_cli.errors import KubeNotFound
from appliance_cli.reset import wipe
from appliance_cli.reset.model import (
    FluxObject,
    Kept,
    NamespaceTarget,
    PlanStep,
    ResetPlan,
    VolumeTarget,
    WipeTarget,
)

if TYPE_CHECKING:
    from appliance_cli.adapters.kubeapi import KubeApi

Obj = dict[str, Any]

GITREPOS = "source.toolkit.fluxcd.io/v1/gitrepositories"
KUSTOMIZATIONS = "kustomize.toolkit.fluxcd.io/v1/kustomizations"
HELMRELEASES = "helm.toolkit.fluxcd.io/v2/helmreleases"
APPLIANCE_SOURCES = (fluxlayout.APPLIANCE_SOURCE, fluxlayout.CHARTS_SOURCE)
TIER_KUSTOMIZATIONS = ("alga-background", "alga-core", "alga-platform")  # deletion order: top tier first
APP_NAMESPACES = (fluxlayout.APP_NAMESPACE, fluxlayout.HELM_NAMESPACE)
LOCAL_PATH_CONFIG = ("local-path-storage", "local-path-config")
DEFAULT_LOCAL_PATH_ROOT = "/var/local-path-provisioner"
STATUS_DEPLOYMENT = (fluxlayout.STATUS_NAMESPACE, "appliance-status")
STATUS_SECRET = (fluxlayout.STATUS_NAMESPACE, "appliance-status-auth")


def _items(kube: KubeApi, key: str, namespace: str | None = None, selector: str | None = None) -> list[Obj]:
    """A LIST; an API that is not installed (no Flux CRDs yet) is an empty list."""
    try:
        items = kube.list_raw(key, namespace, label_selector=selector).get("items") or []
    except KubeNotFound:
        return []
    return [i for i in items if isinstance(i, dict)]


def _get(kube: KubeApi, key: str, namespace: str | None, name: str) -> Obj | None:
    try:
        return kube.get(key, namespace, name)
    except KubeNotFound:
        return None


def _local_path_settings(config: Obj | None) -> tuple[str, str]:
    """(root, helper image) from the provisioner's ConfigMap; the installed defaults otherwise."""
    data = (config or {}).get("data") or {}
    root, image = DEFAULT_LOCAL_PATH_ROOT, wipe.DEFAULT_HELPER_IMAGE
    try:
        node_map = json.loads(data.get("config.json") or "{}").get("nodePathMap") or []
        paths = [p for entry in node_map for p in (entry.get("paths") or [])]
        if paths:
            root = str(paths[0])
            root = root.rstrip("/") if len(root) > 1 else root  # "/" stays "/" (and is refused)
    except (ValueError, AttributeError):
        pass
    try:
        helper = yaml.safe_load(data.get("helperPod.yaml") or "") or {}
        containers = ((helper.get("spec") or {}).get("containers")) or []
        if containers and containers[0].get("image"):
            image = str(containers[0]["image"])
    except (yaml.YAMLError, AttributeError):
        pass
    return root, image


def _host_path(pv: Obj) -> str | None:
    spec = pv.get("spec") or {}
    path = (spec.get("hostPath") or {}).get("path") or (spec.get("local") or {}).get("path")
    return str(path) if path else None


def read_cluster(kube: KubeApi) -> dict[str, Any]:
    """Every read the plan needs, issued in parallel: 10 calls whatever the cluster's size."""
    calls: dict[str, Any] = {
        "gitrepos": lambda: _items(kube, GITREPOS, fluxlayout.FLUX_NAMESPACE),
        "kustomizations": lambda: _items(kube, KUSTOMIZATIONS, fluxlayout.FLUX_NAMESPACE),
        "helmreleases": lambda: _items(kube, HELMRELEASES),
        "namespaces": lambda: _items(kube, "v1/namespaces"),
        "pods": lambda: _items(kube, "v1/pods"),
        "pvcs": lambda: _items(kube, "v1/persistentvolumeclaims"),
        "configmaps": lambda: [c for ns in APP_NAMESPACES for c in _items(kube, "v1/configmaps", ns)],
        "pvs": lambda: _items(kube, "v1/persistentvolumes"),
        "localpath": lambda: _get(kube, "v1/configmaps", *LOCAL_PATH_CONFIG),
        "wipejob": lambda: _get(kube, "batch/v1/jobs", wipe.WIPE_NAMESPACE, wipe.WIPE_JOB_NAME),
        "status": lambda: _get(kube, "apps/v1/deployments", *STATUS_DEPLOYMENT),
        "secret": lambda: _get(kube, "v1/secrets", *STATUS_SECRET) is not None,
    }
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = {name: pool.submit(fn) for name, fn in calls.items()}
        return {name: f.result() for name, f in futures.items()}


def build_plan(kube: KubeApi, *, site_id: str, server: str, site_dir: Path | None) -> ResetPlan:
    """The ordered plan over what exists now. Raises ``KubeUnreachable`` & co. unchanged."""
    seen = read_cluster(kube)
    return plan_from(seen, site_id=site_id, server=server, site_dir=site_dir)


def _flux(obj: Obj, kind: str) -> FluxObject:
    meta = obj.get("metadata") or {}
    return FluxObject(
        kind=kind,
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        suspended=bool((obj.get("spec") or {}).get("suspend")),
    )


def plan_from(seen: dict[str, Any], *, site_id: str, server: str, site_dir: Path | None) -> ResetPlan:
    """Pure: the plan from what ``read_cluster`` returned."""
    by_name = {(o.get("metadata") or {}).get("name"): o for o in seen["kustomizations"]}
    flux = [_flux(by_name[n], "Kustomization") for n in TIER_KUSTOMIZATIONS if n in by_name]
    repos = {(o.get("metadata") or {}).get("name"): o for o in seen["gitrepos"]}
    flux += [_flux(repos[n], "GitRepository") for n in APPLIANCE_SOURCES if n in repos]
    releases = [
        _flux(hr, "HelmRelease")
        for hr in seen["helmreleases"]
        if (hr.get("metadata") or {}).get("namespace") in APP_NAMESPACES
    ]

    present = {(n.get("metadata") or {}).get("name"): n for n in seen["namespaces"]}
    namespaces = []
    for ns in APP_NAMESPACES:
        if ns not in present:
            continue

        def count(kind: str, ns: str = ns) -> int:
            return sum(1 for o in seen[kind] if (o.get("metadata") or {}).get("namespace") == ns)

        phase = ((present[ns].get("status") or {}).get("phase")) or ""
        namespaces.append(
            NamespaceTarget(
                name=ns,
                pods=count("pods"),
                pvcs=count("pvcs"),
                config_maps=count("configmaps"),
                terminating=phase == "Terminating",
            )
        )

    root, image = _local_path_settings(seen["localpath"])
    root = wipe.validate_root(root)
    volumes: list[VolumeTarget] = []
    keep: set[str] = set()
    known: list[str] = []
    for pv in sorted(seen["pvs"], key=lambda p: str((p.get("metadata") or {}).get("name"))):
        spec = pv.get("spec") or {}
        claim = spec.get("claimRef") or {}
        host = _host_path(pv)
        entry = wipe.entry_of(host, root) if host else None
        if claim.get("namespace") in APP_NAMESPACES:
            volumes.append(
                VolumeTarget(
                    name=str(pv["metadata"]["name"]),
                    claim=f"{claim.get('namespace')}/{claim.get('name')}",
                    size=str((spec.get("capacity") or {}).get("storage") or "?"),
                    host_path=host,
                    phase=str((pv.get("status") or {}).get("phase") or ""),
                )
            )
            if entry:
                known.append(entry)
        elif entry:
            keep.add(wipe.validate_entry(entry))
    wipe_target = WipeTarget(
        namespace=wipe.WIPE_NAMESPACE,
        job_name=wipe.WIPE_JOB_NAME,
        image=image,
        path=root,
        root=root,
        keep=sorted(keep),
        known_entries=known,
        leftover_job=seen["wipejob"] is not None,
        create_namespace=wipe.WIPE_NAMESPACE not in present,
    )
    plan = ResetPlan(
        site_id=site_id,
        server=server,
        flux=flux,
        helm_releases=releases,
        namespaces=namespaces,
        volumes=volumes,
        wipe=wipe_target,
        keep=_kept(seen, site_dir),
        status_service=seen["status"] is not None,
        status_token=bool(seen["secret"]),
    )
    return plan.model_copy(update={"steps": steps_of(plan)})


def _kept(seen: dict[str, Any], site_dir: Path | None) -> list[Kept]:
    status = "present" if seen["status"] is not None else "not installed yet"
    token = "present" if seen["secret"] else "not created yet"
    out = [
        Kept(what="Talos Linux", detail="the node's operating system, its disk and machine configuration"),
        Kept(what="Kubernetes", detail="the cluster, the node and its system pods"),
        Kept(what="Flux controllers", detail="namespace flux-system (only the appliance's objects in it go)"),
        Kept(what="Local storage", detail="the local-path provisioner and its StorageClass"),
        Kept(
            what="Status service",
            detail=f"Deployment {'/'.join(STATUS_DEPLOYMENT)} ({status}) and its token, "
            f"Secret {'/'.join(STATUS_SECRET)} ({token}): the status page stays up during the re-install",
        ),
    ]
    if site_dir is not None:
        out.append(
            Kept(
                what="Site directory",
                detail=f"{site_dir} (kubeconfig, talosconfig, status token); its journal is marked "
                "so the next bootstrap installs fresh",
            )
        )
    return out


def steps_of(plan: ResetPlan) -> list[PlanStep]:
    """The ordered steps, each naming the real objects it touches."""
    w = plan.wipe
    releases = f" and the {len(plan.helm_releases)} HelmReleases" if plan.helm_releases else ""
    ns_lines = [
        f"namespace {n.name}: {n.pods} pods, {n.pvcs} volume claims, {n.config_maps} ConfigMaps"
        + (" (already terminating)" if n.terminating else "")
        for n in plan.namespaces
    ]
    vol_lines = [
        f"PersistentVolume {v.name}: {v.size} for claim {v.claim}, on the node at {v.host_path or '?'}"
        for v in plan.volumes
    ]
    keep = ", ".join(w.keep) if w.keep else "nothing"
    where = f"{w.namespace} (created again first, privileged)" if w.create_namespace else w.namespace
    return [
        PlanStep(
            number=1,
            title="Pause Flux",
            description="Suspend the appliance's Flux sources and tiers"
            f"{releases}, so Flux neither re-creates nor prunes anything while data is deleted",
            objects=[o.ref for o in [*plan.flux, *plan.helm_releases]] or ["none left"],
        ),
        PlanStep(
            number=2,
            title="Remove the Flux objects",
            description="Delete the suspended tier Kustomizations and Git sources "
            "(suspended, so Flux removes nothing else, the status service included)",
            objects=[o.ref for o in plan.flux] or ["none left"],
        ),
        PlanStep(
            number=3,
            title="Delete the application",
            description="Delete the application namespaces with every pod, setting and volume claim in them",
            objects=ns_lines or ["none left"],
        ),
        PlanStep(
            number=4,
            title="Delete the data volumes",
            description="Delete the volumes that held the application's data (database, cache)",
            objects=vol_lines or ["none left"],
        ),
        PlanStep(
            number=5,
            title="Wipe the data directory",
            description=f"Run Job {w.job_name} in namespace {where} (image {w.image}, privileged) "
            f"that empties {w.path} on the node; it keeps: {keep}",
            objects=[f"{w.path}/{e}" for e in w.known_entries] or [f"{w.path} (whatever is left in it)"],
        ),
        PlanStep(
            number=6,
            title="Verify",
            description="Check that the namespaces, volumes and Flux objects are gone, the data directory "
            "is empty, and the status service and its token are still there",
        ),
    ]
