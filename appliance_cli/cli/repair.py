# ruff: noqa: E501
"""`appliance repair`: repair the blockers that have a safe, bounded fix, and verify each."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from appliance_cli import console
from appliance_cli.errors import UsageError

if TYPE_CHECKING:
    from appliance_cli.progress import Reporter
    from appliance_cli.repair.model import PlannedRepair

SRC = "Cluster"
RUN = "Run"


def repair(
    *,
    code: Annotated[
        list[str] | None,
        typer.Option(
            "--code",
            help="Repair only blockers with this code (repeatable). Default: every blocker that has a repair, root cause first.",
            rich_help_panel=RUN,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the plan (each object, each change, why) and change nothing.",
            rich_help_panel=RUN,
        ),
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Carry the plan out without asking. Default: ask on a terminal; scripts (no terminal) need --yes.",
            rich_help_panel=RUN,
        ),
    ] = False,
    verify_timeout: Annotated[
        float | None,
        typer.Option(
            "--verify-timeout",
            min=1,
            help="Seconds to wait for each repair to verify before reporting it still present. Default: per action (10 to 15 minutes).",
            rich_help_panel=RUN,
        ),
    ] = None,
    progress: Annotated[
        str | None,
        typer.Option(
            "--progress",
            help="rich, plain or json progress while repairing. Default: rich on a terminal, plain otherwise; json also prints the plan and report as JSON.",
            rich_help_panel=RUN,
        ),
    ] = None,
    site_id: Annotated[
        str | None,
        typer.Option(
            "--site-id",
            help="Site whose appliance to repair (its kubeconfig is used). Default: the current site.",
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
    """Repair what blocks the appliance, safely: delete a pod whose pull broke off, re-run a failed bootstrap Job, retry a Flux release whose cause is gone, re-apply a durable fix an older install lacks.

    Never deletes a volume claim, volume, namespace, database or Secret. Each repair is verified with the status classifier: fixed, still present, or made it worse (then it stops).

    Exit 0 when everything attempted is fixed, 1 otherwise, 2 for bad input (nothing changed), 130 when interrupted.
    """
    if progress not in (None, "rich", "plain", "json"):
        raise UsageError(f"unknown progress mode {progress!r}: use rich, plain or json", param="--progress")
    codes = _check_codes(code or [])
    if not (dry_run or yes or console.is_tty(sys.stdin)):
        raise UsageError(
            "repair changes the cluster: pass --yes to carry it out without a terminal; nothing was changed",
            param="--yes",
            hint="preview with --dry-run",
        )
    from appliance_cli.repair import run
    from appliance_cli.repair.render import plan_lines, report_lines
    from appliance_cli.status.live import resolve_site_id

    session = run.open_session(resolve_site_id(site_id), kubeconfig=kubeconfig)
    session.verify_seconds = verify_timeout
    as_json = progress == "json"
    reporter = _reporter(progress, dry_run)
    try:
        report = run.run(
            session,
            codes=codes,
            dry_run=dry_run,
            confirm=lambda plans: _confirm(plans, yes=yes, as_json=as_json),
            reporter=reporter,
        )
    finally:
        reporter.close()
    if as_json:
        console.display_text(json.dumps({"result": report.to_json()}))
    else:
        if dry_run:
            console.display_text("\n".join(plan_lines(report.plans)) or "Nothing to repair now.")
        console.display_text("\n".join(report_lines(report)))
    if dry_run:
        if not as_json:
            console.display_success("Dry run: nothing was changed.")
        raise typer.Exit(0)
    if report.ok:
        console.display_success(
            "Everything repair attempted is fixed." if report.results else "Nothing to repair."
        )
        raise typer.Exit(0)
    raise typer.Exit(1)


def _check_codes(codes: list[str]) -> list[str]:
    from appliance_cli.repair.run import check_codes

    return check_codes(codes)


def _reporter(progress: str | None, dry_run: bool) -> Reporter:
    from appliance_cli.bootstrap.reporters import make_reporter

    return make_reporter("null" if dry_run else progress, label="repair", total=0)


def _confirm(plans: list[PlannedRepair], *, yes: bool, as_json: bool) -> bool:
    """Show the plan; on a terminal ask unless --yes; without a terminal --yes is required."""
    from appliance_cli.repair.render import plan_lines

    if as_json:
        console.display_text(json.dumps({"plan": [p.to_json() for p in plans]}))
    else:
        console.display_text("\n".join(plan_lines(plans)))
    if yes:
        return True
    return typer.confirm("Carry out this repair?", default=False)
