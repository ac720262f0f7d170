"""One pass over a cluster snapshot that builds the lookups every rule reads.

The index is built once per classification: objects by namespace and name, events grouped
by the UID of the object they are about (only for objects that are live in the snapshot:
events of a deleted pod or of an older incarnation of an object do not count), the
component of each object through the catalog, and the release's images as plain data.
Rules never rescan the raw lists.

The ``TypedDict`` shapes below describe the parts of the raw API JSON that rules read.
"""

from __future__ import annotations

import heapq
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, NamedTuple, TypedDict, TypeVar, cast

from appliance_cli.catalog import Catalog, Component, load_catalog
from appliance_cli.status.snapshot import ClusterSnapshot

T = TypeVar("T")

Key = tuple[str, str]  # (namespace, name)


# --- raw API shapes (only the fields the classifier reads) -------------------------------


class OwnerReference(TypedDict, total=False):
    kind: str
    name: str
    uid: str


class ObjectMeta(TypedDict, total=False):
    name: str
    namespace: str
    uid: str
    generation: int
    creationTimestamp: str
    deletionTimestamp: str
    labels: dict[str, str]
    ownerReferences: list[OwnerReference]


class Condition(TypedDict, total=False):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str
    lastTransitionTime: str
    observedGeneration: int


class ContainerStateWaiting(TypedDict, total=False):
    reason: str
    message: str


class ContainerStateRunning(TypedDict, total=False):
    startedAt: str


class ContainerStateTerminated(TypedDict, total=False):
    reason: str
    message: str
    exitCode: int
    startedAt: str
    finishedAt: str


class ContainerState(TypedDict, total=False):
    waiting: ContainerStateWaiting
    running: ContainerStateRunning
    terminated: ContainerStateTerminated


class ContainerStatus(TypedDict, total=False):
    name: str
    image: str
    imageID: str
    ready: bool
    started: bool
    restartCount: int
    state: ContainerState
    lastState: ContainerState


class ContainerSpec(TypedDict, total=False):
    name: str
    image: str


class PodSpec(TypedDict, total=False):
    containers: list[ContainerSpec]
    initContainers: list[ContainerSpec]
    nodeName: str


class PodStatus(TypedDict, total=False):
    phase: str
    reason: str
    message: str
    conditions: list[Condition]
    containerStatuses: list[ContainerStatus]
    initContainerStatuses: list[ContainerStatus]
    startTime: str


class Pod(TypedDict, total=False):
    metadata: ObjectMeta
    spec: PodSpec
    status: PodStatus


class InvolvedObject(TypedDict, total=False):
    kind: str
    namespace: str
    name: str
    uid: str
    fieldPath: str


class EventSeries(TypedDict, total=False):
    count: int
    lastObservedTime: str


class Event(TypedDict, total=False):
    metadata: ObjectMeta
    involvedObject: InvolvedObject
    type: str
    reason: str
    message: str
    count: int
    firstTimestamp: str | None
    lastTimestamp: str | None
    eventTime: str | None
    series: EventSeries


class WorkloadSpec(TypedDict, total=False):
    replicas: int
    template: Pod


class WorkloadStatus(TypedDict, total=False):
    observedGeneration: int
    replicas: int
    updatedReplicas: int
    readyReplicas: int
    availableReplicas: int
    currentRevision: str
    updateRevision: str
    conditions: list[Condition]


class Workload(TypedDict, total=False):
    kind: str
    metadata: ObjectMeta
    spec: WorkloadSpec
    status: WorkloadStatus


class JobStatus(TypedDict, total=False):
    active: int
    succeeded: int
    failed: int
    conditions: list[Condition]
    startTime: str
    completionTime: str


class Job(TypedDict, total=False):
    metadata: ObjectMeta
    status: JobStatus


class PvcStatus(TypedDict, total=False):
    phase: str


class Pvc(TypedDict, total=False):
    metadata: ObjectMeta
    status: PvcStatus


class Taint(TypedDict, total=False):
    key: str
    value: str
    effect: str
    timeAdded: str


class NodeSpec(TypedDict, total=False):
    taints: list[Taint]


