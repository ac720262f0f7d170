"""``appliance validate``: the checks release engineers run on the repository before tagging.

Each check is a function over the repository that returns findings; no check mutates
anything. The checks:

- ``schemas``: every Flux object (the layout's files, and the objects bootstrap builds for
  every release) validates against the served version's ``openAPIV3Schema`` of its CRD,
  and every field it sets is a property of that schema (the CRDs accept unknown fields,
  so a misspelt field would otherwise pass);
- ``render``: every kustomization directory renders, with ``kubectl kustomize`` when
  kubectl is installed (and the built-in renderer must produce the same objects), else
  with the built-in renderer alone;
- ``tiers``: the three tier Kustomizations and their dependency graph
  (platform <- core <- background, acyclic; HelmReleases depend only within their tier
  or on a lower tier; tier timeouts above their HelmReleases' timeouts);
- ``helmreleases``: chart source, target namespace, values ConfigMap, no retries;
- ``fixes``: the durable fixes are present as postRenderers;
- ``rbac``: the status service's role is read-only, without Secrets or pods/exec, and
  grants exactly what the status collector reads;
- ``status-service``: the status Deployment runs ``serve-status`` on port 8080 with
  ``/healthz`` probes and the token Secret;
- ``catalog``: the component catalog and the layout agree;
- ``releases``: every release manifest validates, names a chart path for every
  HelmRelease, has the images the catalog and profile need, and its values render.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from appliance_cli import fluxlayout as fl
from appliance_cli import yamltext
from appliance_cli.errors import ApplianceError, UsageError
from appliance_cli.paths import REPO_ROOT

SCHEMAS_ENV = "ALGA_APPLIANCE_SCHEMAS_DIR"
FLUX_KINDS = frozenset({"GitRepository", "HelmRepository", "OCIRepository", "Kustomization", "HelmRelease"})
READ_VERBS = frozenset({"get", "list", "watch"})
FORBIDDEN_RESOURCES = frozenset({"secrets", "pods/exec", "pods/attach", "pods/portforward", "*"})
# Fields of metadata (ObjectMeta) a manifest may set; the CRD schemas leave metadata open.
OBJECT_META_FIELDS = frozenset(
    {"name", "namespace", "labels", "annotations", "generateName", "finalizers", "ownerReferences"}
)
TIER_RANK: dict[str, int] = {"platform": 0, "core": 1, "background": 2}
STATUS_DEPLOYMENT = "appliance-status"
STATUS_SECRET = "appliance-status-auth"


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)
    check: str
    subject: str
    message: str


class CheckResult(BaseModel):
    name: str
    ok: bool
    findings: list[Finding] = Field(default_factory=list)


class ValidationReport(BaseModel):
    ok: bool
    repo_root: str = Field(serialization_alias="repoRoot")
    schemas_dir: str = Field(serialization_alias="schemasDir")
    renderer: str
    notes: list[str] = Field(default_factory=list)
    checks: list[CheckResult]

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checks for f in c.findings]


# --------------------------------------------------------------------------- inputs


def resolve_schemas_dir(option: Path | None = None, *, repo_root: Path = REPO_ROOT) -> Path:
    """``--schemas-dir``, else ``$ALGA_APPLIANCE_SCHEMAS_DIR``, else ``<repo>/schemas``."""
    env = os.environ.get(SCHEMAS_ENV)
    chosen = option or (Path(env) if env else repo_root / "schemas")
    flux_dir = chosen / "flux"
    if not flux_dir.is_dir() or not any(flux_dir.glob("*.yaml")):
        raise UsageError(
            f"no Flux CRD schemas in {flux_dir}",
            param="--schemas-dir",
            hint=f"point --schemas-dir (or {SCHEMAS_ENV}) at the directory that holds flux/*.yaml",
        )
    return chosen


def load_crd_schemas(schemas_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema of every *served* version of every CRD file."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted((schemas_dir / "flux").glob("*.yaml")):
        for crd in fl.load_documents(path):
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"].get("versions", []):
                if version.get("served"):
                    out[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return out


def _catalog(repo_root: Path) -> Any:
    from appliance_cli.catalog import Catalog, load_catalog

    path = repo_root / "appliance_cli" / "catalog.yaml"
    if path.is_file() and path.resolve() != (REPO_ROOT / "appliance_cli" / "catalog.yaml").resolve():
        return Catalog.model_validate(fl.load_documents(path)[0])
    return load_catalog()


def _name(obj: Mapping[str, Any]) -> str:
    _, kind, ns, name = fl.object_id(obj)
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


# --------------------------------------------------------------------------- schema checks


def unknown_fields(value: Any, schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Paths in ``value`` that ``schema`` does not declare (where the schema is closed)."""
    found: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return found
        for key, child in value.items():
            where = f"{path}.{key}" if path else str(key)
            if props is not None and key in props:
                found.extend(unknown_fields(child, props[key], where))
            elif isinstance(extra, dict):
                found.extend(unknown_fields(child, extra, where))
            elif props is not None and not extra:
                found.append(where)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, child in enumerate(value):
            found.extend(unknown_fields(child, schema["items"], f"{path}[{i}]"))
    return found


