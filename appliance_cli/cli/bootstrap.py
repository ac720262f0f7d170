# ruff: noqa: E501
"""`appliance bootstrap`: take a Talos node (or the lab) to a running Alga PSA appliance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

NODE = "Node"
APP = "Application"
SRC = "Flux source"
FILES = "Site and credentials"
RUN = "Run"


def bootstrap(
    *,
    bootstrap_mode: Annotated[
        str,
        typer.Option(
            "--bootstrap-mode",
            help="fresh: first install (seeds the app database); recover: resume or re-attach without deleting data. Required.",
            rich_help_panel=APP,
        ),
    ],
    release_version: Annotated[
        str,
        typer.Option(
            "--release-version",
            help="Release manifest to install (releases/<version>/release.json): pins Talos, Kubernetes and every image. Required.",
            rich_help_panel=APP,
        ),
    ],
    node_ip: Annotated[
        str,
        typer.Option(
            "--node-ip",
            help="IP address of the Talos node (maintenance API on :50000, Kubernetes on :6443). Required.",
            rich_help_panel=NODE,
        ),
    ],
    hostname: Annotated[
        str | None,
        typer.Option(
            "--hostname",
            help="Hostname written into the machine config (HostnameConfig). Default: Talos picks one.",
            rich_help_panel=NODE,
        ),
    ] = None,
    app_url: Annotated[
        str | None,
        typer.Option(
            "--app-url",
            help="URL users open to log in; baked into the app values. Default: http://<node-ip>:3000.",
            rich_help_panel=APP,
        ),
    ] = None,
    interface: Annotated[
        str | None,
        typer.Option(
            "--interface",
            help="Network interface to configure (e.g. eth0). Required with --network-mode static; default: Talos defaults (DHCP on all links).",
            rich_help_panel=NODE,
        ),
    ] = None,
    network_mode: Annotated[
        str,
        typer.Option(
            "--network-mode",
            help="dhcp (DHCPv4Config) or static (LinkConfig with --static-address/--static-gateway). Default: dhcp.",
            rich_help_panel=NODE,
        ),
    ] = "dhcp",
    static_address: Annotated[
        str | None,
        typer.Option(
            "--static-address",
            help="Node address in CIDR form (e.g. 192.168.1.20/24); only with --network-mode static.",
            rich_help_panel=NODE,
        ),
    ] = None,
    static_gateway: Annotated[
        str | None,
        typer.Option(
            "--static-gateway",
            help="Default gateway IP; only with --network-mode static; must be inside --static-address.",
            rich_help_panel=NODE,
        ),
    ] = None,
    dns_servers: Annotated[
        str | None,
        typer.Option(
            "--dns-servers",
            help="Comma-separated resolver IPs for the node (ResolverConfig) and CoreDNS upstreams. Default: DHCP-provided resolvers, CoreDNS unchanged.",
            rich_help_panel=NODE,
        ),
    ] = None,
    install_disk: Annotated[
        str | None,
        typer.Option(
            "--install-disk",
            help="Disk Talos installs to (ERASED). Default: the largest writable disk the node reports.",
            rich_help_panel=NODE,
        ),
    ] = None,
    repo_url: Annotated[
        str | None,
        typer.Option(
            "--repo-url",
            help="Git URL of this appliance repository that Flux reads. Default: the checkout's origin, else the public repository.",
            rich_help_panel=SRC,
        ),
    ] = None,
    branch_override: Annotated[
        str | None,
        typer.Option(
            "--branch-override",
            help="Branch Flux reads ('current' = the checked-out branch; it must exist on --repo-url). Default: main.",
            rich_help_panel=SRC,
        ),
    ] = None,
    require_remote_branch: Annotated[
        bool,
        typer.Option(
            "--require-remote-branch",
            help="Stop (exit 2) when the remote cannot be asked about the branch, instead of warning. Default: warn.",
            rich_help_panel=SRC,
        ),
    ] = False,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            "--kubeconfig",
            help="Use this kubeconfig (reused, never overwritten); with an installed cluster phase 0 is only verified. Default: <site>/kubeconfig.",
            rich_help_panel=FILES,
        ),
    ] = None,
    talosconfig: Annotated[
        Path | None,
        typer.Option(
            "--talosconfig",
            help="Use this talosconfig (reused, never overwritten). Default: <site>/talosconfig (generated).",
            rich_help_panel=FILES,
        ),
    ] = None,
    site_id: Annotated[
        str,
        typer.Option(
            "--site-id",
            help="Site name; its files live in $ALGA_APPLIANCE_HOME/<site-id>/. Default: appliance-single-node.",
            rich_help_panel=FILES,
        ),
    ] = "appliance-single-node",
    config_dir: Annotated[
        Path | None,
        typer.Option(
            "--config-dir",
            help="Put the site files here instead of $ALGA_APPLIANCE_HOME/<site-id>/.",
            rich_help_panel=FILES,
        ),
    ] = None,
    skip_image_tag_validation: Annotated[
        bool,
        typer.Option(
            "--skip-image-tag-validation",
            help="Continue even when a core image tag is missing from its registry. Default: stop before applying anything.",
            rich_help_panel=RUN,
        ),
    ] = False,
    prepull_images: Annotated[
        bool,
        typer.Option(
            "--prepull-images",
            help="Start pulling the core image on the node right after the Talos API is up (saves minutes). Default: off.",
            rich_help_panel=RUN,
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the ordered plan (commands, objects, waits) and change nothing, not even local files.",
            rich_help_panel=RUN,
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="With --bootstrap-mode fresh on an installed appliance: reset it first (DELETES its data). Default: refuse.",
            rich_help_panel=RUN,
        ),
    ] = False,
    progress: Annotated[
        str | None,
        typer.Option(
            "--progress",
            help="rich (live view), plain (one line per step) or json (one object per line). Default: rich on a terminal, plain otherwise.",
            rich_help_panel=RUN,
        ),
    ] = None,
) -> None:
    """Take a Talos node (or the lab) to a running Alga PSA appliance, phase by phase, resumably.

    Exit 0 when login is possible (background issues are warnings), 1 when action is required,
    2 for bad input (nothing changed), 130 when interrupted (resume with --bootstrap-mode recover).
    """
    from appliance_cli.bootstrap.options import build_options

    options = build_options(
        bootstrap_mode=bootstrap_mode,
        release_version=release_version,
        node_ip=node_ip,
        hostname=hostname,
        app_url=app_url,
        interface=interface,
        network_mode=network_mode,
        static_address=static_address,
        static_gateway=static_gateway,
        dns_servers=dns_servers or (),
        install_disk=install_disk,
        repo_url=repo_url,
        branch_override=branch_override,
        require_remote_branch=require_remote_branch,
        kubeconfig=kubeconfig,
        talosconfig=talosconfig,
        site_id=site_id,
        config_dir=config_dir,
        skip_image_tag_validation=skip_image_tag_validation,
        prepull_images=prepull_images,
        dry_run=dry_run,
        force=force,
        progress=progress,
    )
    from appliance_cli.bootstrap import engine, reporters
    from appliance_cli.cli import bootstrap_render as summary
    from appliance_cli.releases import load_release

    load_release(options.release_version)  # unknown release: exit 2 before anything else
    # In a dry run the plan is the output; step events would only repeat it.
    quiet = options.dry_run and options.progress != "json"
    reporter = reporters.make_reporter("null" if quiet else options.progress)
    from appliance_cli.cli._confirm import confirm_site_id
    from appliance_cli.cli._interrupt import stoppable
    from appliance_cli.reset.run import bootstrap_hook

    def confirm(site: str) -> None:  # a terminal on stdin types the site id before the reset
        with reporters.paused(reporter):
            confirm_site_id(
                site,
                f"--bootstrap-mode fresh --force first resets site {site}: this deletes its application data",
            )

    try:
        with stoppable() as stop:
            result = engine.run(
                options,
                reporter=reporter,
                announce=summary.announcer(reporter),
                reset=lambda ctx: bootstrap_hook(ctx, confirm=confirm),
                stop=stop,
            )
    finally:
        reporter.close()
    summary.show(options, result)
    raise typer.Exit(result.exit_code)
