"""`appliance serve-status`: run the token-protected status web service in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from appliance_cli import console
from appliance_cli.errors import EXIT_INTERRUPTED, UsageError


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
        int,
        typer.Option(
            "--port",
            help="Port of the page and API (HTTPS when a certificate is given). Default: 8080.",
            rich_help_panel="Service",
        ),
    ] = 8080,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert",
            help="PEM certificate to serve HTTPS with (needs --tls-key). Default: in-cluster the mounted "
            "Secret /etc/appliance-status-tls/tls.crt when present, else none (plain HTTP).",
            rich_help_panel="TLS",
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(
            "--tls-key",
            help="PEM private key of --tls-cert (never printed). Default: in-cluster "
            "/etc/appliance-status-tls/tls.key when present.",
            rich_help_panel="TLS",
        ),
    ] = None,
    http_port: Annotated[
        int,
        typer.Option(
            "--http-port",
            help="With HTTPS: plain-HTTP port that answers only /healthz and redirects everything "
            "else (308) to the HTTPS page. Default: 8081.",
            rich_help_panel="TLS",
        ),
    ] = 8081,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            help="Seconds between status collections (shared by all clients). Default: 5.",
            rich_help_panel="Service",
        ),
    ] = 5.0,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="Address or CIDR of a reverse proxy whose X-Forwarded-For names the client "
            "(repeatable). Default: none, so the peer address is the client whatever it sends.",
            rich_help_panel="Service",
        ),
    ] = None,
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
    """Serve the status page and API (token-protected) until stopped.

    Exit 2 on bad input, 130 on Ctrl-C, 0 when stopped with SIGTERM (a pod shutting down).
    """
    if in_cluster and kubeconfig is not None:
        raise UsageError("cannot be combined with --in-cluster", param="--kubeconfig")
    for flag, number in (("--port", port), ("--http-port", http_port)):
        if not 0 < number < 65536:
            raise UsageError(f"{number} is not a port number (1-65535)", param=flag)
    if not 0.5 <= interval <= 3600:
        raise UsageError("must be between 0.5 and 3600 seconds", param="--interval")
    if kubeconfig is not None and not kubeconfig.is_file():
        raise UsageError("kubeconfig file not found", param="--kubeconfig")
    from appliance_cli.site import Site
    from appliance_cli.status.live import resolve_site_id
    from appliance_cli.tls import serving_files
    from appliance_cli.web.auth import resolve_token
    from appliance_cli.web.server import StatusServer, check_in_cluster, check_proxies

    if in_cluster:
        check_in_cluster()
    proxies = check_proxies(trusted_proxy or [])
    served = serving_files(tls_cert, tls_key, in_cluster=in_cluster)
    if served is not None and http_port == port:
        raise UsageError(
            "must differ from --port (plain HTTP and HTTPS cannot share a port)", param="--http-port"
        )
    sid = site_id or ("appliance-single-node" if in_cluster else resolve_site_id(None))
    site = Site.open(sid)
    token, source = resolve_token(
        token_file=token_file, in_cluster=in_cluster, site_token_file=site.status_token_file
    )
    server = StatusServer(
        kubeconfig=kubeconfig,
        in_cluster=in_cluster,
        token=token,
        host=host or ("0.0.0.0" if in_cluster else "127.0.0.1"),
        port=port,
        site_id=sid,
        interval=interval,
        token_file=source,
        trusted_proxies=proxies,
        tls_cert=served[0] if served else None,
        tls_key=served[1] if served else None,
        http_port=http_port,
    )
    import signal

    terminated: list[int] = []

    def _term(signum: int, frame: object) -> None:
        terminated.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)  # a pod being stopped: a clean stop, exit 0
    try:
        try:
            server.start()
        except OSError as exc:
            raise UsageError(f"cannot listen: {exc}", param="--port") from exc
        console.display_success(
            f"Status service on {server.url} (collecting every {interval:g}s; Ctrl-C stops)"
        )
        if served is not None:  # the fingerprint is public; the key is never shown
            console.display_info(
                f"Certificate SHA-256 fingerprint: {served[2].fingerprint}; "
                f"plain HTTP on {server.http_url} answers /healthz and redirects to HTTPS"
            )
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
        console.display_info("Status service stopped.")
        if not terminated:
            raise typer.Exit(EXIT_INTERRUPTED) from None  # Ctrl-C: 130, like every command
    finally:
        server.stop()
