"""Live status collection (collect a snapshot from the appliance, then classify it)."""

from __future__ import annotations

from appliance_cli.errors import NotImplementedYet
from appliance_cli.status.model import StatusDocument


def collect_status(site_id: str | None) -> StatusDocument:
    """Collect a snapshot of the site's cluster and classify it."""
    raise NotImplementedYet(
        "live status collection is not available in this version yet",
        hint="classify a snapshot offline: appliance status --snapshot FILE",
    )
