"""Which site directories belong to the lab.

The lab only ever touches a site it created: when it creates (or finds empty) a site
directory it writes ``lab-site.json`` there first. A directory that already holds a real
site's files (journal, status token, kubeconfig, talosconfig, machine config) without that
marker belongs to a real appliance: ``lab up`` refuses it (exit 2) and ``lab down`` deletes
nothing in it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from appliance_cli.errors import UsageError
from appliance_cli.site import atomic_write, make_private_dir

MARKER = "lab-site.json"
# What a real site keeps (DESIGN §4); any of them without the marker means "not ours".
SITE_FILES = ("journal.json", "status-token", "kubeconfig", "talosconfig", "controlplane.yaml", "values")
# What the lab itself writes into a site it runs.
LAB_FILES = ("lab.json", "lab.log")


def owned(site_dir: Path) -> bool:
    """The lab created this site directory."""
    return (site_dir / MARKER).is_file()


def foreign_files(site_dir: Path) -> list[str]:
    """The real-site files in ``site_dir`` when the lab did not create it (else nothing)."""
    if owned(site_dir) or not site_dir.is_dir():
        return []
    return [name for name in SITE_FILES if (site_dir / name).exists()]


def claim(site_dir: Path, *, site_id: str) -> None:
    """Make ``site_dir`` the lab's: create and mark it, or accept it when the lab marked it
    before. A site the lab did not create is bad input (``--site-id``), nothing touched."""
    if site_dir.exists() and not site_dir.is_dir():
        raise UsageError(f"{site_dir} is not a directory; nothing was changed", param="--site-id")
    foreign = foreign_files(site_dir)
    if foreign:
        raise UsageError(
            f"site '{site_id}' at {site_dir} was not created by the lab (it holds {', '.join(foreign)}); "
            "the lab only runs in sites it created, and nothing was changed",
            param="--site-id",
            hint="choose another --site-id for the lab (default: lab)",
        )
    if owned(site_dir):
        return
    make_private_dir(site_dir)
    record = {"createdBy": "appliance-lab", "siteId": site_id, "createdAt": datetime.now(UTC).isoformat()}
    atomic_write(site_dir / MARKER, json.dumps(record) + "\n", mode=0o600)
