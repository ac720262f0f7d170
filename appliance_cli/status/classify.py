"""Classify a cluster snapshot into the canonical status document (pure: no I/O, no clock).

``classify(snapshot)`` builds the index once, runs every registered rule, merges and ranks
the findings (root cause before symptom, login-blocking before background, one blocker per
code and component), derives the tiers and the rollup of docs/status.md, and lists what is still
in progress (image pulls, the bootstrap Job, reconciliations) as active operations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError

from appliance_cli import endpoints
from appliance_cli.catalog import Catalog, Component, load_catalog
from appliance_cli.status import pulls
from appliance_cli.status.index import (
    ContainerStatus,
    Pod,
    ReleaseImage,
    SnapshotIndex,
    build_index,
    iter_container_statuses,
    key_of,
    meta,
    parse_time,
    release_images_from,
    same_repository,
)
from appliance_cli.status.model import (
    LOGIN_STATES,
    ActiveOperation,
    Blocker,
    BlockerRepair,
    BootstrapProgress,
    ComponentStatus,
    EventSummary,
    ImageCheck,
    ReleaseInfo,
    Rollup,
    StatusDocument,
    Tiers,
    TierStatus,
    Urls,
)
from appliance_cli.status.readiness import (
    FAILING_WAITING_REASONS,
    Readiness,
    failing_waiting,
    flux_readiness,
    login_probe_ok,
    node_readiness,
    pvc_readiness,
    workload_readiness,
)
from appliance_cli.status.remedy import FIX_FOR_CODE, fix_applied, repair_hint
from appliance_cli.status.rules import Finding, registered, spec_for
from appliance_cli.status.rules.app import bootstrap_state, login_component
from appliance_cli.status.rules.platform import PRESSURE_TAINTS
from appliance_cli.status.rules.signals import active_pull
from appliance_cli.status.snapshot import ClusterSnapshot

if TYPE_CHECKING:
    from appliance_cli.releases import Release

MAX_EVIDENCE = 6
MAX_RECENT_EVENTS = 20
# Codes that only restate a symptom: folded into any other finding of the same component.
FOLDED_CODES = frozenset({"workload_not_ready"})


def generic_codes() -> frozenset[str]:
    """Codes whose rule says ``generic=True`` (a symptom or advisory, never a specific cause)."""
    return frozenset(r.spec.code for r in registered() if r.spec.generic)


# Helm/Flux wordings of "gave up waiting for the workloads" (a specific cause explains them).
TIMEOUT_WORDS = (
    "context deadline exceeded",
    "retries exhausted",
    "timeout waiting for",
    "timed out waiting",
    "failed post-install",
    "failed pre-install",
    "failed post-upgrade",
    "failed pre-upgrade",
)
# Symptoms a node-pressure condition explains when their signal names its taint.
PRESSURE_SYMPTOMS = frozenset({"unschedulable", "workload_not_ready", "pvc_pending"})


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _release_images(
    catalog: Catalog, release: Release | None, images: Mapping[str, ReleaseImage] | None
) -> dict[str, ReleaseImage] | None:
    if images is not None:
        return dict(images)
    if release is None:
        return None
    raw = {k: v.model_dump(by_alias=True) for k, v in release.images.items()}
    return release_images_from(catalog, raw)


# --- findings: run, merge, fold, explain, rank ---------------------------------------------


def run_rules(index: SnapshotIndex) -> list[Finding]:
    findings: list[Finding] = []
    for r in registered():
        if not index.kube_reachable and r.spec.code not in (
            "kubernetes_api_unreachable",
            "talos_api_unreachable",
        ):
            continue
        findings.extend(r.fn(index))
    return findings


def _merge(findings: list[Finding]) -> list[Finding]:
    merged: dict[tuple[str, str], Finding] = {}
    for f in findings:
        key = (f.code, f.component)
        if key not in merged:
            merged[key] = Finding(
                f.code, f.component, f.tier, f.reason, f.next_action, f.login_blocking, list(f.evidence)
            )
            continue
        m = merged[key]
        m.login_blocking = m.login_blocking or f.login_blocking
        seen = {(e.kind, e.namespace, e.name, e.message) for e in m.evidence}
        for e in f.evidence:
            if (e.kind, e.namespace, e.name, e.message) not in seen:
                m.evidence.append(e)
                seen.add((e.kind, e.namespace, e.name, e.message))
    return list(merged.values())


def _fold_and_explain(findings: list[Finding], index: SnapshotIndex) -> list[Finding]:
    generic = generic_codes()
    specific: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.code not in generic:
            specific[f.component].append(f)
    by_comp: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_comp[f.component].append(f)
    pressure = [f for f in findings if f.code == "node_pressure"]
    out: list[Finding] = []
    for f in findings:
        if f.code in FOLDED_CODES and any(o is not f for o in by_comp[f.component]):
            continue
        if pressure and f.code in PRESSURE_SYMPTOMS and _caused_by_pressure(f):
            f.reason = f"{f.reason} — a consequence of node_pressure (node), listed above"
        if f.code in ("helmrelease_failed", "kustomization_failed"):
            members = _members(f, index)
            causes = [c for comp in members for c in specific.get(comp, [])]
            if causes and (f.code == "kustomization_failed" or any(w in f.reason for w in TIMEOUT_WORDS)):
                names = ", ".join(dict.fromkeys(f"{c.code} ({c.component})" for c in causes))
                f.reason = f"{f.reason} — a consequence of {names}, listed above"
        out.append(f)
    return out


def _caused_by_pressure(f: Finding) -> bool:
    """A symptom whose own signal names a node-pressure taint (the scheduler's wording)."""
    texts = [f.reason, *(e.message for e in f.evidence)]
    return any(taint in t for t in texts for taint in PRESSURE_TAINTS.values())


def _members(f: Finding, index: SnapshotIndex) -> list[str]:
    if f.code == "kustomization_failed":
        return [c.name for c in index.catalog.components if c.kustomization == f.component]
    comp = next((c for c in index.catalog.components if c.name == f.component), None)
    if comp is None or comp.helm_release is None:
        return [f.component]
    return [c.name for c in index.components_of_helm_release(comp.helm_release)]


def rank(findings: list[Finding], catalog: Catalog) -> list[Finding]:
    order = {c.name: i for i, c in enumerate(catalog.components)}
    return sorted(
        findings,
        key=lambda f: (not f.login_blocking, spec_for(f.code).rank, order.get(f.component, -1), f.component),
    )


def _is_symptom(code: str) -> bool:
    """A Flux-level consequence (repaired once its cause is gone) or an advisory, never a cause."""
    spec = spec_for(code)
    return spec.repair.after_cause or (spec.generic and spec.layer == "release")


def _caused(findings: list[Finding], index: SnapshotIndex) -> set[tuple[str, str]]:
    """Symptoms whose component, or a member of it, still shows trouble: a specific cause, or
    a generic one such as a crash loop (its specific cause may be between two log reads)."""
    troubled = {f.component for f in findings if not _is_symptom(f.code)}
    return {
        (f.code, f.component)
        for f in findings
        if _is_symptom(f.code) and any(m in troubled for m in _members(f, index))
    }


def _repair(f: Finding, index: SnapshotIndex, caused: set[tuple[str, str]]) -> BlockerRepair:
    fix = FIX_FOR_CODE.get(f.code)
    in_place: bool | None = None
    if fix is not None:
        comp = next((c for c in index.catalog.components if c.name == f.component), None)
        hr = index.helm_releases.get(comp.helm_release or "") if comp else None
        workload = comp.workload.name if comp else None
        in_place = fix_applied(hr, fix, workload) if hr is not None else None
    return repair_hint(
        f.code,
        site_id=index.snapshot.site.site_id,
        caused=(f.code, f.component) in caused,
        fix_in_place=in_place,
    )


def _blocker(f: Finding, repair: BlockerRepair | None = None) -> Blocker:
    return Blocker(
        code=f.code,
        severity=f.severity,
        tier=f.tier,
        component=f.component,
        layer=spec_for(f.code).layer,
        reason=f.reason,
        next_action=f.next_action,
        login_blocking=f.login_blocking,
        evidence=f.evidence[:MAX_EVIDENCE],
        repair=repair,
    )


# --- tiers ----------------------------------------------------------------------------------


def _component_readiness(index: SnapshotIndex, comp: Component) -> Readiness:
    r = workload_readiness(index.workload(comp), comp.workload.kind)
    if not r.ready:
        return r
    for pvc_name in comp.pvcs:
        pvc = index.pvcs.get((comp.namespace, pvc_name))
        if pvc is not None and not pvc_readiness(pvc).ready:
            return Readiness("progressing", "VolumeNotBound", f"PVC {pvc_name} not bound")
    for pod in index.pods_by_component.get(comp.name, []):
        for cs in iter_container_statuses(pod):
            bad = failing_waiting(cs)
            if bad and bad[0] in FAILING_WAITING_REASONS:
                return Readiness("failed", bad[0], f"pod {key_of(pod)[1]}: {bad[0]}")
    return r


def _tier(ready: bool, failed: bool, message: str, ok_message: str = "") -> TierStatus:
    if ready:
        return TierStatus(ready=True, status="healthy", message=ok_message)
    return TierStatus(ready=False, status="failed" if failed else "progressing", message=message)


def _first_not_ready(index: SnapshotIndex, comps: list[Component]) -> str:
    for c in comps:
        r = _component_readiness(index, c)
        if not r.ready:
            return f"{c.name}: {r.message or r.reason}"
    return ""


def compute_tiers(index: SnapshotIndex, findings: list[Finding], login_url: str | None) -> Tiers:
    if not index.kube_reachable:
        unknown = TierStatus(ready=False, status="unknown", message="Kubernetes API unreachable")
        return Tiers(
            platform=TierStatus(ready=False, status="failed", message="Kubernetes API unreachable"),
            core=unknown,
            bootstrap=unknown,
            login=unknown,
            background=unknown,
            full_health=unknown,
        )
    cat = index.catalog
    blocking = [f for f in findings if f.login_blocking]
    comps_with = {f.component for f in blocking}

    # platform
    nodes_ok = bool(index.nodes) and all(node_readiness(n).ready for n in index.nodes)
    sources_ok = bool(index.git_repositories) and all(flux_readiness(s).ready for s in index.git_repositories)
    platform_ks = next((k.name for k in cat.kustomizations if k.tier == "platform"), "alga-platform")
    ks_ok = flux_readiness(index.kustomizations.get(platform_ks)).ready
    platform_msg = (
        "node not Ready"
        if not nodes_ok
        else "Flux source not ready"
        if not sources_ok
        else f"Kustomization {platform_ks} not ready"
        if not ks_ok
        else ""
    )
    platform = _tier(
        nodes_ok and sources_ok and ks_ok,
        any(f.tier == "platform" for f in blocking),
        platform_msg,
        "Kubernetes, node and Flux ready",
    )

    # core
    core_comps = cat.by_tier("core")
    core_ready = all(_component_readiness(index, c).ready for c in core_comps)
    core = _tier(
        core_ready,
        any(c.name in comps_with for c in core_comps),
        _first_not_ready(index, core_comps),
        "database, cache and pooler ready",
    )

    # bootstrap
    bs = bootstrap_state(index)
    bs_failed = any(f.code in ("bootstrap_job_failed", "seed_data_missing") for f in findings)
    if bs.done:
        bs_msg = f"{bs.seed_count} users seeded"
    elif bs.job_readiness.state == "progressing" and bs.job is not None:
        bs_msg = "bootstrap Job running"
    elif bs.job_readiness.ready or (bs.job is None and bs.helm_ready):
        bs_msg = "waiting for the seed user count" if bs.seed_count is None else "no users seeded"
    elif bs.job is None:
        bs_msg = "bootstrap Job not started yet"
    else:
        bs_msg = bs.job_readiness.message
    bootstrap = _tier(bs.done, bs_failed, bs_msg, bs_msg)

    # login
    web = login_component(index)
    web_ready = web is not None and _component_readiness(index, web).ready
    probe = index.snapshot.probes.login
    probe_ok = probe is not None and login_probe_ok(probe.status_code, probe.location, login_url)
    # docs/status.md: core + bootstrap + web + probe. The platform tier is not part of it: Flux losing
    # its source after the install does not stop people logging in.
    login_ready = core.ready and bootstrap.ready and web_ready and probe_ok
    if not core.ready:
        login_msg = "waiting for core" if platform.ready else "waiting for platform and core"
    elif not bootstrap.ready:
        login_msg = "waiting for bootstrap"
    elif not web_ready:
        login_msg = "web application starting"
    elif not probe_ok:
        login_msg = "login page not answering yet" if probe is None else "login probe failing"
    else:
        login_msg = ""
    login = _tier(login_ready, bool(blocking), login_msg, f"login at {login_url}" if login_url else "")

    # background
    bg_comps = cat.by_tier("background")
    bg_ready = all(_component_readiness(index, c).ready for c in bg_comps)
    bg_findings = [f for f in findings if f.tier == "background"]
    if bg_ready and not bg_findings:
        background = TierStatus(ready=True, status="healthy", message="all background services ready")
    elif bg_findings:
        names = ", ".join(dict.fromkeys(f.component for f in bg_findings))
        background = TierStatus(ready=False, status="degraded", message=f"needs attention: {names}")
    else:
        background = TierStatus(ready=False, status="progressing", message=_first_not_ready(index, bg_comps))

    # full health
    hrs_ready = all(flux_readiness(hr).ready for hr in index.helm_releases.values())
    hrs_present = all(name in index.helm_releases for name in cat.helm_releases())
    tags_ok = not any(f.code in ("image_tag_not_found", "release_image_drift") for f in findings)
    # Any remaining blocker (e.g. the Talos API) also keeps the appliance from full health.
    full_ready = login.ready and background.ready and hrs_ready and hrs_present and tags_ok and not findings
    if full_ready:
        full = TierStatus(ready=True, status="healthy", message="everything healthy")
    elif findings:
        full = TierStatus(ready=False, status="degraded", message=f"{len(findings)} issue(s)")
    else:
        full = TierStatus(ready=False, status="progressing", message="rollout in progress")
    return Tiers(
        platform=platform,
        core=core,
        bootstrap=bootstrap,
        login=login,
        background=background,
        full_health=full,
    )


# --- active operations, components, events ----------------------------------------------------


def _elapsed(index: SnapshotIndex, since: datetime | None) -> int | None:
    return max(0, int((index.now - since).total_seconds())) if since else None


def _containers_with_status(pod: Pod) -> list[ContainerStatus]:
    """Reported container statuses, plus spec containers the kubelet has not reported yet."""
    statuses = list(iter_container_statuses(pod))
    seen = {cs.get("name") for cs in statuses}
    spec = pod.get("spec") or {}
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if c.get("name") not in seen:
            statuses.append(ContainerStatus(name=c.get("name", ""), image=c.get("image", ""), state={}))
    return statuses


def _starting(index: SnapshotIndex) -> dict[tuple[str, str, str], ActiveOperation]:
    """Containers of not-ready catalog workloads that run and wait for their readiness probe."""
    out: dict[tuple[str, str, str], ActiveOperation] = {}
    for comp in index.catalog.components:
        if workload_readiness(index.workload(comp), comp.workload.kind).ready:
            continue
        for pod in index.pods_by_component.get(comp.name, []):
            for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                run = (cs.get("state") or {}).get("running")
                if run is None or cs.get("ready"):
                    continue
                since = parse_time(run.get("startedAt"))
                out.setdefault(
                    ("starting", comp.name, cs.get("name", "")),
                    ActiveOperation(
                        component=comp.name,
                        operation="starting",
                        elapsed_seconds=_elapsed(index, since),
                        message=f"{comp.name} container {cs.get('name')} is running, waiting to become ready",
                    ),
                )
    return out


def node_download_rate(index: SnapshotIndex) -> float | None:
    """Bytes per second the node pulled images at, from the kubelet's ``Pulled`` events."""
    return pulls.download_rate(pulls.measured_pulls(te.message for te in index.events_with_reason("Pulled")))


def active_operations(index: SnapshotIndex, findings: list[Finding]) -> list[ActiveOperation]:
    if not index.kube_reachable:
        return []
    ops: dict[tuple[str, str, str], ActiveOperation] = {}
    rates: list[float | None] = []  # the node's download rate, worked out at the first pull
    for pod in index.unsettled_pods:
        if meta(pod).get("uid") not in index.uids_with_pulling:
            continue  # no Pulling event of its own: nothing of it is being pulled (active_pull)
        comp = index.component_of_pod(pod)
        cname = comp.name if comp else key_of(pod)[1]
        for cs in _containers_with_status(pod):
            te = active_pull(index, pod, cs)
            if te is None:
                continue
            image = cs.get("image", "")
            rel = index.release_image_for(comp) if comp else None
            size = rel.estimated_size if rel and same_repository(image, rel.repository) else None
            elapsed = _elapsed(index, te.time)
            nbytes = pulls.size_bytes(size)
            if not rates:
                rates.append(node_download_rate(index))
            rate = rates[0]
            ops.setdefault(
                ("pulling_image", cname, image),
                ActiveOperation(
                    component=cname,
                    operation="pulling_image",
                    image=image,
                    elapsed_seconds=elapsed,
                    estimated_size=size,
                    message=te.message,
                    size_bytes=nbytes,
                    download_rate_bytes_per_second=round(rate, 1) if rate else None,
                    estimated_seconds_left=pulls.seconds_left(nbytes, elapsed, rate),
                    estimated_total_seconds=pulls.seconds_total(nbytes, rate),
                ),
            )
    bs = bootstrap_state(index)
    if bs.job is not None and bs.job_readiness.state == "progressing":
        _, jname = key_of(bs.job)
        job_comp = index.component_of_job(jname)
        comp_name = job_comp.name if job_comp else jname
        ops[("running_job", comp_name, jname)] = ActiveOperation(
            component=comp_name,
            operation="running_job",
            elapsed_seconds=_elapsed(index, parse_time((bs.job.get("status") or {}).get("startTime"))),
            message=f"Job {jname}: {bs.job_readiness.message}",
        )
    pending_codes = {(f.code, f.component) for f in findings}
    for pvc in index.pvcs.values():
        r = pvc_readiness(pvc)
        comp = index.component_of_pvc(pvc)
        cname = comp.name if comp else key_of(pvc)[1]
        if r.state == "progressing" and ("pvc_pending", cname) not in pending_codes:
            ops[("provisioning_volume", cname, key_of(pvc)[1])] = ActiveOperation(
                component=cname,
                operation="provisioning_volume",
                elapsed_seconds=_elapsed(
                    index, parse_time((pvc.get("metadata") or {}).get("creationTimestamp"))
                ),
                message=f"PVC {key_of(pvc)[1]} {r.reason}",
            )
    ops.update(_starting(index))
    for kind, objs in (("HelmRelease", index.helm_releases), ("Kustomization", index.kustomizations)):
        for name, obj in objs.items():
            r = flux_readiness(obj)
            if r.state != "progressing" or r.reason in (
                "DependencyNotReady",
                "Suspended",
                "WaitingForSource",
            ):
                continue
            ready_cond = next(
                (
                    c
                    for c in (obj.get("status") or {}).get("conditions") or []
                    if c.get("type") in ("Reconciling", "Ready")
                ),
                None,
            )
            since = parse_time(ready_cond.get("lastTransitionTime")) if ready_cond else None
            ops[("reconciling", name, kind)] = ActiveOperation(
                component=name,
                operation="reconciling",
                elapsed_seconds=_elapsed(index, since),
                message=f"{kind} {name}: {r.message or r.reason}",
            )
    return list(ops.values())


def held_by_blockers(
    ops: list[ActiveOperation], blockers: list[Blocker], catalog: Catalog
) -> list[ActiveOperation]:
    """An operation whose component has a blocker is held by it, not progressing: it names the
    top-ranked blocker of its component (a Kustomization's or HelmRelease's operation: of a
    component it deploys)."""
    owners: dict[str, set[str]] = defaultdict(set)  # operation component -> catalog components
    for c in catalog.components:
        owners[c.name].add(c.name)
        owners[c.kustomization].add(c.name)
        if c.helm_release:
            owners[c.helm_release].add(c.name)
    out: list[ActiveOperation] = []
    for op in ops:
        mine = owners.get(op.component, {op.component})
        held = next((b for b in blockers if b.component in mine or b.component == op.component), None)
        out.append(op.model_copy(update={"blocked_by": held.code}) if held else op)
    return out


def component_statuses(index: SnapshotIndex, findings: list[Finding]) -> list[ComponentStatus]:
    by_comp: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_comp[f.component].append(f)
    out: list[ComponentStatus] = []
    for c in index.catalog.components:
        if not index.kube_reachable:
            out.append(
                ComponentStatus(
                    name=c.name,
                    tier=c.tier,
                    ready=False,
                    status="unknown",
                    message="Kubernetes API unreachable",
                )
            )
            continue
        r = _component_readiness(index, c)
        fs = by_comp.get(c.name, [])
        if fs:
            status = "failed" if any(f.login_blocking for f in fs) else "degraded"
            message = fs[0].reason
        elif r.ready:
            status, message = "healthy", r.message
        else:
            status = "progressing"
            message = "not deployed yet" if r.state == "absent" else (r.message or r.reason)
        out.append(ComponentStatus(name=c.name, tier=c.tier, ready=r.ready, status=status, message=message))
    return out


def recent_events(index: SnapshotIndex, limit: int = MAX_RECENT_EVENTS) -> list[EventSummary]:
    out: list[EventSummary] = []
    for te in index.newest_events(limit):
        inv = te.event.get("involvedObject") or {}
        count = te.event.get("count") or (te.event.get("series") or {}).get("count")
        out.append(
            EventSummary(
                namespace=inv.get("namespace"),
                kind=inv.get("kind"),
                name=inv.get("name"),
                type=te.type or None,
                reason=te.reason or None,
                message=te.message,
                timestamp=_rfc3339(te.time) if te.time else None,
                count=count,
            )
        )
    return out


# --- release, urls, rollup ------------------------------------------------------------------------


def _image_checks(index: SnapshotIndex) -> list[ImageCheck]:
    out: list[ImageCheck] = []
    for raw in index.snapshot.release_facts.get("imageChecks") or []:
        try:
            out.append(ImageCheck.model_validate(raw))
        except ValidationError:
            continue
    return out


def release_info(index: SnapshotIndex, release: Release | None) -> ReleaseInfo:
    """The selected release: the manifest when given, else what the cluster and bootstrap published."""
    facts = index.snapshot.release_facts
    published = index.release_selection

    def pick(key: str, from_release: str | None) -> str | None:
        value = from_release or published.get(key) or facts.get(key)
        return str(value) if value else None

    revision = next(
        (((s.get("status") or {}).get("artifact") or {}).get("revision") for s in index.git_repositories),
        None,
    )
    return ReleaseInfo(
        selected_release_version=index.snapshot.site.release_version
        or pick("releaseVersion", release.version if release else None),
        app_version=pick("appVersion", release.app.version if release else None),
        channel=pick("channel", release.channel if release else None),
        git_revision=revision or pick("gitRevision", None),
        image_checks=_image_checks(index),
    )


def urls(index: SnapshotIndex) -> Urls:
    site = index.snapshot.site
    web = login_component(index)
    probe_url = index.snapshot.probes.login.url if index.snapshot.probes.login else None
    resolved = endpoints.resolve(
        node_ip=site.node_ip,
        app_url=site.app_url or probe_url,
        target_status_url=site.status_url,
        login_port=web.login_port if web and web.login_port else endpoints.LOGIN_PORT,
    )
    return Urls(status_url=resolved.status_url, login_url=resolved.login_url)


def _fmt_elapsed(seconds: int | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(seconds, 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


def rollup(
    tiers: Tiers, blockers: list[Blocker], ops: list[ActiveOperation], login_url: str | None
) -> Rollup:
    where = f" at {login_url}" if login_url else ""
    if tiers.login.ready:
        if tiers.full_health.ready:
            return Rollup(
                state="fully_healthy", message="Alga is fully healthy.", next_action=f"Log in to Alga{where}."
            )
        if any(b.tier == "background" for b in blockers):
            return Rollup(
                state="ready_with_background_issues",
                message="Alga is ready to log in. Some background services need attention.",
                next_action="Log in to Alga, then review background service issues.",
            )
        if blockers:  # advisory only: Talos API, image drift of a core component, platform extras
            return Rollup(
                state="ready_with_background_issues",
                message="Alga is ready to log in. Some checks need attention (login is not affected).",
                next_action=f"Log in to Alga, then review: {blockers[0].reason}",
            )
        return Rollup(
            state="ready_to_log_in",
            message="Alga is ready to log in. Background services are still starting.",
            next_action=f"Log in to Alga{where}; background services will follow.",
        )
    top = next((b for b in blockers if b.login_blocking), None)
    if top is not None:
        return Rollup(
            state="failed_action_required",
            message=f"Login is blocked: {top.reason}",
            next_action=top.next_action,
        )
    moving = [o for o in ops if not o.blocked_by]  # what is held by a blocker is not awaited
    pull = next((o for o in moving if o.operation == "pulling_image"), None)
    if pull is not None:
        size = f", {pull.estimated_size}" if pull.estimated_size else ""
        so_far = f", {_fmt_elapsed(pull.elapsed_seconds)} so far" if pull.elapsed_seconds is not None else ""
        left = pull.estimated_seconds_left
        eta = f", about {_fmt_elapsed(left)} left" if left else ""
        nxt = f"Wait: {pull.component} is pulling {pull.image}{size}{so_far}{eta}."
    elif moving:
        nxt = f"Wait: {moving[0].message or moving[0].operation}."
    else:
        nxt = f"Wait: {tiers.login.message or 'the rollout is progressing'}."
    return Rollup(state="installing", message="Alga is installing.", next_action=nxt)


def _bootstrap_progress(index: SnapshotIndex) -> BootstrapProgress | None:
    raw = index.snapshot.release_facts.get("bootstrap")
    if not isinstance(raw, Mapping):
        return None
    try:
        return BootstrapProgress.model_validate(dict(raw))
    except ValidationError:
        return None


# --- entry point ------------------------------------------------------------------------------------


def classify(
    snapshot: ClusterSnapshot,
    *,
    release: Release | None = None,
    release_images: Mapping[str, ReleaseImage] | None = None,
    now: datetime | None = None,
    catalog: Catalog | None = None,
) -> StatusDocument:
    """The status document for one snapshot.

    ``release`` (or ``release_images``: component → image) is the selected release as data;
    without it the images published in the snapshot (``releaseFacts.images`` or a
    release-selection ConfigMap) are used. ``now`` defaults to the snapshot's ``collectedAt``.
    """
    catalog = catalog or load_catalog()
    if now is None:
        now = parse_time(snapshot.collected_at) or datetime.now(UTC)
    index = build_index(
        snapshot, now=now, catalog=catalog, release_images=_release_images(catalog, release, release_images)
    )
    findings = _fold_and_explain(_merge(run_rules(index)), index)
    the_urls = urls(index)
    tiers = compute_tiers(index, findings, the_urls.login_url)
    if tiers.login.ready:
        # People can log in: whatever remains does not block login, whatever its tier.
        for f in findings:
            f.login_blocking = False
    findings = rank(findings, catalog)
    caused = _caused(findings, index)
    blockers = [_blocker(f, _repair(f, index, caused)) for f in findings]
    ops = held_by_blockers(active_operations(index, findings), blockers, catalog)
    return StatusDocument(
        site_id=snapshot.site.site_id,
        timestamp=_rfc3339(now),
        release=release_info(index, release),
        urls=the_urls,
        rollup=rollup(tiers, blockers, ops, the_urls.login_url),
        tiers=tiers,
        top_blockers=blockers,
        active_operations=ops,
        components=component_statuses(index, findings),
        recent_events=recent_events(index),
        bootstrap=_bootstrap_progress(index),
    )


def login_available(doc: StatusDocument) -> bool:
    return doc.rollup.state in LOGIN_STATES
