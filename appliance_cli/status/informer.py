"""Watch, don't relist: an informer-style cache of the snapshot's resources for long-lived processes.

``Informer`` keeps one resource's objects current: it LISTs once, then WATCHes from the
list's ``resourceVersion`` with ``allowWatchBookmarks`` (a BOOKMARK moves the version on
without an object change). When a watch ends (the server's ``timeoutSeconds``) or drops
(a broken stream, an API server restart), it watches again from the last version it saw;
when the server answers that version with 410 Gone (``Expired``: the history moved on), it
LISTs again and replaces its objects — the only case that costs a LIST. Failures to reach
the API back off (``RETRY_SECONDS`` up to ``MAX_RETRY_SECONDS``) and are kept in
``last_error``; the objects already known stay served meanwhile.

``InformerSet`` holds one informer per resource key of a snapshot and is a ``KubeSource``
for ``status.collect.collect``: ``list_raw`` answers from the caches (0 API requests at a
steady state), applying the simple field selectors the collector uses (``a=b``, ``a!=b``)
itself. ``wait_for_change`` wakes a waiter on the next change instead of a timer.

Events are served by involved object: every object's newest event comes before any
object's second newest, and so on (``order_events``), so a page (``limit``, then
``continue``) never cuts the newest event of a quiet object for the history of a chatty one;
``collect`` reads pages as from the API and says in the snapshot when it had to cut.

What the cache cannot answer still goes to the API, but only when its answer can change:

* a log tail is read again only when that container's status changed (a restart, a new
  state) or after ``LOG_MAX_AGE`` seconds;
* an exec (the seed-users count) runs again only when its pod (uid, container status) or a
  Job of its namespace changed (the bootstrap Job seeds the users), or after
  ``EXEC_MAX_AGE`` seconds; a failed exec is never reused.

Reachability: an informer whose watch broke and has not been re-established for
``CONNECTED_AFTER`` seconds is *stale*; its ``list_raw`` raises the error it saw, so
``collect`` reports the key unavailable, or the API unreachable when every key is stale.
A hung API (connections accepted, nothing answered) breaks no stream: ``check_alive`` sends
one small GET (never a LIST) when nothing was heard from the API for a while, and while it
fails every ``list_raw`` raises its error. A successful check wakes informers that back off.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from appliance_cli.adapters.kubeapi import KubeReader, Obj
from appliance_cli.errors import KubeError, KubeUnreachable
from appliance_cli.status.collect import KubeSource, event_time
from appliance_cli.status.snapshot import RESOURCE_KEYS

Key = tuple[str, str]

WATCH_TIMEOUT_SECONDS = 300
RETRY_SECONDS = 0.2
MAX_RETRY_SECONDS = 5.0
GONE = 410
# a watch request that has not failed for this long is taken as established
CONNECTED_AFTER = 1.0
EXEC_MAX_AGE = 60.0
LOG_MAX_AGE = 30.0
EVENTS_KEY = "v1/events"


class WatchingKube(KubeReader, Protocol):
    """What an informer needs of ``adapters.kube.KubeClient``: the reads, and WATCH."""

    def watch(
        self,
        key: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int = 60,
    ) -> Iterator[tuple[str, Obj]]: ...


def _key_of(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class Informer:
    """One resource kept current by LIST + WATCH (see the module docstring)."""

    def __init__(
        self,
        kube: WatchingKube,
        key: str,
        *,
        label_selector: str | None = None,
        watch_timeout: int = WATCH_TIMEOUT_SECONDS,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.kube = kube
        self.key = key
        self.label_selector = label_selector
        self.watch_timeout = watch_timeout
        self._on_change = on_change
        self._objects: dict[Key, Obj] = {}
        self._list_meta: Obj = {}
        self._kind = ""
        self._api_version = ""
        self.resource_version: str | None = None
        self._lock = threading.Lock()
        self._synced = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lists = 0  # LIST requests made (1 + one per 410 Gone)
        self.watches = 0  # WATCH requests made
        self.gone = 0  # 410 Gone answers
        self.changes = 0  # object changes applied (LISTs included)
        self._ordered: tuple[int, list[Obj]] | None = None  # (changes, objects in key order)
        self.last_error: str | None = None
        self.last_heard = 0.0  # monotonic time of the last answer from the API
        self._attempt_started: float | None = None  # the watch request in progress, if any
        self._wake = threading.Event()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Informer:
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.key}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current watch request ends (its ``timeoutSeconds`` bounds the wait)."""
        self._stop.set()
        self._wake.set()

    def kick(self) -> None:
        """Retry now if backing off after a failure (the API answered again)."""
        self._wake.set()

    @property
    def stale(self) -> bool:
        """The watch broke and is not established again: the cache may miss changes."""
        if self.last_error is None:
            return False
        started = self._attempt_started
        return started is None or time.monotonic() - started < CONNECTED_AFTER

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    # -- reading ----------------------------------------------------------------------------
    def items(self) -> list[Obj]:
        with self._lock:
            return list(self._objects.values())

    def as_list(self) -> Obj:
        """The cache as the List object a LIST would have answered (items in key order)."""
        _, lst, items = self.listing()
        lst["items"] = list(items)
        return lst

    def listing(self) -> tuple[int, Obj, list[Obj]]:
        """``changes``, the List object without its items, and the items in key order, read
        together. The items list is kept until the next change (a collection reads a resource
        several times: one per selector and page) and shared: read it, never change it."""
        with self._lock:
            ordered = self._ordered
            if ordered is None or ordered[0] != self.changes:
                ordered = self._ordered = (self.changes, [self._objects[k] for k in sorted(self._objects)])
            meta = dict(self._list_meta)
            if self.resource_version:
                meta["resourceVersion"] = self.resource_version
            return (
                ordered[0],
                {"kind": self._kind, "apiVersion": self._api_version, "metadata": meta},
                ordered[1],
            )

    # -- the loop ---------------------------------------------------------------------------
    def _relist(self) -> None:
        lst = self.kube.list_raw(self.key, label_selector=self.label_selector)
        self.lists += 1
        with self._lock:
            self._objects = {_key_of(o): o for o in lst.get("items") or []}
            meta = lst.get("metadata") or {}
            self._list_meta = {k: v for k, v in meta.items() if k not in ("continue", "remainingItemCount")}
            self._kind = str(lst.get("kind") or "List")
            self._api_version = str(lst.get("apiVersion") or "v1")
            self.resource_version = str(meta.get("resourceVersion") or "") or None
            self.changes += 1
        self.last_heard = time.monotonic()
        self.last_error = None
        self._synced.set()
        self._changed()

    def _apply(self, etype: str, obj: Obj) -> None:
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        self.last_heard = time.monotonic()
        self.last_error = None
        with self._lock:
            if etype in ("ADDED", "MODIFIED"):
                self._objects[_key_of(obj)] = obj
            elif etype == "DELETED":
                self._objects.pop(_key_of(obj), None)
            if rv:
                self.resource_version = str(rv)
            if etype != "BOOKMARK":
                self.changes += 1
        if etype != "BOOKMARK":
            self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def _run(self) -> None:
        backoff = RETRY_SECONDS
        need_list = True
        while not self._stop.is_set():
            try:
                if need_list:
                    self._relist()
                    need_list = False
                self.watches += 1
                opened = self._attempt_started = time.monotonic()
                seen = 0
                for etype, obj in self.kube.watch(
                    self.key,
                    label_selector=self.label_selector,
                    resource_version=self.resource_version,
                    timeout_seconds=self.watch_timeout,
                ):
                    self._apply(etype, obj)
                    seen += 1
                    backoff = RETRY_SECONDS
                    if self._stop.is_set():
                        return
                self._attempt_started = None
                self.last_error = None
                self.last_heard = time.monotonic()
                if not seen and time.monotonic() - opened < 1.0:
                    self._pause(backoff)  # a server that closes at once: do not spin
                    backoff = min(backoff * 2, MAX_RETRY_SECONDS)
            except KubeError as exc:
                self._attempt_started = None
                if exc.status == GONE:  # the version is too old: only a LIST can catch up
                    self.gone += 1
                    need_list = True
                    continue
                self.last_error = str(exc)
                if not isinstance(exc, KubeUnreachable) and exc.status not in (429, 500, 502, 503, 504):
                    backoff = MAX_RETRY_SECONDS  # refused or forbidden: keep trying, slowly
                self._pause(backoff)
                backoff = min(backoff * 2, MAX_RETRY_SECONDS)

    def _pause(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()


def _field_matches(obj: Obj, selector: str | None) -> bool:
    """The field selectors status collection uses: comma-separated ``path=value``/``path!=value``."""
    if not selector:
        return True
    for term in selector.split(","):
        negate = "!=" in term
        path, _, value = term.partition("!=" if negate else "=")
        cur: Any = obj
        for part in path.strip().split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        got = "" if cur is None else str(cur)
        if (got == value.strip().lstrip("=")) == negate:
            return False
    return True


def _involved(ev: Obj) -> str:
    inv = ev.get("involvedObject") or ev.get("regarding") or {}
    uid = inv.get("uid")
    if uid:
        return str(uid)
    return f"{inv.get('kind', '')}/{inv.get('namespace', '')}/{inv.get('name', '')}"


def order_events(events: list[Obj]) -> list[Obj]:
    """Events by involved object (uid), newest first within each; then every object's newest,
    every object's second newest, ... each round newest first. A prefix of this order keeps the
    newest events of every object before older events of any."""
    groups: dict[str, list[tuple[str, Obj]]] = {}
    for ev in events:
        groups.setdefault(_involved(ev), []).append((event_time(ev), ev))
    ranked: list[tuple[int, str, Obj]] = []
    for group in groups.values():
        group.sort(key=lambda te: te[0], reverse=True)
        ranked.extend((rank, t, ev) for rank, (t, ev) in enumerate(group))
    ranked.sort(key=lambda r: r[1], reverse=True)  # stable: then by rank, newest first in a rank
    ranked.sort(key=lambda r: r[0])
    return [ev for _, _, ev in ranked]


@dataclass(frozen=True)
class _Reuse:
    state: str
    at: float
    value: Any


def _container_state(pod: Obj | None, container: str | None) -> str:
    if pod is None:
        return "absent"
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    mine = [cs for cs in statuses if container is None or cs.get("name") == container]
    return json.dumps([meta.get("uid"), status.get("phase"), mine], sort_keys=True, default=str)


class InformerSet:
    """One informer per snapshot resource: a ``KubeSource`` for ``collect`` served from caches."""

    def __init__(
        self,
        kube: Any,
        *,
        keys: tuple[str, ...] = RESOURCE_KEYS,
        label_selectors: dict[str, str] | None = None,
        watch_timeout: int = WATCH_TIMEOUT_SECONDS,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.kube = kube
        self._on_change = on_change  # called (from an informer's thread) after every change
        self._cond = threading.Condition()
        self._generation = 0
        self._event_order: tuple[int, list[Obj]] | None = None
        # (resource, namespace, field selector) -> (the informer's changes, what a LIST answers)
        self._selections: dict[tuple[str, str | None, str | None], tuple[int, list[Obj]]] = {}
        self._select_lock = threading.Lock()
        self._reuse: dict[tuple[Any, ...], _Reuse] = {}
        self._reuse_lock = threading.Lock()
        self.probe_error: str | None = None
        self._probed = 0.0
        # what was sent to the API, and what was answered from what was read before
        self.execs = 0
        self.execs_reused = 0
        self.log_reads = 0
        self.logs_reused = 0
        self.probes = 0
        self.informers = {
            key: Informer(
                kube,
                key,
                label_selector=(label_selectors or {}).get(key),
                watch_timeout=watch_timeout,
                on_change=self._bump,
            )
            for key in keys
        }

    def _bump(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()
        if self._on_change is not None:
            self._on_change()

    @property
    def generation(self) -> int:
        """Grows by one with every change any informer saw."""
        with self._cond:
            return self._generation

    def wait_for_change(self, since: int, timeout: float, stop: threading.Event | None = None) -> int:
        """Block until ``generation`` passes ``since`` (or ``timeout``, or ``stop`` is set, seen
        within a tenth of a second); the generation now."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._generation <= since:
                left = deadline - time.monotonic()
                if left <= 0 or (stop is not None and stop.is_set()):
                    break
                self._cond.wait(min(left, 0.1) if stop is not None else left)
            return self._generation

    # -- is the API there? --------------------------------------------------------------------
    @property
    def last_heard(self) -> float:
        return max([self._probed, *(inf.last_heard for inf in self.informers.values())])

    def check_alive(self, quiet_for: float) -> str | None:
        """When nothing was heard from the API for ``quiet_for`` seconds, ask it once (a GET of
        the node, or of a one-item node list before any node is known); the error, or None.
        A hung or stopped API then shows although no stream broke."""
        if self.probe_error is None and time.monotonic() - self.last_heard < quiet_for:
            return None
        nodes = self.informers.get("v1/nodes")
        names = [str((n.get("metadata") or {}).get("name")) for n in nodes.items()] if nodes else []
        self.probes += 1
        try:
            if names:
                self.kube.get("v1/nodes", None, names[0])
            else:
                self.kube.list_raw("v1/nodes", limit=1)
        except KubeUnreachable as exc:
            self.probe_error = str(exc)
            return self.probe_error
        except KubeError:
            pass  # the API answered (a deleted node, a refusal): it is there
        self._probed = time.monotonic()
        if self.probe_error is not None:
            self.probe_error = None
            for inf in self.informers.values():
                inf.kick()
        return None

    @property
    def stale_keys(self) -> dict[str, str]:
        return {k: str(inf.last_error) for k, inf in self.informers.items() if inf.stale}

    def start(self) -> InformerSet:
        for inf in self.informers.values():
            inf.start()
        return self

    def stop(self) -> None:
        for inf in self.informers.values():
            inf.stop()

    def wait_synced(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(inf.wait_synced(max(0.0, deadline - time.monotonic())) for inf in self.informers.values())

    # -- the KubeSource side -----------------------------------------------------------------
    @property
    def requests(self) -> int:
        return int(self.kube.requests)

    def list_raw(
        self,
        key: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        *,
        continue_token: str | None = None,
        timeout: float | None = None,
    ) -> Obj:
        if self.probe_error is not None:
            raise KubeUnreachable(self.probe_error)
        inf = self.informers.get(key)
        if inf is None or not inf.synced:
            answer = dict(
                self.kube.list_raw(
                    key,
                    namespace,
                    label_selector,
                    field_selector,
                    limit,
                    continue_token=continue_token,
                    timeout=timeout,
                )
            )
            if inf is not None:
                inf.kick()  # the API lists it now: the informer need not wait out its back-off
            return answer
        if inf.stale:
            raise KubeUnreachable(f"list {key}: the watch broke: {inf.last_error}")
        changes, lst, ordered = inf.listing()
        items = self._selected(key, namespace, field_selector, changes, ordered)
        if limit:
            offset = int(continue_token) if continue_token and continue_token.isdigit() else 0
            rest = len(items) - offset - limit
            items = items[offset : offset + limit]
            if rest > 0:
                lst["metadata"] = {
                    **lst["metadata"],
                    "continue": str(offset + limit),
                    "remainingItemCount": rest,
                }
        else:
            items = list(items)  # the caller's own list: the selection is kept for the next reads
        lst["items"] = items
        return lst

    def _selected(
        self, key: str, namespace: str | None, field_selector: str | None, changes: int, items: list[Obj]
    ) -> list[Obj]:
        """The objects of ``items`` (the cache at ``changes``) a LIST with this namespace and
        field selector answers, events in ``order_events`` order. Kept until the next change:
        the pages of one selector, and the next collections of an unchanged cluster, reuse it
        (events are tens of thousands on a busy cluster; each selector reads them all)."""
        what = (key, namespace, field_selector)
        with self._select_lock:
            hit = self._selections.get(what)
        if hit is not None and hit[0] == changes:
            return hit[1]
        if key == EVENTS_KEY:
            items = self._ordered_events(changes, items)
        selected = [
            o
            for o in items
            if (namespace is None or (o.get("metadata") or {}).get("namespace") == namespace)
            and _field_matches(o, field_selector)
        ]
        with self._select_lock:
            self._selections[what] = (changes, selected)
        return selected

    def _ordered_events(self, changes: int, items: list[Obj]) -> list[Obj]:
        with self._select_lock:
            cached = self._event_order
        if cached is not None and cached[0] == changes:
            return cached[1]
        ordered = order_events(items)
        with self._select_lock:
            self._event_order = (changes, ordered)
        return ordered

    def _reused(self, what: tuple[Any, ...], state: str, max_age: float) -> _Reuse | None:
        with self._reuse_lock:
            hit = self._reuse.get(what)
        if hit is not None and hit.state == state and time.monotonic() - hit.at < max_age:
            return hit
        return None

    def _remember(self, what: tuple[Any, ...], state: str, value: Any) -> None:
        with self._reuse_lock:
            self._reuse[what] = _Reuse(state, time.monotonic(), value)

    def _pod(self, namespace: str, name: str) -> Obj | None:
        pods = self.informers.get("v1/pods")
        if pods is None or not pods.synced:
            return None
        return next(
            (
                p
                for p in pods.items()
                if (p.get("metadata") or {}).get("namespace") == namespace
                and p["metadata"].get("name") == name
            ),
            None,
        )

    def _jobs_state(self, namespace: str) -> str:
        jobs = self.informers.get("batch/v1/jobs")
        if jobs is None or not jobs.synced:
            return f"unknown:{time.monotonic()}"  # never equal: no reuse without the Jobs
        return json.dumps(
            sorted(
                (str(j["metadata"].get("name")), str(j["metadata"].get("resourceVersion")))
                for j in jobs.items()
                if (j.get("metadata") or {}).get("namespace") == namespace
            )
        )

    def get(self, key: str, namespace: str | None, name: str) -> Obj:
        return dict(self.kube.get(key, namespace, name))

    def pod_logs(
        self,
        namespace: str,
        pod: str,
        container: str | None = None,
        tail_lines: int = 50,
        *,
        previous: bool = False,
        since_seconds: int | None = None,
    ) -> list[str]:
        """The tail, read again only when the container's status changed (or it is old)."""
        if since_seconds is not None:  # a window moves with time: never an earlier answer
            return list(
                self.kube.pod_logs(
                    namespace, pod, container, tail_lines, previous=previous, since_seconds=since_seconds
                )
            )
        what = ("log", namespace, pod, container, tail_lines, previous)
        state = _container_state(self._pod(namespace, pod), container)
        hit = self._reused(what, state, LOG_MAX_AGE)
        if hit is not None:
            self.logs_reused += 1
            return list(hit.value)
        lines = list(self.kube.pod_logs(namespace, pod, container, tail_lines, previous=previous))
        self.log_reads += 1
        if state != "absent":
            self._remember(what, state, lines)
        return lines

    def exec(
        self, namespace: str, pod: str, container: str, command: list[str], timeout: float = 10.0
    ) -> tuple[str, str, int | None]:
        """Run ``command``, or answer what it answered while its pod and the Jobs of its
        namespace stay unchanged (at most ``EXEC_MAX_AGE`` seconds); errors are not reused."""
        what = ("exec", namespace, pod, container, tuple(command))
        state = _container_state(self._pod(namespace, pod), container) + self._jobs_state(namespace)
        hit = self._reused(what, state, EXEC_MAX_AGE)
        if hit is not None:
            self.execs_reused += 1
            out, err, code = hit.value
            return str(out), str(err), code
        out, err, code = self.kube.exec(namespace, pod, container, command, timeout=timeout)
        self.execs += 1
        if not state.startswith("absent"):
            self._remember(what, state, (out, err, code))
        return str(out), str(err), code


def _serves_collection(informers: InformerSet) -> KubeSource:
    """Checked by mypy: an InformerSet stands in for the client wherever collection reads."""
    return informers
