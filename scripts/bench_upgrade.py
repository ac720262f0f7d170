"""Upgrade figures against the lab: time per step of an upgrade, of a rollback, and the backup.

    .venv/bin/python scripts/bench_upgrade.py [--speed 50] [--rows 2000] [--json]

Bootstraps the lab at 1.0-rc5, writes ``--rows`` rows into the app database, then:

- ``appliance backup`` on its own: the archive's size and the seconds it took;
- an upgrade to the lab release 1.0-rc5.lab1 (scenario ``healthy``): seconds per step;
- the re-run to the same release (must apply 0 objects);
- an upgrade whose new core crash-loops (scenario ``upgrade-core-crash``): seconds per step
  including the rollback and the database restore.

Lab times are simulated durations divided by ``--speed``; what the figures show is the tool's
own overhead and the shape of the run, not a real appliance's pull and rollout times.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET = "1.0-rc5.lab1"


def _bootstrap(speed: float, rows: int) -> None:
    from appliance_cli.bootstrap import engine
    from appliance_cli.bootstrap.options import build_options
    from appliance_cli.progress import NullReporter

    opts = build_options(
        bootstrap_mode="fresh", release_version="1.0-rc5", node_ip="127.0.0.1", site_id="lab"
    )
    result = engine.run(opts, reporter=NullReporter(), announce=lambda s: None)
    if result.exit_code != 0:
        raise SystemExit(f"bootstrap failed (exit {result.exit_code})")


def _write_rows(kubeconfig: Path, rows: int) -> None:
    from appliance_cli.adapters.kube import KubeClient

    kube = KubeClient.from_kubeconfig(kubeconfig)
    db = ("msp", "db-0", "db")
    kube.exec(*db, ["psql", "-tAc", "create table tickets (id text, title text)"])
    for i in range(rows):
        kube.exec(
            *db, ["psql", "-tAc", f"insert into tickets (id, title) values ('{i}', 'ticket number {i}')"]
        )


def _upgrade() -> dict[str, Any]:
    from appliance_cli.progress import NullReporter
    from appliance_cli.upgrade import engine

    options = engine.UpgradeOptions(release_version=TARGET, site_id="lab")
    t0 = time.monotonic()
    try:
        result = engine.run(options, reporter=NullReporter(), announce=lambda s: None)
    except engine.RolledBack as exc:
        result = exc.result
    return {
        "exit": result.exit_code,
        "state": result.state,
        "wall": round(time.monotonic() - t0, 3),
        "applied": result.applied,
        "steps": result.timings,
        "backupBytes": result.backup.size_bytes if result.backup else None,
        "backupSeconds": result.backup.seconds if result.backup else None,
    }


def run_scenario(scenario: str, speed: float, rows: int) -> dict[str, Any]:
    from appliance_lab.testing import running_lab

    from appliance_cli.site import Site
    from appliance_cli.upgrade.backup import backup_now

    os.environ["ALGA_APPLIANCE_HOME"] = tempfile.mkdtemp(prefix="bench-upgrade-")
    out: dict[str, Any] = {"scenario": scenario}
    with running_lab(scenario=scenario, speed=speed, bootstrapped=False) as lab:
        t0 = time.monotonic()
        _bootstrap(speed, rows)
        out["bootstrapSeconds"] = round(time.monotonic() - t0, 3)
        t0 = time.monotonic()
        _write_rows(lab.kubeconfig, rows)
        out["rowsWritten"] = rows
        out["rowsSeconds"] = round(time.monotonic() - t0, 3)
        t0 = time.monotonic()
        record = backup_now(Site.open("lab"))
        out["backup"] = {
            "bytes": record.size_bytes,
            "dumpSeconds": record.seconds,
            "wall": round(time.monotonic() - t0, 3),
        }
        out["upgrade"] = _upgrade()
        if scenario == "healthy":
            out["rerun"] = _upgrade()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=50.0)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("NO_COLOR", "1")
    results = [run_scenario(s, args.speed, args.rows) for s in ("healthy", "upgrade-core-crash")]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        b = r["backup"]
        print(f"scenario {r['scenario']} (speed {args.speed:g}, {r['rowsWritten']} rows):")
        stream, wall = b["dumpSeconds"], b["wall"]
        print(f"  backup           {b['bytes']} bytes, pg_dump stream {stream:.3f}s, command {wall:.3f}s")
        for key in ("upgrade", "rerun"):
            if key not in r:
                continue
            u = r[key]
            steps = ", ".join(f"{k} {v:.2f}s" for k, v in u["steps"].items())
            head = f"exit={u['exit']} state={u['state']} wall={u['wall']:.2f}s applied={u['applied']}"
            print(f"  {key:16s} {head}")
            print(f"  {'':16s} per step: {steps}")


if __name__ == "__main__":
    main()
