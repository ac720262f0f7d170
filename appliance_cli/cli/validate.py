"""`appliance validate`: check the Flux layout, catalog and release manifests before tagging."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from appliance_cli import console
from appliance_cli.errors import ActionRequired
from appliance_cli.paths import REPO_ROOT


def validate(
    *,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON document instead of text.")
    ] = False,
    schemas_dir: Annotated[
        Path | None,
        typer.Option(
            "--schemas-dir",
            help="Directory holding flux/*.yaml CRDs (default: $ALGA_APPLIANCE_SCHEMAS_DIR, "
            "else <repo>/schemas). Missing → exit 2.",
        ),
    ] = None,
    repo_root: Annotated[
        Path,
        typer.Option("--repo-root", help="Repository to check (default: the checkout this tool runs from)."),
    ] = REPO_ROOT,
) -> None:
    """Validate the Flux layout, the component catalog and every release manifest.

    Exit 0 when every check passes, 1 with findings, 2 on bad input (e.g. no schemas).
    """
    from appliance_cli.validate import validate_repository

    report = validate_repository(repo_root=repo_root.resolve(), schemas_dir=schemas_dir)
    if json_output:
        console.display_text(report.model_dump_json(by_alias=True, indent=2))
    else:
        console.display_info(f"repository {report.repo_root} · schemas {report.schemas_dir}")
        console.display_info(f"renderer: {report.renderer}")
        for note in report.notes:
            console.display_warning(note)
        for check in report.checks:
            if check.ok:
                console.display_success(check.name)
            for finding in check.findings:
                console.display_error(f"{check.name}: {finding.subject}: {finding.message}")
        if report.ok:
            console.display_success("all checks passed")
    if not report.ok:
        raise ActionRequired(
            f"validation failed: {len(report.findings)} finding(s)",
            hint="fix the findings above before tagging a release",
        )
