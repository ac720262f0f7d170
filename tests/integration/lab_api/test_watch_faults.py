"""The lab's watch faults and request counts, over real HTTP: a compacted history answers
410 Gone, ``drop_watches`` cuts open streams mid-stream (a watch from the last version then
misses nothing), and every request is counted by verb."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store

from tests.integration.lab_api.conftest import TOKEN

pytestmark = pytest.mark.timeout(60)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CMS = "/api/v1/namespaces/default/configmaps"


def _cm(store: Store, name: str) -> int:
    store.create(BY_KEY["v1/configmaps"], {"metadata": {"name": name, "namespace": "default"}})
    return store.resource_version


def _watch_lines(
    http: httpx.Client, url: str, rv: int, out: list[dict[str, Any]], done: threading.Event
) -> None:
    params = {"watch": "true", "resourceVersion": str(rv), "timeoutSeconds": "20"}
    try:
        with http.stream("GET", url + CMS, params=params, headers=AUTH) as resp:
            for line in resp.iter_lines():
                if line.strip():
                    out.append(json.loads(line))
    except httpx.HTTPError as exc:
        out.append({"type": "BROKEN", "error": type(exc).__name__})
    finally:
        done.set()


def test_a_compacted_history_answers_410_gone(server: LabApiServer, store: Store, http: httpx.Client) -> None:
    old = _cm(store, "a")
    _cm(store, "b")
    assert store.compact() == store.resource_version
    with http.stream(
        "GET", server.url + CMS, params={"watch": "true", "resourceVersion": str(old)}, headers=AUTH
    ) as resp:
        first = json.loads(next(resp.iter_lines()))
    assert first["type"] == "ERROR"
    assert (first["object"]["code"], first["object"]["reason"]) == (410, "Expired")
    # a version from after the compaction still resumes
    now = store.resource_version
    out: list[dict[str, Any]] = []
    done = threading.Event()
    t = threading.Thread(target=_watch_lines, args=(http, server.url, now, out, done), daemon=True)
    t.start()
    _cm(store, "c")
    deadline = time.monotonic() + 10
    while not out and not done.is_set() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e["object"]["metadata"]["name"] for e in out if e["type"] == "ADDED"] == ["c"]
    server.drop_watches()
    assert done.wait(10)


def test_drop_watches_cuts_open_streams_and_a_resumed_watch_misses_nothing(
    server: LabApiServer, store: Store, http: httpx.Client
) -> None:
    rv = _cm(store, "before")
    out: list[dict[str, Any]] = []
    done = threading.Event()
    server.reset_request_counts()
    t = threading.Thread(target=_watch_lines, args=(http, server.url, rv, out, done), daemon=True)
    t.start()
    while server.drop_watches() == 0:  # the stream registers once the server answered
        assert not done.wait(0.02)
    assert done.wait(10)
    assert out and out[-1]["type"] == "BROKEN"  # cut mid-stream: no closing chunk
    _cm(store, "while-away")
    resumed = http.get(
        server.url + CMS,
        params={"watch": "true", "resourceVersion": str(rv), "timeoutSeconds": "1"},
        headers=AUTH,
    )
    events = [json.loads(line) for line in resumed.text.splitlines() if line.strip()]
    assert [e["object"]["metadata"]["name"] for e in events] == ["while-away"]
    counts = server.request_counts()
    assert counts.get("watch") == 2 and "list" not in counts  # the cut one and the resumed one


def test_requests_are_counted_by_verb_and_served_at_lab_requests(
    server: LabApiServer, store: Store, http: httpx.Client
) -> None:
    server.reset_request_counts()
    http.get(server.url + CMS, headers=AUTH).raise_for_status()
    http.get(server.url + "/api/v1/configmaps", headers=AUTH).raise_for_status()
    http.post(server.url + CMS, json={"metadata": {"name": "x"}}, headers=AUTH).raise_for_status()
    http.get(server.url + CMS + "/x", headers=AUTH).raise_for_status()
    http.delete(server.url + CMS + "/x", headers=AUTH).raise_for_status()
    http.get(server.url + "/version").raise_for_status()
    counts = http.get(server.url + "/lab/requests", headers=AUTH).json()["counts"]
    assert counts["list"] == 2 and counts["list v1/configmaps"] == 2
    assert (counts["create"], counts["get"], counts["delete"], counts["other"]) == (1, 1, 1, 1)
    assert "watch" not in counts
    assert http.get(server.url + "/lab/requests").status_code == 401  # the token is needed
