"""`appliance support-bundle`: a tar.gz of the appliance's state for support, without secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from appliance_cli import console


def support_bundle(
    *,
    site_id: Annotated[
        str | None,
        typer.Option("--site-id", help="Site whose appliance to collect. Default: the current site."),
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output", help="Directory to write the bundle into (created if missing). Default: here."
        ),
    ] = Path("."),
) -> None:
    """Write snapshot.json, status.json, journal.json and versions.json into a tar.gz and print its path.

    No Secret objects, no status token, no kubeconfig or talosconfig; log lines are redacted.
    Read the snapshot back with 'appliance status --snapshot <extracted>/snapshot.json'.
    """
    from appliance_cli.status.bundle import write_bundle
    from appliance_cli.status.live import resolve_site_id

    result = write_bundle(resolve_site_id(site_id), output)
    console.display_success(
        "Support bundle written (no secrets inside); read it back with "
        "'appliance status --snapshot <extracted>/snapshot.json'"
    )
    console.display_text(str(result.path))