def schema_findings(
    objects: Iterable[Mapping[str, Any]], schemas: Mapping[tuple[str, str], Any]
) -> list[Finding]:
    import jsonschema

    out: list[Finding] = []
    for obj in objects:
        api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
        if kind not in FLUX_KINDS:
            continue
        schema = schemas.get((api_version, kind))
        if schema is None:
            served = sorted(v for (v, k) in schemas if k == kind) or ["none"]
            out.append(
                Finding(
                    check="schemas",
                    subject=_name(obj),
                    message=f"{api_version} is not served (served: {', '.join(served)})",
                )
            )
            continue
        validator = jsonschema.Draft202012Validator(schema)
        for err in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            where = ".".join(str(p) for p in err.absolute_path) or "(object)"
            out.append(Finding(check="schemas", subject=_name(obj), message=f"{where}: {err.message}"))
        for where in unknown_fields({k: v for k, v in obj.items() if k != "metadata"}, schema):
            out.append(
                Finding(
                    check="schemas",
                    subject=_name(obj),
                    message=f"{where}: unknown field (not in the CRD schema)",
                )
            )
        for key in sorted(set(obj.get("metadata") or {}) - OBJECT_META_FIELDS):
            out.append(Finding(check="schemas", subject=_name(obj), message=f"metadata.{key}: unknown field"))
    return out


# --------------------------------------------------------------------------- context


class _Ctx:
    """What the checks share: the repository, its rendered tiers, schemas, catalog, releases."""

    def __init__(self, repo_root: Path, schemas_dir: Path, use_kubectl: bool | None) -> None:
        self.root = repo_root
        self.schemas = load_crd_schemas(schemas_dir)
        self.kubectl = shutil.which("kubectl") if use_kubectl is not False else None
        if use_kubectl and not self.kubectl:
            raise UsageError("kubectl was requested but is not on PATH")
        self.notes: list[str] = []
        self.rendered: dict[Path, list[dict[str, Any]]] = {}

    def tier_objects(self, tier: fl.TierName) -> list[dict[str, Any]]:
        return self.render(fl.tier_dir(tier, self.root))

    def render(self, directory: Path) -> list[dict[str, Any]]:
        if directory not in self.rendered:
            self.rendered[directory] = fl.render_directory(directory)
        return self.rendered[directory]

    def all_objects(self) -> list[dict[str, Any]]:
        return [o for d in fl.layout_directories(self.root) for o in self.render(d)]

    def helm_releases(self) -> dict[str, tuple[fl.TierName, dict[str, Any]]]:
        return {
            o["metadata"]["name"]: (t, o)
            for t in fl.TIERS
            for o in self.tier_objects(t)
            if o.get("kind") == "HelmRelease"
        }

    def releases(self) -> list[str]:
        from appliance_cli.releases import available_versions

        return available_versions(self.root / "releases")


Check = Callable[[_Ctx], list[Finding]]


def _f(check: str, subject: str, message: str) -> Finding:
    return Finding(check=check, subject=subject, message=message)


