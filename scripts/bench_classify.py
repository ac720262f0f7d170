"""Benchmark: classify large snapshots and print CPU and wall time per classification.

Default sizes: 2,000 pods with 2,000 events and with 50,000 events (a tenth of the pods in
ImagePullBackOff, a third of the events the kubelet's "not found" pull failures).

Usage: .venv/bin/python scripts/bench_classify.py [PODS] [EVENTS]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "unit"))

from status.builders import (
    event,
    healthy_cluster,
    not_found_message,
    pod,
    running,
    waiting,
)

from appliance_cli.status.classify import classify


def build(pods: int, events: int) -> dict[str, object]:
    cl = healthy_cluster()
    objs = []
    for i in range(pods):
        if i % 10 == 0:
            image = f"ghcr.io/example/app:{i}"
            cs = [waiting("app", image, "ImagePullBackOff", f'Back-off pulling image "{image}"')]
        else:
            cs = [running("app", f"ghcr.io/example/app:{i}")]
        objs.append(pod(f"filler-{i}", cs, namespace=f"ns-{i % 20}"))
    cl.put(*objs)
    per_pod = max(1, events // pods)
    evs = []
    for i, p in enumerate(objs):
        for j in range(per_pod):
            msg = (
                not_found_message(f"ghcr.io/example/app:{i}")
                if j % 3 == 0
                else f"Started container app ({j})"
            )
            evs.append(event(p, "Failed" if j % 3 == 0 else "Started", msg, minutes_ago=(i + j) % 60))
    cl.put(*evs)
    return cl.data()


GOAL_MS = 30.0


def measure(pods: int, events: int, runs: int) -> tuple[int, int, list[float], list[float], str]:
    """Classify one snapshot ``runs`` times from cold (the timestamp cache cleared each time)."""
    from appliance_cli.status.index import _parse_rfc3339
    from appliance_cli.status.snapshot import ClusterSnapshot

    snap = ClusterSnapshot.model_validate(build(pods, events))
    classify(snap)  # warm-up: imports, the catalog, compiled patterns
    cpu: list[float] = []
    wall: list[float] = []
    doc = None
    for _ in range(runs):
        _parse_rfc3339.cache_clear()
        c0, w0 = time.process_time(), time.perf_counter()
        doc = classify(snap)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    assert doc is not None
    summary = f"blockers={len(doc.top_blockers)}, state={doc.rollup.state}"
    return len(snap.items("v1/pods")), len(snap.items("v1/events")), cpu, wall, summary


def main() -> None:
    import statistics

    if len(sys.argv) > 1:
        sizes = [(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 50000)]
    else:
        # the status CLI's old snapshot (2,000 events kept) and every event of a busy cluster
        sizes = [(2000, 2000), (2000, 50000)]
    runs = 7
    print(f"{'pods':>6} {'events':>7} {'CPU ms (median/min)':>20} {'wall ms (median)':>17}  result")
    for pods, events in sizes:
        n_pods, n_events, cpu, wall, summary = measure(pods, events, runs)
        print(
            f"{n_pods:>6} {n_events:>7} {statistics.median(cpu) * 1000:>11.1f}/{min(cpu) * 1000:<8.1f} "
            f"{statistics.median(wall) * 1000:>17.1f}  {summary}"
        )
    print(f"(median of {runs} cold runs each; goal: < {GOAL_MS:.0f} ms at 2,000 pods)")


if __name__ == "__main__":
    main()
