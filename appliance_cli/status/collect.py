"""Collect a cluster snapshot (docs/status.md): the I/O half of status; ``classify`` is the pure half.

One collection makes a constant number of API requests, whatever the number of pods or
events:

* one LIST per resource key of ``RESOURCE_KEYS``, all in parallel (a thread pool), each a
  single cluster-wide request. On the single-node appliance every namespace belongs to the
  appliance, so a cluster-wide list *is* the appliance scope and costs one request, where
  per-namespace lists would multiply requests by the number of namespaces. Where a
  selector narrows a list further, it is used:

  - ConfigMaps: ``labelSelector=app.kubernetes.io/part-of=alga-appliance`` — only the
    appliance's own (values, release selection, ``appliance-facts``), never anything else;
    Secrets are never read at all.
  - Events: never one page read in key order (namespace/name), where on a busy cluster the
    event that explains a blocker can fall behind thousands of others. The events the rules
    read are listed with server-side field selectors, each *paged* to its end
    (``limit=EVENT_PAGE_LIMIT`` and ``continue``, at most ``EVENT_MAX_PAGES`` pages):
    ``type=Warning``, ``reason=Pulling``, ``reason=Pulled`` (``EVENT_SELECTORS``); of all
    other events (``EVENT_REST_SELECTOR``) one page of ``EVENT_REST_LIMIT``. The lists run in
    parallel; the merged list is sorted newest first. Pull events of pods whose containers
    all run are kept only up to the newest ``PULL_EVENTS_KEPT`` per reason (no rule can need
    the others). ``collection.events`` says how many each selector listed, how many were not
    kept, and, in words, what had to be cut (the rest page keeps the server's
    ``metadata.continue``).

Every snapshot returned is redacted (``status.redact.redact_snapshot``): event, condition
and container messages, log tails, ConfigMap values, annotations and probe errors carry no
password, token or key, and ``CollectOptions.redact_extra`` (the status token, the client's
bearer token) is replaced wherever it appears.

* at most ``MAX_LOG_TAILS`` log tails (``tailLines=LOG_TAIL_LINES``) of containers that
  are crash-looping or terminated with an error, redacted;
* at most one exec (the seed-users count in ``msp/db-0``), only when asked (the CLI holds
  the admin kubeconfig; the in-cluster service reads ``appliance-facts`` instead);
* the login probe (HTTP, no redirects followed) — not a Kubernetes request;
* a Talos health check only when Kubernetes is unreachable.

API errors are state, not crashes: an API from which nothing could be listed (refused,
timed out, unauthorized) gives ``reachability.kubernetes`` false with the real error; a 403
(or any error) on one list records ``collection.unavailable[key]`` and the rest is
classified. A list answered 429/5xx is tried once more (so the count can exceed the
constant only under server errors, by at most one per resource).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from appliance_cli.adapters.kubeapi import KubeReader
from appliance_cli.errors import KubeError, KubeUnreachable
from appliance_cli.status.parallel import parallel_map
from appliance_cli.status.redact import redact_lines, redact_snapshot
from appliance_cli.status.snapshot import (
    RESOURCE_KEYS,
    ClusterSnapshot,
    CollectionInfo,
    EventsCollection,
    KubeReachability,
    LoginProbe,
    Probes,
    Reachability,
    SeedUsersProbe,
    SiteInfo,
    TalosReachability,
)

if TYPE_CHECKING:
    from appliance_cli.adapters.talos import HealthResult

Obj = dict[str, Any]

APPLIANCE_LABEL_SELECTOR = "app.kubernetes.io/part-of=alga-appliance"
FACTS_NAMESPACE = "appliance-system"
FACTS_CONFIGMAP = "appliance-facts"
FACTS_KEY = "facts.json"
EVENT_PAGE_LIMIT = 5000
EVENT_MAX_PAGES = 10
EVENT_REST_LIMIT = 1000
# The events the rules read: warnings (Failed, BackOff, FailedMount, FailedScheduling, ...) and
# the kubelet's pull events (pulls in progress, the node's measured download rate).
EVENT_SELECTORS: tuple[str, ...] = ("type=Warning", "reason=Pulling", "reason=Pulled")
EVENT_REST_SELECTOR = "type!=Warning,reason!=Pulling,reason!=Pulled"
# Pull events of pods whose containers all run can no longer show a pull in progress or a
# volume that does not mount: the newest of them are kept (the node's download rate, recent
# events), the rest are not kept in the snapshot (``collection.events.notKept``).
PULL_EVENTS_KEPT = 500
PULL_REASONS = ("Pulling", "Pulled")
# LIST requests of one collection while no events list needs a second page
LIST_REQUESTS = len(RESOURCE_KEYS) - 1 + len(EVENT_SELECTORS) + 1
LOG_TAIL_LINES = 50
MAX_LOG_TAILS = 6
LOGIN_PROBE_TIMEOUT = 3.0
SEED_PROBE_TIMEOUT = 8.0
SEED_COMMAND = ["psql", "-U", "postgres", "-d", "server", "-tAc", "select count(*) from users"]


def seed_pod() -> tuple[str, str, str]:
    """(namespace, pod, container) of the database, where the seed-user count is read."""
    from appliance_cli.catalog import load_catalog

    db = load_catalog().component("db")
    return db.namespace, f"{db.workload.name}-0", db.workload.container or db.workload.name


class KubeSource(KubeReader, Protocol):
    """What collection needs from ``adapters.kube.KubeClient``: the reads, and exec."""

    def exec(
        self, namespace: str, pod: str, container: str, command: list[str], timeout: float = 10.0
    ) -> tuple[str, str, int | None]: ...


@dataclass(frozen=True)
class ListSpec:
    label_selector: str | None = None
    field_selector: str | None = None
    limit: int | None = None


# How each resource key is listed (anything not named here: a plain cluster-wide LIST).
LIST_SPECS: dict[str, ListSpec] = {
    "v1/configmaps": ListSpec(label_selector=APPLIANCE_LABEL_SELECTOR),
}


@dataclass
class CollectOptions:
    site_id: str
    node_ip: str | None = None
    app_url: str | None = None
    status_url: str | None = None
    login_url: str | None = None
    release_version: str | None = None
    exec_seed_probe: bool = False
    talos_health: Callable[[], HealthResult] | None = None
    redact_extra: tuple[str, ...] = ()
    release_facts: dict[str, Any] = field(default_factory=dict)
    # in-cluster there is no site directory: take the site id bootstrap published, if any
    site_id_from_facts: bool = False
    # A run's memory of the seed-user counts it saw, per database container instance (pod UID
    # and restart count): users once seeded stay while that container runs, so a run that
    # collects again and again (bootstrap's waits) execs the query once, not on every poll.
    seed_users_seen: dict[str, SeedUsersProbe] | None = None
    # A long-running collector's memory of its last merged events, under the resourceVersions
    # of the lists they came from (``_events``): one dict per API (per client), never shared.
    events_seen: dict[tuple[str, ...], tuple[Obj, EventsCollection]] | None = None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_time(ev: Obj) -> str:
    series = ev.get("series") or {}
    return str(
        series.get("lastObservedTime")
        or ev.get("lastTimestamp")
        or ev.get("eventTime")
        or ev.get("firstTimestamp")
        or (ev.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def _list_retried(
    kube: KubeSource,
    key: str,
    spec: ListSpec,
    continue_token: str | None = None,
) -> Obj:
    def once() -> Obj:
        if continue_token:
            return kube.list_raw(
                key,
                label_selector=spec.label_selector,
                field_selector=spec.field_selector,
                limit=spec.limit,
                continue_token=continue_token,
            )
        return kube.list_raw(
            key, label_selector=spec.label_selector, field_selector=spec.field_selector, limit=spec.limit
        )

    try:
        return once()
    except KubeUnreachable as exc:
        # A server that answered 429/5xx gets one more try; one that did not answer gets none
        # (a down API must not double the wait).
        if exc.status is None:
            raise
        return once()


def _list_one(kube: KubeSource, key: str) -> Obj:
    return _list_retried(kube, key, LIST_SPECS.get(key, ListSpec()))


def _list_paged(kube: KubeSource, selector: str) -> tuple[Obj, list[Obj], str | None]:
    """Every event a field selector matches, page by page: ``(first page, items, cut or None)``."""
    spec = ListSpec(field_selector=selector, limit=EVENT_PAGE_LIMIT)
    first = _list_retried(kube, "v1/events", spec)
    items = list(first.get("items") or [])
    token = (first.get("metadata") or {}).get("continue")
    pages = 1
    while token:
        if pages >= EVENT_MAX_PAGES:
            left = (first.get("metadata") or {}).get("remainingItemCount")
            more = f"{left} more" if isinstance(left, int) else "more"
            return first, items, f"{selector}: {len(items)} listed ({pages} pages), {more} not read"
        try:
            page = _list_retried(kube, "v1/events", spec, continue_token=str(token))
        except KubeError as exc:  # an expired continue token (410) or a failing server
            return first, items, f"{selector}: {len(items)} listed, the next page failed: {exc}"
        items += page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        pages += 1
    return first, items, None


def _settled_pods(pods: list[Obj]) -> tuple[set[str], set[tuple[str, str]]]:
    """UIDs and (namespace, name) of pods running or done with no container waiting."""
    uids: set[str] = set()
    names: set[tuple[str, str]] = set()
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") not in ("Running", "Succeeded"):
            continue
        statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
        if any((cs.get("state") or {}).get("waiting") is not None for cs in statuses):
            continue
        meta = pod.get("metadata") or {}
        if meta.get("uid"):
            uids.add(str(meta["uid"]))
        names.add((str(meta.get("namespace") or ""), str(meta.get("name") or "")))
    return uids, names


def keep_needed_events(events: Obj, pods: list[Obj], info: EventsCollection) -> Obj:
    """``events`` (newest first) without the pull events no rule can need: those of settled
    pods beyond the newest ``PULL_EVENTS_KEPT`` of each reason. Counted in ``info.not_kept``."""
    uids, names = _settled_pods(pods)
    seen = dict.fromkeys(PULL_REASONS, 0)
    kept: list[Obj] = []
    for ev in events.get("items") or []:
        reason = ev.get("reason")
        if reason in seen and ev.get("type") != "Warning":
            seen[reason] += 1
            inv = ev.get("involvedObject") or {}
            settled = inv.get("kind") == "Pod" and (
                inv.get("uid") in uids
                if inv.get("uid")
                else (str(inv.get("namespace") or ""), str(inv.get("name") or "")) in names
            )
            if settled and seen[reason] > PULL_EVENTS_KEPT:
                info.not_kept[f"reason={reason}"] = info.not_kept.get(f"reason={reason}", 0) + 1
                continue
        kept.append(ev)
    return {**events, "items": kept}


def _list_rest(kube: KubeSource) -> Obj:
    return _list_retried(
        kube, "v1/events", ListSpec(field_selector=EVENT_REST_SELECTOR, limit=EVENT_REST_LIMIT)
    )


def merge_events(results: list[tuple[Obj, list[Obj], str | None]], rest: Obj) -> tuple[Obj, EventsCollection]:
    """The selectors' events (``results``, in ``EVENT_SELECTORS`` order) and the rest page,
    merged newest first, with what was read and cut."""
    info = EventsCollection()
    seen: set[tuple[str, str]] = set()
    items: list[Obj] = []
    for selector, (_first, listed, cut) in zip(EVENT_SELECTORS, results, strict=True):
        info.listed[selector] = len(listed)
        if cut:
            info.cut.append(cut)
        for ev in listed:
            meta = ev.get("metadata") or {}
            ref = (str(meta.get("namespace", "")), str(meta.get("name", "")))
            if ref not in seen:  # a Warning about a pull is matched by two selectors
                seen.add(ref)
                items.append(ev)
    rest_items = list(rest.get("items") or [])
    info.listed[EVENT_REST_SELECTOR] = len(rest_items)
    rest_meta = rest.get("metadata") or {}
    if rest_meta.get("continue"):
        left = rest_meta.get("remainingItemCount")
        more = f"{left} more" if isinstance(left, int) else "more"
        info.cut.append(f"other events: one page of {len(rest_items)} read, {more} not read")
    items += rest_items
    items.sort(key=event_time, reverse=True)
    list_meta: Obj = {
        k: v for k, v in (results[0][0].get("metadata") or {}).items() if k == "resourceVersion"
    }
    if rest_meta.get("continue"):
        list_meta["continue"] = rest_meta["continue"]
    out: Obj = {"kind": "EventList", "apiVersion": "v1", "metadata": list_meta, "items": items}
    return out, info


def _events(
    parts: list[tuple[Obj, list[Obj], str | None]],
    rest: Obj,
    pods: Obj | None,
    seen: dict[tuple[str, ...], tuple[Obj, EventsCollection]] | None,
) -> tuple[Obj, EventsCollection]:
    """``merge_events``, then ``keep_needed_events`` against the pods. With ``seen`` (a caller
    that collects again and again from one API), the answer is kept under the lists'
    resourceVersions and given again while they are the same: the same events and pods give
    the same answer, and merging tens of thousands of pull events is most of a collection's
    CPU on a busy cluster."""
    versions = (
        *(str((first.get("metadata") or {}).get("resourceVersion") or "") for first, _, _ in parts),
        str((rest.get("metadata") or {}).get("resourceVersion") or ""),
        str((pods.get("metadata") or {}).get("resourceVersion") or "") if pods else "-",
        *(cut or "" for _, _, cut in parts),
    )
    known = all(versions[: len(parts) + 2])
    if seen is not None and known and versions in seen:
        events, info = seen[versions]
        return events, info.model_copy(deep=True)
    events, info = merge_events(parts, rest)
    if pods is not None:
        events = keep_needed_events(events, list(pods.get("items") or []), info)
    if seen is not None and known:
        seen.clear()  # only the last answer can come again
        seen[versions] = (events, info.model_copy(deep=True))
    return events, info


def _failing_containers(pods: list[Obj]) -> list[tuple[str, str, str]]:
    """``(namespace, pod, container)`` of containers crash-looping or terminated with an error."""
    out: list[tuple[str, str, str]] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        status = pod.get("status") or {}
        failed_pod = status.get("phase") == "Failed"
        for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            waiting = state.get("waiting") or {}
            term = state.get("terminated") or {}
            last = (cs.get("lastState") or {}).get("terminated") or {}
            crash = waiting.get("reason") == "CrashLoopBackOff"
            errored = bool(term) and (term.get("exitCode") or 0) != 0
            restarted_badly = bool(last) and (last.get("exitCode") or 0) != 0 and not cs.get("ready")
            if crash or errored or restarted_badly or (failed_pod and term):
                out.append(
                    (str(meta.get("namespace", "")), str(meta.get("name", "")), str(cs.get("name", "")))
                )
    return out


def _log_tails(kube: KubeSource, pods: list[Obj], extra: tuple[str, ...]) -> dict[str, list[str]]:
    targets = _failing_containers(pods)[:MAX_LOG_TAILS]
    if not targets:
        return {}

    def one(t: tuple[str, str, str]) -> tuple[str, list[str]]:
        ns, pod, container = t
        try:
            lines = kube.pod_logs(ns, pod, container, tail_lines=LOG_TAIL_LINES)
        except KubeError:
            lines = []
        return f"{ns}/{pod}/{container}", redact_lines(lines[-LOG_TAIL_LINES:], extra=extra)

    return dict(parallel_map(one, targets, name="status-logs"))


def _seed_probe(kube: KubeSource, pods: list[Obj], seen: dict[str, SeedUsersProbe] | None) -> SeedUsersProbe:
    """``_seed_probe_exec``, or the positive count ``seen`` holds for the same running container."""
    instance = _seed_container_instance(pods)
    if seen is not None and instance is not None and instance in seen:
        return seen[instance]
    probed = _seed_probe_exec(kube, pods)
    if seen is not None and instance is not None and probed.count:
        seen[instance] = probed
    return probed


def _seed_container_instance(pods: list[Obj]) -> str | None:
    """``<pod uid>/<restart count>`` of the seed query's container while it runs, else None."""
    ns, name, container = seed_pod()
    for p in pods:
        meta = p.get("metadata") or {}
        if meta.get("namespace") != ns or meta.get("name") != name or not meta.get("uid"):
            continue
        for cs in (p.get("status") or {}).get("containerStatuses") or []:
            if cs.get("name") == container and (cs.get("state") or {}).get("running") is not None:
                return f"{meta['uid']}/{cs.get('restartCount', 0)}"
    return None


