"""Bootstrap figures against the lab: a full fresh run, then the verification re-run.

    .venv/bin/python scripts/bench_bootstrap.py [--scenario healthy] [--speed 600] [--runs 1]

Prints, per run: wall time, time per phase, objects applied, the lab API requests served by
verb, how many status collections bootstrap made (``Adapters.status``) and how many pod execs
the lab answered (the seed-user check), and the waits that took longest. The fresh run at
speed 600 is the figure with a goal (<= 3 s, as few collections as the waits need, an exec
only when its answer can change); the re-run must apply no object and be fast.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GOAL_FRESH_S = 3.0  # at speed 600


class WaitClock:
    """A reporter that remembers when each wait and step ended and how long it took."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: list[tuple[str, float]] = []

    def emit(self, event: Any) -> None:
        if event.state == "done" and "seconds" in event.details:
            with self.lock:
                self.done.append((f"{event.phase}:{event.step}", float(event.details["seconds"])))

    def close(self) -> None:
        return None


def one_run(speed: float, scenario: str) -> list[dict[str, Any]]:
    home = tempfile.mkdtemp(prefix="bench-bootstrap-")
    os.environ["ALGA_APPLIANCE_HOME"] = home
    os.environ.setdefault("NO_COLOR", "1")

    from appliance_lab.testing import running_lab

    from appliance_cli.bootstrap import engine
    from appliance_cli.bootstrap.defaults import default_adapters
    from appliance_cli.bootstrap.options import build_options

    collections = {"n": 0, "s": 0.0}
    adapters = default_adapters()
    real_status = adapters.status

    def counted_status(ctx: Any) -> Any:
        t = time.perf_counter()
        try:
            return real_status(ctx)
        finally:
            collections["n"] += 1
            collections["s"] += time.perf_counter() - t

    adapters = replace(adapters, status=counted_status)
    out: list[dict[str, Any]] = []
    with running_lab(scenario=scenario, speed=speed, bootstrapped=False) as lab:
        api = lab.lab.api
        for mode in ("fresh", "recover"):
            opts = build_options(
                bootstrap_mode=mode, release_version="1.0-rc5", node_ip="127.0.0.1", site_id="lab"
            )
            rv = lab.store.resource_version if lab.store else 0
            api.reset_request_counts()
            collections.update(n=0, s=0.0)
            waits = WaitClock()
            t0 = time.monotonic()
            result = engine.run(opts, reporter=waits, announce=lambda s: None, adapters=adapters)
            seconds = time.monotonic() - t0
            counts = api.request_counts()
            journal = json.loads((lab.site_dir / "journal.json").read_text())
            out.append(
                {
                    "mode": mode,
                    "exit": result.exit_code,
                    "rollup": result.status.rollup.state if result.status else None,
                    "wall": seconds,
                    "applied": result.applied,
                    "rv_delta": (lab.store.resource_version if lab.store else 0) - rv,
                    "phases": {k: v.get("seconds") for k, v in sorted(journal["phases"].items())},
                    "collections": collections["n"],
                    "collection_s": collections["s"],
                    "execs": counts.get("exec", 0),
                    "requests": {
                        k: v for k, v in sorted(counts.items()) if " " not in k and v and k != "exec"
                    },
                    "slowest": sorted(waits.done, key=lambda kv: -kv[1])[
                        : int(os.environ.get("BENCH_STEPS", "6"))
                    ],
                }
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--steps", type=int, default=6, help="how many of the longest steps to show")
    ap.add_argument("--scenario", default="healthy")
    ap.add_argument("--speed", type=float, default=600.0, help="the lab's speed (default 600, the goal's)")
    ap.add_argument("--runs", type=int, default=1, help="fresh + recover pairs, each on a new lab (median)")
    args = ap.parse_args()

    runs = [one_run(args.speed, args.scenario) for _ in range(max(1, args.runs))]
    for pair in runs:
        for r in pair:
            print(
                f"{r['mode']:8s} exit={r['exit']} rollup={r['rollup']} wall={r['wall']:.2f}s "
                f"applied={r['applied']} store-rv-delta={r['rv_delta']}"
            )
            print(f"         phase seconds: {r['phases']}")
            print(
                f"         status collections: {r['collections']} ({r['collection_s']:.2f}s), "
                f"pod execs: {r['execs']}, API requests: {r['requests']}"
            )
            slowest = r["slowest"][: args.steps]
            print(f"         longest steps: {', '.join(f'{k} {v:.2f}s' for k, v in slowest)}")
    fresh = [pair[0] for pair in runs]
    wall = statistics.median(r["wall"] for r in fresh)
    ncoll = statistics.median(r["collections"] for r in fresh)
    nexec = statistics.median(r["execs"] for r in fresh)
    print()
    print(f"{'figure':<58} {'now':>26} {'goal':>16}")
    ok = wall <= GOAL_FRESH_S
    print(
        f"{f'bootstrap against the lab, speed {args.speed:g} (fresh)':<58} {f'{wall:.2f} s':>26} "
        f"{f'<= {GOAL_FRESH_S:g} s':>16}  {'met' if ok else 'NOT met'}"
    )
    print(
        f"{'status collections during one bootstrap':<58} {f'{ncoll:g}, {nexec:g} pod exec(s)':>26} "
        f"{'as few as needed':>16}"
    )


if __name__ == "__main__":
    main()
