"""Large snapshots (thousands of pods, tens of thousands of events) built offline.

Two shapes, the ones the benchmarks classify:

* ``pull_failures`` — ``scripts/bench_classify.py``: a tenth of the pods in ImagePullBackOff,
  a third of the events the kubelet's "not found" pull failures (matched by UID);
* ``kubelet_events`` — what ``scripts/bench_status.py`` seeds into the lab API: bare pods,
  each start's Scheduled/Pulling/Pulled/Created/Started events matched by name (no UID),
  now and then a readiness-probe warning.
"""

from __future__ import annotations

from typing import Any

from . import builders


def pull_failures(pods: int, events: int) -> dict[str, Any]:
    cl = builders.healthy_cluster()
    objs = []
    for i in range(pods):
        if i % 10 == 0:
            image = f"ghcr.io/example/app:{i}"
            cs = [builders.waiting("app", image, "ImagePullBackOff", f'Back-off pulling image "{image}"')]
        else:
            cs = [builders.running("app", f"ghcr.io/example/app:{i}")]
        objs.append(builders.pod(f"filler-{i}", cs, namespace=f"ns-{i % 20}"))
    cl.put(*objs)
    per_pod = max(1, events // pods)
    evs = []
    for i, p in enumerate(objs):
        for j in range(per_pod):
            msg = (
                builders.not_found_message(f"ghcr.io/example/app:{i}")
                if j % 3 == 0
                else f"Started container app ({j})"
            )
            evs.append(
                builders.event(p, "Failed" if j % 3 == 0 else "Started", msg, minutes_ago=(i + j) % 60)
            )
    cl.put(*evs)
    return cl.data()


KUBELET_CYCLE = (
    ("Scheduled", "Normal", "default-scheduler", "Successfully assigned msp/{pod} to talos-lab"),
    ("Pulling", "Normal", "kubelet", 'Pulling image "{image}"'),
    (
        "Pulled",
        "Normal",
        "kubelet",
        'Successfully pulled image "{image}" in 2.1s (2.1s including waiting). Image size: 2155582 bytes.',
    ),
    ("Created", "Normal", "kubelet", "Created container: main"),
    ("Started", "Normal", "kubelet", "Started container main"),
)


def kubelet_events(pods: int, events: int) -> dict[str, Any]:
    data = builders.healthy_cluster().data()
    res = data["resources"]
    base_pods = len(res["v1/pods"]["items"])
    fillers = max(1, pods - base_pods)
    for i in range(fillers):
        name = f"filler-{i:05d}"
        res["v1/pods"]["items"].append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": "msp",
                    "uid": builders.uid("Pod", "msp", name),
                    "labels": {"app": "filler"},
                    "creationTimestamp": builders.ts(70),
                },
                "spec": {"containers": [{"name": "main", "image": f"docker.io/library/busybox:1.{i % 40}"}]},
                "status": {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [
                        {"name": "main", "ready": True, "restartCount": 0, "state": {"running": {}}}
                    ],
                },
            }
        )
    for i in range(events):
        pod = f"filler-{(i // 5) % fillers:05d}"
        image = f"docker.io/library/busybox:1.{((i // 5) % fillers) % 40}"
        if i % 50 == 49:
            reason, etype, comp, msg = ("Unhealthy", "Warning", "kubelet", "Readiness probe failed: timeout")
        else:
            reason, etype, comp, msg = KUBELET_CYCLE[i % 5]
        t = 3600 - (i * 3600) // max(1, events)  # spread over the last hour, newest last
        res["v1/events"]["items"].append(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"{pod}.{i:08x}", "namespace": "msp"},
                "involvedObject": {"kind": "Pod", "namespace": "msp", "name": pod},
                "reason": reason,
                "message": msg.format(pod=pod, image=image),
                "type": etype,
                "count": 1,
                "source": {"component": comp, "host": "talos-lab"},
                "lastTimestamp": f"2026-04-30T01:{(3600 - t) // 60 % 60:02d}:{(3600 - t) % 60:02d}Z",
            }
        )
    return data