class NodeStatus(TypedDict, total=False):
    conditions: list[Condition]


class Node(TypedDict, total=False):
    metadata: ObjectMeta
    spec: NodeSpec
    status: NodeStatus


class FluxArtifact(TypedDict, total=False):
    revision: str


class FluxHistoryEntry(TypedDict, total=False):
    chartVersion: str
    status: str


class FluxSpec(TypedDict, total=False):
    suspend: bool
    url: str


class FluxStatus(TypedDict, total=False):
    observedGeneration: int
    conditions: list[Condition]
    artifact: FluxArtifact
    lastAppliedRevision: str
    lastAttemptedRevision: str
    history: list[FluxHistoryEntry]


class FluxObject(TypedDict, total=False):
    kind: str
    metadata: ObjectMeta
    spec: FluxSpec
    status: FluxStatus


class ConfigMap(TypedDict, total=False):
    metadata: ObjectMeta
    data: dict[str, str]


# --- helpers --------------------------------------------------------------------------------


def parse_time(value: object) -> datetime | None:
    """RFC 3339 (``...Z`` or with micro-seconds) → aware datetime; anything else → None."""
    if not isinstance(value, str) or not value:
        return None
    return _parse_rfc3339(value)


@lru_cache(maxsize=8192)
def _parse_rfc3339(value: str) -> datetime | None:
    # Timestamps repeat a lot (every event of a second, every condition of a rollout): parse
    # each distinct string once. datetimes are immutable, so sharing them is safe.
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def event_time(ev: Event) -> datetime | None:
    """When an event was last seen (series, lastTimestamp, eventTime, firstTimestamp, creation)."""
    series = ev.get("series")
    if series:
        t = parse_time(series.get("lastObservedTime"))
        if t is not None:
            return t
    # lastTimestamp, then eventTime, then firstTimestamp (unrolled: this runs for every event)
    value = ev.get("lastTimestamp")
    if value and isinstance(value, str) and (t := _parse_rfc3339(value)) is not None:
        return t
    value = ev.get("eventTime")
    if value and isinstance(value, str) and (t := _parse_rfc3339(value)) is not None:
        return t
    value = ev.get("firstTimestamp")
    if value and isinstance(value, str) and (t := _parse_rfc3339(value)) is not None:
        return t
    return parse_time((ev.get("metadata") or {}).get("creationTimestamp"))


