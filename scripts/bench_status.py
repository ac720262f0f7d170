#!/usr/bin/env python3
"""Status figures against the lab (loopback only), side by side with a kubectl-per-resource collector.

1. A bootstrapped lab appliance (the lab in this process, every tier applied and Ready):

   * ``appliance status --json`` as a whole process vs the *baseline collector*: the previous
     tooling's way, one ``kubectl get <resource> -A -o json`` process per resource of the
     snapshot plus one ``kubectl exec`` for the seed-user count, run one after the other
     against the same lab (runs interleaved, median wall time, and CPU of the processes);
   * the ``python -X importtime`` budget of that process: total import time, and modules that
     must not be imported on the status path (the client's generated API classes and
     models, httpx and its command line, jsonschema, the websocket-client package, urllib3).

2. The lab API seeded with 2,000 pods and 50,000 events (a realistic mix: every pod's
   Scheduled/Pulling/Pulled/Created/Started, some warnings) plus a healthy appliance:

   * the same whole-process side by side;
   * in-process collection with a reused client (median), API requests per collection,
     how the events were read (per selector) and whether anything was cut;
   * classification of that snapshot (CPU, median), and of the same pods with none settled
     (no container start time: every pod rule reads every pod), the worst case;
   * ``GET /api/status`` latency p50/p99 with 50 keep-alive clients against
     ``appliance serve-status`` in its own process (errors counted): lean socket clients
     (plain, then with If-None-Match as the page asks), and http.client clients, whose own
     CPU per request exceeds the server's (the load generator's CPU is printed).

3. ``appliance serve-status`` whose API accepts connections and never answers: seconds from
   Ctrl-C to the process's exit (the worst of the runs; a collection is in flight).
4. A fresh bootstrap against the lab at speed 600 (``bench_bootstrap.one_run``): wall time and
   the status collections (and pod execs) it made; ``--no-bootstrap`` leaves it out.

Usage: .venv/bin/python scripts/bench_status.py [--quick] [--runs N] [--no-bootstrap]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CLIENTS = 50
REQUESTS_PER_CLIENT = 40
# Goals: whole process >= 5x the baseline on the bootstrapped lab (<= 0.4 s),
# >= 25x at 2,000 pods / 50,000 events, /api/status p99 < 10 ms with 0 errors, classification
# of 2,000 pods < 30 ms.
GOAL_SPEEDUP_LAB = 5.0
GOAL_WHOLE_S = 0.4
GOAL_SPEEDUP_BIG = 25.0
GOAL_P99_MS = 10.0
GOAL_CLASSIFY_MS = 30.0
# python -X importtime budget of `appliance status --json` (sum of all modules' own time,
# measured on an idle 2-core machine; a loaded machine inflates it) and what must not be there.
IMPORT_BUDGET_MS = 450.0
GOAL_CTRL_C_S = 1.0  # the project's own goal: Ctrl-C stops serve-status at once
CTRL_C_GIVE_UP_S = 30.0  # a service still running then is stopped with SIGABRT and its stacks shown
FORBIDDEN_IMPORTS = (
    re.compile(r"^kubernetes\.client\.(api|models)\.\w+"),  # CoreV1Api & co: ~250 model modules
    re.compile(r"^httpx(\.|$)"),  # httpx imports its own CLI (httpx._main: rich, pygments, click)
    re.compile(r"^jsonschema(\.|$)"),
    re.compile(r"^urllib3(\.|$)"),  # the standard library's http.client carries the requests
)

# The baseline collector's resources: one `kubectl get` process each, as the old tooling did.
SEED_QUERY = ("psql", "-U", "postgres", "-d", "server", "-tAc", "select count(*) from users")
KUBECTL_RESOURCES = (
    "nodes",
    "pods",
    "events",
    "persistentvolumeclaims",
    "configmaps",
    "deployments.apps",
    "statefulsets.apps",
    "jobs.batch",
    "gitrepositories.source.toolkit.fluxcd.io",
    "kustomizations.kustomize.toolkit.fluxcd.io",
    "helmreleases.helm.toolkit.fluxcd.io",
)


# -- running things ---------------------------------------------------------------------------------


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(fn: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child processes it ran)."""
    c0, t0 = _children_cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, _children_cpu() - c0


