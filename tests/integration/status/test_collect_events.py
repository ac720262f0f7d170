"""Events at scale: the ones the rules need are never cut, and the snapshot says what was cut.

Against the lab's Kubernetes API over real HTTP (field selectors, ``limit`` and ``continue``
served as the real API server does), with page sizes made small so that a few hundred events
are "more than a page".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from appliance_lab.store import BY_KEY, Store, resource_for

from appliance_cli.adapters.kube import KubeClient
from appliance_cli.status import collect as collect_mod
from appliance_cli.status.collect import EVENT_REST_SELECTOR, CollectOptions, collect
from appliance_cli.status.live import classify_live
from tests.integration.status.conftest import NAMESPACES, Proxy, seed_healthy
from tests.unit.status import builders

pytestmark = pytest.mark.timeout(60)

PAGE = 40
REST = 25


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect_mod, "EVENT_PAGE_LIMIT", PAGE)
    monkeypatch.setattr(collect_mod, "EVENT_REST_LIMIT", REST)


def _opts() -> CollectOptions:
    return CollectOptions(site_id="lab", node_ip="127.0.0.1")


def _filler_events(store: Store, n: int, reason: str, *, namespace: str = "alga-system") -> None:
    """``n`` Normal events that sort before everything in ``msp`` and are newer than all of it."""
    rt = BY_KEY["v1/events"]
    for i in range(n):
        store.create(
            rt,
            {
                "metadata": {"name": f"aa-filler-{reason.lower()}-{i:05d}", "namespace": namespace},
                "involvedObject": {"kind": "Pod", "namespace": namespace, "name": f"filler-{i}"},
                "reason": reason,
                "message": f'Container image "busybox:{i}" already present on machine'
                if reason == "Pulled"
                else "Started container main",
                "type": "Normal",
                "lastTimestamp": builders.ts(0),
            },
        )


def _put(store: Store, *objs: dict[str, Any]) -> None:
    for obj in objs:
        store.create(resource_for(obj["apiVersion"], obj["kind"]), obj)


def test_the_event_that_explains_a_blocker_is_kept_behind_many_newer_ones(
    store: Store, kubeconfig: Path, proxy: Proxy
) -> None:
    for ns in NAMESPACES:
        store.create(BY_KEY["v1/namespaces"], {"metadata": {"name": ns}})
    cl = builders.healthy_cluster()
    image = builders.IMAGES["workflow-worker"]
    builders.image_pull_backoff(cl, "workflow-worker", builders.not_found_message(image))
    # the store gives each object its own UID: events name their pod by the stored one
    uids: dict[str, str] = {}
    for obj in cl.objects.values():
        if obj["kind"] != "Event":
            stored = store.create(resource_for(obj["apiVersion"], obj["kind"]), obj)
            uids[obj["metadata"]["uid"]] = stored["metadata"]["uid"]
    for obj in cl.objects.values():
        if obj["kind"] == "Event":
            ref = obj["involvedObject"]
            _put(store, {**obj, "involvedObject": {**ref, "uid": uids.get(ref["uid"], ref["uid"])}})
    _filler_events(store, 10 * PAGE, "Started")  # 400 newer events, all sorting first
    _filler_events(store, 3 * PAGE + 7, "Pulled")  # more than a page of pull events
    proxy.reset()

    snap = collect(KubeClient.from_kubeconfig(kubeconfig), _opts())

    items = snap.items("v1/events")
    warnings = [e for e in items if e.get("type") == "Warning"]
    assert {e["reason"] for e in warnings} == {"Failed"}
    assert any("not found" in e["message"] for e in warnings)
    assert sum(1 for e in items if e["reason"] == "Pulled") == 3 * PAGE + 7  # paged to the end
    assert sum(1 for e in items if e["reason"] == "Started") == REST  # one page of the rest
    stamps = [collect_mod.event_time(e) for e in items]
    assert stamps == sorted(stamps, reverse=True)

    info = snap.collection.events
    assert info is not None
    assert info.listed["reason=Pulled"] == 3 * PAGE + 7
    assert info.listed[EVENT_REST_SELECTOR] == REST
    assert info.cut == [f"other events: one page of {REST} read, more not read"]
    assert snap.resources["v1/events"]["metadata"].get("continue")
    # 4 pages of Pulled, one list per other selector, one page of the rest
    assert proxy.count("/api/v1/events") == 4 + 1 + 1 + 1

    doc = classify_live(snap)
    codes = [b.code for b in doc.top_blockers]
    assert "image_tag_not_found" in codes, codes


def test_nothing_cut_says_so(store: Store, kubeconfig: Path) -> None:
    seed_healthy(store)
    _filler_events(store, REST - 1, "Started")
    snap = collect(KubeClient.from_kubeconfig(kubeconfig), _opts())
    info = snap.collection.events
    assert info is not None and info.cut == []
    assert "continue" not in snap.resources["v1/events"]["metadata"]


def test_a_selector_beyond_its_page_bound_is_cut_and_said(
    store: Store, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collect_mod, "EVENT_MAX_PAGES", 2)
    seed_healthy(store)
    _filler_events(store, 2 * PAGE + 5, "Pulled")
    snap = collect(KubeClient.from_kubeconfig(kubeconfig), _opts())
    info = snap.collection.events
    assert info is not None
    assert info.listed["reason=Pulled"] == 2 * PAGE
    assert len(info.cut) == 1 and info.cut[0].startswith(f"reason=Pulled: {2 * PAGE} listed (2 pages), ")
    assert info.cut[0].endswith("not read")


def test_the_request_count_does_not_grow_with_events_outside_the_selectors(
    store: Store, kubeconfig: Path, proxy: Proxy
) -> None:
    seed_healthy(store)
    client = KubeClient.from_kubeconfig(kubeconfig)
    _filler_events(store, 5, "Started")
    small = collect(client, _opts()).collection.api_requests
    _filler_events(store, 20 * PAGE, "Started", namespace="kube-system")
    big = collect(client, _opts()).collection.api_requests
    assert small == big


def test_pull_events_of_settled_pods_are_kept_only_newest_first_up_to_the_bound(
    store: Store, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collect_mod, "PULL_EVENTS_KEPT", 10)
    seed_healthy(store)
    running = builders.pod("settled-0", [builders.running("main", "busybox:1")])
    creating = builders.pod(
        "creating-0", [builders.waiting("main", "busybox:2", "ContainerCreating")], phase="Pending"
    )
    for p in (running, creating):
        store.create(BY_KEY["v1/pods"], p)
    rt = BY_KEY["v1/events"]
    for i in range(30):
        for pod, reason, msg in (
            ("settled-0", "Pulled", 'Container image "busybox:1" already present on machine'),
            ("creating-0", "Pulling", 'Pulling image "busybox:2"'),
        ):
            store.create(
                rt,
                {
                    "metadata": {"name": f"{pod}.{i:04d}", "namespace": "msp"},
                    "involvedObject": {"kind": "Pod", "namespace": "msp", "name": pod},
                    "reason": reason,
                    "message": msg,
                    "type": "Normal",
                    "lastTimestamp": f"2026-04-30T01:00:{i:02d}Z",
                },
            )
    snap = collect(KubeClient.from_kubeconfig(kubeconfig), _opts())
    items = snap.items("v1/events")
    settled = [e for e in items if e["involvedObject"]["name"] == "settled-0"]
    assert [e["metadata"]["name"] for e in settled] == [f"settled-0.{i:04d}" for i in range(29, 19, -1)]
    assert sum(1 for e in items if e["involvedObject"]["name"] == "creating-0") == 30
    info = snap.collection.events
    assert info is not None
    assert info.listed["reason=Pulled"] == 30 and info.not_kept == {"reason=Pulled": 20}
    assert info.cut == []