def check_render(ctx: _Ctx) -> list[Finding]:
    out: list[Finding] = []
    dirs = fl.layout_directories(ctx.root)
    if not dirs:
        return [_f("render", str(fl.base_dir(ctx.root)), "no kustomization directories")]
    for tier in fl.TIERS:
        if fl.tier_dir(tier, ctx.root) not in dirs:
            out.append(_f("render", str(fl.tier_dir(tier, ctx.root)), f"tier {tier} has no kustomization"))
    if not ctx.kubectl:
        ctx.notes.append("kubectl not found: rendered with the built-in renderer only")
    for d in dirs:
        rel = str(d.relative_to(ctx.root))
        try:
            mine = ctx.render(d)
        except ApplianceError as exc:
            out.append(_f("render", rel, exc.message))
            continue
        if ctx.kubectl:
            out.extend(_compare_with_kubectl(ctx.kubectl, d, rel, mine))
    return out


def _compare_with_kubectl(kubectl: str, d: Path, rel: str, mine: list[dict[str, Any]]) -> list[Finding]:

    proc = subprocess.run(
        [kubectl, "kustomize", str(d)], capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        return [_f("render", rel, f"kubectl kustomize failed: {proc.stderr.strip()}")]
    theirs = [o for o in yamltext.safe_load_all(proc.stdout) if o]
    if theirs != mine:
        ids = sorted(set(map(fl.object_id, theirs)) ^ set(map(fl.object_id, mine)))
        detail = (
            f" (objects only on one side: {ids})" if ids else " (same objects, different content or order)"
        )
        return [_f("render", rel, "the built-in renderer differs from kubectl kustomize" + detail)]
    return []


def check_schemas(ctx: _Ctx) -> list[Finding]:
    from appliance_cli.releases import load_release

    objects = list(ctx.all_objects())
    for version in ctx.releases():
        try:
            release = load_release(version, ctx.root / "releases")
            objects += fl.tier_kustomizations(
                branch="main", repo_url="https://example.invalid/r.git", release=release, root=ctx.root
            )
            objects += fl.git_repositories(
                release,
                appliance_repo_url="https://example.invalid/r.git",
                appliance_branch="main",
                root=ctx.root,
            )
        except ApplianceError:
            continue  # reported by the releases check
    return schema_findings(objects, ctx.schemas)


def _duration_seconds(text: str | None) -> float:
    import re

    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(ms|s|m|h)", text or ""))


def check_tiers(ctx: _Ctx) -> list[Finding]:
    out: list[Finding] = []
    kss = {
        o["metadata"]["name"]: o
        for o in ctx.render(fl.base_dir(ctx.root) / "flux")
        if o.get("kind") == "Kustomization"
    }
    hrs = ctx.helm_releases()
    previous: str | None = None
    for tier in fl.TIERS:
        name = fl.TIER_KUSTOMIZATIONS[tier]
        ks = kss.get(name)
        if ks is None:
            out.append(_f("tiers", name, "tier Kustomization missing"))
            previous = name
            continue
        spec = ks.get("spec") or {}
        deps = [d.get("name") for d in spec.get("dependsOn") or []]
        if deps != ([previous] if previous else []):
            out.append(_f("tiers", name, f"dependsOn is {deps}, expected {[previous] if previous else []}"))
        expected = {
            "path": f"./flux/base/{tier}",
            "wait": True,
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": fl.APPLIANCE_SOURCE},
        }
        for key, want in expected.items():
            got = spec.get(key)
            if key == "sourceRef" and isinstance(got, dict):
                got = {k: v for k, v in got.items() if k in ("kind", "name")}
            if got != want:
                out.append(_f("tiers", name, f"spec.{key} is {got!r}, expected {want!r}"))
        if ks["metadata"].get("namespace") != fl.FLUX_NAMESPACE:
            out.append(_f("tiers", name, f"must live in {fl.FLUX_NAMESPACE}"))
        budget = _duration_seconds(spec.get("timeout"))
        for hr_name, (hr_tier, hr) in hrs.items():
            if hr_tier == tier and _duration_seconds(hr["spec"].get("timeout") or "5m") >= budget:
                out.append(
                    _f("tiers", name, f"timeout {spec.get('timeout')} is not above HelmRelease {hr_name}'s")
                )
        previous = name
    # HelmRelease dependencies: existing, same namespace, same or lower tier, acyclic.
    graph: dict[str, list[str]] = {
        f"ks/{n}": [f"ks/{d.get('name')}" for d in (o["spec"].get("dependsOn") or [])] for n, o in kss.items()
    }
    for name, (tier, hr) in hrs.items():
        edges = graph.setdefault(f"hr/{name}", [])
        for dep in hr["spec"].get("dependsOn") or []:
            target = dep.get("name")
            edges.append(f"hr/{target}")
            if dep.get("namespace", fl.HELM_NAMESPACE) != fl.HELM_NAMESPACE or target not in hrs:
                out.append(
                    _f(
                        "tiers",
                        f"HelmRelease {name}",
                        f"dependsOn {target!r} is not a HelmRelease of the layout",
                    )
                )
            elif TIER_RANK[hrs[target][0]] > TIER_RANK[tier]:
                out.append(
                    _f(
                        "tiers",
                        f"HelmRelease {name}",
                        f"{tier} depends on {hrs[target][0]} HelmRelease {target}",
                    )
                )
    cycle = find_cycle(graph)
    if cycle:
        out.append(_f("tiers", "dependsOn", "dependency cycle: " + " -> ".join(cycle)))
    return out


def find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    """One cycle of ``graph`` (node -> dependencies) as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def check_helmreleases(ctx: _Ctx) -> list[Finding]:
    out: list[Finding] = []
    for name, (_tier, hr) in ctx.helm_releases().items():
        subject, spec = f"HelmRelease {name}", hr.get("spec") or {}
        source = ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
        want_source = {"kind": "GitRepository", "name": fl.CHARTS_SOURCE, "namespace": fl.FLUX_NAMESPACE}
        if {k: source.get(k) for k in want_source} != want_source:
            out.append(_f("helmreleases", subject, f"chart sourceRef is {source}, expected {want_source}"))
        if hr["metadata"].get("namespace") != fl.HELM_NAMESPACE:
            out.append(_f("helmreleases", subject, f"must live in {fl.HELM_NAMESPACE}"))
        if spec.get("targetNamespace") != fl.APP_NAMESPACE:
            out.append(_f("helmreleases", subject, f"targetNamespace must be {fl.APP_NAMESPACE}"))
        want_values = {
            "kind": "ConfigMap",
            "name": fl.values_configmap_name(name),
            "valuesKey": fl.VALUES_KEY,
        }
        if [
            {k: v.get(k, fl.VALUES_KEY if k == "valuesKey" else None) for k in want_values}
            for v in spec.get("valuesFrom") or []
        ] != [want_values]:
            out.append(_f("helmreleases", subject, f"valuesFrom must be exactly {want_values}"))
        if "values" in spec:
            out.append(
                _f(
                    "helmreleases",
                    subject,
                    "inline spec.values: values come only from the rendered ConfigMap",
                )
            )
        for action in ("install", "upgrade"):
            retries = ((spec.get(action) or {}).get("remediation") or {}).get("retries")
            if retries != 0:
                out.append(
                    _f("helmreleases", subject, f"{action}.remediation.retries is {retries!r}, must be 0")
                )
        if not spec.get("timeout"):
            out.append(_f("helmreleases", subject, "spec.timeout must be set"))
        if not (fl.profile_dir(root=ctx.root) / "values" / f"{name}.yaml").is_file():
            out.append(
                _f("helmreleases", subject, f"no profile values {fl.DEFAULT_PROFILE}/values/{name}.yaml")
            )
    return out


def _patches(hr: Mapping[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    import yaml

    out: list[tuple[dict[str, Any], Any]] = []
    for renderer in (hr.get("spec") or {}).get("postRenderers") or []:
        for patch in (renderer.get("kustomize") or {}).get("patches") or []:
            try:
                out.append((patch.get("target") or {}, yaml.safe_load(patch.get("patch") or "")))
            except yaml.YAMLError:
                out.append((patch.get("target") or {}, None))
    return out


def _pod_spec_patches(hr: Mapping[str, Any], kind: str, name: str) -> list[dict[str, Any]]:
    specs = []
    for target, body in _patches(hr):
        if target.get("kind") == kind and target.get("name") == name and isinstance(body, dict):
            specs.append(((body.get("spec") or {}).get("template") or {}).get("spec") or {})
    return specs


def _container(specs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [c for s in specs for c in s.get("containers") or [] if c.get("name") == name]


def check_fixes(ctx: _Ctx) -> list[Finding]:
    hrs = {n: hr for n, (_t, hr) in ctx.helm_releases().items()}
    out: list[Finding] = []
    temporal, core = hrs.get("temporal", {}), hrs.get("alga-core", {})
    t_specs = _pod_spec_patches(temporal, "Deployment", "temporal")
    if not any(
        c.get("command") == ["/etc/temporal/entrypoint.sh"] and c.get("args") == ["autosetup"]
        for c in _container(t_specs, "temporal")
    ):
        out.append(
            _f(
                "fixes",
                "HelmRelease temporal",
                "no postRenderer runs `/etc/temporal/entrypoint.sh autosetup`",
            )
        )
    for deployment in ("temporal", "temporal-ui"):
        specs = _pod_spec_patches(temporal, "Deployment", deployment)
        if not any(s.get("enableServiceLinks") is False for s in specs):
            out.append(
                _f(
                    "fixes",
                    "HelmRelease temporal",
                    f"no postRenderer sets enableServiceLinks: false on {deployment}",
                )
            )
    db_specs = _pod_spec_patches(core, "StatefulSet", "db")
    mounts = [
        m
        for c in _container(db_specs, "db")
        for m in c.get("volumeMounts") or []
        if m.get("name") == "db-data"
    ]
    init_ok = any(
        any(m.get("name") == "db-data" for m in ic.get("volumeMounts") or [])
        for s in db_specs
        for ic in s.get("initContainers") or []
    )
    if not (any("subPath" in m and m["subPath"] is None for m in mounts) or init_ok):
        out.append(
            _f(
                "fixes",
                "HelmRelease alga-core",
                "no postRenderer protects the db-data mount from the subPath failure",
            )
        )
    return out


def expected_status_reads() -> set[tuple[str, str]]:
    """(apiGroup, resource) pairs the status collector reads: the snapshot resources + pods/log."""
    from appliance_cli.status.snapshot import RESOURCE_KEYS

    out = {
        (key.rsplit("/", 2)[0] if key.count("/") == 2 else "", key.rsplit("/", 1)[1]) for key in RESOURCE_KEYS
    }
    return out | {("", "pods/log")}


def rbac_findings(objects: Iterable[Mapping[str, Any]]) -> list[Finding]:
    out: list[Finding] = []
    granted: set[tuple[str, str]] = set()
    for obj in objects:
        if obj.get("kind") not in ("Role", "ClusterRole"):
            continue
        for rule in obj.get("rules") or []:
            verbs = set(rule.get("verbs") or [])
            resources = set(rule.get("resources") or [])
            groups = set(rule.get("apiGroups") or [])
            if rule.get("nonResourceURLs"):
                out.append(_f("rbac", _name(obj), "nonResourceURLs are not needed"))
            if "*" in groups:
                out.append(_f("rbac", _name(obj), "wildcard apiGroups"))
            for bad in sorted(resources & FORBIDDEN_RESOURCES):
                out.append(_f("rbac", _name(obj), f"grants {bad}"))
            for verb in sorted(verbs - READ_VERBS):
                out.append(_f("rbac", _name(obj), f"grants the write verb {verb!r} on {sorted(resources)}"))
            if "pods/log" in resources and verbs - {"get"}:
                out.append(_f("rbac", _name(obj), "pods/log needs only get"))
            granted |= {(g, r) for g in groups for r in resources}
    expected = expected_status_reads()
    for g, r in sorted(expected - granted):
        out.append(
            _f("rbac", "status reader", f"does not grant {r} ({g or 'core'}) which the collector reads")
        )
    for g, r in sorted(p for p in granted - expected if p[1] not in FORBIDDEN_RESOURCES):
        out.append(
            _f("rbac", "status reader", f"grants {r} ({g or 'core'}) which the collector does not read")
        )
    return out


def check_rbac(ctx: _Ctx) -> list[Finding]:
    return rbac_findings(ctx.tier_objects("platform"))


def check_status_service(ctx: _Ctx) -> list[Finding]:
    from appliance_cli.releases import load_release

    subject = f"Deployment {fl.STATUS_NAMESPACE}/{STATUS_DEPLOYMENT}"
    deps = [
        o
        for o in ctx.tier_objects("platform")
        if o.get("kind") == "Deployment" and o["metadata"]["name"] == STATUS_DEPLOYMENT
    ]
    if not deps:
        return [_f("status-service", subject, "missing from flux/base/platform")]
    pod = deps[0]["spec"]["template"]["spec"]
    containers = pod.get("containers") or [{}]
    c = containers[0]
    out: list[Finding] = []
    argv = [*(c.get("command") or []), *(c.get("args") or [])]
    port = argv[argv.index("--port") + 1 :][:1] if "--port" in argv else []
    if "serve-status" not in argv or "--in-cluster" not in argv or port != ["8080"]:
        out.append(
            _f(
                "status-service",
                subject,
                f"must run `appliance serve-status --in-cluster --port 8080` (runs {argv})",
            )
        )
    ports = c.get("ports") or []
    if not (pod.get("hostNetwork") or any(p.get("hostPort") == 8080 for p in ports)):
        out.append(
            _f("status-service", subject, "not reachable on the node's port 8080 (hostNetwork or hostPort)")
        )
    for probe in ("livenessProbe", "readinessProbe"):
        if ((c.get(probe) or {}).get("httpGet") or {}).get("path") != "/healthz":
            out.append(_f("status-service", subject, f"{probe} must GET /healthz"))
    secret_refs = [v.get("secret", {}) for v in pod.get("volumes") or []]
    secret_refs += [
        e.get("valueFrom", {}).get("secretKeyRef", {})
        for e in c.get("env") or []
        if e.get("valueFrom", {}).get("secretKeyRef")
    ]
    if not any((s.get("secretName") or s.get("name")) == STATUS_SECRET for s in secret_refs):
        out.append(_f("status-service", subject, f"does not take its token from Secret {STATUS_SECRET}"))
    repo, tag = fl._split_image(str(c.get("image", "")))
    if tag:
        out.append(_f("status-service", subject, "the image tag comes from the release, not the manifest"))
    for version in ctx.releases():
        try:
            release = load_release(version, ctx.root / "releases")
        except ApplianceError:
            continue
        ref = release.images.get(fl.STATUS_IMAGE_KEY)
        if ref is None or ref.repository != repo:
            out.append(
                _f(
                    "status-service",
                    subject,
                    f"image {repo} is not release {version}'s {fl.STATUS_IMAGE_KEY} image",
                )
            )
    return out


def check_catalog(ctx: _Ctx) -> list[Finding]:
    catalog = _catalog(ctx.root)
    out: list[Finding] = []
    hrs = ctx.helm_releases()
    ks_tier = {k.name: k.tier for k in catalog.kustomizations}
    for entry in catalog.kustomizations:
        if fl.TIER_KUSTOMIZATIONS.get(entry.tier) != entry.name or entry.path != f"./flux/base/{entry.tier}":
            out.append(
                _f(
                    "catalog",
                    entry.name,
                    f"{entry.name} ({entry.path}) is not the layout's {entry.tier} tier Kustomization",
                )
            )
    for comp in catalog.components:
        tier = ks_tier.get(comp.kustomization)
        if tier is None:
            out.append(_f("catalog", comp.name, f"unknown Kustomization {comp.kustomization}"))
            continue
        if comp.helm_release:
            if comp.helm_release not in hrs:
                out.append(_f("catalog", comp.name, f"HelmRelease {comp.helm_release} is not in the layout"))
            elif hrs[comp.helm_release][0] != tier:
                out.append(
                    _f(
                        "catalog",
                        comp.name,
                        f"HelmRelease {comp.helm_release} is in {hrs[comp.helm_release][0]}, catalog: {tier}",
                    )
                )
        else:
            names = {(o.get("kind"), o["metadata"]["name"]) for o in ctx.tier_objects(tier)}
            if (comp.workload.kind, comp.workload.name) not in names:
                out.append(
                    _f(
                        "catalog",
                        comp.name,
                        f"{comp.workload.kind} {comp.workload.name} is not in flux/base/{tier}",
                    )
                )
    declared = {n["metadata"]["name"] for n in fl.namespaces(ctx.root)}
    ns = catalog.namespaces
    for wanted in sorted({ns.app, ns.helm_releases, ns.status} - declared):
        out.append(_f("catalog", "namespaces.yaml", f"catalog namespace {wanted} is not declared"))
    for obj in ctx.all_objects():
        used = obj["metadata"].get("namespace")
        if used and used not in declared | {ns.flux}:
            out.append(_f("catalog", _name(obj), f"namespace {used} is not declared in namespaces.yaml"))
    in_catalog = {c.helm_release for c in catalog.components if c.helm_release}
    for name in sorted(set(hrs) - in_catalog):
        out.append(_f("catalog", f"HelmRelease {name}", "not in the component catalog"))
    return out


def check_releases(ctx: _Ctx) -> list[Finding]:
    from appliance_cli.releases import load_release

    out: list[Finding] = []
    versions = ctx.releases()
    if not versions:
        return [_f("releases", str(ctx.root / "releases"), "no release manifests")]
    hrs = set(ctx.helm_releases())
    catalog = _catalog(ctx.root)
    for version in versions:
        subject = f"release {version}"
        try:
            release = load_release(version, ctx.root / "releases")
        except ApplianceError as exc:
            out.append(_f("releases", subject, exc.message))
            continue
        paths = set(release.app.chart_paths)
        for name in sorted(hrs - paths):
            out.append(_f("releases", subject, f"app.chartPaths has no path for HelmRelease {name}"))
        for name in sorted(paths - hrs):
            out.append(
                _f(
                    "releases",
                    subject,
                    f"app.chartPaths names {name}, which is not a HelmRelease of the layout",
                )
            )
        for comp in catalog.components:
            if comp.image_key and comp.image_key not in release.images:
                out.append(
                    _f("releases", subject, f"images has no {comp.image_key!r} (component {comp.name})")
                )
        for name in sorted(hrs):
            for mode in ("fresh", "recover"):
                try:
                    fl.render_values(
                        release,
                        component=name,
                        app_url="http://192.0.2.10:3000",
                        bootstrap_mode=mode,
                        root=ctx.root,
                    )
                except (ApplianceError, KeyError) as exc:
                    out.append(_f("releases", subject, f"values of {name} ({mode}) do not render: {exc}"))
    return out


def check_image_tags(ctx: _Ctx) -> list[Finding]:
    out: list[Finding] = []
    for obj in ctx.all_objects():
        pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for c in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            _, tag = fl._split_image(str(c.get("image", "")))
            if tag or "@" in str(c.get("image", "")):
                out.append(
                    _f(
                        "image-tags",
                        _name(obj),
                        f"{c.get('image')}: image tags come from the release manifest",
                    )
                )
    return out


CHECKS: tuple[tuple[str, Check], ...] = (
    ("render", check_render),
    ("schemas", check_schemas),
    ("tiers", check_tiers),
    ("helmreleases", check_helmreleases),
    ("fixes", check_fixes),
    ("rbac", check_rbac),
    ("status-service", check_status_service),
    ("image-tags", check_image_tags),
    ("catalog", check_catalog),
    ("releases", check_releases),
)


def validate_repository(
    *, repo_root: Path = REPO_ROOT, schemas_dir: Path | None = None, use_kubectl: bool | None = None
) -> ValidationReport:
    """Run every check; a check that cannot run (e.g. the layout does not render) is a finding."""
    if not (repo_root / "flux" / "base").is_dir():
        raise UsageError(f"{repo_root} has no flux/base directory", param="--repo-root")
    schemas = resolve_schemas_dir(schemas_dir, repo_root=repo_root)
    ctx = _Ctx(repo_root, schemas, use_kubectl)
    results: list[CheckResult] = []
    for name, check in CHECKS:
        try:
            findings = check(ctx)
        except ApplianceError as exc:
            findings = [_f(name, "layout", exc.message)]
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
            findings = [_f(name, "layout", f"malformed object: {exc!r}")]
        results.append(CheckResult(name=name, ok=not findings, findings=findings))
    return ValidationReport(
        ok=all(r.ok for r in results),
        repo_root=str(repo_root),
        schemas_dir=str(schemas),
        renderer="kubectl kustomize + built-in" if ctx.kubectl else "built-in",
        notes=ctx.notes,
        checks=results,
    )