def appliance_status(site_id: str, env: dict[str, str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "appliance_cli", "status", "--site-id", site_id, "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=120,
    )
    if out.returncode not in (0, 1) or not out.stdout.strip():
        raise SystemExit(f"appliance status exited {out.returncode}: {out.stderr.decode()[-2000:]}")
    json.loads(out.stdout)


def kubectl_baseline(kubeconfig: Path, cache_dir: Path, seed: tuple[str, str, str]) -> None:
    """The previous tooling's collector: one kubectl process per resource, then the seed exec."""
    base = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache_dir)]
    for res in KUBECTL_RESOURCES:
        out = subprocess.run([*base, "get", res, "-A", "-o", "json"], capture_output=True, timeout=300)
        if out.returncode != 0:
            raise SystemExit(f"kubectl get {res} failed: {out.stderr.decode()[-500:]}")
        json.loads(out.stdout)
    ns, pod, container = seed
    subprocess.run(
        [*base, "exec", "-n", ns, pod, "-c", container, "--", *SEED_QUERY],
        capture_output=True,
        timeout=60,
    )


def side_by_side(runs: int, ours: Callable[[], None], baseline: Callable[[], None]) -> dict[str, float]:
    ours()  # warm-up: page cache, kubectl's discovery cache, the lab's first answers
    baseline()
    ow: list[float] = []
    oc: list[float] = []
    bw: list[float] = []
    bc: list[float] = []
    for _ in range(runs):  # interleaved, so load on the machine hits both alike
        w, c = timed(ours)
        ow.append(w)
        oc.append(c)
        w, c = timed(baseline)
        bw.append(w)
        bc.append(c)
    return {
        "ours_s": statistics.median(ow),
        "ours_cpu": statistics.median(oc),
        "base_s": statistics.median(bw),
        "base_cpu": statistics.median(bc),
    }


def with_seed_exec(runs: int, site_id: str, env: dict[str, str]) -> float:
    """Median wall seconds of a status that has to exec the seed query: the first one after the
    database container (re)started, here made by removing the site's memory of the count."""
    from appliance_cli.status.live import SEED_MEMORY_FILE

    memory = Path(env["ALGA_APPLIANCE_HOME"]) / site_id / SEED_MEMORY_FILE
    walls = []
    for _ in range(runs):
        memory.unlink(missing_ok=True)
        walls.append(timed(lambda: appliance_status(site_id, env))[0])
    if not memory.is_file():
        raise SystemExit("the status did not remember the seed-user count it read")
    return statistics.median(walls)