def condition(obj_status: Mapping[str, Any] | None, ctype: str) -> Condition | None:
    for c in (obj_status or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return cast(Condition, c)
    return None


def meta(obj: Mapping[str, Any]) -> ObjectMeta:
    return cast(ObjectMeta, obj.get("metadata") or {})


def key_of(obj: Mapping[str, Any]) -> Key:
    m = obj.get("metadata") or {}
    return (m.get("namespace") or "", m.get("name") or "")


def image_repository(image: str) -> str:
    """``ghcr.io/org/app:tag@sha256:…`` → ``ghcr.io/org/app`` (a registry port is kept)."""
    ref = image.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    return ref[:colon] if colon > slash else ref


def image_tag(image: str) -> str | None:
    ref = image.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    return ref[colon + 1 :] if colon > slash else None


def _normal_repo(repo: str) -> str:
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/"):
        if repo.startswith(prefix):
            return repo[len(prefix) :]
    return repo


def same_repository(a: str, b: str) -> bool:
    return _normal_repo(image_repository(a)) == _normal_repo(image_repository(b))


# Owners whose pods are replaced by their controller: a pod of theirs that ended (Failed,
# Succeeded), is being deleted, or belongs to an older revision is history, not the workload.
REPLACING_OWNERS = frozenset({"ReplicaSet", "StatefulSet", "DaemonSet"})
# The deployment controller names its new ReplicaSet in the Progressing condition:
# 'ReplicaSet "X" has successfully progressed.', '... is progressing.', '... has timed out
# progressing.', 'Created new replica set "X"', 'Found new replica set "X"'.
NEW_REPLICASET = re.compile(r'(?:ReplicaSet|replica set) "([^"]+)"')


def controller_ref(obj: Mapping[str, Any]) -> OwnerReference | None:
    refs = meta(obj).get("ownerReferences") or []
    return next((r for r in refs if r.get("controller")), refs[0] if refs else None)


def owner_workload(pod: Pod) -> tuple[str, str] | None:
    """(kind, name) of the workload that owns a pod: Deployment (through its ReplicaSet),
    StatefulSet, DaemonSet or Job; ``None`` for a bare pod."""
    ref = controller_ref(pod)
    if ref is None or not ref.get("name"):
        return None
    kind, name = ref.get("kind") or "", ref.get("name") or ""
    if kind == "ReplicaSet":
        pth = (meta(pod).get("labels") or {}).get("pod-template-hash")
        if pth and name.endswith("-" + pth):
            return "Deployment", name[: -len(pth) - 1]
        return "Deployment", name.rsplit("-", 1)[0] if "-" in name else name
    return kind, name


def workload_name(pod: Pod) -> str:
    """The name an admin knows a pod by: its workload's (``kustomize-controller``), else its own."""
    owner = owner_workload(pod)
    return owner[1] if owner else key_of(pod)[1]


def pod_ended(pod: Pod) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded")


@dataclass(frozen=True)
class ReleaseImage:
    """One image the selected release pins for a component (plain data for the classifier)."""

    component: str
    repository: str
    tag: str
    estimated_size: str | None = None

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"


class TimedEvent(NamedTuple):
    """An event with the time it was last seen (parsed once, when the index is built)."""

    time: datetime | None
    event: Event

    @property
    def reason(self) -> str:
        return self.event.get("reason") or ""

    @property
    def message(self) -> str:
        return self.event.get("message") or ""

    @property
    def type(self) -> str:
        return self.event.get("type") or ""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time_or_epoch(te: TimedEvent) -> datetime:
    return te.time or _EPOCH


@dataclass
class SnapshotIndex:
    """Everything a rule looks up, built in one pass (see module docstring)."""

    snapshot: ClusterSnapshot
    now: datetime
    catalog: Catalog
    release_images: dict[str, ReleaseImage] = field(default_factory=dict)
    release_selection: dict[str, str] = field(default_factory=dict)
    # Live pods of the current revision of their owner: the ones that describe a workload.
    pods: dict[Key, Pod] = field(default_factory=dict)
    # Pods of the past (evicted, shut down with the node, failed, terminating, older revision):
    # kept for evidence only, never a workload's state.
    past_pods: dict[Key, Pod] = field(default_factory=dict)
    pods_by_component: dict[str, list[Pod]] = field(default_factory=lambda: defaultdict(list))
    deployments: dict[Key, Workload] = field(default_factory=dict)
    statefulsets: dict[Key, Workload] = field(default_factory=dict)
    jobs: dict[Key, Job] = field(default_factory=dict)
    pvcs: dict[Key, Pvc] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    git_repositories: list[FluxObject] = field(default_factory=list)
    kustomizations: dict[str, FluxObject] = field(default_factory=dict)
    helm_releases: dict[str, FluxObject] = field(default_factory=dict)
    configmaps: dict[Key, ConfigMap] = field(default_factory=dict)
    # Live pods that are not settled (see ``settled``): the only pods a pod rule can find
    # anything in, in the order of ``pods``.
    unsettled_pods: list[Pod] = field(default_factory=list)
    # Events about live objects by UID, in snapshot order; ``events_for`` sorts a list (oldest
    # first) the first time it is asked for, so only the objects a rule looks at pay for it.
    events_by_uid: dict[str, list[TimedEvent]] = field(default_factory=dict)
    all_events: list[TimedEvent] = field(default_factory=list)
    # UIDs of live objects with a ``Pulling`` event: only their containers can be pulling now
    uids_with_pulling: set[str] = field(default_factory=set)
    pods_by_job: dict[str, list[Pod]] = field(default_factory=lambda: defaultdict(list))
    # What several rules derive from the same object (a pod's pull failures, its crashes):
    # computed once per snapshot, keyed by (what, id(object)); see ``derived``.
    _derived: dict[tuple[str, int], tuple[Any, Any]] = field(default_factory=dict, repr=False)
    _sorted_uids: set[str] = field(default_factory=set, repr=False)
    # the component of each live pod, worked out while the index is built (by id, with the pod)
    _pod_components: dict[int, tuple[Pod, Component | None]] = field(default_factory=dict, repr=False)

    def derived(self, what: str, obj: object, compute: Callable[[], T]) -> T:
        """``compute()`` for ``obj``, once per snapshot and object."""
        key = (what, id(obj))
        hit = self._derived.get(key)
        if hit is not None and hit[0] is obj:
            return cast(T, hit[1])
        value = compute()
        self._derived[key] = (obj, value)  # holding obj keeps its id from being reused
        return value

    @property
    def kube_reachable(self) -> bool:
        return self.snapshot.reachability.kubernetes.reachable

    def unavailable(self, resource_key: str) -> bool:
        return resource_key in self.snapshot.collection.unavailable

    # -- events ------------------------------------------------------------------------------

    def events_for(self, obj: Mapping[str, Any]) -> list[TimedEvent]:
        """Events about this live object (oldest first), matched by UID."""
        uid = meta(obj).get("uid")
        if not uid:
            return []
        events = self.events_by_uid.get(uid)
        if events is None:
            return []
        if uid not in self._sorted_uids:
            events.sort(key=_time_or_epoch)  # stable: same-time events keep snapshot order
            self._sorted_uids.add(uid)
        return events

    def newest_events(self, limit: int) -> list[TimedEvent]:
        """The ``limit`` newest events of the snapshot, newest first (ties: snapshot order)."""
        events = self.all_events
        keys = [_time_or_epoch(te) for te in events]
        return [events[i] for i in heapq.nlargest(limit, range(len(events)), key=keys.__getitem__)]

    def events_with_reason(self, reason: str) -> list[TimedEvent]:
        """Every event of the snapshot with this reason, in snapshot order."""
        return [te for te in self.all_events if te.event.get("reason") == reason]

    # -- components --------------------------------------------------------------------------

    def component_of_pod(self, pod: Pod) -> Component | None:
        known = self._pod_components.get(id(pod))
        if known is not None and known[0] is pod:
            return known[1]
        ns, name = key_of(pod)
        for ref in meta(pod).get("ownerReferences") or []:
            if ref.get("kind") == "Job":
                return self.component_of_job(ref.get("name") or "")
        return self.catalog.component_for_pod(ns, name)

    def component_of_job(self, job_name: str) -> Component | None:
        for c in self.catalog.components:
            if c.bootstrap_job_prefix and job_name.startswith(c.bootstrap_job_prefix):
                return c
        return None

    def components_of_helm_release(self, name: str) -> list[Component]:
        return [c for c in self.catalog.components if c.helm_release == name]

    def component_of_helm_release(self, name: str) -> Component | None:
        comps = self.components_of_helm_release(name)
        for c in comps:
            if c.name == name:
                return c
        return comps[0] if comps else None

    def component_of_pvc(self, pvc: Pvc) -> Component | None:
        ns, name = key_of(pvc)
        for c in self.catalog.components:
            if c.namespace == ns and name in c.pvcs:
                return c
        # volumeClaimTemplate naming: <template>-<statefulset>-<ordinal>
        for c in self.catalog.components:
            if (
                c.namespace == ns
                and c.workload.kind == "StatefulSet"
                and f"-{c.workload.name}-" in f"-{name}"
            ):
                return c
        return None

    def workload(self, component: Component) -> Workload | None:
        key = (component.namespace, component.workload.name)
        if component.workload.kind == "StatefulSet":
            return self.statefulsets.get(key)
        return self.deployments.get(key)

    def bootstrap_jobs(self, component: Component) -> list[Job]:
        """Bootstrap Jobs of a component, newest first."""
        prefix = component.bootstrap_job_prefix
        if not prefix:
            return []
        jobs = [
            j for (ns, name), j in self.jobs.items() if ns == component.namespace and name.startswith(prefix)
        ]
        return sorted(
            jobs, key=lambda j: parse_time(meta(j).get("creationTimestamp")) or _EPOCH, reverse=True
        )

    def pod_logs(self, pod: Pod, container: str) -> list[str]:
        ns, name = key_of(pod)
        return self.snapshot.pod_logs.get(f"{ns}/{name}/{container}", [])

    def release_image_for(self, component: Component) -> ReleaseImage | None:
        return self.release_images.get(component.name)


# --- building -------------------------------------------------------------------------------


def _items(snapshot: ClusterSnapshot, key: str) -> list[dict[str, Any]]:
    """The items of one list, with explicit ``null`` fields dropped (the API omits empty fields;
    a ``null`` must read like an absent field, so rules can rely on ``.get(key, default)``)."""
    return [_without_nulls(i) for i in snapshot.items(key) if isinstance(i, dict)]


def _without_nulls(value: Any) -> Any:
    """``value`` without ``null`` fields; the very same object when it has none (no copy)."""
    if isinstance(value, dict):
        return _dict_without_nulls(value)
    if isinstance(value, list):
        return _list_without_nulls(value)
    return value


# Every object of every list is walked once per classification: the walk compares types
# (cheaper than isinstance on a union) and copies only a branch that holds a null.
_LEAF_TYPES = frozenset({str, int, float, bool})


def _dict_without_nulls(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] | None = None
    for k, v in d.items():
        if v is None:
            if out is None:
                out = {kk: vv for kk, vv in d.items() if vv is not None}
            continue
        t = type(v)
        if t in _LEAF_TYPES:
            continue
        if t is dict or (t is not list and isinstance(v, dict)):
            clean: Any = _dict_without_nulls(v)
        elif t is list or isinstance(v, list):
            clean = _list_without_nulls(v)
        else:
            continue
        if clean is not v:
            if out is None:
                out = {kk: vv for kk, vv in d.items() if vv is not None}
            out[k] = clean
    return d if out is None else out


def _list_without_nulls(values: list[Any]) -> list[Any]:
    items: list[Any] | None = None
    for i, v in enumerate(values):
        t = type(v)
        if v is None:
            clean: Any = None
        elif t in _LEAF_TYPES:
            clean = v
        elif t is dict or (t is not list and isinstance(v, dict)):
            clean = _dict_without_nulls(v)
        elif t is list or isinstance(v, list):
            clean = _list_without_nulls(v)
        else:
            clean = v
        if items is None and (clean is not v or v is None):
            items = list(values[:i])
        if items is not None and clean is not None:
            items.append(clean)
    return values if items is None else items


def _pod_prefixes(catalog: Catalog) -> dict[str, dict[str, Component]]:
    """namespace → pod prefix → component (the first of the catalog with that prefix)."""
    out: dict[str, dict[str, Component]] = defaultdict(dict)
    for c in catalog.components:
        out[c.namespace].setdefault(c.pod_prefix, c)
    return dict(out)


def _component_by_prefix(prefixes: dict[str, Component] | None, name: str) -> Component | None:
    """``Catalog.component_for_pod``: the component whose ``<prefix>-`` starts the pod's name,
    the longest such prefix (a prefix ends where the name has a dash: try those, longest first)."""
    if not prefixes:
        return None
    end = name.rfind("-")
    while end >= 0:
        comp = prefixes.get(name[:end])
        if comp is not None:
            return comp
        end = name.rfind("-", 0, end)
    return None


def _with_clean_metadata(raw: dict[str, Any]) -> Pod:
    """``raw`` with nulls dropped from its metadata only (a shallow copy when there were any)."""
    m = raw.get("metadata")
    if type(m) is dict:
        clean = _dict_without_nulls(m)
        if clean is not m:
            return cast(Pod, {**raw, "metadata": clean})
    elif m is None and "metadata" in raw:
        return cast(Pod, {k: v for k, v in raw.items() if k != "metadata"})
    return cast(Pod, raw)


def release_images_from(catalog: Catalog, images: Mapping[str, Any] | None) -> dict[str, ReleaseImage]:
    """Map a release's ``images`` section (key → {repository, tag, estimatedSize}) onto components."""
    out: dict[str, ReleaseImage] = {}
    if not images:
        return out
    for c in catalog.components:
        if not c.image_key:
            continue
        raw = images.get(c.image_key)
        if isinstance(raw, Mapping) and raw.get("repository") and raw.get("tag"):
            size = raw.get("estimatedSize")
            out[c.name] = ReleaseImage(c.name, str(raw["repository"]), str(raw["tag"]), size and str(size))
        elif isinstance(raw, str) and image_tag(raw):
            out[c.name] = ReleaseImage(c.name, image_repository(raw), image_tag(raw) or "", None)
    return out


# Published by bootstrap (appliance_cli.fluxlayout.RELEASE_SELECTION_CONFIGMAP) in the Helm namespace.
RELEASE_SELECTION_CONFIGMAP = "appliance-release-selection"


def release_selection(snapshot: ClusterSnapshot, catalog: Catalog) -> dict[str, str]:
    """Data of the release-selection ConfigMap (what the cluster was told to run), or ``{}``."""
    fallback: dict[str, str] = {}
    for cm in _items(snapshot, "v1/configmaps"):
        m = meta(cm)
        if m.get("namespace") != catalog.namespaces.helm_releases:
            continue
        data = {str(k): str(v) for k, v in (cm.get("data") or {}).items()}
        if m.get("name") == RELEASE_SELECTION_CONFIGMAP:
            return data
        if not fallback and "release.json" in data:
            fallback = data
    return fallback


def _published_release_images(
    snapshot: ClusterSnapshot, catalog: Catalog, selection: Mapping[str, str]
) -> dict[str, ReleaseImage]:
    """Images from ``releaseFacts.images`` or the release-selection ConfigMap."""
    facts_images = snapshot.release_facts.get("images")
    if isinstance(facts_images, Mapping):
        return release_images_from(catalog, facts_images)
    for value in (selection.get("release.json"), selection.get("images.json")):
        if not value:
            continue
        try:
            doc = json.loads(value)
        except ValueError:
            continue
        if isinstance(doc, Mapping):
            imgs = doc.get("images", doc)
            if isinstance(imgs, Mapping):
                found = release_images_from(catalog, imgs)
                if found:
                    return found
    return {}


def _current_revision(idx: SnapshotIndex, namespace: str, kind: str, name: str) -> str | None:
    """The revision label value of an owner's current pods, when its status names it."""
    if kind == "Deployment":
        dep = idx.deployments.get((namespace, name))
        if dep is None or not _observed(dep):
            return None
        progressing = condition(dep.get("status") or {}, "Progressing") or {}
        m = NEW_REPLICASET.search(progressing.get("message") or "")
        if m and m.group(1).startswith(name + "-"):
            return m.group(1)[len(name) + 1 :]
        return None
    if kind == "StatefulSet":
        sts = idx.statefulsets.get((namespace, name))
        if sts is None or not _observed(sts):
            return None
        return (sts.get("status") or {}).get("updateRevision") or None
    return None


def _observed(obj: Workload) -> bool:
    gen = meta(obj).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    return gen is None or (observed is not None and observed >= gen)


REVISION_LABEL = {"Deployment": "pod-template-hash", "StatefulSet": "controller-revision-hash"}


def _past_pods(idx: SnapshotIndex, pods: list[Pod]) -> set[Key]:
    """Pods of controller-replaced owners that no longer describe their workload.

    Ended (phase Failed/Succeeded: evicted, shut down with the node, killed), being deleted,
    or of an older revision than the one the owner's status names — the last only when some
    pod of that owner already carries the current revision (else the revision is unverified).
    """
    past: set[Key] = set()
    by_owner: dict[tuple[str, str, str], list[Pod]] = defaultdict(list)
    for pod in pods:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") not in REPLACING_OWNERS:
            continue
        if pod_ended(pod) or meta(pod).get("deletionTimestamp"):
            past.add(key_of(pod))
            continue
        owner = owner_workload(pod)
        if owner is not None:
            by_owner[(key_of(pod)[0], *owner)].append(pod)
    for (ns, kind, name), owned in by_owner.items():
        revision = _current_revision(idx, ns, kind, name)
        label = REVISION_LABEL.get(kind)
        if not revision or not label:
            continue
        labels = [(p, (meta(p).get("labels") or {}).get(label)) for p in owned]
        if not any(v == revision for _p, v in labels):
            continue
        past.update(key_of(p) for p, v in labels if v != revision)
    return past


def build_index(
    snapshot: ClusterSnapshot,
    *,
    now: datetime,
    release_images: Mapping[str, ReleaseImage] | None = None,
    catalog: Catalog | None = None,
) -> SnapshotIndex:
    catalog = catalog or load_catalog()
    idx = SnapshotIndex(snapshot=snapshot, now=now, catalog=catalog)
    idx.release_selection = release_selection(snapshot, catalog)
    idx.release_images = (
        dict(release_images)
        if release_images
        else _published_release_images(snapshot, catalog, idx.release_selection)
    )

    live_uids: set[str] = set()
    # Events with no involvedObject.uid can only be matched by kind/namespace/name.
    by_name: dict[tuple[str, str, str], str] = {}

    def remember(kind: str, obj: Mapping[str, Any]) -> None:
        m = meta(obj)
        uid = m.get("uid")
        if uid:
            live_uids.add(uid)
            by_name[(kind, m.get("namespace") or "", m.get("name") or "")] = uid

    for raw in _items(snapshot, "apps/v1/deployments"):
        idx.deployments[key_of(raw)] = cast(Workload, raw)
        remember("Deployment", raw)
    for raw in _items(snapshot, "apps/v1/statefulsets"):
        idx.statefulsets[key_of(raw)] = cast(Workload, raw)
        remember("StatefulSet", raw)
    # Pods are the bulk of a large snapshot, and most of them are settled and belong to no
    # component and no Job: nothing but this loop reads them. So every pod's metadata is
    # cleaned of nulls (what this loop reads), and the whole pod only when a rule may read it
    # (unsettled, past, of a component or of a Job); the others stay in ``pods`` as they are.
    all_pods = [_with_clean_metadata(raw) for raw in snapshot.items("v1/pods") if isinstance(raw, dict)]
    past = _past_pods(idx, all_pods)
    prefixes = _pod_prefixes(catalog)
    # id → (live pod, settled?): the pod is held so that its id stays its own
    quiet_by_id: dict[int, tuple[Pod, bool]] = {}
    for pod in all_pods:
        m = meta(pod)
        key = (m.get("namespace") or "", m.get("name") or "")
        uid = m.get("uid")
        if uid:  # a past pod's events are still its own (evidence)
            live_uids.add(uid)
            by_name[("Pod", *key)] = uid
        job: str | None = None  # the first Job owner names the component (component_of_pod)
        jobs: list[str] = []
        for ref in m.get("ownerReferences") or ():
            if ref.get("kind") == "Job":
                if ref.get("name"):
                    jobs.append(ref["name"])
                if job is None:
                    job = ref.get("name") or ""
        is_past = key in past
        comp: Component | None = None
        if is_past:
            pass
        elif job is not None:
            comp = idx.component_of_job(job)
        else:  # Catalog.component_for_pod: the longest pod prefix in the pod's namespace
            comp = _component_by_prefix(prefixes.get(key[0]), key[1])
        # a null can only make a pod look less settled (``settled`` tests presence and
        # truthiness), so a pod settled as it is stays settled once cleaned
        quiet = settled(pod)
        if jobs or comp is not None or is_past or not quiet:
            clean = cast(Pod, _dict_without_nulls(cast(dict[str, Any], pod)))
            if clean is not pod and not quiet:
                quiet = settled(clean)
            pod = clean
        for name in jobs:
            idx.pods_by_job[name].append(pod)
        if is_past:
            idx.past_pods[key] = pod
            continue
        idx.pods[key] = pod
        quiet_by_id[id(pod)] = (pod, quiet)
        idx._pod_components[id(pod)] = (pod, comp)
        if comp is not None:
            idx.pods_by_component[comp.name].append(pod)
    for raw in _items(snapshot, "batch/v1/jobs"):
        idx.jobs[key_of(raw)] = cast(Job, raw)
        remember("Job", raw)
    for raw in _items(snapshot, "v1/persistentvolumeclaims"):
        idx.pvcs[key_of(raw)] = cast(Pvc, raw)
        remember("PersistentVolumeClaim", raw)
    for raw in _items(snapshot, "v1/nodes"):
        idx.nodes.append(cast(Node, raw))
        remember("Node", raw)
    for raw in _items(snapshot, "v1/configmaps"):
        idx.configmaps[key_of(raw)] = cast(ConfigMap, raw)
    for raw in _items(snapshot, "source.toolkit.fluxcd.io/v1/gitrepositories"):
        idx.git_repositories.append(cast(FluxObject, raw))
        remember("GitRepository", raw)
    for raw in _items(snapshot, "kustomize.toolkit.fluxcd.io/v1/kustomizations"):
        idx.kustomizations[key_of(raw)[1]] = cast(FluxObject, raw)
        remember("Kustomization", raw)
    for raw in _items(snapshot, "helm.toolkit.fluxcd.io/v2/helmreleases"):
        idx.helm_releases[key_of(raw)[1]] = cast(FluxObject, raw)
        remember("HelmRelease", raw)

    idx.unsettled_pods = [p for p in idx.pods.values() if not quiet_by_id[id(p)][1]]

    grouped: dict[str, list[TimedEvent]] = {}
    pulling: set[str] = set()
    all_events: list[TimedEvent] = []
    for raw in snapshot.items("v1/events"):
        if not isinstance(raw, dict):
            continue
        ev = cast(Event, raw)
        te = TimedEvent(event_time(ev), ev)
        all_events.append(te)
        inv = ev.get("involvedObject") or {}
        uid = inv.get("uid")
        if not uid:
            uid = by_name.get((inv.get("kind") or "", inv.get("namespace") or "", inv.get("name") or ""))
        if uid and uid in live_uids:
            same = grouped.get(uid)
            if same is None:
                grouped[uid] = [te]
            else:
                same.append(te)
            if ev.get("reason") == "Pulling":
                pulling.add(uid)
    idx.events_by_uid = grouped
    idx.uids_with_pulling = pulling
    idx.all_events = all_events
    return idx


def settled(pod: Pod) -> bool:
    """Running, scheduled, and every container it declares reported running and ready (an init
    container: completed with exit code 0). No pod rule finds anything in such a pod: nothing
    waits, pulls, crashes or is unscheduled, so rules read ``SnapshotIndex.unsettled_pods``.
    Truthiness is the rules' own: ``"running": {}`` is not running."""
    status = pod.get("status")
    if not status or status.get("phase") != "Running":
        return False
    statuses = status.get("containerStatuses")
    if not statuses:
        return False
    reported: set[str | None] = set()
    for cs in statuses:
        state = cs.get("state")
        if (
            not cs.get("ready")
            or not state
            or not state.get("running")
            or "waiting" in state
            or "terminated" in state
        ):
            return False
        reported.add(cs.get("name"))
    for cs in status.get("initContainerStatuses") or []:
        state = cs.get("state") or {}
        if "waiting" in state:
            return False
        if state.get("running"):
            if not cs.get("ready") or "terminated" in state:
                return False
        else:
            done = state.get("terminated")
            if not done or done.get("exitCode", 0) != 0:
                return False
        reported.add(cs.get("name"))
    spec = pod.get("spec") or {}
    for c in (*(spec.get("initContainers") or ()), *(spec.get("containers") or ())):
        if c.get("name") not in reported:
            return False
    for c in status.get("conditions") or ():
        if c.get("type") == "PodScheduled" and c.get("status") == "False":
            return False
    return True


def iter_container_statuses(pod: Pod) -> Iterable[ContainerStatus]:
    status = pod.get("status") or {}
    yield from status.get("initContainerStatuses") or []
    yield from status.get("containerStatuses") or []
