"""What keeps classification linear in objects: no needless copies, derived facts once per pod."""

from __future__ import annotations

import time
from typing import Any

import pytest

from appliance_cli.catalog import load_catalog
from appliance_cli.status.classify import classify
from appliance_cli.status.index import _without_nulls, build_index, event_time, key_of, parse_time
from appliance_cli.status.rules import signals
from appliance_cli.status.snapshot import ClusterSnapshot

from . import builders


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": 1, "b": None}, {"a": 1}),
        ({"a": {"b": None, "c": [1, None, {"d": None}]}}, {"a": {"c": [1, {}]}}),
        ([None, 1, [None]], [1, []]),
        ({"a": [{"b": 1}], "c": None, "d": {"e": None}}, {"a": [{"b": 1}], "d": {}}),
    ],
)
def test_nulls_are_dropped_at_every_depth(value: Any, expected: Any) -> None:
    assert _without_nulls(value) == expected


def test_an_object_without_nulls_is_not_copied() -> None:
    pod = _without_nulls(builders.pod("p", [builders.running("app", "img:1")]))  # the API sends nulls
    assert _without_nulls(pod) is pod
    with_null = {**pod, "spec": {**pod["spec"], "nodeName": None}}
    clean = _without_nulls(with_null)
    assert clean is not with_null and "nodeName" not in clean["spec"]
    assert clean["status"] is pod["status"]  # untouched branches are shared, not copied


def test_event_time_prefers_the_series_then_last_timestamp() -> None:
    ev: dict[str, Any] = {
        "lastTimestamp": "2026-04-30T01:00:00Z",
        "eventTime": "2026-04-30T02:00:00.000000Z",
        "metadata": {"creationTimestamp": "2026-04-30T00:00:00Z"},
    }
    assert event_time(ev) == parse_time("2026-04-30T01:00:00Z")  # type: ignore[arg-type]
    ev["series"] = {"lastObservedTime": "2026-04-30T03:00:00.000000Z"}
    assert event_time(ev) == parse_time("2026-04-30T03:00:00Z")  # type: ignore[arg-type]
    assert event_time({"lastTimestamp": "garbage", "eventTime": "2026-04-30T02:00:00Z"}) == parse_time(  # type: ignore[typeddict-item]
        "2026-04-30T02:00:00Z"
    )
    assert event_time({}) is None  # type: ignore[typeddict-item]


def test_pull_failures_of_a_pod_are_worked_out_once_per_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    cl = builders.healthy_cluster()
    image = builders.IMAGES["workflow-worker"]
    builders.image_pull_backoff(cl, "workflow-worker", builders.not_found_message(image))
    calls: list[str] = []
    real = signals._pull_failures

    def counting(index: Any, pod: Any) -> Any:
        calls.append(pod["metadata"]["name"])
        return real(index, pod)

    monkeypatch.setattr(signals, "_pull_failures", counting)
    doc = classify(ClusterSnapshot.model_validate(cl.data()))
    assert "image_tag_not_found" in [b.code for b in doc.top_blockers]
    assert calls and len(calls) == len(set(calls))  # several rules asked; each pod computed once


def _snapshot(pods: int) -> ClusterSnapshot:
    cl = builders.healthy_cluster()
    objs = []
    for i in range(pods):
        image = f"ghcr.io/example/app:{i}"
        cs = (
            [builders.waiting("app", image, "ImagePullBackOff", f'Back-off pulling image "{image}"')]
            if i % 10 == 0
            else [builders.running("app", image)]
        )
        objs.append(builders.pod(f"filler-{i}", cs, namespace=f"ns-{i % 20}"))
    cl.put(*objs)
    cl.put(
        *(
            builders.event(p, "Failed", builders.not_found_message(f"ghcr.io/example/app:{i}"))
            for i, p in enumerate(objs)
        )
    )
    return ClusterSnapshot.model_validate(cl.data())


