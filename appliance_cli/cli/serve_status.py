"""`appliance serve-status`: run the token-protected status web service in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from appliance_cli import console
from appliance_cli.errors import UsageError


def serve_status(
    *,
    in_cluster: Annotated[
        bool,
        typer.Option(
            "--in-cluster",
            help="Use the pod's service account (inside the appliance). Default: the site's kubeconfig.",
            rich_help_panel="Cluster",
        ),
    ] = False,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            "--kubeconfig",
            help="Read the cluster through this kubeconfig. Default: the site's kubeconfig.",
            rich_help_panel="Cluster",
        ),
    ] = None,
    site_id: Annotated[
        str | None,
        typer.Option(
            "--site-id",
            help="Site to serve (its files and token). Default: the current site.",
            rich_help_panel="Cluster",
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on. Default: 0.0.0.0 in-cluster, else 127.0.0.1.",
            rich_help_panel="Service",
        ),
    ] = "",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on. Default: 8080.", rich_help_panel="Service")
    ] = 8080,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            help="Seconds between status collections (shared by all clients). Default: 5.",
            rich_help_panel="Service",
        ),
    ] = 5.0,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="File holding the status token (re-read when it changes). Default: "
            "$ALGA_APPLIANCE_STATUS_TOKEN, $ALGA_APPLIANCE_STATUS_TOKEN_FILE or the mounted Secret "
            "in-cluster, else the site's status-token file.",
            rich_help_panel="Service",
        ),
    ] = None,
) -> None:
    """Serve the status page and API (token-protected) until Ctrl-C. Exit 2 on bad input."""
    if in_cluster and kubeconfig is not None:
        raise UsageError("cannot be combined with --in-cluster", param="--kubeconfig")
    if not 0 < port < 65536:
        raise UsageError(f"{port} is not a port number (1-65535)", param="--port")
    if not 0.5 <= interval <= 3600:
        raise UsageError("must be between 0.5 and 3600 seconds", param="--interval")
    if kubeconfig is not None and not kubeconfig.is_file():
        raise UsageError("kubeconfig file not found", param="--kubeconfig")
    from appliance_cli.site import Site
    from appliance_cli.status.live import resolve_site_id
    from appliance_cli.web.auth import resolve_token

    sid = site_id or ("appliance-single-node" if in_cluster else resolve_site_id(None))
    site = Site.open(sid)
    token, source = resolve_token(
        token_file=token_file, in_cluster=in_cluster, site_token_file=site.status_token_file
    )
    from appliance_cli.web.server import StatusServer

    server = StatusServer(
        kubeconfig=kubeconfig,
        in_cluster=in_cluster,
        token=token,
        host=host or ("0.0.0.0" if in_cluster else "127.0.0.1"),
        port=port,
        site_id=sid,
        interval=interval,
        token_file=source,
    )
    try:
        server.start()
    except OSError as exc:
        raise UsageError(f"cannot listen: {exc}", param="--port") from exc
    console.display_success(f"Status service on {server.url} (collecting every {interval:g}s; Ctrl-C stops)")
    import signal

    def _term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)  # a pod being stopped ends like Ctrl-C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.display_info("Status service stopped.")
    finally:
        server.stop()
