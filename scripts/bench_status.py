#!/usr/bin/env python3
"""Status collection and status service figures against the lab API (loopback only).

For each size (pods / events) the lab API is seeded with a healthy appliance plus filler
pods and events, then:

* API requests per collection (must not grow with the size),
* collection wall time and classification time (median of several runs),
* ``GET /api/status`` latency p50/p99 with 50 concurrent clients (bounded run).

Usage: .venv/bin/python scripts/bench_status.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GOAL_P99_MS = 50.0
GOAL_COLLECT_S = 1.0
CLIENTS = 50
REQUESTS_PER_CLIENT = 40


def seed(store: object, pods: int, events: int) -> None:
    from appliance_lab.store import BY_KEY, Store, resource_for

    from tests.unit.status import builders

    assert isinstance(store, Store)
    for ns in ("msp", "alga-system", "flux-system", "appliance-system", "kube-system"):
        store.create(BY_KEY["v1/namespaces"], {"metadata": {"name": ns}})
    cluster = builders.healthy_cluster()
    for obj in cluster.objects.values():
        store.create(resource_for(obj["apiVersion"], obj["kind"]), obj)
    base_pods = sum(1 for o in cluster.objects.values() if o["kind"] == "Pod")
    pod_rt, ev_rt = BY_KEY["v1/pods"], BY_KEY["v1/events"]
    for i in range(max(0, pods - base_pods)):
        store.create(
            pod_rt,
            {
                "metadata": {"name": f"filler-{i:05d}", "namespace": "msp", "labels": {"app": "filler"}},
                "spec": {"containers": [{"name": "main", "image": "docker.io/library/busybox:1.36"}]},
                "status": {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [
                        {"name": "main", "ready": True, "restartCount": 0, "state": {"running": {}}}
                    ],
                },
            },
        )
    for i in range(events):
        store.create(
            ev_rt,
            {
                "metadata": {"name": f"filler-{i % max(1, pods):05d}.{i:08x}", "namespace": "msp"},
                "involvedObject": {
                    "kind": "Pod",
                    "namespace": "msp",
                    "name": f"filler-{i % max(1, pods):05d}",
                },
                "reason": "Pulled",
                "message": 'Container image "docker.io/library/busybox:1.36" already present on machine',
                "type": "Normal",
                "count": 1,
                "source": {"component": "kubelet", "host": "talos-lab"},
                "lastTimestamp": f"2026-04-30T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
            },
        )


def load(url: str, token: str) -> None:
    """Load-generator mode (a separate process): CLIENTS threads, raw http.client, JSON latencies out."""
    import http.client
    import json
    from urllib.parse import urlsplit

    u = urlsplit(url)
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def run() -> None:
        conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=10)
        headers = {"Authorization": f"Bearer {token}"}
        conn.request("GET", "/api/status", headers=headers)
        conn.getresponse().read()
        barrier.wait()
        mine = []
        for _ in range(REQUESTS_PER_CLIENT):
            t = time.perf_counter()
            conn.request("GET", "/api/status", headers=headers)
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t)
            if resp.status != 200:
                raise SystemExit(f"HTTP {resp.status}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(CLIENTS)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    print(json.dumps({"latencies": latencies, "seconds": time.perf_counter() - t}))


def service_latency(kubeconfig: Path) -> tuple[list[float], float]:
    """Run `appliance serve-status` (its own process, its own collector) and load it from another."""
    import json
    import socket
    import subprocess

    import httpx

    from appliance_cli.site import Site

    site = Site.open("bench")
    site.write("kubeconfig", kubeconfig.read_text())
    token = "bench-status-token-0123456789abcdef"
    site.write("status-token", token)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    svc = subprocess.Popen(
        [sys.executable, "-m", "appliance_cli", "serve-status", "--site-id", "bench", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if (
                    httpx.get(f"{url}/api/status", headers={"Authorization": f"Bearer {token}"}).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if svc.poll() is not None:
                raise SystemExit(f"serve-status exited: {svc.stderr.read().decode() if svc.stderr else ''}")
            time.sleep(0.1)
        else:
            raise SystemExit("serve-status did not answer within 60 s")
        out = subprocess.run(
            [sys.executable, __file__, "--load", url, token],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        data = json.loads(out.stdout)
        return list(data["latencies"]), float(data["seconds"])
    finally:
        svc.terminate()
        svc.wait(timeout=20)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def bench(pods: int, events: int, runs: int) -> dict[str, float]:

    from appliance_lab.apiserver import LabApiServer
    from appliance_lab.store import Store

    from appliance_cli.adapters.kube import KubeClient
    from appliance_cli.status.collect import CollectOptions, collect
    from appliance_cli.status.live import classify_live

    store = Store()
    t0 = time.monotonic()
    seed(store, pods, events)
    seed_s = time.monotonic() - t0
    lab = LabApiServer(store, token="bench-token-0123456789abcdef").start()
    try:
        kc = lab.write_kubeconfig(Path(tempfile.mkdtemp()) / "kubeconfig")
        client = KubeClient.from_kubeconfig(kc, timeout=30)
        opts = CollectOptions(site_id="bench", node_ip="127.0.0.1", exec_seed_probe=False)
        collect(client, opts)  # warm-up (connections, caches)
        requests: set[int] = set()
        collect_s: list[float] = []
        classify_s: list[float] = []
        snap = None
        for _ in range(runs):
            t = time.perf_counter()
            snap = collect(client, opts)
            collect_s.append(time.perf_counter() - t)
            requests.add(snap.collection.api_requests)
            t = time.perf_counter()
            classify_live(snap)
            classify_s.append(time.perf_counter() - t)
        assert snap is not None
        listed_pods = len(snap.items("v1/pods"))
        kept_events = len(snap.items("v1/events"))
        truncated = bool((snap.resources.get("v1/events") or {}).get("metadata", {}).get("continue"))

        latencies, load_s = service_latency(kc)
        client.close()
    finally:
        lab.stop()
    return {
        "seed_s": seed_s,
        "requests_min": float(min(requests)),
        "requests_max": float(max(requests)),
        "collect_med": statistics.median(collect_s),
        "collect_max": max(collect_s),
        "classify_med": statistics.median(classify_s),
        "p50_ms": pct(latencies, 50) * 1000,
        "p99_ms": pct(latencies, 99) * 1000,
        "rps": len(latencies) / load_s,
        "pods": float(listed_pods),
        "events_kept": float(kept_events),
        "events_truncated": 1.0 if truncated else 0.0,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="smaller sizes, fewer runs (smoke test of the script)"
    )
    ap.add_argument("--load", nargs=2, metavar=("URL", "TOKEN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.load:
        load(*args.load)
        return 0
    os.environ.setdefault("ALGA_APPLIANCE_HOME", tempfile.mkdtemp(prefix="bench-status-home-"))
    sizes = [(50, 500), (200, 5000)] if args.quick else [(200, 5_000), (2_000, 50_000)]
    runs = 3 if args.quick else 5
    rows = []
    for pods, events in sizes:
        print(f"seeding and measuring {pods} pods / {events} events …", file=sys.stderr, flush=True)
        rows.append(((pods, events), bench(pods, events, runs)))
    print()
    print(
        f"{'size (pods/events)':<20} {'API req/collect':>15} {'collect s (med/max)':>20} "
        f"{'classify s':>10} {'/api/status p50 ms':>18} {'p99 ms':>8} {'req/s':>7}"
    )
    for (pods, events), r in rows:
        req = (
            f"{r['requests_min']:.0f}"
            if r["requests_min"] == r["requests_max"]
            else (f"{r['requests_min']:.0f}-{r['requests_max']:.0f}")
        )
        print(
            f"{f'{pods}/{events}':<20} {req:>15} {r['collect_med']:>9.3f}/{r['collect_max']:<10.3f} "
            f"{r['classify_med']:>10.3f} {r['p50_ms']:>18.2f} {r['p99_ms']:>8.2f} {r['rps']:>7.0f}"
        )
    print()
    reqs = {r["requests_min"] for _, r in rows} | {r["requests_max"] for _, r in rows}
    big = rows[-1][1]
    worst_p99 = max(r["p99_ms"] for _, r in rows)
    print("goals:")
    print(
        f"  constant API request count across sizes ........ {'met' if len(reqs) == 1 else 'NOT met'} "
        f"({', '.join(f'{x:.0f}' for x in sorted(reqs))})"
    )
    print(
        f"  /api/status p99 < {GOAL_P99_MS:.0f} ms ({CLIENTS} clients) ......... "
        f"{'met' if worst_p99 < GOAL_P99_MS else 'NOT met'} (worst {worst_p99:.1f} ms)"
    )
    print(
        f"  collection < {GOAL_COLLECT_S:.0f} s at the large size ............ "
        f"{'met' if big['collect_med'] < GOAL_COLLECT_S else 'NOT met'} (median {big['collect_med']:.3f} s)"
    )
    print()
    for (pods, events), r in rows:
        print(
            f"  {pods}/{events}: listed {r['pods']:.0f} pods, kept {r['events_kept']:.0f} events "
            f"({'first page of 5000 only, ' if r['events_truncated'] else ''}newest first, capped at 2000), "
            f"seeding took {r['seed_s']:.1f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
