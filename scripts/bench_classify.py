"""Benchmark: classify a large snapshot (default 2,000 pods, 50,000 events) and print the figures.

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


def main() -> None:
    pods = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    data = build(pods, events)
    from appliance_cli.status.snapshot import ClusterSnapshot

    t0 = time.perf_counter()
    snap = ClusterSnapshot.model_validate(data)
    t1 = time.perf_counter()
    doc = classify(snap)
    t2 = time.perf_counter()
    n_events = len(snap.items("v1/events"))
    print(f"pods={len(snap.items('v1/pods'))} events={n_events}")
    print(f"validate snapshot: {t1 - t0:.3f}s")
    print(f"classify:          {t2 - t1:.3f}s  (blockers={len(doc.top_blockers)}, state={doc.rollup.state})")


if __name__ == "__main__":
    main()