def import_budget(site_id: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "appliance_cli", "status", "--site-id", site_id, "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    total_us = 0
    modules: list[str] = []
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if m:
            total_us += int(m.group(1))
            modules.append(m.group(2))
    forbidden = sorted({m for m in modules if any(p.match(m) for p in FORBIDDEN_IMPORTS)})
    return {"ms": total_us / 1000, "modules": len(modules), "forbidden": forbidden}


# -- the lab API seeded at size ---------------------------------------------------------------------


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
    fillers = max(1, pods - base_pods)
    for i in range(fillers):
        store.create(
            pod_rt,
            {
                "metadata": {"name": f"filler-{i:05d}", "namespace": "msp", "labels": {"app": "filler"}},
                "spec": {"containers": [{"name": "main", "image": f"docker.io/library/busybox:1.{i % 40}"}]},
                "status": {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}],
                    # a running container as the kubelet reports it: with the time it started
                    # (ContainerStateRunning.startedAt); an empty ``running`` is not running
                    "containerStatuses": [
                        {
                            "name": "main",
                            "ready": True,
                            "restartCount": 0,
                            "state": {"running": {"startedAt": "2026-04-30T00:00:05Z"}},
                        }
                    ],
                },
            },
        )
    # What a kubelet records for each start of a pod, in order, and now and then a warning.
    cycle = (
        ("Scheduled", "Normal", "default-scheduler", "Successfully assigned msp/{pod} to talos-lab"),
        ("Pulling", "Normal", "kubelet", 'Pulling image "{image}"'),
        (
            "Pulled",
            "Normal",
            "kubelet",
            'Successfully pulled image "{image}" in 2.1s (2.1s including waiting). '
            "Image size: 2155582 bytes.",
        ),
        ("Created", "Normal", "kubelet", "Created container: main"),
        ("Started", "Normal", "kubelet", "Started container main"),
    )
    for i in range(events):
        pod = f"filler-{(i // 5) % fillers:05d}"
        image = f"docker.io/library/busybox:1.{((i // 5) % fillers) % 40}"
        if i % 50 == 49:
            reason, etype, comp, msg = ("Unhealthy", "Warning", "kubelet", "Readiness probe failed: timeout")
        else:
            reason, etype, comp, msg = cycle[i % 5]
        t = 3600 - (i * 3600) // max(1, events)  # spread over the last hour, newest last
        store.create(
            ev_rt,
            {
                "metadata": {"name": f"{pod}.{i:08x}", "namespace": "msp"},
                "involvedObject": {"kind": "Pod", "namespace": "msp", "name": pod},
                "reason": reason,
                "message": msg.format(pod=pod, image=image),
                "type": etype,
                "count": 1,
                "source": {"component": comp, "host": "talos-lab"},
                "lastTimestamp": f"2026-04-30T01:{(3600 - t) // 60 % 60:02d}:{(3600 - t) % 60:02d}Z",
            },
        )


# -- /api/status under load ---------------------------------------------------------------------------


def _response_head(buf: bytearray, end: int) -> tuple[int, int, str | None]:
    """Status, Content-Length and ETag of the response head ``buf[:end]``."""
    lines = bytes(buf[:end]).split(b"\r\n")
    status, length, tag = int(lines[0][9:12]), 0, None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"etag":
            tag = value.strip().decode()
    return status, length, tag


class _SocketClient:
    """A lean HTTP/1.1 keep-alive client (one socket, the status line, Content-Length and ETag
    read from the headers, the body read whole): it spends a fraction of http.client's CPU per
    request, so with many clients in one process the server, not the client, sets the pace."""

    def __init__(self, host: str, port: int, token: str) -> None:
        import socket

        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.head = f"GET /api/status HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        self.buf = bytearray()

    def get(self, etag: str | None) -> tuple[int, str | None]:
        extra = f"If-None-Match: {etag}\r\n" if etag else ""
        self.sock.sendall((self.head + extra + "\r\n").encode())
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._more()
        status, length, tag = _response_head(self.buf, end)
        del self.buf[: end + 4]
        while len(self.buf) < length:
            self._more()
        del self.buf[:length]
        return status, tag

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def close(self) -> None:
        self.sock.close()


class _HttpClient:
    """http.client's HTTPConnection, as a script or a tool would use it."""

    def __init__(self, host: str, port: int, token: str) -> None:
        import http.client

        self.conn = http.client.HTTPConnection(host, port, timeout=10)
        self.token = token

    def get(self, etag: str | None) -> tuple[int, str | None]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if etag:
            headers["If-None-Match"] = etag
        self.conn.request("GET", "/api/status", headers=headers)
        resp = self.conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("ETag")

    def close(self) -> None:
        self.conn.close()


