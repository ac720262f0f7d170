"""What every simulated controller shares: the store, the scenario, scaled time, events.

Controllers keep no copy of object state: they read and write ``lab.store`` only. What they
remember privately is time (when a step started) and what the node "has" (pulled images,
seeded users, volume directories on its disk), which is not Kubernetes state.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import threading
from typing import Any

from appliance_cli.env import Clock, SystemClock
from appliance_lab.scenario import Scenario
from appliance_lab.store import BY_KEY, NotFound, Obj, ResourceType, Store, now_rfc3339

NODE_NAME = "talos-lab-cp1"
NODE_IP = "127.0.0.1"
POD_CIDR = "10.244.0."

NS = BY_KEY["v1/namespaces"]
NODES = BY_KEY["v1/nodes"]
PODS = BY_KEY["v1/pods"]
EVENTS = BY_KEY["v1/events"]
CONFIGMAPS = BY_KEY["v1/configmaps"]
SECRETS = BY_KEY["v1/secrets"]
SERVICES = BY_KEY["v1/services"]
PVCS = BY_KEY["v1/persistentvolumeclaims"]
PVS = BY_KEY["v1/persistentvolumes"]
DEPLOYMENTS = BY_KEY["apps/v1/deployments"]
REPLICASETS = BY_KEY["apps/v1/replicasets"]
STATEFULSETS = BY_KEY["apps/v1/statefulsets"]
JOBS = BY_KEY["batch/v1/jobs"]
STORAGECLASSES = BY_KEY["storage.k8s.io/v1/storageclasses"]
GITREPOS = BY_KEY["source.toolkit.fluxcd.io/v1/gitrepositories"]
KUSTOMIZATIONS = BY_KEY["kustomize.toolkit.fluxcd.io/v1/kustomizations"]
HELMRELEASES = BY_KEY["helm.toolkit.fluxcd.io/v2/helmreleases"]


def rand5() -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[b % len(alphabet)] for b in os.urandom(5))


def short_hash(text: str, n: int = 10) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256(text.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:n])


def condition(ctype: str, status: bool | str, reason: str = "", message: str = "", **extra: Any) -> Obj:
    value = status if isinstance(status, str) else ("True" if status else "False")
    c: Obj = {"type": ctype, "status": value, "lastTransitionTime": now_rfc3339()}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    c.update(extra)
    return c


def set_condition(conditions: list[Obj], new: Obj) -> list[Obj]:
    """Replace the condition of the same type, keeping lastTransitionTime if status is unchanged."""
    out: list[Obj] = []
    found = False
    for c in conditions:
        if c.get("type") == new["type"]:
            found = True
            if c.get("status") == new.get("status") and "lastTransitionTime" in c:
                new = {**new, "lastTransitionTime": c["lastTransitionTime"]}
            out.append(new)
        else:
            out.append(c)
    if not found:
        out.append(new)
    return out


def get_condition(obj: Obj, ctype: str) -> Obj | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return dict(c)
    return None


def is_true(obj: Obj, ctype: str) -> bool:
    c = get_condition(obj, ctype)
    return bool(c and c.get("status") == "True")


class Ctx:
    """Shared by the controllers of one lab."""

    def __init__(
        self,
        store: Store,
        scenario: Scenario,
        speed: float,
        release_version: str = "1.0-rc5",
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        # The lab's time: the wall clock, or a test's virtual clock (``appliance_lab.testing``).
        self.clock: Clock = clock or SystemClock()
        self.release_version = release_version
        self.scenario = scenario
        self.speed = speed
        self._marks: dict[str, float] = {}
        self._lock = threading.Lock()
        self.pulled_images: set[str] = set()
        self.seeded_users = 0
        # The node's disk under the local-path root: the directories volumes live in.
        self.host_dirs: set[str] = set()
        self.kubernetes_up = threading.Event()
        self.t = scenario.timings
        self.next_due = math.inf  # the earliest moment a timed step is waiting for (``passed``)

    # -- time ----------------------------------------------------------------------------------
    def monotonic(self) -> float:
        return self.clock.monotonic()

    def scaled(self, seconds: float) -> float:
        return seconds / self.speed

    def mark(self, key: str) -> float:
        """When ``key`` was first marked (monotonic seconds); marks it now the first time."""
        with self._lock:
            return self._marks.setdefault(key, self.clock.monotonic())

    def due(self, key: str, seconds: float) -> bool:
        """True once ``seconds`` (at speed 1) have passed since ``key`` was first asked about."""
        return self.passed(self.mark(key), seconds)

    def passed(self, since: float, seconds: float) -> bool:
        """True once ``seconds`` (at speed 1) have passed since the monotonic time ``since``.
        Until then the moment is remembered (``next_due``): the controllers' loop wakes up for
        it instead of a whole tick later."""
        at = since + seconds / self.speed
        if self.clock.monotonic() >= at:
            return True
        self.next_due = min(self.next_due, at)
        return False

    def once(self, key: str) -> bool:
        """True the first time ``key`` is asked about, False afterwards."""
        with self._lock:
            if key in self._marks:
                return False
            self._marks[key] = self.clock.monotonic()
            return True

    def forget(self, prefix: str) -> None:
        with self._lock:
            for k in [k for k in self._marks if k.startswith(prefix)]:
                del self._marks[k]

    # -- objects -------------------------------------------------------------------------------
    def ensure_namespace(self, name: str) -> None:
        if self.store.try_get_ref(NS, None, name) is None:
            with contextlib.suppress(Exception):
                self.store.create(
                    NS,
                    {
                        "metadata": {"name": name},
                        "spec": {"finalizers": ["kubernetes"]},
                        "status": {"phase": "Active"},
                    },
                )

    def event(
        self,
        obj: Obj,
        reason: str,
        message: str,
        *,
        type_: str = "Normal",
        component: str = "kubelet",
        field_path: str | None = None,
    ) -> None:
        """Record an Event about ``obj``; a repeat of the same reason/message bumps ``count``."""
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        uid = meta.get("uid", "")
        key = hashlib.sha1(f"{uid}|{reason}|{message}|{field_path}".encode()).hexdigest()[:16]
        name = f"{meta.get('name')}.{key}"
        now = now_rfc3339()
        try:

            def bump(ev: Obj) -> None:
                ev["count"] = int(ev.get("count", 1)) + 1
                ev["lastTimestamp"] = now

            self.store.mutate(EVENTS, ns, name, bump)
            return
        except NotFound:
            pass
        involved: Obj = {
            "kind": obj.get("kind"),
            "namespace": ns,
            "name": meta.get("name"),
            "uid": uid,
            "apiVersion": obj.get("apiVersion"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        if field_path:
            involved["fieldPath"] = field_path
        ev: Obj = {
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": component, **({"host": NODE_NAME} if component == "kubelet" else {})},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": component,
            "reportingInstance": NODE_NAME if component == "kubelet" else "",
        }
        with contextlib.suppress(Exception):
            self.store.create(EVENTS, ev, ns)

    def mutate(self, rt: ResourceType, obj: Obj, fn: Any) -> Obj | None:
        meta = obj["metadata"]
        try:
            result: Obj = self.store.mutate(rt, meta.get("namespace"), meta["name"], fn)
            return result
        except NotFound:
            return None

    def set_status(self, rt: ResourceType, obj: Obj, status: Obj) -> None:
        """Write ``status`` into the stored object, unless it already holds exactly that (most
        steps find nothing to change: no copy of the object is made then)."""
        meta = obj["metadata"]
        cur = self.store.try_get_ref(rt, meta.get("namespace"), meta["name"])
        if cur is None or cur.get("status") == status:
            return

        def fn(o: Obj) -> None:
            o["status"] = status

        self.mutate(rt, obj, fn)
