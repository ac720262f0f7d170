"""``watch=true`` streams through the official client's ``watch.Watch``."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store
from kubernetes import watch
from kubernetes.client import ApiException

from .conftest import TOKEN

CM = BY_KEY["v1/configmaps"]


def _cm(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "alga", "labels": labels or {}}, "data": {"k": name}}


def test_watch_from_resource_version_replays_later_changes(store: Store, core: Any) -> None:
    rv = core.list_namespaced_config_map("alga").metadata.resource_version
    store.create(CM, _cm("a"))
    store.mutate(CM, "alga", "a", lambda o: o["data"].update(k="changed"))
    store.delete(CM, "alga", "a")
    events = [
        (e["type"], e["object"].metadata.name, e["object"].data)
        for e in watch.Watch().stream(
            core.list_namespaced_config_map, "alga", resource_version=rv, timeout_seconds=1
        )
    ]
    assert events == [
        ("ADDED", "a", {"k": "a"}),
        ("MODIFIED", "a", {"k": "changed"}),
        ("DELETED", "a", {"k": "changed"}),
    ]


def test_watch_without_resource_version_starts_with_current_objects_then_live(
    store: Store, core: Any
) -> None:
    store.create(CM, _cm("existing"))
    seen: list[tuple[str, str]] = []
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, "alga", timeout_seconds=10):
        seen.append((ev["type"], ev["object"].metadata.name))
        if len(seen) == 1:
            store.create(CM, _cm("live"))  # arrives while the stream is open
        if len(seen) == 2:
            w.stop()
    assert seen == [("ADDED", "existing"), ("ADDED", "live")]


def test_watch_honours_label_selector(store: Store, core: Any) -> None:
    rv = core.list_namespaced_config_map("alga").metadata.resource_version
    store.create(CM, _cm("web", {"app": "web"}))
    store.create(CM, _cm("db", {"app": "db"}))
    names = [
        e["object"].metadata.name
        for e in watch.Watch().stream(
            core.list_namespaced_config_map,
            "alga",
            resource_version=rv,
            label_selector="app=db",
            timeout_seconds=1,
        )
    ]
    assert names == ["db"]


def test_watch_from_too_old_resource_version_is_410_expired(store: Store, core: Any) -> None:
    store.HISTORY = 5
    old = store.resource_version
    for i in range(10):
        store.create(CM, _cm(f"c{i}"))
    with pytest.raises(ApiException) as exc:
        list(
            watch.Watch().stream(
                core.list_namespaced_config_map, "alga", resource_version=str(old), timeout_seconds=2
            )
        )
    assert exc.value.status == 410
    assert "Expired: too old resource version" in str(exc.value.reason)


def test_raw_watch_stream_shapes_and_expired_error_event(
    http: httpx.Client, store: Store, server: LabApiServer
) -> None:
    store.HISTORY = 2
    for i in range(5):
        store.create(CM, _cm(f"c{i}"))
    h = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{server.url}/api/v1/namespaces/alga/configmaps?watch=true&resourceVersion=1000&timeoutSeconds=1"
    with http.stream("GET", url, headers=h) as r:
        assert r.status_code == 200 and r.headers["transfer-encoding"] == "chunked"
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert lines == [
        {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": lines[0]["object"]["message"],
                "reason": "Expired",
                "code": 410,
            },
        }
    ]


def test_watch_sends_bookmarks_when_allowed(store: Store, server: LabApiServer, core: Any) -> None:
    server.bookmark_interval = 0.2
    types = []
    w = watch.Watch()
    for ev in w.stream(
        core.list_namespaced_config_map, "alga", allow_watch_bookmarks=True, timeout_seconds=5
    ):
        types.append(ev["type"])
        if ev["type"] == "BOOKMARK":
            assert int(ev["raw_object"]["metadata"]["resourceVersion"]) == store.resource_version
            w.stop()
    assert types == ["BOOKMARK"]


def test_watch_ends_at_timeout_seconds(http: httpx.Client, server: LabApiServer) -> None:
    h = {"Authorization": f"Bearer {TOKEN}"}
    started = time.monotonic()
    with http.stream(
        "GET",
        f"{server.url}/api/v1/namespaces/alga/configmaps?watch=1&timeoutSeconds=1",
        headers=h,
        timeout=10,
    ) as r:
        body = r.read()
    assert body == b""
    assert time.monotonic() - started < 5


def test_server_stop_ends_open_watches(store: Store) -> None:
    srv = LabApiServer(store, token=TOKEN).start()
    h = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.stream(
        "GET", f"{srv.url}/api/v1/configmaps?watch=1", headers=h, timeout=10, verify=srv.client_ssl_context()
    ) as r:
        assert r.status_code == 200
        started = time.monotonic()
        srv.stop()
        assert r.read() == b""
    assert time.monotonic() - started < 5


def test_selector_watch_sees_objects_enter_and_leave(store: Store, core: Any) -> None:
    store.create(CM, _cm("x", {"app": "web"}))
    rv = core.list_namespaced_config_map("alga").metadata.resource_version
    store.mutate(CM, "alga", "x", lambda o: o["metadata"]["labels"].update(app="db"))  # enters app=db
    store.mutate(CM, "alga", "x", lambda o: o["data"].update(k="v2"))  # stays
    store.mutate(CM, "alga", "x", lambda o: o["metadata"]["labels"].update(app="web"))  # leaves
    store.mutate(CM, "alga", "x", lambda o: o["data"].update(k="v3"))  # never seen
    events = [
        (e["type"], e["object"].metadata.labels["app"], e["object"].data["k"])
        for e in watch.Watch().stream(
            core.list_namespaced_config_map,
            "alga",
            resource_version=rv,
            label_selector="app=db",
            timeout_seconds=1,
        )
    ]
    assert events == [("ADDED", "db", "x"), ("MODIFIED", "db", "v2"), ("DELETED", "web", "v2")]


def test_streaming_list_ends_initial_events_with_a_bookmark(
    store: Store, server: LabApiServer, http: httpx.Client
) -> None:
    store.create(CM, _cm("a"))
    store.create(CM, _cm("b"))
    url = (
        f"{server.url}/api/v1/namespaces/alga/configmaps?watch=1&sendInitialEvents=true"
        "&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1"
    )
    with http.stream("GET", url, headers={"Authorization": f"Bearer {TOKEN}"}) as r:
        events = [json.loads(line) for line in r.iter_lines() if line]
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
        ("BOOKMARK", None),
    ]
    assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(events[2]["object"]["metadata"]["resourceVersion"]) == store.resource_version
    bad = http.get(url.replace("&allowWatchBookmarks=true", ""), headers={"Authorization": f"Bearer {TOKEN}"})
    assert bad.status_code == 422 and bad.json()["reason"] == "Invalid"
