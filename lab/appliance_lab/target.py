"""The lab as a target of the CLI (registered under the ``alga_appliance.targets`` entry point).

The lab claims a site only when its directory holds a ``lab.json`` whose ``pid`` is a live
process (written by ``appliance lab up``). Anything else — no file, an unreadable file, a
dead or zombie pid — is left to the real adapters, so the simulator can never be reached
by mistake on real hardware.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance_cli.env import TargetInfo
from appliance_cli.site import Site
from appliance_lab.clock import shared_clock

if TYPE_CHECKING:
    from appliance_lab.talos_client import LabFluxAdapter, LabTalosAdapter

LAB_FILE = "lab.json"
# release manifests that exist only for the lab (see releases/README.md there)
RELEASES_DIR = Path(__file__).resolve().parent / "releases"


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # "<pid> (<comm>) <state> ...": a zombie has exited already
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def lab_info(site: Site) -> dict[str, Any] | None:
    """The site's ``lab.json`` when it names a live lab process, else ``None``."""
    try:
        data = json.loads((site.root / LAB_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid = data.get("pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return None
    return data


def _registry_address(url: object) -> str | None:
    """``http://127.0.0.1:5000`` → ``127.0.0.1:5000`` (a mirror target is ``host:port``)."""
    if not isinstance(url, str) or not url.startswith("http://"):
        return None
    address = url.removeprefix("http://").rstrip("/")
    return address if address and "/" not in address else None


def _str(value: object) -> str | None:
    return str(value) if value else None


def _speed(value: object) -> float:
    """The lab's ``--speed``: its scenario timeline runs that many times faster than real time."""
    try:
        speed = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 1.0
    return speed if speed > 0 else 1.0


class LabTarget:
    """Claims sites owned by a running lab and hands out the lab's adapters."""

    def claims(self, site: Site) -> TargetInfo | None:
        info = lab_info(site)
        if info is None:
            return None
        # A lab in this very process (tests) may run on a clock the CLI must share.
        clock = shared_clock(site.root) if info.get("pid") == os.getpid() else None
        return TargetInfo(
            name="lab",
            clock=clock,
            node_ip=_str(info.get("nodeIp")),
            login_url=_str(info.get("loginUrl")),
            status_url=_str(info.get("statusUrl")),
            registry_mirror=_registry_address(info.get("registryUrl")),
            releases_dir=RELEASES_DIR,
            time_scale=_speed(info.get("speed")),
        )

    def talos(self, site: Site, info: TargetInfo) -> LabTalosAdapter:
        from appliance_lab.talos_client import LabTalosAdapter

        data = lab_info(site) or {}
        return LabTalosAdapter(str(data["talosUrl"]))

    def flux(self, site: Site, info: TargetInfo) -> LabFluxAdapter:
        from appliance_lab.talos_client import LabFluxAdapter

        return LabFluxAdapter()
