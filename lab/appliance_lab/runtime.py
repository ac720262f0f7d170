"""The lab process: Kubernetes API, simulated Talos node, controllers, endpoints and an OCI
registry on loopback.

``python -m appliance_lab.runtime --site-dir DIR --scenario NAME --speed X
[--api-port N] [--talos-port N] [--site-id ID] [--bootstrapped] [--parent-pid PID]``

Writes the lab site directory (``kubeconfig``, ``talosconfig``, ``lab.json``, ``node-ip``; all
0600, atomically) once every server listens, and removes ``lab.json`` when it stops. Stops
cleanly on SIGTERM/SIGINT, and — with ``--parent-pid`` — as soon as that process is gone,
so a lab started by a test never outlives it. ``Lab`` is the same thing in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from appliance_cli.env import Clock, SystemClock
from appliance_cli.site import atomic_write
from appliance_lab import clock as lab_clock
from appliance_lab.api_faults import FaultConfig
from appliance_lab.apiserver import LabApiServer
from appliance_lab.checkpoint import (
    LabCheckpoint,
    checkpoint_controllers,
    checkpoint_store,
    checkpoint_talos,
    restore_controllers,
    restore_store,
    restore_talos,
)
from appliance_lab.controllers import LabControllers
from appliance_lab.controllers.base import NODE_IP
from appliance_lab.ownership import claim
from appliance_lab.registry import LabRegistry
from appliance_lab.scenario import Scenario, load_scenario
from appliance_lab.store import Store
from appliance_lab.talos_client import talosconfig_yaml
from appliance_lab.talos_sim import TalosSim, TalosSimServer, TalosTimings, fake_pem_b64

LAB_FILE = "lab.json"
LAB_FILES = ("lab.json", "kubeconfig", "talosconfig", "node-ip", "lab.log")


class Lab:
    """One running lab. ``start()`` returns once everything listens and the site dir is written."""

    def __init__(
        self,
        site_dir: Path,
        scenario: Scenario | str = "healthy",
        *,
        speed: float = 1.0,
        api_port: int = 0,
        talos_port: int = 0,
        site_id: str = "lab",
        bootstrapped: bool = False,
        faults: FaultConfig | None = None,
        release_version: str = "1.0-rc5",
        clock: Clock | None = None,
    ) -> None:
        self.site_dir = Path(site_dir)
        # The lab's time: the wall clock, or (in-process, in tests) a virtual clock that the
        # CLI under test shares, so simulated minutes pass while every waiter sleeps.
        self.clock: Clock = clock or SystemClock()
        self._shares_clock = clock is not None
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self.site_id = site_id
        self.bootstrapped = bootstrapped
        self.release_version = release_version
        self.store = Store()
        self.token = secrets.token_urlsafe(32)
        self.api = LabApiServer(self.store, token=self.token, port=api_port, faults=faults, clock=self.clock)
        t = self.scenario.timings
        self.talos = TalosSim(
            node_ip=NODE_IP,
            speed=speed,
            clock=self.clock,
            timings=TalosTimings(
                install=t.talos_install, reboot=t.talos_reboot, kubernetes_start=t.kubernetes_start
            ),
        )
        self.talos_server = TalosSimServer(self.talos, port=talos_port)
        self.registry = LabRegistry(self.scenario)
        self.controllers = LabControllers(
            self.store,
            self.scenario,
            speed=speed,
            kubeconfig=self.kubeconfig_path,
            site_id=site_id,
            release_version=release_version,
            clock=self.clock,
        )
        self._bridge = threading.Thread(target=self._watch_talos, name="lab-talos-bridge", daemon=True)
        self._stopping = threading.Event()
        self.started_at = ""

    # -- paths -------------------------------------------------------------------------------
    @property
    def kubeconfig_path(self) -> Path:
        return self.site_dir / "kubeconfig"

    @property
    def talosconfig_path(self) -> Path:
        return self.site_dir / "talosconfig"

    @property
    def lab_file(self) -> Path:
        return self.site_dir / LAB_FILE

    @property
    def api_url(self) -> str:
        return self.api.url

    @property
    def talos_url(self) -> str:
        return self.talos_server.url

    @property
    def registry_url(self) -> str:
        return self.registry.url

    @property
    def login_url(self) -> str:
        return self.controllers.endpoints.login_url

    @property
    def status_url(self) -> str:
        return self.controllers.endpoints.status_url

    def info(self) -> dict[str, object]:
        return {
            "pid": os.getpid(),
            "apiUrl": self.api_url,
            "talosUrl": self.talos_url,
            "loginUrl": self.login_url,
            "statusUrl": self.status_url,
            "registryUrl": self.registry_url,
            "nodeIp": NODE_IP,
            "scenario": self.scenario.name,
            "speed": self.speed,
            "startedAt": self.started_at,
            "siteId": self.site_id,
            "kubeconfig": str(self.kubeconfig_path),
            "talosconfig": str(self.talosconfig_path),
        }

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> Lab:
        claim(self.site_dir, site_id=self.site_id)  # never a real site's directory
        self.api.start()
        self.api.write_kubeconfig(self.kubeconfig_path)
        self.talos.kubeconfig_text = self.kubeconfig_path.read_text()
        self.talos_server.start()
        self.registry.start()
        ca = fake_pem_b64("CERTIFICATE")
        self.talos.ca_b64 = ca
        endpoint = f"127.0.0.1:{self.talos_server.port}"
        atomic_write(
            self.talosconfig_path, talosconfig_yaml(endpoint=endpoint, node=NODE_IP, ca_b64=ca), mode=0o600
        )
        if self.bootstrapped:
            self.talos.preinstall(ca)
        self.controllers.start()
        self._bridge.start()
        self.started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        atomic_write(self.site_dir / "node-ip", NODE_IP + "\n", mode=0o600)
        if self._shares_clock:
            lab_clock.share(self.site_dir, self.clock)
        atomic_write(self.lab_file, json.dumps(self.info(), indent=2) + "\n", mode=0o600)
        return self

    # -- checkpoints (in-process labs: install once, restore per test) -------------------------
    def checkpoint(self) -> LabCheckpoint:
        """Everything this lab knows now (``appliance_lab.checkpoint``)."""
        with self.controllers.paused():
            return LabCheckpoint(
                store=checkpoint_store(self.store),
                controllers=checkpoint_controllers(self.controllers),
                talos=checkpoint_talos(self.talos),
            )

    def restore(self, cp: LabCheckpoint) -> int:
        """Back to ``cp`` without stopping a server (same ports, token and CA); fault injection
        off. Returns how many objects were written back or deleted."""
        with self.controllers.paused():
            written = restore_store(self.store, cp.store)
            restore_controllers(self.controllers, cp.controllers)
            restore_talos(self.talos, cp.talos)
        self.api.faults = None
        return written

    @property
    def bridge(self) -> threading.Thread:
        """The thread that brings Kubernetes up once the simulated node has bootstrapped."""
        return self._bridge

    def _watch_talos(self) -> None:
        while not self.clock.wait(self._stopping, 0.02):
            if self.talos.kubernetes_up():
                self.controllers.bring_up_kubernetes(talos_version=self.talos.talos_version)
                return

    def stop(self) -> None:
        self._stopping.set()
        lab_clock.unshare(self.site_dir, self.clock)
        with contextlib.suppress(FileNotFoundError):
            data = json.loads(self.lab_file.read_text())
            if data.get("pid") == os.getpid():
                self.lab_file.unlink()
        self.controllers.stop()
        self.talos_server.stop()
        self.registry.stop()
        self.api.stop()
        if self._bridge.is_alive():
            self._bridge.join(timeout=2)

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _set_parent_death_signal() -> None:
    """Linux: get SIGTERM when the parent dies (belt and braces with the pid watch)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m appliance_lab.runtime")
    parser.add_argument("--site-dir", required=True, type=Path)
    parser.add_argument("--scenario", default="healthy")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--api-port", type=int, default=0)
    parser.add_argument("--talos-port", type=int, default=0)
    parser.add_argument("--site-id", default="lab")
    parser.add_argument("--bootstrapped", action="store_true")
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument("--fault-latency-ms", type=float, default=0.0)
    parser.add_argument("--fault-error-rate", type=float, default=0.0)
    parser.add_argument("--fault-throttle-rate", type=float, default=0.0)
    parser.add_argument("--fault-drop-rate", type=float, default=0.0)
    parser.add_argument(
        "--fault-outage",
        action="append",
        default=[],
        metavar="START:END",
        help="seconds after start during which the API drops every connection (repeatable)",
    )
    args = parser.parse_args(argv)
    faults: FaultConfig | None = None
    if (
        args.fault_latency_ms
        or args.fault_error_rate
        or args.fault_throttle_rate
        or args.fault_drop_rate
        or (args.fault_outage)
    ):
        windows = tuple(tuple(float(x) for x in w.split(":", 1)) for w in args.fault_outage)
        faults = FaultConfig(
            latency_ms=args.fault_latency_ms,
            error_rate=args.fault_error_rate,
            throttle_rate=args.fault_throttle_rate,
            drop_rate=args.fault_drop_rate,
            outage_windows=windows,
        )
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.parent_pid:
        _set_parent_death_signal()
        if not _alive(args.parent_pid):
            return 1
    lab = Lab(
        args.site_dir,
        args.scenario,
        speed=args.speed,
        api_port=args.api_port,
        talos_port=args.talos_port,
        site_id=args.site_id,
        bootstrapped=args.bootstrapped,
        faults=faults,
    )
    lab.start()
    sys.stderr.write(
        f"lab {lab.scenario.name} up: api {lab.api_url} talos {lab.talos_url} "
        f"registry {lab.registry_url} pid {os.getpid()}\n"
    )
    sys.stderr.flush()
    try:
        while not stop.wait(0.2):
            if args.parent_pid and not _alive(args.parent_pid):
                break
    finally:
        lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
