"""Bootstrap figures against the lab: a full fresh run, then the verification re-run.

    .venv/bin/python scripts/bench_bootstrap.py [--scenario healthy] [--speed 50]

Prints wall time per run, time per phase, objects applied, and the lab API requests served
(the re-run must apply no object and be fast).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="healthy")
    ap.add_argument("--speed", type=float, default=50.0)
    args = ap.parse_args()
    os.environ["ALGA_APPLIANCE_HOME"] = tempfile.mkdtemp(prefix="bench-bootstrap-")
    os.environ.setdefault("NO_COLOR", "1")

    from appliance_lab.testing import running_lab

    from appliance_cli.bootstrap import engine
    from appliance_cli.bootstrap.options import build_options
    from appliance_cli.progress import NullReporter

    with running_lab(scenario=args.scenario, speed=args.speed, bootstrapped=False) as lab:
        for mode in ("fresh", "recover"):
            opts = build_options(
                bootstrap_mode=mode, release_version="1.0-rc5", node_ip="127.0.0.1", site_id="lab"
            )
            rv = lab.store.resource_version if lab.store else 0
            t0 = time.monotonic()
            result = engine.run(opts, reporter=NullReporter(), announce=lambda s: None)
            seconds = time.monotonic() - t0
            journal = json.loads((lab.site_dir / "journal.json").read_text())
            phases = {k: v.get("seconds") for k, v in sorted(journal["phases"].items())}
            rollup = result.status.rollup.state if result.status else None
            delta = (lab.store.resource_version if lab.store else 0) - rv
            print(
                f"{mode:8s} exit={result.exit_code} rollup={rollup} wall={seconds:.2f}s "
                f"applied={result.applied} store-rv-delta={delta}"
            )
            print(f"         phase seconds: {phases}")


if __name__ == "__main__":
    main()
