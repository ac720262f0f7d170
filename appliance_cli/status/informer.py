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
itself; log tails and the seed-user exec still go to the API. ``wait_for_change`` wakes a
waiter on the next change instead of a timer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from appliance_cli.errors import KubeError, KubeUnreachable
from appliance_cli.status.snapshot import RESOURCE_KEYS

Obj = dict[str, Any]
Key = tuple[str, str]

WATCH_TIMEOUT_SECONDS = 300
RETRY_SECONDS = 0.2
MAX_RETRY_SECONDS = 5.0
GONE = 410


class WatchingKube(Protocol):
    """What an informer needs of ``adapters.kube.KubeClient``."""

    requests: int

    def list_raw(
        self,
        key: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        *,
        continue_token: str | None = None,
    ) -> Obj: ...

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
        self.last_error: str | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> Informer:
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.key}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current watch request ends (its ``timeoutSeconds`` bounds the wait)."""
        self._stop.set()

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
        with self._lock:
            items = [self._objects[k] for k in sorted(self._objects)]
            meta = dict(self._list_meta)
            if self.resource_version:
                meta["resourceVersion"] = self.resource_version
            return {"kind": self._kind, "apiVersion": self._api_version, "metadata": meta, "items": items}

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
        self._synced.set()
        self._changed()

    def _apply(self, etype: str, obj: Obj) -> None:
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        with self._lock:
            if etype in ("ADDED", "MODIFIED"):
                self._objects[_key_of(obj)] = obj
            elif etype == "DELETED":
                self._objects.pop(_key_of(obj), None)
            if rv:
                self.resource_version = str(rv)
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
                opened = time.monotonic()
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
                self.last_error = None
                if not seen and time.monotonic() - opened < 1.0:
                    self._stop.wait(backoff)  # a server that closes at once: do not spin
                    backoff = min(backoff * 2, MAX_RETRY_SECONDS)
            except KubeError as exc:
                if exc.status == GONE:  # the version is too old: only a LIST can catch up
                    self.gone += 1
                    need_list = True
                    continue
                self.last_error = str(exc)
                if not isinstance(exc, KubeUnreachable) and exc.status not in (429, 500, 502, 503, 504):
                    backoff = MAX_RETRY_SECONDS  # refused or forbidden: keep trying, slowly
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_RETRY_SECONDS)


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


class InformerSet:
    """One informer per snapshot resource: a ``KubeSource`` for ``collect`` served from caches."""

    def __init__(
        self,
        kube: Any,
        *,
        keys: tuple[str, ...] = RESOURCE_KEYS,
        label_selectors: dict[str, str] | None = None,
        watch_timeout: int = WATCH_TIMEOUT_SECONDS,
    ) -> None:
        self.kube = kube
        self._cond = threading.Condition()
        self._generation = 0
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

    @property
    def generation(self) -> int:
        """Grows by one with every change any informer saw."""
        with self._cond:
            return self._generation

    def wait_for_change(self, since: int, timeout: float) -> int:
        """Block until ``generation`` passes ``since`` (or ``timeout``); the generation now."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._generation <= since:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._generation

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
    ) -> Obj:
        inf = self.informers.get(key)
        if inf is None or not inf.synced:
            return dict(
                self.kube.list_raw(
                    key, namespace, label_selector, field_selector, limit, continue_token=continue_token
                )
            )
        lst = inf.as_list()
        lst["items"] = [
            o
            for o in lst["items"]
            if (namespace is None or (o.get("metadata") or {}).get("namespace") == namespace)
            and _field_matches(o, field_selector)
        ]
        return lst

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
    ) -> list[str]:
        return list(self.kube.pod_logs(namespace, pod, container, tail_lines, previous=previous))

    def exec(
        self, namespace: str, pod: str, container: str, command: list[str], timeout: float = 10.0
    ) -> tuple[str, str, int | None]:
        out, err, code = self.kube.exec(namespace, pod, container, command, timeout=timeout)
        return str(out), str(err), code
