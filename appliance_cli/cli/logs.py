# ruff: noqa: E501
"""`appliance logs COMPONENT`: a component's logs by its catalog name, redacted; followed across restarts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from appliance_cli import console

if TYPE_CHECKING:
    from appliance_cli.logs import ComponentLogs, LogOptions

WHAT = "What to show"
SRC = "Cluster"


def logs(
    component: Annotated[
        str,
        typer.Argument(
            help="Catalog component (e.g. alga-core, db, temporal); 'appliance status' lists them.",
            show_default=False,
        ),
    ],
    *,
    previous: Annotated[
        bool,
        typer.Option(
            "--previous",
            "-p",
            help="The logs of each container's previous instance (before its last restart). Default: the current one.",
            rich_help_panel=WHAT,
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only lines newer than this duration (30s, 5m, 2h). Default: all.",
            rich_help_panel=WHAT,
        ),
    ] = None,
    tail: Annotated[
        int,
        typer.Option(
            "--tail", help="Lines per container to show first (-1: all). Default: all.", rich_help_panel=WHAT
        ),
    ] = -1,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Keep streaming new lines, following pod and container restarts, until Ctrl-C. Default: print and exit.",
            rich_help_panel=WHAT,
        ),
    ] = False,
    site_id: Annotated[
        str | None,
        typer.Option(
            "--site-id",
            help="Site whose appliance to read (its kubeconfig is used). Default: the current site.",
            rich_help_panel=SRC,
        ),
    ] = None,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            "--kubeconfig",
            help="Kubeconfig of the appliance's cluster. Default: <site>/kubeconfig.",
            rich_help_panel=SRC,
        ),
    ] = None,
) -> None:
    """Print a component's logs (every current pod, the containers that matter), secrets redacted.

    Lines are prefixed with pod/container when there is more than one. On a component that
    is not running, its blocker (as 'appliance status' classifies it) is printed instead.

    Exit 0 when logs were shown, 1 when the component is not running, 2 for bad input, 130 on Ctrl-C.
    """
    from appliance_cli.errors import UsageError
    from appliance_cli.logs import LogOptions, open_component_logs, parse_since
    from appliance_cli.status.live import resolve_site_id

    if tail < -1:
        raise UsageError("must be -1 (all) or a number of lines", param="--tail")
    if follow and previous:
        raise UsageError("a previous instance has ended and cannot be followed", param="--previous")
    options = LogOptions(
        previous=previous, since_seconds=parse_since(since) if since else None, tail=tail, follow=follow
    )
    site = resolve_site_id(site_id)
    source = open_component_logs(site, component, kubeconfig=kubeconfig)
    if follow:
        _follow(source, options, site, kubeconfig)
        return
    lines, refs = source.read(options)
    many = len({line.source for line in lines}) > 1 or len(refs) > 1
    for line in lines:
        console.display_text(f"[{line.source}] {line.text}" if many else line.text)
    if not any(r.running for r in refs) and not previous:
        _explain(site, component, kubeconfig)
        raise typer.Exit(1)


def _explain(site: str, component: str, kubeconfig: Path | None) -> None:
    from appliance_cli.logs import explain_not_running

    report = explain_not_running(site, component, kubeconfig=kubeconfig)
    head, *rest = report.lines()
    console.display_warning(head)
    for text in rest:
        console.display_info(text)


def _follow(source: ComponentLogs, options: LogOptions, site: str, kubeconfig: Path | None) -> None:
    from appliance_cli.cli._interrupt import stoppable
    from appliance_cli.logs import ContainerRef, LogLine

    def sink(line: LogLine) -> None:
        console.display_text(f"[{line.source}] {line.text}")

    def idle(refs: list[ContainerRef]) -> None:
        _explain(site, source.component.name, kubeconfig)
        console.display_info("Waiting for it to start (Ctrl-C to stop) ...")

    with stoppable() as stop:
        source.follow(options, sink, stop, on_idle=idle)
