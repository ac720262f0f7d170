# ruff: noqa: E501
"""`appliance reset`: delete the appliance's application and data, keep Talos, Kubernetes and the status page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from appliance_cli import console
from appliance_cli.errors import UsageError

if TYPE_CHECKING:
    from appliance_cli.reset.execute import ResetOutcome
    from appliance_cli.reset.model import ResetPlan
    from appliance_cli.reset.run import Cluster

SRC = "Cluster"
RUN = "Run"


def reset(
    *,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Read the cluster and print the ordered plan with the real objects it would touch; change nothing.",
            rich_help_panel=RUN,
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Carry the plan out (DELETES the application's data). On a terminal you also type the site id to confirm.",
            rich_help_panel=RUN,
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="The plan as JSON; with --force, progress as JSON lines and a final result line.",
            rich_help_panel=RUN,
        ),
    ] = False,
    progress: Annotated[
        str | None,
        typer.Option(
            "--progress",
            help="rich, plain or json progress while executing. Default: rich on a terminal, plain otherwise.",
            rich_help_panel=RUN,
        ),
    ] = None,
    site_id: Annotated[
        str | None,
        typer.Option(
            "--site-id",
            help="Site whose appliance to reset (its kubeconfig is used). Default: the current site.",
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
    config_dir: Annotated[
        Path | None,
        typer.Option(
            "--config-dir",
            help="The site files are here instead of $ALGA_APPLIANCE_HOME/<site-id>/.",
            rich_help_panel=SRC,
        ),
    ] = None,
) -> None:
    """Delete the Alga application and its data for a fresh install; Talos, Kubernetes and the status page stay.

    Preview with --dry-run; run with --force. Safe to repeat: a reset that was interrupted finishes when run again.

    Exit 0 when the reset verified, 1 when it did not (or the cluster is unreachable), 2 for bad input (nothing changed), 130 when interrupted.
    """
    if dry_run and force:
        raise UsageError("choose one: --dry-run previews, --force executes", param="--force")
    if not (dry_run or force):
        raise UsageError(
            "reset deletes the appliance's application data and needs --force; nothing was changed",
            param="--force",
            hint="preview the plan with 'appliance reset --dry-run'",
        )
    if progress not in (None, "rich", "plain", "json"):
        raise UsageError(f"unknown progress mode {progress!r}: use rich, plain or json", param="--progress")
    from appliance_cli.reset import run
    from appliance_cli.reset.render import outcome_lines, plan_lines
    from appliance_cli.status.live import resolve_site_id

    cluster = run.open_cluster(resolve_site_id(site_id), kubeconfig=kubeconfig, config_dir=config_dir)
    plan = run.plan_for(cluster)
    if dry_run:
        console.display_text(plan.to_json() if as_json else "\n".join(plan_lines(plan)))
        if not as_json:
            console.display_success("Dry run: nothing was changed. Run with --force to carry this out.")
        raise typer.Exit(0)
    if as_json:
        console.display_text(json.dumps({"plan": json.loads(plan.to_json())}))
    else:
        console.display_text("\n".join(plan_lines(plan)))
    _confirm(plan.site_id)
    outcome = _execute(cluster, plan, "json" if as_json else progress)
    if as_json:
        console.display_text(json.dumps({"result": outcome.to_json()}))
    else:
        console.display_text("\n".join(outcome_lines(outcome, site_id=plan.site_id)))


def _confirm(site_id: str) -> None:
    """With a terminal on stdin (even when stdout is piped), the site id must be typed."""
    from appliance_cli.cli._confirm import confirm_site_id

    confirm_site_id(site_id, f"This deletes the application data of site {site_id}")


def _execute(cluster: Cluster, plan: ResetPlan, mode: str | None) -> ResetOutcome:
    from appliance_cli.bootstrap.reporters import make_reporter
    from appliance_cli.cli._interrupt import stoppable
    from appliance_cli.reset import run
    from appliance_cli.reset.execute import TOTAL_STEPS

    reporter = make_reporter(mode, label="reset", total=TOTAL_STEPS)
    try:
        with stoppable() as stop:
            return run.execute(cluster, plan, reporter, stop=stop)
    finally:
        reporter.close()