def _seed_probe_exec(kube: KubeSource, pods: list[Obj]) -> SeedUsersProbe:
    ns, name, container = seed_pod()
    pod = next(
        (
            p
            for p in pods
            if (p.get("metadata") or {}).get("namespace") == ns and p["metadata"].get("name") == name
        ),
        None,
    )
    if pod is None:
        return SeedUsersProbe(count=None, error=f"pod {ns}/{name} not found", source="exec")
    running = next(
        (
            cs
            for cs in (pod.get("status") or {}).get("containerStatuses") or []
            if cs.get("name") == container and (cs.get("state") or {}).get("running") is not None
        ),
        None,
    )
    if running is None:
        return SeedUsersProbe(
            count=None, error=f"container {container} in {ns}/{name} is not running", source="exec"
        )
    try:
        out, err, code = kube.exec(ns, name, container, list(SEED_COMMAND), timeout=SEED_PROBE_TIMEOUT)
    except KubeError as exc:
        return SeedUsersProbe(count=None, error=str(exc), source="exec")
    text = out.strip()
    if code not in (0, None) or not text.isdigit():
        detail = (err.strip() or text or f"exit code {code}")[:300]
        return SeedUsersProbe(count=None, error=f"seed query failed: {detail}", source="exec")
    return SeedUsersProbe(count=int(text), error=None, source="exec")


