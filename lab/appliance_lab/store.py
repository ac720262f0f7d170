"""In-memory object store of the lab's Kubernetes API.

Thread-safe. Objects are plain JSON dicts exactly as the API serves them. Every write bumps
a global resourceVersion and is published to watchers. The HTTP layer (``apiserver``) and
the simulated controllers both use this API; neither keeps a second copy of state.
"""

from __future__ import annotations

import bisect
import builtins
import copy
import itertools
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast

Obj = dict[str, Any]

_ATOMS = frozenset((str, int, float, bool, type(None)))
_T = TypeVar("_T")


def _copy_tree(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _ATOMS else _copy_tree(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _ATOMS else _copy_tree(v) for v in value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)


def copy_obj(value: _T) -> _T:
    """A deep copy of a JSON-shaped value (dicts, lists, scalars), several times faster than
    ``copy.deepcopy``, which the store would otherwise spend most of a controller step in;
    anything else inside is copied by ``copy.deepcopy``."""
    return cast(_T, _copy_tree(value))


WatchEventType = Literal["ADDED", "MODIFIED", "DELETED"]


_STAMP: tuple[int, str] = (-1, "")


def now_rfc3339() -> str:
    """The wall clock to the second, RFC 3339 (formatted once per second: objects are stamped
    thousands of times a second while the controllers run)."""
    global _STAMP
    second = int(time.time())
    if _STAMP[0] != second:
        _STAMP = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _STAMP[1]


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    has_status: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """``v1/pods``, ``apps/v1/deployments``: the snapshot's resource key."""
        return f"{self.api_version}/{self.plural}"

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


def _rt(
    group: str, version: str, plural: str, kind: str, namespaced: bool = True, *short: str
) -> ResourceType:
    return ResourceType(group, version, plural, kind, namespaced, tuple(short))


RESOURCE_TYPES: tuple[ResourceType, ...] = (
    _rt("", "v1", "namespaces", "Namespace", False, "ns"),
    _rt("", "v1", "nodes", "Node", False, "no"),
    _rt("", "v1", "pods", "Pod", True, "po"),
    _rt("", "v1", "events", "Event", True, "ev"),
    _rt("", "v1", "secrets", "Secret", True),
    _rt("", "v1", "configmaps", "ConfigMap", True, "cm"),
    _rt("", "v1", "services", "Service", True, "svc"),
    _rt("", "v1", "serviceaccounts", "ServiceAccount", True, "sa"),
    _rt("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "pvc"),
    _rt("", "v1", "persistentvolumes", "PersistentVolume", False, "pv"),
    _rt("apps", "v1", "deployments", "Deployment", True, "deploy"),
    _rt("apps", "v1", "statefulsets", "StatefulSet", True, "sts"),
    _rt("apps", "v1", "daemonsets", "DaemonSet", True, "ds"),
    _rt("apps", "v1", "replicasets", "ReplicaSet", True, "rs"),
    _rt("batch", "v1", "jobs", "Job", True),
    _rt("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _rt("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _rt("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _rt("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _rt("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, "sc"),
    _rt("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False, "crd"),
    _rt("source.toolkit.fluxcd.io", "v1", "gitrepositories", "GitRepository", True, "gitrepo"),
    _rt("source.toolkit.fluxcd.io", "v1", "helmrepositories", "HelmRepository", True, "helmrepo"),
    _rt("source.toolkit.fluxcd.io", "v1", "ocirepositories", "OCIRepository", True, "ocirepo"),
    _rt("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", "Kustomization", True, "ks"),
    _rt("helm.toolkit.fluxcd.io", "v2", "helmreleases", "HelmRelease", True, "hr"),
)

BY_KEY: dict[str, ResourceType] = {rt.key: rt for rt in RESOURCE_TYPES}
BY_KIND: dict[tuple[str, str], ResourceType] = {(rt.api_version, rt.kind): rt for rt in RESOURCE_TYPES}


def resource_for(api_version: str, kind: str) -> ResourceType:
    try:
        return BY_KIND[(api_version, kind)]
    except KeyError:
        raise Invalid(f'no matches for kind "{kind}" in version "{api_version}"') from None


class StoreError(Exception):
    code: int = 500
    reason: str = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(StoreError):
    code = 404
    reason = "NotFound"


class AlreadyExists(StoreError):
    code = 409
    reason = "AlreadyExists"


class Conflict(StoreError):
    code = 409
    reason = "Conflict"


class Invalid(StoreError):
    code = 422
    reason = "Invalid"


def not_found(rt: ResourceType, name: str) -> NotFound:
    group = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
    return NotFound(f'{group} "{name}" not found')


@dataclass(frozen=True)
class WatchEvent:
    type: WatchEventType
    # the stored object itself, never a copy: watchers only read it (a write stores a new
    # object, so what a watcher holds never changes under it)
    object: Obj
    resource_version: int
    # MODIFIED only: the object before the change (lets selector watches see objects leave)
    previous: Obj | None = None


class _Watcher:
    def __init__(self, key: str, namespace: str | None, matcher: Callable[[Obj], bool] | None) -> None:
        self.key = key
        self.namespace = namespace
        self.matcher = matcher
        self.queue: queue.Queue[WatchEvent | None] = queue.Queue()


class Store:
    """The lab's objects, keyed by resource type, namespace and name."""

    # How many past events are kept so a watch can resume from a recent resourceVersion.
    HISTORY = 10_000

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {rt.key: {} for rt in RESOURCE_TYPES}
        self._rv = itertools.count(1000)
        self._last_rv = 999
        self._watchers: list[_Watcher] = []
        self._write_listeners: list[Callable[[], None]] = []  # called after every write
        self._history: list[tuple[str, WatchEvent]] = []
        # A watch from before this version answers 410 Gone (``compact``).
        self._compacted_rv = 0
        # Sorted (namespace, name) keys per resource type; dropped when membership changes.
        self._sorted: dict[str, list[tuple[str, str]]] = {}
        # Container logs: (namespace, pod, container) -> lines; "previous" holds the last instance.
        self._logs: dict[tuple[str, str, str], list[str]] = {}
        self._prev_logs: dict[tuple[str, str, str], list[str]] = {}
        self._log_instances: dict[tuple[str, str, str], int] = {}  # restarts seen per container
        self._exec_handlers: list[ExecHandler] = []
        self._stdin_exec_handlers: list[StdinExecHandler] = []

    # -- helpers ---------------------------------------------------------------------------
    def _next_rv(self) -> int:
        self._last_rv = next(self._rv)
        return self._last_rv

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._last_rv

    def _publish(
        self, rt: ResourceType, etype: WatchEventType, obj: Obj, rv: int, previous: Obj | None = None
    ) -> None:
        ev = WatchEvent(etype, obj, rv, previous)
        for listener in self._write_listeners:
            listener()
        self._history.append((rt.key, ev))
        if len(self._history) > self.HISTORY:
            del self._history[: len(self._history) - self.HISTORY]
        ns = obj.get("metadata", {}).get("namespace")
        for w in self._watchers:
            if w.key != rt.key or (w.namespace and w.namespace != ns):
                continue
            if w.matcher is not None and not w.matcher(obj):
                continue
            w.queue.put(ev)

    def add_write_listener(self, listener: Callable[[], None]) -> None:
        """``listener()`` is called (store lock held: it must be quick) after every write."""
        with self._lock:
            self._write_listeners = [*self._write_listeners, listener]

    def remove_write_listener(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._write_listeners = [f for f in self._write_listeners if f is not listener]

    @staticmethod
    def _ns_name(rt: ResourceType, namespace: str | None, name: str) -> tuple[str, str]:
        return (namespace or "" if rt.namespaced else "", name)

    # -- reads -----------------------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        with self._lock:
            obj = self._objects[rt.key].get(self._ns_name(rt, namespace, name))
            if obj is None:
                raise not_found(rt, name)
            return copy_obj(obj)

    def try_get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        try:
            return self.get(rt, namespace, name)
        except NotFound:
            return None

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        matcher: Callable[[Obj], bool] | None = None,
    ) -> tuple[list[Obj], int]:
        """Matching objects sorted by namespace/name, and the store's resourceVersion."""
        with self._lock:
            items = [
                copy_obj(o)
                for (ns, _), o in sorted(self._objects[rt.key].items())
                if (not namespace or ns == namespace) and (matcher is None or matcher(o))
            ]
            return items, self._last_rv

    def list_refs(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        matcher: Callable[[Obj], bool] | None = None,
    ) -> builtins.list[Obj]:
        """Like ``list``, but the stored objects themselves: read-only (see ``snapshot``). For
        the lab's controllers, which read every object on every step and write through
        ``mutate``/``create``/``delete`` only."""
        pairs, _ = self.snapshot(rt, namespace)
        return [o for _, o in pairs if matcher is None or matcher(o)]

    def try_get_ref(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        """The stored object itself (read-only, see ``snapshot``), or ``None``."""
        with self._lock:
            return self._objects[rt.key].get(self._ns_name(rt, namespace, name))

    def count(self, rt: ResourceType) -> int:
        with self._lock:
            return len(self._objects[rt.key])

    # -- writes ----------------------------------------------------------------------------
    def create(self, rt: ResourceType, obj: Obj, namespace: str | None = None) -> Obj:
        obj = copy_obj(obj)
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            ns = namespace or meta.get("namespace") or "default"
            if namespace and meta.get("namespace") and meta["namespace"] != namespace:
                raise Invalid(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = ns
            if rt.kind != "Namespace" and self.try_get_ref(BY_KEY["v1/namespaces"], None, ns) is None:
                raise NotFound(f'namespaces "{ns}" not found')
        else:
            meta.pop("namespace", None)
        name = meta.get("name")
        if not name and meta.get("generateName"):
            name = meta["generateName"] + uuid.uuid4().hex[:5]
            meta["name"] = name
        if not name:
            raise Invalid(
                f'{rt.kind} "" is invalid: metadata.name: Required value: name or generateName is required'
            )
        with self._lock:
            key = self._ns_name(rt, meta.get("namespace"), name)
            if key in self._objects[rt.key]:
                group = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
                raise AlreadyExists(f'{group} "{name}" already exists')
            obj["apiVersion"] = rt.api_version
            obj["kind"] = rt.kind
            meta["uid"] = str(uuid.uuid4())
            meta.setdefault("creationTimestamp", now_rfc3339())
            if "spec" in obj or rt.group:
                meta["generation"] = 1
            rv = self._next_rv()
            meta["resourceVersion"] = str(rv)
            self._objects[rt.key][key] = obj
            self._sorted.pop(rt.key, None)
            self._publish(rt, "ADDED", obj, rv)
            return copy_obj(obj)

    def replace(
        self, rt: ResourceType, namespace: str | None, name: str, obj: Obj, *, subresource: str | None = None
    ) -> Obj:
        """Replace an object (or only its status with ``subresource='status'``).

        A non-empty ``metadata.resourceVersion`` that is not current is a 409 Conflict.
        """
        with self._lock:
            key = self._ns_name(rt, namespace, name)
            cur = self._objects[rt.key].get(key)
            if cur is None:
                raise not_found(rt, name)
            sent_rv = (obj.get("metadata") or {}).get("resourceVersion")
            if sent_rv and str(sent_rv) != cur["metadata"]["resourceVersion"]:
                group = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
                raise Conflict(
                    f'Operation cannot be fulfilled on {group} "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again"
                )
            new = copy_obj(cur)
            if subresource == "status":
                new["status"] = copy_obj(obj.get("status", {}))
            else:
                incoming = copy_obj(obj)
                meta = incoming.setdefault("metadata", {})
                for k in ("uid", "creationTimestamp", "generation", "namespace", "name", "deletionTimestamp"):
                    if k in cur["metadata"]:
                        meta[k] = cur["metadata"][k]
                    else:
                        meta.pop(k, None)
                if "status" in cur and rt.has_status and rt.kind not in ("ConfigMap", "Secret"):
                    incoming["status"] = cur["status"]
                incoming["apiVersion"] = rt.api_version
                incoming["kind"] = rt.kind
                if incoming.get("spec") != cur.get("spec") and "generation" in meta:
                    meta["generation"] = int(meta["generation"]) + 1
                new = incoming
            return self._commit(rt, key, cur, new)

    def mutate(self, rt: ResourceType, namespace: str | None, name: str, fn: Callable[[Obj], None]) -> Obj:
        """Atomically read-modify-write one object (controllers use this). Bumps generation on spec change."""
        with self._lock:
            key = self._ns_name(rt, namespace, name)
            cur = self._objects[rt.key].get(key)
            if cur is None:
                raise not_found(rt, name)
            new = copy_obj(cur)
            fn(new)
            meta = new.setdefault("metadata", {})
            for k in ("uid", "name", "namespace", "creationTimestamp"):
                if k in cur["metadata"]:
                    meta[k] = cur["metadata"][k]
            if new.get("spec") != cur.get("spec") and "generation" in cur["metadata"]:
                meta["generation"] = int(cur["metadata"]["generation"]) + 1
            if new == cur:
                return new  # nothing changed: the copy made above is the caller's already
            return self._write(rt, key, cur, new)

    def _commit(self, rt: ResourceType, key: tuple[str, str], cur: Obj, new: Obj) -> Obj:
        if new == cur:
            return copy_obj(cur)
        return self._write(rt, key, cur, new)

    def _write(self, rt: ResourceType, key: tuple[str, str], cur: Obj, new: Obj) -> Obj:
        """Store ``new`` (which differs from ``cur``) under a new resourceVersion; a copy back."""
        rv = self._next_rv()
        new["metadata"]["resourceVersion"] = str(rv)
        self._objects[rt.key][key] = new
        self._publish(rt, "MODIFIED", new, rv, cur)
        return copy_obj(new)

    def delete(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        """Delete an object. Deleting a namespace cascades to everything inside it."""
        with self._lock:
            key = self._ns_name(rt, namespace, name)
            cur = self._objects[rt.key].pop(key, None)
            if cur is None:
                raise not_found(rt, name)
            self._sorted.pop(rt.key, None)
            if rt.kind == "Namespace":
                for other in RESOURCE_TYPES:
                    if not other.namespaced:
                        continue
                    for k in [k for k in self._objects[other.key] if k[0] == name]:
                        gone = self._objects[other.key].pop(k)
                        self._sorted.pop(other.key, None)
                        self._publish(other, "DELETED", gone, self._next_rv())
                for lk in [lk for lk in self._logs if lk[0] == name]:
                    self._logs.pop(lk, None)
                    self._prev_logs.pop(lk, None)
            elif rt.kind == "Pod":
                for lk in [lk for lk in self._logs if lk[:2] == key]:
                    self._logs.pop(lk, None)
                    self._prev_logs.pop(lk, None)
            rv = self._next_rv()
            # a new dict: readers may still hold the stored one (``snapshot``)
            gone = {**cur, "metadata": {**cur["metadata"], "resourceVersion": str(rv)}}
            self._publish(rt, "DELETED", gone, rv)
            return copy_obj(gone)

    # -- watch -----------------------------------------------------------------------------
    def watch(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        matcher: Callable[[Obj], bool] | None = None,
        since: int | None = None,
    ) -> _Watcher:
        """Register a watcher; events after ``since`` still in history are replayed first.

        Raises ``Gone``-like ``StoreError`` (410) when ``since`` is older than the history.
        """
        w = _Watcher(rt.key, namespace, matcher)
        with self._lock:
            if since is not None and since < self._last_rv:
                oldest = self._history[0][1].resource_version - 1 if self._history else self._compacted_rv
                if since < max(oldest, self._compacted_rv):
                    raise Expired(f"too old resource version: {since} ({self._last_rv})")
                for key, ev in self._history:
                    if key != rt.key or ev.resource_version <= since:
                        continue
                    ns = ev.object.get("metadata", {}).get("namespace")
                    if namespace and ns != namespace:
                        continue
                    if matcher is not None and not matcher(ev.object):
                        continue
                    w.queue.put(ev)
            self._watchers.append(w)
        return w

    def compact(self) -> int:
        """Forget the watch history, as etcd compaction does: a watch from any version before
        now answers 410 Gone (``Expired``), so its client must LIST again. The version now."""
        with self._lock:
            self._history.clear()
            self._compacted_rv = self._last_rv
            return self._last_rv

    def stop_watch(self, w: _Watcher) -> None:
        with self._lock:
            if w in self._watchers:
                self._watchers.remove(w)
        w.queue.put(None)

    def iter_events(self, w: _Watcher, timeout: float) -> Iterator[WatchEvent]:
        """Yield a watcher's events until ``timeout`` seconds pass with none, or it is stopped."""
        while True:
            try:
                ev = w.queue.get(timeout=timeout)
            except queue.Empty:
                return
            if ev is None:
                return
            yield ev

    # -- read-only views for the HTTP layer ----------------------------------------------------
    def snapshot(
        self, rt: ResourceType, namespace: str | None = None
    ) -> tuple[builtins.list[tuple[tuple[str, str], Obj]], int]:
        """((namespace, name), object) pairs sorted by key, and the store's resourceVersion.

        The objects are the stored ones, not copies: callers must treat them as read-only. The
        store never mutates a stored object in place (every write stores a new dict), so a
        snapshot stays consistent after the lock is released.
        """
        with self._lock:
            objs = self._objects[rt.key]
            keys = self._sorted.get(rt.key)
            if keys is None:
                keys = sorted(objs)
                self._sorted[rt.key] = keys
            if namespace and rt.namespaced:
                lo = bisect.bisect_left(keys, (namespace, ""))
                hi = bisect.bisect_left(keys, (namespace + "\x00", ""))
                keys = keys[lo:hi]
            return [(k, objs[k]) for k in keys], self._last_rv

    def scan(
        self, rt: ResourceType, namespace: str | None = None, after: tuple[str, str] | None = None
    ) -> tuple[builtins.list[tuple[str, str]], Callable[[tuple[str, str]], Obj | None], int]:
        """Sorted (namespace, name) keys in range (only those after ``after``), a lookup, and the rv.

        For paging through large collections without touching every object: the key list is a
        private copy; ``lookup(key)`` returns the current stored object (read-only, see
        ``snapshot``) or ``None`` if it was deleted meanwhile.
        """
        with self._lock:
            objs = self._objects[rt.key]
            keys = self._sorted.get(rt.key)
            if keys is None:
                keys = sorted(objs)
                self._sorted[rt.key] = keys
            lo, hi = 0, len(keys)
            if namespace and rt.namespaced:
                lo = bisect.bisect_left(keys, (namespace, ""))
                hi = bisect.bisect_left(keys, (namespace + "\x00", ""))
            if after is not None:
                lo = max(lo, bisect.bisect_right(keys, after))
            return keys[lo:hi], objs.get, self._last_rv

    def get_ref(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        """The stored object itself (read-only, see ``snapshot``)."""
        with self._lock:
            obj = self._objects[rt.key].get(self._ns_name(rt, namespace, name))
            if obj is None:
                raise not_found(rt, name)
            return obj

    def watch_with_initial(
        self, rt: ResourceType, namespace: str | None = None, matcher: Callable[[Obj], bool] | None = None
    ) -> tuple[builtins.list[Obj], _Watcher]:
        """Atomically: the current matching objects (read-only refs) and a watcher for what follows."""
        with self._lock:
            items, _ = self.snapshot(rt, namespace)
            initial = [o for _, o in items if matcher is None or matcher(o)]
            return initial, self.watch(rt, namespace, matcher)

    def dry_run_copy(self, rt: ResourceType, namespace: str | None, name: str | None) -> Store:
        """A scratch store holding copies of one object and its namespace, for ``dryRun=All``.

        Running a write against the copy gives exactly the answer the real write would, while
        this store (and its watchers) never see it.
        """
        scratch = Store()
        with self._lock:
            ns_key = ("", namespace or "")
            ns_rt = BY_KEY["v1/namespaces"]
            if rt.namespaced and namespace and ns_key in self._objects[ns_rt.key]:
                scratch._objects[ns_rt.key][ns_key] = copy_obj(self._objects[ns_rt.key][ns_key])
            if name:
                key = self._ns_name(rt, namespace, name)
                if key in self._objects[rt.key]:
                    scratch._objects[rt.key][key] = copy_obj(self._objects[rt.key][key])
            scratch._rv = itertools.count(self._last_rv + 1)
            scratch._last_rv = self._last_rv
        return scratch

    # -- container logs ------------------------------------------------------------------------
    def append_pod_log(self, namespace: str, pod: str, container: str, lines: Iterable[str]) -> None:
        """Append lines to a container's current log (what ``GET …/pods/<pod>/log`` serves)."""
        with self._lock:
            self._logs.setdefault((namespace, pod, container), []).extend(line.rstrip("\n") for line in lines)

    def restart_pod_log(self, namespace: str, pod: str, container: str) -> None:
        """A container restarted: its current log becomes ``previous=true`` and a new one starts."""
        with self._lock:
            key = (namespace, pod, container)
            self._prev_logs[key] = self._logs.pop(key, [])
            self._log_instances[key] = self._log_instances.get(key, 0) + 1

    def pod_log_instance(self, namespace: str, pod: str, container: str) -> int:
        """How many times the container's log restarted (a follow reads one instance)."""
        with self._lock:
            return self._log_instances.get((namespace, pod, container), 0)

    def pod_log(
        self, namespace: str, pod: str, container: str, previous: bool = False
    ) -> builtins.list[str] | None:
        """A container's log lines; ``None`` when it has none (for ``previous``: never restarted)."""
        with self._lock:
            src = self._prev_logs if previous else self._logs
            lines = src.get((namespace, pod, container))
            return None if lines is None else list(lines)

    # -- exec ------------------------------------------------------------------------------
    def register_exec_handler(self, handler: ExecHandler) -> None:
        """Register ``handler(namespace, pod, container, command) -> (stdout, stderr, exit_code) | None``.

        Handlers are asked newest first; the first that does not return ``None`` answers.
        """
        with self._lock:
            self._exec_handlers.insert(0, handler)

    def register_stdin_exec_handler(self, handler: StdinExecHandler) -> None:
        """Like ``register_exec_handler`` for a command that reads stdin or writes bytes:
        ``handler(namespace, pod, container, command, stdin) -> (stdout, stderr, exit_code) | None``
        (``stdin`` is ``None`` unless the client sent ``stdin=true``; stdout may be bytes).
        These are asked before the plain handlers."""
        with self._lock:
            self._stdin_exec_handlers.insert(0, handler)

    def run_exec(
        self,
        namespace: str,
        pod: str,
        container: str,
        command: builtins.list[str],
        *,
        stdin: bytes | None = None,
    ) -> tuple[str | bytes, str, int] | None:
        with self._lock:
            stdin_handlers = list(self._stdin_exec_handlers)
            handlers = list(self._exec_handlers)
        for stdin_handler in stdin_handlers:
            answer = stdin_handler(namespace, pod, container, command, stdin)
            if answer is not None:
                return answer
        for handler in handlers:
            result = handler(namespace, pod, container, command)
            if result is not None:
                return result
        return None


ExecHandler = Callable[[str, str, str, list[str]], "tuple[str, str, int] | None"]
StdinExecHandler = Callable[[str, str, str, list[str], "bytes | None"], "tuple[str | bytes, str, int] | None"]


class Expired(StoreError):
    code = 410
    reason = "Expired"
