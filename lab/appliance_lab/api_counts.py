"""What the lab's Kubernetes API was asked, counted by verb: how a test or a benchmark sees
that a client watches instead of listing (``LabApiServer.request_counts``, ``GET /lab/requests``).

Verbs are the API server's own audit verbs (``list``, ``watch``, ``get``, ``create``,
``update``, ``patch``, ``delete``, ``deletecollection``), plus ``log`` and ``exec`` for the pod
subresources and ``other`` for discovery, OpenAPI, ``/version`` and health checks.
"""

from __future__ import annotations

import threading
from collections import Counter

COUNTS_PATH = "/lab/requests"


def request_verb(method: str, *, collection: bool, subresource: str | None, watch: bool) -> str:
    """The audit verb of one request on a resource path."""
    if subresource in ("log", "exec"):
        return subresource
    if method in ("GET", "HEAD"):
        if watch:
            return "watch"
        return "list" if collection else "get"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "deletecollection" if collection else "delete"
    return "other"


class RequestCounter:
    """Thread-safe counts of requests by verb, and by ``verb resource-key`` for lists and watches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, verb: str, key: str | None = None) -> None:
        with self._lock:
            self._counts[verb] += 1
            if key is not None and verb in ("list", "watch", "get"):
                self._counts[f"{verb} {key}"] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
