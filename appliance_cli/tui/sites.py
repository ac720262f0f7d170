"""The sites under the appliance home and their rollup (the console's site picker)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from appliance_cli.errors import ApplianceError
from appliance_cli.site import SITE_ID_RE, appliance_home


@dataclass(frozen=True)
class SiteEntry:
    site_id: str
    root: Path
    has_kubeconfig: bool


@dataclass(frozen=True)
class SiteRollup:
    state: str  # a rollup state, or "unknown" when the appliance could not be asked
    message: str


def list_sites(home: Path | None = None) -> list[SiteEntry]:
    """Every site directory under the appliance home (a valid site id), sorted by name."""
    root = home or appliance_home()
    try:
        dirs = sorted(p for p in root.iterdir() if p.is_dir() and SITE_ID_RE.match(p.name))
    except OSError:
        return []
    return [SiteEntry(p.name, p, (p / "kubeconfig").is_file()) for p in dirs]


def site_rollup(entry: SiteEntry) -> SiteRollup:
    """The site's rollup from the live appliance (the same collector and classifier as status)."""
    if not entry.has_kubeconfig:
        return SiteRollup("not installed", "no kubeconfig yet: bootstrap this site")
    from appliance_cli.status.live import collect_status

    try:
        doc = collect_status(entry.site_id)
    except ApplianceError as exc:
        return SiteRollup("unknown", exc.message)
    return SiteRollup(doc.rollup.state, doc.rollup.message)