def _seed_probe_published(facts: dict[str, Any]) -> SeedUsersProbe | None:
    seed = facts.get("seedUsers")
    if isinstance(seed, dict) and isinstance(seed.get("count"), int):
        return SeedUsersProbe(count=int(seed["count"]), error=None, source="published")
    return None


def login_probe(url: str | None) -> LoginProbe | None:
    """GET the login URL once, short timeout, redirects not followed (status and Location kept).

    With the standard library's ``http.client``: one request needs no HTTP client package, and
    importing ``httpx`` would cost every ``appliance status`` more than the probe itself. A
    certificate is not verified (the appliance's login may serve a self-signed one).
    """
    if not url:
        return None
    import http.client
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn: http.client.HTTPConnection
    try:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        if parts.scheme == "https":
            # nothing is verified, so no trust store is loaded (the system's: tens of ms)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=LOGIN_PROBE_TIMEOUT, context=context
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=LOGIN_PROBE_TIMEOUT)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", target, headers={"Accept": "text/html,*/*"})
            resp = conn.getresponse()
            status, location = resp.status, resp.getheader("location")
        finally:
            conn.close()
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return LoginProbe(
            url=url, status_code=None, location=None, error=f"{type(exc).__name__}: {exc}"[:300]
        )
    return LoginProbe(url=url, status_code=status, location=location, error=None)


def facts_from(configmaps: Obj | None) -> dict[str, Any]:
    """``facts.json`` of ``appliance-system/appliance-facts`` (``{}`` when absent or malformed)."""
    for cm in (configmaps or {}).get("items") or []:
        meta = cm.get("metadata") or {}
        if meta.get("namespace") == FACTS_NAMESPACE and meta.get("name") == FACTS_CONFIGMAP:
            raw = (cm.get("data") or {}).get(FACTS_KEY)
            try:
                data = json.loads(raw) if raw else {}
            except ValueError:
                return {}
            if not isinstance(data, dict):
                return {}
            current = data.get("currentPhase")
            if isinstance(current, dict) and "bootstrap" not in data:
                data["bootstrap"] = current
            return data
    return {}


def collect(
    kube: KubeSource | None, opts: CollectOptions, *, kube_error: str | None = None
) -> ClusterSnapshot:
    """One snapshot. ``kube`` None (with ``kube_error``) means no client could be built."""
    started = time.monotonic()
    base_requests = kube.requests if kube is not None else 0
    resources: dict[str, Obj] = {}
    unavailable: dict[str, str] = {}
    errors: dict[str, KubeError] = {}
    events_info: EventsCollection | None = None
    # The seed query (an exec) needs only the pods: it starts as soon as they are listed, in
    # their thread, while the other lists are still answering.
    probed: list[SeedUsersProbe] = []

    if kube is not None:
        # One flat pool: a LIST per resource, a paged LIST per event selector, the rest page.
        tasks: list[tuple[str, str | None]] = [(k, None) for k in RESOURCE_KEYS if k != "v1/events"]
        tasks += [("v1/events", sel) for sel in (*EVENT_SELECTORS, EVENT_REST_SELECTOR)]

        def one(task: tuple[str, str | None]) -> Any:
            key, selector = task
            try:
                if selector is None:
                    listed = _list_one(kube, key)
                    if key == "v1/pods" and opts.exec_seed_probe:
                        probed.append(
                            _seed_probe(kube, list(listed.get("items") or []), opts.seed_users_seen)
                        )
                    return listed
                if selector == EVENT_REST_SELECTOR:
                    return _list_rest(kube)
                return _list_paged(kube, selector)
            except KubeError as exc:
                return exc

        event_parts: dict[str, Any] = {}
        for (key, selector), result in zip(tasks, parallel_map(one, tasks, name="status-list"), strict=True):
            if isinstance(result, KubeError):
                errors.setdefault(key, result)  # a failing events list fails the events
            elif selector is not None:
                event_parts[selector] = result
            else:
                resources[key] = result
        if "v1/events" not in errors and "v1/events" in RESOURCE_KEYS:
            resources["v1/events"], events_info = _events(
                [event_parts[sel] for sel in EVENT_SELECTORS],
                event_parts[EVENT_REST_SELECTOR],
                resources.get("v1/pods"),
                opts.events_seen,
            )
        resources = {k: resources[k] for k in RESOURCE_KEYS if k in resources}  # snapshot order

    # Nothing listed at all (refused, unauthorized, every answer an error) means the API
    # cannot be used: that is the root cause to report, with the server's own words.
    reachable = kube is not None and bool(resources)
    kube_reach = KubeReachability(reachable=reachable, error=None)
    if not reachable:
        first = next(iter(errors.values()), None)
        kube_reach = KubeReachability(
            reachable=False, error=str(first) if first else (kube_error or "no client")
        )
    else:
        for key, exc in errors.items():
            unavailable[key] = str(exc)

    facts = dict(opts.release_facts)
    facts.update(facts_from(resources.get("v1/configmaps")))

    pod_logs: dict[str, list[str]] = {}
    seed: SeedUsersProbe | None = _seed_probe_published(facts)
    if reachable and kube is not None:
        pods = list((resources.get("v1/pods") or {}).get("items") or [])
        pod_logs = _log_tails(kube, pods, opts.redact_extra)
        if probed and "v1/pods" in resources and (probed[0].count is not None or seed is None):
            seed = probed[0]

    talos = TalosReachability(checked=False)
    if not reachable and opts.talos_health is not None:
        try:
            health = opts.talos_health()
            talos = TalosReachability(checked=True, reachable=health.reachable, error=health.error)
        except Exception as exc:  # an adapter failing is state too
            talos = TalosReachability(checked=True, reachable=False, error=str(exc)[:300])

    probe_url = opts.login_url or opts.app_url
    login = login_probe(probe_url)

    requests = (kube.requests - base_requests) if kube is not None else 0
    snapshot = ClusterSnapshot(
        collected_at=_now(),
        collection=CollectionInfo(
            api_requests=requests,
            seconds=round(time.monotonic() - started, 4),
            unavailable=unavailable,
            events=events_info,
        ),
        site=SiteInfo(
            site_id=str(facts.get("siteId") or opts.site_id) if opts.site_id_from_facts else opts.site_id,
            node_ip=opts.node_ip,
            app_url=opts.app_url,
            status_url=opts.status_url,
            release_version=opts.release_version or _str_or_none(facts.get("releaseVersion")),
        ),
        reachability=Reachability(kubernetes=kube_reach, talos=talos),
        resources=resources,
        pod_logs=pod_logs,
        probes=Probes(login=login, seed_users=seed),
        release_facts=facts,
    )
    # the one place free text is cleaned: everything shown or bundled is built from this
    return redact_snapshot(snapshot, extra=opts.redact_extra)


def _str_or_none(v: Any) -> str | None:
    return str(v) if v else None