def _load_events(host: str, port: int, token: str, conditional: bool) -> tuple[list[float], list[str]]:
    """CLIENTS keep-alive connections driven from one thread by ``selectors``, each with one
    request in flight at a time (as many clients would): no thread switches and no GIL
    hand-offs in the load generator, so on a small machine its own CPU takes the least from
    the server's. The latency of a request is from its send to the last byte of its answer."""
    import selectors

    head = f"GET /api/status HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
    sel = selectors.DefaultSelector()
    latencies: list[float] = []
    errors: list[str] = []
    conns: list[dict[str, Any]] = []
    for _ in range(CLIENTS):  # connect, and a first request each (not timed), as the threads do
        warm = _SocketClient(host, port, token)
        _status, tag = warm.get(None)
        warm.sock.setblocking(False)
        conns.append({"c": warm, "etag": tag if conditional else None, "left": REQUESTS_PER_CLIENT})

    def send(conn: dict[str, Any]) -> None:
        extra = f"If-None-Match: {conn['etag']}\r\n" if conn["etag"] else ""
        conn["t"] = time.perf_counter()
        conn["c"].sock.sendall((head + extra + "\r\n").encode())

    for conn in conns:
        sel.register(conn["c"].sock, selectors.EVENT_READ, conn)
        send(conn)
    open_conns = len(conns)
    while open_conns:
        ready = sel.select(timeout=30)
        if not ready:  # no answer for 30 s: the rest count as failed
            errors += ["TimeoutError"] * open_conns
            break
        for key, _ in ready:
            conn = key.data
            client: _SocketClient = conn["c"]
            chunk = client.sock.recv(65536)
            if not chunk:
                errors.append("ConnectionError")
                sel.unregister(client.sock)
                open_conns -= 1
                continue
            client.buf += chunk
            end = client.buf.find(b"\r\n\r\n")
            if end < 0:
                continue
            status, length, tag = _response_head(client.buf, end)
            if len(client.buf) < end + 4 + length:
                continue
            latencies.append(time.perf_counter() - conn["t"])
            del client.buf[: end + 4 + length]
            if status == 200 and conditional:
                conn["etag"] = tag
            elif status != (304 if conditional else 200):
                errors.append(f"HTTP {status}")
            conn["left"] -= 1
            if conn["left"]:
                send(conn)
            else:
                sel.unregister(client.sock)
                client.close()
                open_conns -= 1
    sel.close()
    return latencies, errors


