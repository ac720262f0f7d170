"""The informer cache against the lab's Kubernetes API over real HTTP: LIST once, then WATCH;
a dropped watch and an API server restart resume from the last version; 410 Gone relists."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from appliance_lab.api_faults import FaultConfig
from appliance_lab.apiserver import LabApiServer, write_kubeconfig
from appliance_lab.store import BY_KEY, Store

from appliance_cli.adapters.kube import KubeClient
from appliance_cli.status.collect import CollectOptions, collect
from appliance_cli.status.informer import Informer, InformerSet
from tests.integration.status.conftest import TOKEN, seed_healthy

pytestmark = pytest.mark.timeout(90)
WATCH_TIMEOUT = 5


def _wait(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _cm(name: str, value: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "msp"}, "data": {"v": value}}


@pytest.fixture
def server(store: Store) -> Iterator[LabApiServer]:
    srv = LabApiServer(store, token=TOKEN, tls=False)
    srv.bookmark_interval = 0.5
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def kube(server: LabApiServer, tmp_path: Path) -> KubeClient:
    return KubeClient.from_kubeconfig(write_kubeconfig(tmp_path / "kc", server.url, TOKEN), timeout=5)


@pytest.fixture
def informers(store: Store, kube: KubeClient) -> Iterator[InformerSet]:
    seed_healthy(store)
    infs = InformerSet(kube, watch_timeout=WATCH_TIMEOUT).start()
    assert infs.wait_synced(20)
    yield infs
    infs.stop()


def _names(inf: Informer) -> set[str]:
    return {o["metadata"]["name"] for o in inf.items()}


def test_a_status_at_steady_state_costs_no_list_and_changes_wake_the_waiter(
    store: Store, kube: KubeClient, informers: InformerSet
) -> None:
    opts = CollectOptions(site_id="lab", node_ip="127.0.0.1")
    direct = collect(kube, opts)
    cached = collect(informers, opts)
    assert cached.collection.api_requests == 0
    for key in ("v1/pods", "apps/v1/deployments", "helm.toolkit.fluxcd.io/v2/helmreleases"):
        assert {o["metadata"]["name"] for o in cached.items(key)} == {
            o["metadata"]["name"] for o in direct.items(key)
        }
    assert cached.collection.events is not None and cached.collection.events.cut == []

    since = informers.generation
    store.create(BY_KEY["v1/configmaps"], _cm("woken"))
    assert informers.wait_for_change(since, timeout=10) > since
    assert "woken" in _names(informers.informers["v1/configmaps"])
    store.delete(BY_KEY["v1/configmaps"], "msp", "woken")
    _wait(lambda: "woken" not in _names(informers.informers["v1/configmaps"]), "the delete")
    assert all(inf.lists == 1 for inf in informers.informers.values())


def test_a_dropped_watch_resumes_from_its_version_without_a_list(
    store: Store, kube: KubeClient, server: LabApiServer
) -> None:
    store.create(BY_KEY["v1/namespaces"], {"metadata": {"name": "msp"}})
    inf = Informer(kube, "v1/configmaps", watch_timeout=WATCH_TIMEOUT).start()
    try:
        assert inf.wait_synced(10)
        _wait(lambda: inf.watches >= 1, "the first watch")
        watches = inf.watches
        # every connection is cut for a moment, the open watch stream included
        start = time.monotonic() - server.started_at
        server.faults = FaultConfig(outage_windows=((start, start + 1.5),))
        _wait(lambda: inf.last_error is not None, "the watch to drop")
        store.create(BY_KEY["v1/configmaps"], _cm("during-outage"))
        _wait(lambda: "during-outage" in _names(inf), "the change made while the watch was down")
        assert inf.watches > watches
        assert (inf.lists, inf.gone) == (1, 0)
    finally:
        inf.stop()
        server.faults = None


def test_an_api_server_restart_is_ridden_through_and_410_gone_relists(
    store: Store, kube: KubeClient, server: LabApiServer
) -> None:
    store.create(BY_KEY["v1/namespaces"], {"metadata": {"name": "msp"}})
    store.create(BY_KEY["v1/configmaps"], _cm("before"))
    inf = Informer(kube, "v1/configmaps", watch_timeout=WATCH_TIMEOUT).start()
    try:
        assert inf.wait_synced(10)
        _wait(lambda: inf.watches >= 1, "the first watch")
        port = server.port
        server.stop()
        # while the API is down: one change the history still holds after the restart
        store.create(BY_KEY["v1/configmaps"], _cm("while-down"))
        _wait(lambda: inf.last_error is not None, "the informer to see the API gone")
        restarted = LabApiServer(store, token=TOKEN, tls=False, port=port)
        restarted.bookmark_interval = 0.5
        restarted.start()
        try:
            _wait(lambda: "while-down" in _names(inf), "the change replayed after the restart")
            assert (inf.lists, inf.gone) == (1, 0)  # resumed from its version: no LIST

            # down again, and this time the history moves past the informer's version
            restarted.stop()
            _wait(lambda: inf.last_error is not None and "while-down" in _names(inf), "the API gone again")
            store.HISTORY = 3
            for i in range(10):
                store.create(BY_KEY["v1/configmaps"], _cm(f"churn-{i}"))
            store.delete(BY_KEY["v1/configmaps"], "msp", "before")
            again = LabApiServer(store, token=TOKEN, tls=False, port=port)
            again.start()
            try:
                _wait(lambda: inf.gone >= 1 and inf.lists == 2, "410 Gone and one LIST")
                _wait(lambda: "churn-9" in _names(inf) and "before" not in _names(inf), "the relisted state")
                assert inf.last_error is None or inf.synced
            finally:
                again.stop()
        finally:
            restarted.stop()
    finally:
        inf.stop()


def _event(name: str, reason: str, second: int) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "msp"},
        "involvedObject": {"kind": "Pod", "namespace": "msp", "name": f"pod-{name}", "uid": f"uid-{name}"},
        "reason": reason,
        "type": "Normal",
        "message": f"{reason} image",
        "lastTimestamp": f"2026-01-01T00:00:{second:02d}Z",
    }


def test_paged_selector_reads_match_the_api_and_see_the_next_change(
    store: Store, kube: KubeClient, informers: InformerSet
) -> None:
    for i in range(25):
        store.create(BY_KEY["v1/events"], _event(f"pull-{i}", "Pulling" if i % 5 else "Pulled", i))

    def pages(source: Any) -> list[str]:
        names: list[str] = []
        token = None
        while True:
            lst = source.list_raw("v1/events", field_selector="reason=Pulling", limit=7, continue_token=token)
            names += [o["metadata"]["name"] for o in lst["items"]]
            token = (lst.get("metadata") or {}).get("continue")
            if not token:
                return names

    direct = pages(kube)
    assert len(direct) == 20
    cached = _wait(lambda: (names := pages(informers)) and len(names) == 20 and names, "the 25 events")
    assert sorted(cached) == sorted(direct) and len(set(cached)) == 20
    sent = kube.requests
    assert pages(informers) == cached  # read again: the same selection, nothing sent
    assert kube.requests == sent

    store.create(BY_KEY["v1/events"], _event("pull-new", "Pulling", 59))
    again = _wait(lambda: (names := pages(informers)) and "pull-new" in names and names, "the new event")
    assert again[0] == "pull-new"  # the newest event first
    assert sorted(again) == sorted([*direct, "pull-new"])
    everything = informers.list_raw("v1/events")["items"]
    everything.clear()  # a caller's own list: the informer's cache is not touched
    assert len(informers.list_raw("v1/events")["items"]) >= 26


def test_unchanged_events_are_merged_once_and_a_change_is_seen(
    store: Store, informers: InformerSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    import appliance_cli.status.collect as collect_module

    store.create(BY_KEY["v1/events"], {**_event("warn-1", "BackOff", 10), "type": "Warning"})
    _wait(
        lambda: any(o["metadata"]["name"] == "warn-1" for o in informers.list_raw("v1/events")["items"]),
        "warn-1",
    )
    opts = CollectOptions(site_id="lab", node_ip="127.0.0.1", events_seen={})
    first = collect(informers, opts)
    names = [e["metadata"]["name"] for e in first.items("v1/events")]
    assert "warn-1" in names and len(opts.events_seen or {}) == 1

    def no_merge(*_args: object) -> None:
        raise AssertionError("the unchanged events were merged again")

    with monkeypatch.context() as patched:
        patched.setattr(collect_module, "merge_events", no_merge)
        again = collect(informers, opts)
    assert [e["metadata"]["name"] for e in again.items("v1/events")] == names
    assert again.collection.events == first.collection.events

    store.create(BY_KEY["v1/events"], {**_event("warn-2", "BackOff", 20), "type": "Warning"})
    _wait(
        lambda: "warn-2" in [e["metadata"]["name"] for e in collect(informers, opts).items("v1/events")],
        "the new warning in the next collection",
    )
