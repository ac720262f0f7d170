"""Large snapshots (thousands of pods, tens of thousands of events) built offline.

The base is the recorded healthy appliance (``tests/fixtures/snapshots/healthy.json``, kept
byte-stable by ``scripts/make_fixtures.py --check``); the filler objects are written out here
in the API's shape, so a large snapshot (and its golden digest) changes only when the fixture
does. Two shapes, the ones the benchmarks classify:

* ``pull_failures`` — ``scripts/bench_classify.py``: a tenth of the pods in ImagePullBackOff,
  a third of the events the kubelet's "not found" pull failures (matched by UID);
* ``kubelet_events`` — what ``scripts/bench_status.py`` seeds into the lab API: bare pods,
  each start's Scheduled/Pulling/Pulled/Created/Started events matched by name (no UID),
  now and then a readiness-probe warning.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from tests.fixtures.objects_loader import SNAPSHOTS

Obj = dict[str, Any]


@cache
def _healthy() -> Obj:
    data: Obj = json.loads((SNAPSHOTS / "healthy.json").read_text())
    return data


def _base() -> Obj:
    return copy.deepcopy(_healthy())


def _uid(*parts: str) -> str:
    h = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _ts(collected: str, minutes_ago: float) -> str:
    now = datetime.fromisoformat(collected)
    return (now - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_found_message(image: str) -> str:
    """containerd's wording of a tag the registry does not have."""
    return (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{image}": failed to resolve reference "{image}": {image}: not found'
    )


def _filler_pod(name: str, namespace: str, image: str, pulling: bool, at: str) -> Obj:
    cond = [
        {"type": t, "status": s, "lastTransitionTime": at}
        for t, s in (
            ("PodReadyToStartContainers", "True"),
            ("Initialized", "True"),
            ("Ready", "False" if pulling else "True"),
            ("ContainersReady", "False" if pulling else "True"),
            ("PodScheduled", "True"),
        )
    ]
    if pulling:
        cond[2].update(reason="ContainersNotReady", message="containers with unready status: [app]")
        cs: Obj = {
            "name": "app",
            "image": image,
            "imageID": "",
            "ready": False,
            "started": False,
            "restartCount": 0,
            "state": {
                "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
            },
            "lastState": {},
        }
    else:
        cs = {
            "name": "app",
            "image": image,
            "imageID": "ghcr.io/example/app@sha256:" + "a" * 64,
            "containerID": "containerd://" + "b" * 64,
            "ready": True,
            "started": True,
            "restartCount": 0,
            "state": {"running": {"startedAt": at}},
            "lastState": {},
        }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "uid": _uid("Pod", namespace, name, ""),
            "resourceVersion": str(1000 + len(name)),
            "creationTimestamp": at,
            "namespace": namespace,
        },
        "spec": {
            "containers": [{"name": "app", "image": image}],
            "nodeName": "talos-appliance",
            "enableServiceLinks": True,
        },
        "status": {
            "phase": "Pending" if pulling else "Running",
            "conditions": cond,
            "hostIP": "192.168.64.8",
            "podIP": "10.244.0.17",
            "startTime": at,
            "containerStatuses": [cs],
            "qosClass": "Burstable",
        },
    }


def pull_failures(pods: int, events: int) -> Obj:
    data = _base()
    res = data["resources"]
    collected = data["collectedAt"]
    at = _ts(collected, 30)
    objs = []
    for i in range(pods):
        image = f"ghcr.io/example/app:{i}"
        objs.append(_filler_pod(f"filler-{i}", f"ns-{i % 20}", image, i % 10 == 0, at))
    res["v1/pods"]["items"].extend(objs)
    per_pod = max(1, events // pods)
    for i, p in enumerate(objs):
        m = p["metadata"]
        for j in range(per_pod):
            failed = j % 3 == 0
            msg = not_found_message(f"ghcr.io/example/app:{i}") if failed else f"Started container app ({j})"
            when = _ts(collected, (i + j) % 60)
            name = f"{m['name']}.{hashlib.sha1(f'{i}/{j}'.encode()).hexdigest()[:16]}"
            res["v1/events"]["items"].append(
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {
                        "name": name,
                        "namespace": m["namespace"],
                        "uid": _uid("Event", m["namespace"], name),
                        "creationTimestamp": when,
                    },
                    "involvedObject": {
                        "kind": "Pod",
                        "namespace": m["namespace"],
                        "name": m["name"],
                        "uid": m["uid"],
                        "apiVersion": "v1",
                    },
                    "reason": "Failed" if failed else "Started",
                    "message": msg,
                    "type": "Warning" if failed else "Normal",
                    "count": 1,
                    "source": {"component": "kubelet", "host": "talos-appliance"},
                    "firstTimestamp": when,
                    "lastTimestamp": when,
                    "eventTime": None,
                    "reportingComponent": "kubelet",
                    "reportingInstance": "talos-appliance",
                }
            )
    return data


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


def kubelet_events(pods: int, events: int) -> Obj:
    data = _base()
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
                    "uid": _uid("Pod", "msp", name),
                    "labels": {"app": "filler"},
                    "creationTimestamp": _ts(data["collectedAt"], 70),
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
