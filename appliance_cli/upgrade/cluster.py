"""What an upgrade reads from the cluster and what it would write, as plain data.

- ``read_selection``: ``alga-system/appliance-release-selection`` — the release running now
  and the operator intent bootstrap recorded (app URL, appliance repository and branch);
- ``desired_objects``: per tier, the values ConfigMaps, the release selection and the tier
  Kustomization a release needs, built by ``fluxlayout`` exactly as bootstrap builds them;
- ``changed``: whether a desired object differs from the live one (an upgrade to the running
  release applies nothing);
- ``config_snapshot``: the live configuration a backup keeps so rollback can put it back;
- ``core_at_release``: the core gate's cluster side (HelmReleases handled the request and
  Ready, the login workload's pods all run the release's image and are ready).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from appliance_cli import fluxlayout
from appliance_cli.bootstrap.waits import Seen
from appliance_cli.catalog import load_catalog
from appliance_cli.errors import ActionRequired, KubeNotFound

if TYPE_CHECKING:
    from appliance_cli.adapters.kubeapi import KubeApi
    from appliance_cli.releases import Release

Obj = dict[str, Any]
CM_KEY = "v1/configmaps"
KS_KEY = "kustomize.toolkit.fluxcd.io/v1/kustomizations"
HR_KEY = "helm.toolkit.fluxcd.io/v2/helmreleases"
JOB_KEY = "batch/v1/jobs"
POD_KEY = "v1/pods"
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
UpgradeTier = Literal["core", "background"]


@dataclass(frozen=True)
class Intent:
    """What the operator chose at bootstrap, read from where it was recorded."""

    app_url: str
    repo_url: str
    branch: str


def get_or_none(kube: KubeApi, key: str, namespace: str | None, name: str) -> Obj | None:
    try:
        return kube.get(key, namespace, name)
    except KubeNotFound:
        return None


def read_selection(kube: KubeApi) -> dict[str, str]:
    cm = get_or_none(kube, CM_KEY, fluxlayout.HELM_NAMESPACE, fluxlayout.RELEASE_SELECTION_CONFIGMAP)
    return {str(k): str(v) for k, v in ((cm or {}).get("data") or {}).items()}


def recorded_intent(
    selection: dict[str, str], *, site_app_url: str | None, repo_url: str, branch: str
) -> Intent:
    """App URL, repository and branch as recorded; never a default the operator did not choose.

    The app URL comes from the release selection (what the running app was given), else the
    site's ``app-url`` file; without either the upgrade refuses rather than invent one.
    """
    app_url = selection.get("appUrl") or site_app_url
    if not app_url:
        raise ActionRequired(
            "the app URL this appliance was installed with is not recorded "
            "(no appUrl in appliance-release-selection, no app-url file in the site directory); "
            "nothing was changed",
            hint="write the URL users log in with into <site>/app-url, then run the upgrade again",
        )
    return Intent(
        app_url=app_url,
        repo_url=selection.get("applianceRepoUrl") or repo_url,
        branch=selection.get("applianceBranch") or branch,
    )


def tier_helm_releases(tier: UpgradeTier) -> list[str]:
    return [name for name, t in fluxlayout.helm_release_tiers().items() if t == tier]


def desired_objects(release: Release, intent: Intent, tier: UpgradeTier) -> list[Obj]:
    """The objects a tier of ``release`` needs (the app is never re-seeded: mode recover)."""
    names = {fluxlayout.values_configmap_name(n) for n in tier_helm_releases(tier)}
    objs = [
        cm
        for cm in fluxlayout.values_configmaps(release, app_url=intent.app_url, bootstrap_mode="recover")
        if cm["metadata"]["name"] in names
    ]
    if tier == "core":
        objs.append(
            fluxlayout.release_selection_configmap(
                release,
                appliance_repo_url=intent.repo_url,
                appliance_branch=intent.branch,
                app_url=intent.app_url,
                bootstrap_mode="recover",
            )
        )
    tiers: list[Any] = ["platform", "core"] if tier == "core" else ["background"]
    objs += fluxlayout.tier_kustomizations(
        branch=intent.branch, repo_url=intent.repo_url, release=release, tiers=tiers
    )
    return objs


def _subset(want: Any, have: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_subset(v, have.get(k)) for k, v in want.items())
    return bool(want == have)


def changed(kube: KubeApi, obj: Obj) -> bool:
    """Whether applying ``obj`` would change the live object (labels, annotations, data, spec)."""
    from appliance_cli.bootstrap.actions import resource_key

    meta = obj["metadata"]
    live = get_or_none(kube, resource_key(obj), meta.get("namespace"), meta["name"])
    if live is None:
        return True
    live_meta = live.get("metadata") or {}
    for field in ("labels", "annotations"):
        if not _subset(meta.get(field) or {}, live_meta.get(field) or {}):
            return True
    if "data" in obj and (obj.get("data") or {}) != (live.get("data") or {}):
        return True
    return "spec" in obj and not _subset(obj["spec"], live.get("spec") or {})


def _clean(obj: Obj) -> Obj:
    """A live object reduced to what applying it back needs."""
    meta = obj.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith("reconcile.")}
    out: Obj = {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {
            "name": meta.get("name"),
            **({"namespace": meta["namespace"]} if meta.get("namespace") else {}),
            **({"labels": meta["labels"]} if meta.get("labels") else {}),
            **({"annotations": annotations} if annotations else {}),
        },
    }
    for field in ("data", "spec"):
        if field in obj:
            out[field] = copy.deepcopy(obj[field])
    return out


def config_snapshot(kube: KubeApi) -> list[Obj]:
    """Values ConfigMaps, the release selection, the tier Kustomizations and HelmRelease specs."""
    out: list[Obj] = []
    for cm in kube.list_raw(CM_KEY, fluxlayout.HELM_NAMESPACE).get("items") or []:
        name = str(cm["metadata"]["name"])
        if name == fluxlayout.RELEASE_SELECTION_CONFIGMAP or name.startswith("appliance-values-"):
            out.append(_clean({"apiVersion": "v1", "kind": "ConfigMap", **cm}))
    for ks in kube.list_raw(KS_KEY, fluxlayout.FLUX_NAMESPACE).get("items") or []:
        if ks["metadata"]["name"] in fluxlayout.TIER_KUSTOMIZATIONS.values():
            out.append(
                _clean({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", **ks})
            )
    for hr in kube.list_raw(HR_KEY, fluxlayout.HELM_NAMESPACE).get("items") or []:
        out.append(_clean({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", **hr}))
    return out


def restorable(snapshot: list[Obj]) -> list[Obj]:
    """What rollback applies from a snapshot: the values ConfigMaps, the release selection and
    the tier Kustomizations (HelmRelease specs are kept as a record; Flux owns them)."""
    return [o for o in snapshot if o.get("kind") in ("ConfigMap", "Kustomization")]


def bootstrap_jobs(kube: KubeApi) -> list[str]:
    core = load_catalog().component("alga-core")
    prefix = core.bootstrap_job_prefix or ""
    items = kube.list_raw(JOB_KEY, core.namespace).get("items") or []
    return sorted(str(j["metadata"]["name"]) for j in items if str(j["metadata"]["name"]).startswith(prefix))


def request_reconcile(kube: KubeApi, name: str, token: str) -> None:
    """What ``flux reconcile helmrelease`` does: set the requestedAt annotation."""
    kube.patch_merge(
        HR_KEY, fluxlayout.HELM_NAMESPACE, name, {"metadata": {"annotations": {REQUESTED_AT: token}}}
    )


def _ready(obj: Obj) -> tuple[bool, str]:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True", str(c.get("message") or c.get("reason") or "")
    return False, "no Ready condition yet"


def helm_releases_handled(kube: KubeApi, names: list[str], token: str) -> Seen:
    """Every named HelmRelease handled the request ``token`` and is Ready."""
    seen: list[str] = []
    ok = True
    for name in names:
        hr = get_or_none(kube, HR_KEY, fluxlayout.HELM_NAMESPACE, name)
        if hr is None:
            ok = False
            seen.append(f"{name}: missing")
            continue
        handled = (hr.get("status") or {}).get("lastHandledReconcileAt") == token
        ready, message = _ready(hr)
        ok = ok and handled and ready
        seen.append(f"{name}: {'ready' if ready and handled else 'reconciling'} {message}"[:120])
    return Seen(ok, "; ".join(seen))


def login_pods_at(kube: KubeApi, release: Release) -> Seen:
    """The login workload's pods all run the release's image and are ready."""
    core = load_catalog().component("alga-core")
    image = release.image(core.image_key or "alga-core")
    pods = kube.list_raw(POD_KEY, core.namespace).get("items") or []
    job_prefix = core.bootstrap_job_prefix or "\0"
    ours = [
        p
        for p in pods
        if str(p["metadata"]["name"]).startswith(core.pod_prefix + "-")
        and not str(p["metadata"]["name"]).startswith(job_prefix)
    ]
    if not ours:
        return Seen(False, f"no {core.pod_prefix} pod yet")
    stale: list[str] = []
    waiting: list[str] = []
    for pod in ours:
        name = str(pod["metadata"]["name"])
        images = [
            str(c.get("image", ""))
            for c in (pod.get("spec") or {}).get("containers") or []
            if str(c.get("image", "")).rsplit(":", 1)[0] == image.repository
        ]
        if any(i != image.reference for i in images):
            stale.append(f"{name} runs {', '.join(images)}")
            continue
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        if not statuses or not all(s.get("ready") for s in statuses):
            waiting.append(f"{name} not ready")
    if stale or waiting:
        return Seen(False, "; ".join([*stale, *waiting])[:200])
    return Seen(True, f"{len(ours)} {core.pod_prefix} pod(s) ready on {image.reference}")


def core_at_release(
    kube: KubeApi, release: Release, token: str, on_jobs: Callable[[list[str]], None]
) -> Seen:
    """Core HelmReleases handled ``token`` and are Ready, and the login pods run ``release``."""
    on_jobs(bootstrap_jobs(kube))
    hrs = helm_releases_handled(kube, tier_helm_releases("core"), token)
    if not hrs.done:
        return hrs
    return login_pods_at(kube, release)
