"""Chooses the Talos and Flux adapters for a site: the real CLIs, or the lab.

The lab's adapters are handed out only when the site directory holds a ``lab.json`` whose
``pid`` is a live process (written by ``appliance lab up``). Anything else — no file, an
unreadable file, a dead or zombie pid — gets the real ``talosctl``/``flux`` adapters, so the
simulator can never be reached by mistake on real hardware. All implementations are
imported lazily.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance_cli.adapters.flux import FluxAdapter
    from appliance_cli.adapters.talos import TalosAdapter
    from appliance_cli.site import Site

LAB_FILE = "lab.json"


def _pid_alive(pid: int) -> bool:
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
    if not isinstance(pid, int) or not _pid_alive(pid):
        return None
    return data


def is_lab(site: Site) -> bool:
    return lab_info(site) is not None


def talos_adapter(site: Site) -> TalosAdapter:
    info = lab_info(site)
    if info is not None:
        from appliance_cli.lab.talos_client import LabTalosAdapter

        return LabTalosAdapter(str(info["talosUrl"]))
    from appliance_cli.adapters.talosctl import TalosctlAdapter

    return TalosctlAdapter()


def flux_adapter(site: Site) -> FluxAdapter:
    info = lab_info(site)
    if info is not None:
        from appliance_cli.lab.talos_client import LabFluxAdapter

        return LabFluxAdapter()
    from appliance_cli.adapters.flux import FluxCliAdapter

    return FluxCliAdapter()
