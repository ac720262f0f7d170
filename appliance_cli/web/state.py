"""What the collector loop last produced, shared by every request (thread-safe).

Requests only read this; they never trigger a collection. The documents are serialised
once per collection, so answering ``/api/status`` is a dictionary read and a byte copy; each
published body has an entity tag (a digest of those bytes), so a client that already has it
asks with ``If-None-Match`` and gets ``304 Not Modified`` without the body.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from appliance_cli.status.model import StatusDocument
from appliance_cli.status.snapshot import ClusterSnapshot


@dataclass(frozen=True)
class Published:
    doc: StatusDocument
    status_json: bytes
    diagnostics: dict[str, Any]
    collected_at: str  # RFC3339 wall clock
    monotonic: float
    snapshot: ClusterSnapshot | None = None  # what the support bundle download sends
    etag: str = ""  # a strong entity tag of ``status_json`` (quoted)

    def etag_matches(self, if_none_match: str) -> bool:
        """Whether an ``If-None-Match`` value names this body (RFC 9110 §13.1.2: ``*``, or a
        list of tags compared weakly, ``W/`` ignored)."""
        value = if_none_match.strip()
        if value == "*":
            return True
        return any(tag.strip().removeprefix("W/") == self.etag for tag in value.split(","))


@dataclass(frozen=True)
class View:
    current: Published | None
    age_seconds: float | None
    last_error: str | None
    failing_since: str | None
    collections: int
    interval: float

    def freshness(self) -> dict[str, Any]:
        return {
            "collectedAt": self.current.collected_at if self.current else None,
            "ageSeconds": round(self.age_seconds, 1) if self.age_seconds is not None else None,
            "stale": self.age_seconds is None or self.age_seconds > 3 * self.interval + 5,
            "lastError": self.last_error,
            "failingSince": self.failing_since,
            "intervalSeconds": self.interval,
        }


def entity_tag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StatusState:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._current: Published | None = None
        self._error: str | None = None
        self._failing_since: str | None = None
        self._collections = 0

    def publish(
        self, doc: StatusDocument, diagnostics: dict[str, Any], snapshot: ClusterSnapshot | None = None
    ) -> None:
        status_json = doc.to_json(indent=None).encode()
        pub = Published(
            doc=doc,
            status_json=status_json,
            diagnostics=diagnostics,
            collected_at=_now(),
            monotonic=time.monotonic(),
            snapshot=snapshot,
            etag=entity_tag(status_json),
        )
        with self._lock:
            self._current = pub
            self._error = None
            self._failing_since = None
            self._collections += 1

    def fail(self, error: str) -> None:
        with self._lock:
            self._error = error[:500]
            if self._failing_since is None:
                self._failing_since = _now()
            self._collections += 1

    def view(self) -> View:
        with self._lock:
            cur = self._current
            return View(
                current=cur,
                age_seconds=(time.monotonic() - cur.monotonic) if cur else None,
                last_error=self._error,
                failing_since=self._failing_since,
                collections=self._collections,
                interval=self.interval,
            )

    def diagnostics_json(self) -> bytes | None:
        v = self.view()
        if v.current is None:
            return None
        body = dict(v.current.diagnostics)
        body["freshness"] = v.freshness()
        return json.dumps(body).encode()
