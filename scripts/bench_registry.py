#!/usr/bin/env python3
"""Benchmark: time to check 20 images against a local registry 50 ms away.

Starts Debian's docker-registry on loopback, pushes 20 small images, puts a latency proxy
(every request held 50 ms) in front of it and times one ``check_images`` call, once with
the default concurrency and once sequentially for comparison. Loopback only; bounded.

    .venv/bin/python scripts/bench_registry.py [--images 20] [--latency-ms 50] [--handshake]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from appliance_cli.adapters.registry import DEFAULT_CONCURRENCY, RegistryChecker  # noqa: E402
from appliance_cli.releases import ImageRef  # noqa: E402
from tests.integration.registry.support import LatencyProxy, RegistryServer, push_image  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--handshake", action="store_true", help="also charge one round trip per new connection"
    )
    args = parser.parse_args()
    rtt = args.latency_ms / 1000.0

    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        registry = RegistryServer(Path(tmp) / "registry")
        proxy = None
        try:
            for i in range(args.images):
                push_image(registry.url, f"bench/image-{i:02d}", "1.0")
            proxy = LatencyProxy(registry.port, rtt, handshake=args.handshake)
            host = f"127.0.0.1:{proxy.port}"
            images = {
                f"image-{i:02d}": ImageRef(repository=f"{host}/bench/image-{i:02d}", tag="1.0")
                for i in range(args.images)
            }

            def timed(concurrency: int) -> tuple[float, int, int]:
                proxy.reset_counts()
                with RegistryChecker(
                    insecure_registries=[host], credentials={}, concurrency=concurrency, timeout=60
                ) as checker:
                    started = time.perf_counter()
                    results = checker.check(images)
                    elapsed = time.perf_counter() - started
                bad = [r for r in results if r.outcome != "present"]
                if bad:
                    raise RuntimeError(f"{len(bad)} images not present: {bad[0].error}")
                return elapsed, proxy.requests, proxy.connections

            figures = {
                # The first check in a process also pays imports and the TLS context.
                "cold": timed(DEFAULT_CONCURRENCY),
                "concurrent": min(timed(DEFAULT_CONCURRENCY) for _ in range(3)),
                "sequential": timed(1),
            }
        finally:
            if proxy is not None:
                proxy.stop()
            registry.stop()

    goal = 3 * rtt
    elapsed, requests, connections = figures["concurrent"]
    verdict = "met" if elapsed < goal else "NOT met"
    mode = "per request + per new connection" if args.handshake else "per request"
    print(f"registry preflight: {args.images} images, {args.latency_ms:.0f} ms injected latency ({mode})")
    print(
        f"  concurrent (limit {DEFAULT_CONCURRENCY}): {elapsed * 1000:7.1f} ms"
        f" = {elapsed / rtt:4.1f} round trips"
        f"   goal: under 3 round-trip times ({goal * 1000:.0f} ms) - {verdict}"
    )
    print(f"      {requests} requests over {connections} keep-alive connections (best of 3)")
    cold = figures["cold"][0]
    print(f"  first check in a fresh process: {cold * 1000:7.1f} ms (adds imports and the TLS context)")
    s_elapsed, s_requests, s_connections = figures["sequential"]
    print(
        f"  sequential (limit 1):  {s_elapsed * 1000:7.1f} ms = {s_elapsed / rtt:4.1f} round trips"
        f"   (for comparison; {s_requests} requests over {s_connections} connection)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
