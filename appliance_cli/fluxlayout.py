"""The Flux layout of the appliance (``flux/``), as data: the one source of truth.

Bootstrap, ``appliance validate`` and the lab's simulated Flux controller all read the
layout through this module:

- :func:`render_directory` renders a kustomization directory of ``flux/base`` the way
  ``kubectl kustomize`` does, for the subset of kustomize the layout uses (``resources``
  files and directories, ``namespace``, ``labels`` with ``pairs``). Anything else raises
  :class:`LayoutError`, so the layout cannot silently outgrow the renderer.
- :func:`tier_kustomizations`, :func:`git_repositories` and :func:`namespaces` return the
  objects bootstrap applies itself, built from the YAML files with the site's branch and
  URLs set as data.
- :func:`render_flux_kustomization` renders what a Flux Kustomization applies (its path,
  plus its ``spec.images``), which is what the lab's Flux controller applies.
- :func:`render_values`, :func:`values_configmaps` and :func:`release_selection_configmap`
  merge the release manifest, the app URL and the bootstrap mode into the profile values.

Pure Python: no cluster access, no ``kubernetes`` import.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from appliance_cli import yamltext
from appliance_cli.errors import UsageError
from appliance_cli.paths import REPO_ROOT

if TYPE_CHECKING:
    from appliance_cli.releases import Release

Obj = dict[str, Any]
TierName = Literal["platform", "core", "background"]
BootstrapMode = Literal["fresh", "recover"]

TIERS: tuple[TierName, ...] = ("platform", "core", "background")
TIER_KUSTOMIZATIONS: dict[TierName, str] = {
    "platform": "alga-platform",
    "core": "alga-core",
    "background": "alga-background",
}
FLUX_NAMESPACE = "flux-system"
HELM_NAMESPACE = "alga-system"
APP_NAMESPACE = "msp"
STATUS_NAMESPACE = "appliance-system"
APPLIANCE_SOURCE = "alga-appliance"
CHARTS_SOURCE = "alga-psa-charts"
DEFAULT_PROFILE = "talos-single-node"
VALUES_KEY = "values.yaml"
RELEASE_SELECTION_CONFIGMAP = "appliance-release-selection"
STATUS_IMAGE_KEY = "appliance-status"
SOURCE_URL_ANNOTATION = "appliance.alga-psa.io/source-url"
SOURCE_BRANCH_ANNOTATION = "appliance.alga-psa.io/source-branch"

KUSTOMIZATION_FILENAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_SUPPORTED_FIELDS = frozenset({"apiVersion", "kind", "resources", "namespace", "labels"})
_SUPPORTED_LABEL_FIELDS = frozenset({"pairs", "includeSelectors", "includeTemplates"})

# Kinds kustomize treats as cluster-scoped (never given a namespace), for the kinds a
# layout like this can contain.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "APIService",
    }
)

# kustomize's legacy output order (api/resid/gvk.go): these kinds first, in this order...
_ORDER_FIRST = (
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
)
# ... these last, everything else in between; ties broken by group_version_kind, then id.
_ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


class LayoutError(UsageError):
    """The Flux layout (or a profile) is missing, malformed, or uses what the renderer lacks."""


# --------------------------------------------------------------------------- locations


def repo_root() -> Path:
    return REPO_ROOT


def base_dir(root: Path | None = None) -> Path:
    return (root or REPO_ROOT) / "flux" / "base"


def tier_dir(tier: TierName, root: Path | None = None) -> Path:
    return base_dir(root) / tier


def profile_dir(profile: str = DEFAULT_PROFILE, root: Path | None = None) -> Path:
    return (root or REPO_ROOT) / "flux" / "profiles" / profile


def layout_directories(root: Path | None = None) -> list[Path]:
    """Every kustomization directory of ``flux/base`` (the base first, then sub-directories)."""
    base = base_dir(root)
    found = [p.parent for name in KUSTOMIZATION_FILENAMES for p in base.rglob(name)]
    return sorted(set(found), key=lambda p: (len(p.relative_to(base).parts), str(p)))


# --------------------------------------------------------------------------- YAML


def load_documents(path: Path) -> list[Obj]:
    """Every non-empty YAML document of ``path`` (each must be a mapping)."""
    import yaml

    try:
        text = path.read_text()
    except OSError as exc:
        raise LayoutError(f"cannot read {path}: {exc}") from exc
    cached = _PARSED.get(text)
    if cached is not None:
        return list(json.loads(cached))  # a fresh copy: callers change what they get
    try:
        docs = yamltext.safe_load_all(text)
    except yaml.YAMLError as exc:
        raise LayoutError(f"{path} is not valid YAML: {exc}") from exc
    out: list[Obj] = []
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise LayoutError(f"{path}: document {i + 1} is not a mapping")
        out.append(doc)
    _remember(text, out)
    return out


# The layout's files are read many times per command (every render, every check) and parsing
# YAML is far slower than JSON: what a text parsed to is kept as JSON, when JSON holds it
# exactly (not for a document with dates or non-string keys, which JSON would change).
_PARSED: dict[str, str] = {}
_PARSED_MAX = 1024


def _remember(text: str, docs: list[Obj]) -> None:
    try:
        encoded = json.dumps(docs)
    except (TypeError, ValueError):
        return
    if json.loads(encoded) != docs:
        return
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[text] = encoded


def _load_mapping(path: Path) -> Obj:
    docs = load_documents(path)
    if len(docs) != 1:
        raise LayoutError(f"{path}: expected exactly one YAML document, found {len(docs)}")
    return docs[0]


# --------------------------------------------------------------------------- rendering


def kustomization_file(directory: Path) -> Path:
    for name in KUSTOMIZATION_FILENAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise LayoutError(f"{directory} has no kustomization.yaml")


def object_id(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name) of a Kubernetes object."""
    meta = obj.get("metadata") or {}
    return (
        str(obj.get("apiVersion", "")),
        str(obj.get("kind", "")),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def _gvk_string(obj: Mapping[str, Any]) -> str:
    api_version = str(obj.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    return "_".join([group or "~G", version or "~V", str(obj.get("kind") or "~K")])


def _kind_rank(kind: str) -> int:
    if kind in _ORDER_FIRST:
        return _ORDER_FIRST.index(kind) - len(_ORDER_FIRST)
    if kind in _ORDER_LAST:
        return _ORDER_LAST.index(kind) + 1
    return 0


def legacy_sorted(objects: Iterable[Obj]) -> list[Obj]:
    """Objects in the order ``kubectl kustomize`` prints them (kustomize's legacy order)."""

    def key(obj: Obj) -> tuple[int, str, str, str]:
        _, kind, namespace, name = object_id(obj)
        return (_kind_rank(kind), _gvk_string(obj), namespace, name)

    return sorted(objects, key=key)


def render_directory(path: Path) -> list[Obj]:
    """Render the kustomization in ``path`` like ``kubectl kustomize path`` (same objects, same order)."""
    return legacy_sorted(_render(path.resolve(), stack=()))


def _render(directory: Path, *, stack: tuple[Path, ...]) -> list[Obj]:
    if directory in stack:
        chain = " -> ".join(str(p) for p in (*stack, directory))
        raise LayoutError(f"kustomization cycle: {chain}")
    kfile = kustomization_file(directory)
    spec = _load_mapping(kfile)
    unsupported = sorted(set(spec) - _SUPPORTED_FIELDS)
    if unsupported:
        raise LayoutError(
            f"{kfile}: field(s) {', '.join(unsupported)} are not supported by the layout renderer",
            hint="keep flux/base within resources, namespace and labels (pairs), or extend fluxlayout.py",
        )
    if spec.get("kind", "Kustomization") != "Kustomization":
        raise LayoutError(f"{kfile}: kind must be Kustomization")

    objects: list[Obj] = []
    seen: dict[tuple[str, str, str, str], str] = {}
    resources = spec.get("resources") or []
    if not isinstance(resources, list):
        raise LayoutError(f"{kfile}: resources must be a list")
    for entry in resources:
        if not isinstance(entry, str):
            raise LayoutError(f"{kfile}: resources entry {entry!r} is not a path")
        target = (directory / entry).resolve()
        if target.is_dir():
            rendered = _render(target, stack=(*stack, directory))
        elif target.is_file():
            rendered = load_documents(target)
        else:
            raise LayoutError(f"{kfile}: resources entry {entry!r} does not exist")
        for obj in rendered:
            oid = object_id(obj)
            if not oid[1] or not oid[3]:
                raise LayoutError(f"{kfile}: {entry}: an object has no kind or metadata.name")
            if oid in seen:
                raise LayoutError(f"{kfile}: {'/'.join(oid)} is defined twice ({seen[oid]} and {entry})")
            seen[oid] = entry
            objects.append(copy.deepcopy(obj))

    namespace = spec.get("namespace")
    if namespace is not None:
        _set_namespace(objects, str(namespace), kfile)
    for label_set in spec.get("labels") or []:
        _add_labels(objects, label_set, kfile)
    return objects


def _set_namespace(objects: list[Obj], namespace: str, kfile: Path) -> None:
    for obj in objects:
        kind = str(obj.get("kind"))
        if kind in {"Namespace", "RoleBinding", "ClusterRoleBinding"}:
            raise LayoutError(
                f"{kfile}: `namespace:` with a {kind} is not supported by the layout renderer "
                "(kustomize also rewrites names and subjects there); name the namespaces in the objects"
            )
        if kind in CLUSTER_SCOPED_KINDS:
            continue
        obj.setdefault("metadata", {})["namespace"] = namespace


def _add_labels(objects: list[Obj], label_set: Any, kfile: Path) -> None:
    if not isinstance(label_set, dict) or set(label_set) - _SUPPORTED_LABEL_FIELDS:
        raise LayoutError(f"{kfile}: labels entries support only pairs/includeSelectors/includeTemplates")
    if label_set.get("includeSelectors") or label_set.get("includeTemplates"):
        raise LayoutError(f"{kfile}: labels with includeSelectors/includeTemplates are not supported")
    pairs = label_set.get("pairs") or {}
    for obj in objects:
        labels = obj.setdefault("metadata", {}).get("labels") or {}
        labels.update({str(k): str(v) for k, v in pairs.items()})
        obj["metadata"]["labels"] = labels


# --------------------------------------------------------------------------- Flux objects


def namespaces(root: Path | None = None) -> list[Obj]:
    """The Namespace objects bootstrap creates before any tier."""
    return [o for o in load_documents(base_dir(root) / "namespaces.yaml") if o.get("kind") == "Namespace"]


def _flux_objects(kind: str, root: Path | None) -> list[Obj]:
    return [o for o in render_directory(base_dir(root) / "flux") if o.get("kind") == kind]


def tier_kustomizations(
    *,
    branch: str,
    repo_url: str,
    release: Release | None = None,
    tiers: Sequence[TierName] | None = None,
    root: Path | None = None,
) -> list[Obj]:
    """The tier Kustomizations (flux-system), in tier order, ready to apply.

    ``branch`` and ``repo_url`` are what the ``alga-appliance`` GitRepository reads; they
    are recorded as annotations so the status page can show where a tier comes from. With ``release``, the
    ``alga-platform`` Kustomization's ``spec.images`` pins the status-service tag of that
    release, and HelmRelease chart paths that differ from the files are patched to the
    release's ``app.chartPaths``.
    """
    if not branch:
        raise LayoutError("the appliance branch is empty", param="--branch-override")
    if not repo_url:
        raise LayoutError("the appliance repository URL is empty", param="--repo-url")
    wanted = list(tiers) if tiers is not None else list(TIERS)
    by_name = {o["metadata"]["name"]: o for o in _flux_objects("Kustomization", root)}
    out: list[Obj] = []
    for tier in TIERS:
        if tier not in wanted:
            continue
        name = TIER_KUSTOMIZATIONS[tier]
        if name not in by_name:
            raise LayoutError(f"{base_dir(root) / 'flux'}: Kustomization {name} is missing")
        ks = copy.deepcopy(by_name[name])
        ks.setdefault("spec", {})["sourceRef"] = {"kind": "GitRepository", "name": APPLIANCE_SOURCE}
        annotations = ks["metadata"].setdefault("annotations", {})
        annotations[SOURCE_URL_ANNOTATION] = repo_url
        annotations[SOURCE_BRANCH_ANNOTATION] = branch
        if release is not None:
            _pin_release(ks, tier, release, root)
        out.append(ks)
    return out


def _pin_release(ks: Obj, tier: TierName, release: Release, root: Path | None) -> None:
    spec = ks["spec"]
    if tier == "platform" and STATUS_IMAGE_KEY in release.images:
        image = release.images[STATUS_IMAGE_KEY]
        spec["images"] = [{"name": image.repository, "newTag": image.tag}]
    patches: list[Obj] = []
    for hr in helm_releases(tier, root=root):
        name = hr["metadata"]["name"]
        wanted = release.app.chart_paths.get(name)
        current = hr["spec"]["chart"]["spec"]["chart"]
        if wanted and wanted != current:
            patches.append(
                {
                    "target": {"group": "helm.toolkit.fluxcd.io", "kind": "HelmRelease", "name": name},
                    "patch": json.dumps(
                        [{"op": "replace", "path": "/spec/chart/spec/chart", "value": wanted}]
                    ),
                }
            )
    if patches:
        spec["patches"] = patches


def _chart_ignore(chart_paths: Iterable[str]) -> str | None:
    """A source ignore that keeps only the top-level directories holding the charts."""
    tops = {p.removeprefix("./").strip("/").split("/", 1)[0] for p in chart_paths}
    if "" in tops or "." in tops:
        return None  # a chart at the repository root: keep everything
    return "/*\n" + "".join(f"!/{top}/\n" for top in sorted(tops))


def git_repositories(
    release: Release, *, appliance_repo_url: str, appliance_branch: str, root: Path | None = None
) -> list[Obj]:
    """The two GitRepositories: ``alga-appliance`` (this repository at the chosen branch) and
    ``alga-psa-charts`` (the Alga app repository at the release branch)."""
    if not appliance_repo_url:
        raise LayoutError("the appliance repository URL is empty", param="--repo-url")
    if not appliance_branch:
        raise LayoutError("the appliance branch is empty", param="--branch-override")
    by_name = {o["metadata"]["name"]: o for o in _flux_objects("GitRepository", root)}
    missing = {APPLIANCE_SOURCE, CHARTS_SOURCE} - set(by_name)
    if missing:
        raise LayoutError(f"{base_dir(root) / 'flux'}: GitRepository {', '.join(sorted(missing))} missing")
    appliance = copy.deepcopy(by_name[APPLIANCE_SOURCE])
    appliance["spec"]["url"] = appliance_repo_url
    appliance["spec"]["ref"] = {"branch": appliance_branch}
    charts = copy.deepcopy(by_name[CHARTS_SOURCE])
    charts["spec"]["url"] = release.app.repo_url
    charts["spec"]["ref"] = {"branch": release.app.release_branch}
    ignore = _chart_ignore(release.app.chart_paths.values()) if release.app.chart_paths else None
    if ignore:
        charts["spec"]["ignore"] = ignore
    else:
        charts["spec"].pop("ignore", None)
    return [appliance, charts]


def render_flux_kustomization(
    kustomization: Mapping[str, Any], *, repo_root: Path | None = None
) -> list[Obj]:
    """What a Flux Kustomization applies: its ``spec.path`` rendered, then, as
    kustomize-controller does, ``spec.targetNamespace`` (namespaced objects) and ``spec.images``."""
    spec = kustomization.get("spec") or {}
    rel = str(spec.get("path") or "./").removeprefix("./")
    objects = render_directory((repo_root or REPO_ROOT) / rel)
    target_ns = spec.get("targetNamespace")
    for obj in objects:
        if target_ns and obj.get("kind") not in CLUSTER_SCOPED_KINDS:
            obj.setdefault("metadata", {})["namespace"] = target_ns
    for image in spec.get("images") or []:
        _set_image(objects, image)
    return objects


def _split_image(ref: str) -> tuple[str, str | None]:
    name, _, digest = ref.partition("@")
    if digest:
        return name, None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = name.rpartition(":")
        return repo, tag
    return name, None


def _set_image(objects: list[Obj], image: Mapping[str, Any]) -> None:
    name = str(image.get("name"))
    for obj in objects:
        pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for key in ("initContainers", "containers"):
            for container in pod.get(key) or []:
                repo, tag = _split_image(str(container.get("image", "")))
                if repo != name:
                    continue
                new_repo = image.get("newName") or repo
                if image.get("digest"):
                    container["image"] = f"{new_repo}@{image['digest']}"
                else:
                    new_tag = image.get("newTag") or tag
                    container["image"] = f"{new_repo}:{new_tag}" if new_tag else new_repo


def helm_releases(tier: TierName | None = None, *, root: Path | None = None) -> list[Obj]:
    """The HelmReleases of one tier (or of every tier, in tier order)."""
    tiers = [tier] if tier else list(TIERS)
    out: list[Obj] = []
    for t in tiers:
        out.extend(o for o in render_directory(tier_dir(t, root)) if o.get("kind") == "HelmRelease")
    return out


def helm_release_tiers(root: Path | None = None) -> dict[str, TierName]:
    """HelmRelease name -> the tier whose directory holds it."""
    return {hr["metadata"]["name"]: t for t in TIERS for hr in helm_releases(t, root=root)}


# --------------------------------------------------------------------------- values


def _set_path(values: Obj, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = values
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> Obj:
    """``override`` merged into a copy of ``base`` (mappings recursively, everything else replaced)."""
    out: Obj = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def release_value_rules(profile: str = DEFAULT_PROFILE, root: Path | None = None) -> Obj:
    """The profile's ``release-values.yaml``: where release and site data land in the values."""
    path = profile_dir(profile, root) / "release-values.yaml"
    if not path.is_file():
        raise LayoutError(f"profile {profile!r} has no {path.name}", param="profile")
    return _load_mapping(path)


def _check_app_url(app_url: str) -> str:
    parts = urlsplit(app_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LayoutError(f"{app_url!r} is not an http(s) URL", param="--app-url")
    return parts.hostname


def render_values(
    release: Release,
    *,
    component: str,
    app_url: str,
    bootstrap_mode: BootstrapMode,
    profile: str = DEFAULT_PROFILE,
    root: Path | None = None,
) -> Obj:
    """Profile values of one HelmRelease with the release images, app URL and bootstrap mode merged in."""
    if bootstrap_mode not in ("fresh", "recover"):
        raise LayoutError(f"{bootstrap_mode!r} is not fresh or recover", param="--bootstrap-mode")
    host = _check_app_url(app_url)
    path = profile_dir(profile, root) / "values" / f"{component}.yaml"
    if not path.is_file():
        raise LayoutError(f"profile {profile!r} has no values for {component!r} ({path})")
    docs = load_documents(path)
    values: Obj = copy.deepcopy(docs[0]) if docs else {}
    rules = release_value_rules(profile, root)
    for rule in (rules.get("images") or {}).get(component, []):
        image = release.image(str(rule["imageKey"]))
        _set_path(values, f"{rule['path']}.{rule.get('repositoryKey', 'repository')}", image.repository)
        _set_path(values, f"{rule['path']}.tag", image.tag)
    for dotted in (rules.get("appUrl") or {}).get(component, []):
        _set_path(values, str(dotted), app_url)
    for dotted in (rules.get("host") or {}).get(component, []):
        _set_path(values, str(dotted), host)
    for dotted in (rules.get("bootstrapMode") or {}).get(component, []):
        _set_path(values, str(dotted), bootstrap_mode)
    return values


def values_configmap_name(component: str) -> str:
    return f"appliance-values-{component}"


def values_configmaps(
    release: Release,
    *,
    app_url: str,
    bootstrap_mode: BootstrapMode,
    profile: str = DEFAULT_PROFILE,
    root: Path | None = None,
) -> list[Obj]:
    """One ConfigMap ``appliance-values-<HelmRelease>`` (alga-system, key ``values.yaml``) per HelmRelease."""
    import yaml

    out: list[Obj] = []
    for hr in helm_releases(root=root):
        name = hr["metadata"]["name"]
        values = render_values(
            release,
            component=name,
            app_url=app_url,
            bootstrap_mode=bootstrap_mode,
            profile=profile,
            root=root,
        )
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": values_configmap_name(name),
                    "namespace": HELM_NAMESPACE,
                    "labels": {
                        "app.kubernetes.io/part-of": "alga-appliance",
                        "appliance.alga-psa.io/helm-release": name,
                        "appliance.alga-psa.io/release-version": release.version,
                    },
                },
                "data": {VALUES_KEY: yaml.safe_dump(values, sort_keys=True, default_flow_style=False)},
            }
        )
    return out


def release_selection_configmap(
    release: Release,
    *,
    appliance_repo_url: str | None = None,
    appliance_branch: str | None = None,
    app_url: str | None = None,
    bootstrap_mode: BootstrapMode | None = None,
) -> Obj:
    """``appliance-release-selection`` (alga-system): what this appliance runs, as strings."""
    images = {key: ref.reference for key, ref in sorted(release.images.items())}
    data: dict[str, str] = {
        "releaseVersion": release.version,
        "appVersion": release.app.version,
        "channel": release.channel,
        "releaseBranch": release.app.release_branch,
        "appRepoUrl": release.app.repo_url,
        "kubernetesVersion": release.kubernetes.version,
        "talosVersion": release.talos.version,
        "images.json": json.dumps(images, sort_keys=True),
        # The whole manifest (image sizes included) for the status service.
        "release.json": release.model_dump_json(by_alias=True, exclude_none=True),
    }
    data.update({f"image.{key}": ref for key, ref in images.items()})
    optional = {
        "applianceRepoUrl": appliance_repo_url,
        "applianceBranch": appliance_branch,
        "appUrl": app_url,
        "bootstrapMode": bootstrap_mode,
    }
    data.update({k: v for k, v in optional.items() if v})
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": RELEASE_SELECTION_CONFIGMAP,
            "namespace": HELM_NAMESPACE,
            "labels": {
                "app.kubernetes.io/part-of": "alga-appliance",
                "appliance.alga-psa.io/release-version": release.version,
            },
        },
        "data": data,
    }
