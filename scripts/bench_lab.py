#!/usr/bin/env python3
"""List latency of the lab's Kubernetes API, to show it is not the bottleneck of other benchmarks.

Seeds an in-memory store with pods and events (default 2,000 and 50,000), serves it on
loopback over TLS exactly as ``appliance lab up`` does, and times LIST requests through the
official ``kubernetes`` client and through raw httpx, with and without ``limit``. Prints
p50/p99 per case. Bounded: a fixed number of requests per case, loopback only.

    .venv/bin/python scripts/bench_lab.py [--pods 2000] [--events 50000] [--requests 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance_lab.apiserver import LabApiServer
from appliance_lab.store import BY_KEY, Store

NAMESPACES = (
    "alga",
    "alga-background",
    "flux-system",
    "kube-system",
    "local-path-storage",
    "appliance-status",
)
TOKEN = "bench-token"


def _pod(i: int) -> dict[str, Any]:
    ns = NAMESPACES[i % len(NAMESPACES)]
    name = f"worker-{i:05d}"
    return {
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"app.kubernetes.io/name": f"svc-{i % 40}", "app.kubernetes.io/part-of": "alga"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"svc-{i % 40}-7d9c",
                    "uid": f"rs-{i % 40}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "nodeName": "talos-lab",
            "restartPolicy": "Always",
            "serviceAccountName": "default",
            "containers": [
                {
                    "name": "app",
                    "image": f"ghcr.io/alga-psa/alga-psa:1.0.{i % 7}",
                    "ports": [{"containerPort": 3000, "protocol": "TCP"}],
                    "env": [{"name": f"VAR_{k}", "value": f"value-{k}"} for k in range(6)],
                    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": f"data-{i}"}}],
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.244.{i // 250}.{i % 250}",
            "hostIP": "192.168.1.50",
            "conditions": [
                {"type": t, "status": "True"} for t in ("Initialized", "Ready", "ContainersReady")
            ],
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": True,
                    "restartCount": 0,
                    "image": f"ghcr.io/alga-psa/alga-psa:1.0.{i % 7}",
                    "imageID": f"ghcr.io/alga-psa/alga-psa@sha256:{i % 7:064x}",
                    "containerID": f"containerd://{i:064x}",
                    "started": True,
                    "state": {"running": {"startedAt": "2026-11-22T06:00:00Z"}},
                }
            ],
        },
    }


def _event(i: int) -> dict[str, Any]:
    ns = NAMESPACES[i % len(NAMESPACES)]
    pod = f"worker-{i % 2000:05d}"
    return {
        "metadata": {"name": f"{pod}.{i:08x}", "namespace": ns},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "apiVersion": "v1"},
        "reason": "Pulled",
        "message": f'Successfully pulled image "ghcr.io/alga-psa/alga-psa:1.0.{i % 7}" in 1.2s',
        "source": {"component": "kubelet", "host": "talos-lab"},
        "firstTimestamp": "2026-11-22T06:00:00Z",
        "lastTimestamp": "2026-11-22T06:00:00Z",
        "count": 1,
        "type": "Normal",
    }


def seed(store: Store, pods: int, events: int) -> None:
    for ns in NAMESPACES:
        store.create(BY_KEY["v1/namespaces"], {"metadata": {"name": ns}})
    for i in range(pods):
        store.create(BY_KEY["v1/pods"], _pod(i))
    for i in range(events):
        store.create(BY_KEY["v1/events"], _event(i))


def timed(fn: Callable[[], Any], n: int) -> tuple[float, list[float]]:
    """(first call in ms, later calls in ms)."""
    t0 = time.perf_counter()
    fn()
    cold = (time.perf_counter() - t0) * 1000
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return cold, out


def pct(values: list[float], p: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--pods", type=int, default=2000)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument(
        "--requests", type=int, default=30, help="timed requests per case (big cases use a fifth)"
    )
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    args = ap.parse_args(argv)

    import httpx
    import kubernetes

    # the kubernetes package is untyped
    client: Any = kubernetes.client
    config: Any = kubernetes.config

    store = Store()
    t0 = time.perf_counter()
    seed(store, args.pods, args.events)
    seed_s = time.perf_counter() - t0

    results: list[dict[str, Any]] = []
    with LabApiServer(store, token=TOKEN) as server, tempfile.TemporaryDirectory() as d:
        kc = server.write_kubeconfig(Path(d) / "kubeconfig")
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(kc), client_configuration=cfg)
        api = client.ApiClient(cfg)
        core = client.CoreV1Api(api)
        http = httpx.Client(
            verify=server.client_ssl_context() or True,
            timeout=120,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        n, big = args.requests, max(3, args.requests // 5)

        def raw(path: str) -> Callable[[], Any]:
            def go() -> int:
                r = http.get(server.url + path)
                r.raise_for_status()
                return len(r.content)

            return go

        cases: list[tuple[str, str, Callable[[], Any], int]] = [
            ("pods -A", "httpx", raw("/api/v1/pods"), n),
            ("pods -A limit=500", "httpx", raw("/api/v1/pods?limit=500"), n),
            (
                "pods -n alga selector",
                "httpx",
                raw("/api/v1/namespaces/alga/pods?labelSelector=app.kubernetes.io/name%3Dsvc-3"),
                n,
            ),
            ("events -A", "httpx", raw("/api/v1/events"), big),
            ("events -A limit=500", "httpx", raw("/api/v1/events?limit=500"), n),
            (
                "events fieldSelector pod",
                "httpx",
                raw("/api/v1/events?fieldSelector=involvedObject.name%3Dworker-00042"),
                big,
            ),
            ("pods -A", "kubernetes client", lambda: core.list_pod_for_all_namespaces(), big),
            (
                "pods -A limit=500",
                "kubernetes client",
                lambda: core.list_pod_for_all_namespaces(limit=500),
                n,
            ),
            (
                "events -A limit=500",
                "kubernetes client",
                lambda: core.list_event_for_all_namespaces(limit=500),
                n,
            ),
            (
                "events -A (undecoded)",
                "kubernetes client",
                lambda: core.list_event_for_all_namespaces(_preload_content=False).data,
                big,
            ),
        ]
        for name, via, fn, count in cases:
            cold, warm = timed(fn, count)
            results.append(
                {
                    "case": name,
                    "via": via,
                    "requests": count,
                    "first_ms": round(cold, 1),
                    "p50_ms": round(pct(warm, 50), 1),
                    "p99_ms": round(pct(warm, 99), 1),
                }
            )
        http.close()
        api.close()

    if args.json:
        print(
            json.dumps(
                {"pods": args.pods, "events": args.events, "seed_s": round(seed_s, 2), "results": results},
                indent=2,
            )
        )
        return 0
    print(
        f"lab API list latency — {args.pods} pods, {args.events} events (seeded in {seed_s:.1f}s), "
        "loopback, TLS"
    )
    print(f"{'case':<28} {'via':<18} {'n':>4} {'first ms':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(
            f"{r['case']:<28} {r['via']:<18} {r['requests']:>4} {r['first_ms']:>9.1f} "
            f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