def load(url: str, token: str, conditional: bool = False, client: str = "socket") -> None:
    """Load-generator mode (a separate process): CLIENTS keep-alive connections, JSON out.
    ``conditional``: each client asks with the ETag of its last 200 (If-None-Match), as the
    status page does; 304 is then the expected answer. ``client``: ``events`` (one thread,
    ``_load_events``), ``socket`` (a thread per connection, lean) or ``http.client``."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    if client == "events":
        cpu0 = time.process_time()
        t = time.perf_counter()
        timed, failed = _load_events(host, port, token, conditional)
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu0
        print(json.dumps({"latencies": timed, "errors": failed, "seconds": seconds, "cpu": cpu}))
        return
    make = _SocketClient if client == "socket" else _HttpClient
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)
    cpu0 = time.process_time()

    def run() -> None:
        conn: _SocketClient | _HttpClient = make(host, port, token)
        mine: list[float] = []
        bad: list[str] = []
        etag: str | None = None
        try:
            _status, first = conn.get(None)
            etag = first if conditional else None
        finally:
            barrier.wait()
        for _ in range(REQUESTS_PER_CLIENT):
            t = time.perf_counter()
            try:
                status, tag = conn.get(etag)
                if status == 200 and conditional:
                    etag = tag  # a new document
                elif status != (304 if conditional else 200):
                    bad.append(f"HTTP {status}")
            except (OSError, http.client.HTTPException) as exc:
                bad.append(type(exc).__name__)
                conn.close()
                conn = make(host, port, token)
            mine.append(time.perf_counter() - t)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=run) for _ in range(CLIENTS)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    seconds = time.perf_counter() - t
    cpu = time.process_time() - cpu0
    print(json.dumps({"latencies": latencies, "errors": errors, "seconds": seconds, "cpu": cpu}))


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_latency(site_id: str, env: dict[str, str]) -> dict[str, dict[str, float]]:
    """`appliance serve-status` in its own process, loaded from another: plain GETs (the
    whole body every time), then conditional ones (If-None-Match, the page's way)."""
    import socket
    import urllib.error
    import urllib.request

    from appliance_cli.site import Site

    token = "bench-status-token-0123456789abcdef"
    Site.open(site_id).write("status-token", token)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    svc = subprocess.Popen(
        [sys.executable, "-m", "appliance_cli", "serve-status", "--site-id", site_id, "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            req = urllib.request.Request(f"{url}/api/status", headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if svc.poll() is not None:
                raise SystemExit(f"serve-status exited: {svc.stderr.read().decode() if svc.stderr else ''}")
            time.sleep(0.1)
        else:
            raise SystemExit("serve-status did not answer within 90 s")
        figures: dict[str, dict[str, float]] = {}
        modes = {
            "plain": [],
            "conditional": ["--conditional"],
            "threads": ["--threads"],
            "http.client": ["--http-client"],
        }
        for mode, flags in modes.items():
            server_cpu = _process_cpu(svc.pid)
            out = subprocess.run(
                [sys.executable, __file__, "--load", url, token, *flags],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
            data = json.loads(out.stdout)
            lat = sorted(data["latencies"])
            figures[mode] = {
                "p50_ms": pct(lat, 50) * 1000,
                "p99_ms": pct(lat, 99) * 1000,
                "errors": float(len(data["errors"])),
                "rps": len(lat) / float(data["seconds"]),
                "client_us": float(data["cpu"]) / max(1, len(lat)) * 1e6,
                "server_us": (_process_cpu(svc.pid) - server_cpu) / max(1, len(lat)) * 1e6,
            }
        return figures
    finally:
        svc.terminate()
        svc.wait(timeout=20)


def ctrl_c_exit(env: dict[str, str], runs: int) -> list[float]:
    """Seconds from Ctrl-C (SIGINT) to exit of `appliance serve-status` whose Kubernetes API
    accepts connections and never answers (a collection is always in flight)."""
    import signal
    import socket
    import threading

    from appliance_cli.site import Site

    hung = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(hung.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    site = Site.open("bench-hung")
    site.write(
        "kubeconfig",
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{hung.getsockname()[1]}'}}}}]\n"
        "users: [{name: u, user: {token: bench-hung-token-0123456789}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n",
    )
    site.write("status-token", "bench-hung-status-token-0123456789")
    seconds: list[float] = []
    try:
        for _ in range(runs):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            argv = [sys.executable, "-m", "appliance_cli", "serve-status", "--site-id", "bench-hung"]
            # PYTHONFAULTHANDLER: a service that does not stop is sent SIGABRT and prints
            # every thread's stack, so a hang is shown where it is instead of ending the run.
            svc = subprocess.Popen(
                [*argv, "--port", str(port)],
                cwd=REPO,
                env={**env, "PYTHONFAULTHANDLER": "1"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                # as a terminal's foreground job: a benchmark started in the background (`&` in
                # a script) has SIGINT ignored, which its children would inherit
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
            assert svc.stderr is not None
            for line in svc.stderr:
                if "Status service on" in line:
                    break
            time.sleep(1.0)  # the first collection now waits on the API
            started = time.monotonic()
            svc.send_signal(signal.SIGINT)
            try:
                _, err = svc.communicate(timeout=CTRL_C_GIVE_UP_S)
            except subprocess.TimeoutExpired:
                svc.send_signal(signal.SIGABRT)
                _, err = svc.communicate(timeout=30)
                print(
                    f"serve-status did not stop within {CTRL_C_GIVE_UP_S:g} s of Ctrl-C; its threads:\n"
                    + err[-6000:],
                    file=sys.stderr,
                )
                seconds.append(math.inf)
                continue
            seconds.append(time.monotonic() - started)
    finally:
        hung.close()
        for conn in held:
            conn.close()
    return seconds


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


# -- the two parts ----------------------------------------------------------------------------------


def bootstrapped_lab(runs: int, env: dict[str, str]) -> dict[str, Any]:
    from appliance_lab.testing import running_lab

    from appliance_cli.status.collect import seed_pod

    with running_lab(scenario="healthy", speed=50.0, bootstrapped=True, site_id="bench-lab") as lab:
        lab.apply_bootstrap_objects()
        lab.wait_for(
            lambda: lab.ready(
                "kustomize.toolkit.fluxcd.io/v1/kustomizations", "flux-system", "alga-background"
            ),
            what="alga-background Ready",
            timeout=600,
        )
        cache = Path(tempfile.mkdtemp(prefix="bench-kubectl-cache-"))
        try:
            figures: dict[str, Any] = side_by_side(
                runs,
                lambda: appliance_status("bench-lab", env),
                lambda: kubectl_baseline(lab.kubeconfig, cache, seed_pod()),
            )
            figures["imports"] = import_budget("bench-lab", env)
            figures["seed_exec_s"] = with_seed_exec(runs, "bench-lab", env)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return figures


def at_size(pods: int, events: int, runs: int, env: dict[str, str]) -> dict[str, Any]:
    from appliance_lab.apiserver import LabApiServer
    from appliance_lab.store import Store

    from appliance_cli.adapters.kube import KubeClient
    from appliance_cli.site import Site
    from appliance_cli.status.collect import CollectOptions, collect, seed_pod
    from appliance_cli.status.live import classify_live

    store = Store()
    t0 = time.monotonic()
    seed(store, pods, events)
    seed_s = time.monotonic() - t0
    lab = LabApiServer(store, token="bench-token-0123456789abcdef").start()
    cache = Path(tempfile.mkdtemp(prefix="bench-kubectl-cache-"))
    try:
        site = Site.open("bench-size")
        kc = lab.write_kubeconfig(site.root / "kubeconfig")
        site.write("node-ip", "127.0.0.1", mode=0o644)
        figures: dict[str, Any] = side_by_side(
            runs,
            lambda: appliance_status("bench-size", env),
            lambda: kubectl_baseline(kc, cache, seed_pod()),
        )
        client = KubeClient.from_kubeconfig(kc, timeout=30)
        opts = CollectOptions(site_id="bench", node_ip="127.0.0.1", exec_seed_probe=False)
        collect(client, opts)  # warm-up (connections)
        collect_s: list[float] = []
        classify_cpu: list[float] = []
        requests: set[int] = set()
        snap = None
        for _ in range(max(3, runs)):
            t = time.perf_counter()
            snap = collect(client, opts)
            collect_s.append(time.perf_counter() - t)
            requests.add(snap.collection.api_requests)
            # this thread's CPU: the lab API in this process may still be finishing its answers
            c = time.thread_time()
            classify_live(snap)
            classify_cpu.append(time.thread_time() - c)
        assert snap is not None
        client.close()
        # The worst case: the same pods with no start time, so none is settled and every pod
        # rule reads every one of them (a cluster where every pod is starting at once).
        unsettled = copy.deepcopy(snap)
        for raw in unsettled.items("v1/pods"):
            for cs in (raw.get("status") or {}).get("containerStatuses") or ():
                if (cs.get("state") or {}).get("running"):
                    cs["state"]["running"] = {}
        worst_cpu: list[float] = []
        for _ in range(max(3, runs)):
            c = time.thread_time()
            classify_live(unsettled)
            worst_cpu.append(time.thread_time() - c)
        figures.update(
            seed_s=seed_s,
            collect_s=statistics.median(collect_s),
            classify_ms=statistics.median(classify_cpu) * 1000,
            classify_unsettled_ms=statistics.median(worst_cpu) * 1000,
            requests=sorted(requests),
            pods=len(snap.items("v1/pods")),
            events_kept=len(snap.items("v1/events")),
            events_info=snap.collection.events.model_dump() if snap.collection.events else {},
        )
        figures["service"] = service_latency("bench-size", env)
    finally:
        lab.stop()
        shutil.rmtree(cache, ignore_errors=True)
    return figures


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200 pods / 5,000 events and 3 runs (a smoke test)")
    ap.add_argument(
        "--runs", type=int, default=0, help="interleaved runs per side by side (default 5, quick 3)"
    )
    ap.add_argument(
        "--no-bootstrap", action="store_true", help="leave out the bootstrap figures (bench_bootstrap.py)"
    )
    ap.add_argument("--load", nargs=2, metavar=("URL", "TOKEN"), help=argparse.SUPPRESS)
    ap.add_argument("--conditional", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--http-client", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.load:
        client = "http.client" if args.http_client else "socket" if args.threads else "events"
        load(args.load[0], args.load[1], conditional=args.conditional, client=client)
        return 0
    if shutil.which("kubectl") is None:
        raise SystemExit("kubectl is not on PATH: the baseline collector needs it")
    home = tempfile.mkdtemp(prefix="bench-status-home-")
    os.environ["ALGA_APPLIANCE_HOME"] = home
    env = {**os.environ, "ALGA_APPLIANCE_HOME": home, "NO_COLOR": "1"}
    runs = args.runs or (3 if args.quick else 5)
    pods, events = (200, 5000) if args.quick else (2000, 50000)

    print(
        "bootstrapped lab: bootstrap objects applied, waiting for every tier …", file=sys.stderr, flush=True
    )
    lab = bootstrapped_lab(runs, env)
    print(f"seeding the lab API with {pods} pods / {events} events …", file=sys.stderr, flush=True)
    big = at_size(pods, events, runs, env)
    svc = big["service"]["plain"]
    cond = big["service"]["conditional"]
    thr = big["service"]["threads"]
    hcl = big["service"]["http.client"]
    imp = lab["imports"]
    boot: dict[str, Any] | None = None
    if not args.no_bootstrap:
        print("bootstrap against the lab at speed 600 …", file=sys.stderr, flush=True)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_bootstrap import GOAL_FRESH_S, one_run

        boot = one_run(600.0, "healthy")[0]
        os.environ["ALGA_APPLIANCE_HOME"] = home

    print("Ctrl-C of serve-status on an unanswering API …", file=sys.stderr, flush=True)
    stops = ctrl_c_exit(env, runs)
    lab_x = lab["base_s"] / lab["ours_s"]
    big_x = big["base_s"] / big["ours_s"]
    print()
    print(f"{'figure':<58} {'now':>30} {'goal':>18}")
    rows = [
        (
            "appliance status --json, whole process, vs kubectl",
            f"{lab['ours_s']:.2f} s vs {lab['base_s']:.2f} s ({lab_x:.1f}x)",
            f">= {GOAL_SPEEDUP_LAB:.0f}x (<= {GOAL_WHOLE_S} s)",
            lab_x >= GOAL_SPEEDUP_LAB and lab["ours_s"] <= GOAL_WHOLE_S,
        ),
        (
            "  CPU of those processes",
            f"{lab['ours_cpu']:.2f} s vs {lab['base_cpu']:.2f} s",
            "",
            None,
        ),
        (
            "  a status that execs the seed query (first after a db start)",
            f"{lab['seed_exec_s']:.2f} s",
            "",
            None,
        ),
        (
            f"same at {pods:,} pods / {events:,} events",
            f"{big['ours_s']:.2f} s vs {big['base_s']:.2f} s ({big_x:.1f}x)",
            f">= {GOAL_SPEEDUP_BIG:.0f}x",
            big_x >= GOAL_SPEEDUP_BIG,
        ),
        (
            "  CPU of those processes",
            f"{big['ours_cpu']:.2f} s vs {big['base_cpu']:.2f} s",
            "",
            None,
        ),
        (
            "in-process collection (reused client), median",
            f"{big['collect_s'] * 1000:.0f} ms, {'/'.join(map(str, big['requests']))} requests",
            "keep",
            None,
        ),
        (
            f"/api/status, {CLIENTS} keep-alive clients",
            f"p50 {svc['p50_ms']:.1f} ms, p99 {svc['p99_ms']:.1f} ms, {svc['errors']:.0f} err",
            f"p99 < {GOAL_P99_MS:.0f} ms, 0 errors",
            svc["p99_ms"] < GOAL_P99_MS and svc["errors"] == 0,
        ),
        (
            "  the same with If-None-Match (304s, the page's way)",
            f"p50 {cond['p50_ms']:.1f} ms, p99 {cond['p99_ms']:.1f} ms, {cond['errors']:.0f} err",
            f"p99 < {GOAL_P99_MS:.0f} ms, 0 errors",
            cond["p99_ms"] < GOAL_P99_MS and cond["errors"] == 0,
        ),
        (
            f"  the same from {CLIENTS} client threads (lean sockets; see below)",
            f"p50 {thr['p50_ms']:.1f} ms, p99 {thr['p99_ms']:.1f} ms, {thr['errors']:.0f} err",
            "",
            None,
        ),
        (
            "  the same from http.client clients (client-bound, see below)",
            f"p50 {hcl['p50_ms']:.1f} ms, p99 {hcl['p99_ms']:.1f} ms, {hcl['errors']:.0f} err",
            "",
            None,
        ),
        (
            f"classification at {big['pods']:,} pods (CPU of its thread, median)",
            f"{big['classify_ms']:.0f} ms",
            f"< {GOAL_CLASSIFY_MS:.0f} ms",
            big["classify_ms"] < GOAL_CLASSIFY_MS,
        ),
        (
            "  the same pods, none settled (every pod rule reads every pod)",
            f"{big['classify_unsettled_ms']:.0f} ms",
            "",
            None,
        ),
        (
            "import time of appliance status (python -X importtime)",
            f"{imp['ms']:.0f} ms, {imp['modules']} modules",
            f"<= {IMPORT_BUDGET_MS:.0f} ms",
            imp["ms"] <= IMPORT_BUDGET_MS,
        ),
        (
            "  forbidden imports (generated API/models, httpx, jsonschema)",
            ", ".join(imp["forbidden"][:3]) + (" …" if len(imp["forbidden"]) > 3 else "") or "none",
            "none",
            not imp["forbidden"],
        ),
    ]
    rows.append(
        (
            "serve-status: Ctrl-C to exit on an unanswering API (max)",
            f"{max(stops):.2f} s",
            f"<= {GOAL_CTRL_C_S:g} s",
            max(stops) <= GOAL_CTRL_C_S,
        )
    )
    if boot is not None:
        rows += [
            (
                "bootstrap against the lab, speed 600 (fresh)",
                f"{boot['wall']:.2f} s",
                f"<= {GOAL_FRESH_S:g} s",
                boot["wall"] <= GOAL_FRESH_S,
            ),
            (
                "status collections during one bootstrap",
                f"{boot['collections']}, {boot['execs']} pod exec(s)",
                "as few as needed",
                None,
            ),
        ]
    for name, now, goal, ok in rows:
        mark = "" if ok is None else verdict(ok)
        print(f"{name:<58} {now:>30} {goal:>18}  {mark}")
    print()
    info = big["events_info"]
    print(
        f"events at {pods:,}/{events:,}: {big['events_kept']:,} in the snapshot; listed per selector "
        f"{info.get('listed')}; cut: {info.get('cut') or 'nothing'}"
    )
    print(
        f"baseline collector: {len(KUBECTL_RESOURCES)} 'kubectl get -A -o json' processes "
        "+ 1 'kubectl exec', "
        f"one after the other; median of {runs} interleaved runs; seeding took {big['seed_s']:.1f} s"
    )
    print(
        f"/api/status load: {CLIENTS} keep-alive connections x {REQUESTS_PER_CLIENT} requests, one "
        "in flight each, from one process on the same machine: driven by one thread (selectors): "
        f"{svc['rps']:.0f} req/s plain, {cond['rps']:.0f} req/s conditional; the service's CPU "
        f"{svc['server_us']:.0f} / {cond['server_us']:.0f} us per request, the load generator's "
        f"{svc['client_us']:.0f} / {cond['client_us']:.0f} us; from {CLIENTS} threads: "
        f"{thr['rps']:.0f} req/s, {thr['client_us']:.0f} us per request of their own; http.client "
        f"clients: {hcl['rps']:.0f} req/s, {hcl['client_us']:.0f} us of their own (with {CLIENTS} "
        f"requests in flight, mean latency = {CLIENTS} / throughput, and the load generator shares "
        "the 2 cores: a client that costs more CPU leaves less to the service and sets the latency)"
    )
    if boot is not None:
        print(
            f"bootstrap: phase seconds {boot['phases']}; {boot['collections']} status collections "
            f"({boot['collection_s']:.2f} s), API requests {boot['requests']}"
        )
    try:
        load1 = os.getloadavg()[0]
        print(f"load average during the run: {load1:.1f} on {os.cpu_count()} CPUs")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