def test_classification_cost_grows_linearly_with_pods() -> None:
    small, large = _snapshot(500), _snapshot(2000)

    def cpu(snap: ClusterSnapshot) -> float:
        classify(snap)  # warm
        best = float("inf")
        for _ in range(3):
            t = time.process_time()
            classify(snap)
            best = min(best, time.process_time() - t)
        return best

    ratio = cpu(large) / cpu(small)
    assert ratio < 6.0, f"4x the pods cost {ratio:.1f}x the time (linear is ~4x, quadratic ~16x)"


def test_the_index_groups_events_by_uid_once() -> None:
    snap = _snapshot(50)
    index = build_index(snap, now=parse_time(snap.collected_at))  # type: ignore[arg-type]
    pod = next(p for p in index.pods.values() if p["metadata"]["name"] == "filler-0")
    assert [te.reason for te in index.events_for(pod)] == ["Failed"]


def test_pods_no_rule_reads_are_not_copied_and_every_pod_a_rule_reads_has_no_nulls() -> None:
    """The API sends nulls (``lastProbeTime: null``); only pods that a rule may read are cleaned."""
    cl = builders.healthy_cluster()
    quiet = builders.pod("filler-quiet", [builders.running("app", "img:1")], namespace="ns-x")
    stuck = builders.pod(
        "filler-stuck", [builders.waiting("app", "img:2", "ImagePullBackOff")], namespace="ns-x"
    )
    # a null that hides nothing: cleaned, this container runs and is ready (settled)
    nulled = builders.pod("filler-nulled", [builders.running("app", "img:3")], namespace="ns-x")
    nulled["status"]["containerStatuses"][0]["state"]["terminated"] = None
    job_pod = builders.pod(
        "bootstrap-pod", [builders.running("job", "img:4")], owner=("Job", builders.BOOTSTRAP_JOB)
    )
    cl.put(quiet, stuck, nulled, job_pod)
    snap = ClusterSnapshot.model_validate(cl.data())
    index = build_index(snap, now=parse_time(snap.collected_at))  # type: ignore[arg-type]

    def has_null(value: Any) -> bool:
        if isinstance(value, dict):
            return any(v is None or has_null(v) for v in value.values())
        if isinstance(value, list):
            return any(v is None or has_null(v) for v in value)
        return False

    raw = {p["metadata"]["name"]: p for p in snap.items("v1/pods")}
    assert has_null(raw["filler-quiet"])  # the builder sends what the API sends
    assert index.pods[("ns-x", "filler-quiet")] is raw["filler-quiet"]  # no rule reads it: as it is
    assert [p["metadata"]["name"] for p in index.unsettled_pods] == ["filler-stuck"]
    readable = [
        *index.unsettled_pods,
        *index.past_pods.values(),
        *(p for pods in index.pods_by_component.values() for p in pods),
        *(p for pods in index.pods_by_job.values() for p in pods),
    ]
    assert index.pods_by_component and index.pods_by_job
    assert not [p["metadata"]["name"] for p in readable if has_null(p)]
    for p in readable:
        assert index.component_of_pod(p) == load_catalog().component_for_pod(*key_of(p)) or any(
            r.get("kind") == "Job" for r in p["metadata"].get("ownerReferences", [])
        )


def test_the_component_of_a_pod_name_is_the_catalogs_answer() -> None:
    from appliance_cli.status.index import _component_by_prefix, _pod_prefixes

    cat = load_catalog()
    table = _pod_prefixes(cat)
    names = {"x", "-", "db", "db-", "-db-0", "nothing-here-0"}
    for c in cat.components:
        names |= {f"{c.pod_prefix}-0", f"{c.pod_prefix}-7f6f96df87-lqgnj", c.pod_prefix, f"{c.pod_prefix}x-1"}
    namespaces = {c.namespace for c in cat.components} | {"elsewhere"}
    for ns in namespaces:
        for name in names:
            assert _component_by_prefix(table.get(ns), name) == cat.component_for_pod(ns, name), (ns, name)
