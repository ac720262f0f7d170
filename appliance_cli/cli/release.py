"""`appliance release check`: does every image a release references exist in its registry?"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from appliance_cli import console

if TYPE_CHECKING:
    from appliance_cli.status.image_preflight import ComponentImage, ReleaseCheck

EXIT_ALL_PRESENT = 0
EXIT_MISSING = 1
EXIT_UNVERIFIED = 3
_EXIT_BY_VERDICT = {"all_present": EXIT_ALL_PRESENT, "missing": EXIT_MISSING, "unverified": EXIT_UNVERIFIED}

app = typer.Typer(help="Check release manifests before tagging.", no_args_is_help=True)


_HELP = "\n\n".join(
    [
        "Ask the registry for the manifest of every image tag the release references.",
        "One HEAD request per image, concurrently, following the registry token flow: anonymous, "
        "or with credentials from ALGA_REGISTRY_AUTH_<HOST>=user:token (e.g. ALGA_REGISTRY_AUTH_GHCR_IO) "
        "or the Docker config.json named by ALGA_REGISTRY_AUTH_FILE. Credentials are never printed. "
        "Registries listed in ALGA_REGISTRY_INSECURE=host:port,... are spoken to over plain HTTP; "
        "ALGA_REGISTRY_MIRRORS=ghcr.io=host:port,... sends a registry's requests to a mirror.",
        "Exit codes: 0 every image present; 1 at least one image definitively missing; "
        "2 bad release or input; 3 nothing is known to be missing but some image could not be verified "
        "(unauthorized, unreachable, unexpected answer): run it again where the registry is reachable.",
    ]
)


@app.command("check", help=_HELP)
def check(
    version: Annotated[str, typer.Argument(help="Release version: releases/<VERSION>/release.json.")],
    *,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of the table (for pipelines).")
    ] = False,
    include_installer: Annotated[
        bool,
        typer.Option(
            "--include-installer",
            help="Also check the Talos installer image (reported separately). Default: release images only.",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.5,
            help="Bound in seconds for the whole check, retries included; images not answered by then "
            "are 'unreachable'.",
        ),
    ] = 30.0,
) -> None:
    """Check every image tag of a release against its registry (help: ``_HELP``)."""
    from appliance_cli.errors import ReleaseError
    from appliance_cli.releases import load_release
    from appliance_cli.status.image_preflight import check_release

    try:
        release = load_release(version)
    except ReleaseError as exc:
        message = exc.message.removeprefix(f"{exc.param}: ") if exc.param else exc.message
        raise ReleaseError(message, param="VERSION", hint=exc.hint) from None
    result = check_release(release, include_installer=include_installer, timeout=timeout)
    if json_output:
        console.display_text(json.dumps(_document(result), indent=2))
    else:
        _render(result)
    raise typer.Exit(_EXIT_BY_VERDICT[result.verdict])


def _row(ci: ComponentImage) -> dict[str, object]:
    r = ci.result
    return {
        "key": ci.key,
        "component": ci.component,
        "tier": ci.tier,
        "image": r.image,
        "outcome": r.outcome,
        "digest": r.digest,
        "mediaType": r.media_type,
        "error": r.error,
        "attempts": r.attempts,
        "seconds": r.seconds,
    }


def _document(result: ReleaseCheck) -> dict[str, object]:
    return {
        "releaseVersion": result.release_version,
        "verdict": result.verdict,
        "exitCode": _EXIT_BY_VERDICT[result.verdict],
        "seconds": result.seconds,
        "images": [_row(ci) for ci in result.images],
        "installer": _row(result.installer) if result.installer else None,
        "findings": [f.model_dump(by_alias=True) for f in result.findings],
    }


_STYLE = {"present": "green", "missing": "bold red", "unauthorized": "yellow", "unreachable": "yellow"}


def _render(result: ReleaseCheck) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Release {escape(result.release_version)} images", title_justify="left")
    table.add_column("Component", no_wrap=True)
    table.add_column("Image", overflow="fold")
    table.add_column("Outcome", no_wrap=True)
    table.add_column("Digest / error", overflow="fold", min_width=19, max_width=30)
    for ci in result.all_results():
        r = ci.result
        style = _STYLE.get(r.outcome, "red")
        detail = _short_digest(r.digest) if r.outcome == "present" else (r.error or "")
        table.add_row(
            escape(ci.component), escape(r.image), f"[{style}]{r.outcome}[/{style}]", escape(detail)
        )
    console.display_renderable(table)
    # Missing images get their own line (what it means, what to do); unverified ones are in the table.
    for finding in result.findings:
        if finding.outcome != "missing":
            continue
        text = f"{finding.message} Next: {finding.next_action}"
        if finding.blocking:
            console.display_error(text)
        else:
            console.display_warning(text)
    counts: dict[str, int] = {}
    for ci in result.all_results():
        counts[ci.result.outcome] = counts.get(ci.result.outcome, 0) + 1
    total = sum(counts.values())
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    unverified = total - counts.get("present", 0) - counts.get("missing", 0)
    if result.verdict == "all_present":
        console.display_success(f"All {total} images present ({result.seconds:.2f} s).")
    elif result.verdict == "missing":
        console.display_error(f"{counts.get('missing', 0)} of {total} images missing ({summary}).")
    else:
        console.display_warning(
            f"Could not decide: nothing is known to be missing, but {unverified} of {total} images "
            f"could not be verified ({summary}). Next: check registry access or credentials "
            "(ALGA_REGISTRY_AUTH_<HOST>) and run the check again."
        )


def _short_digest(digest: str | None) -> str:
    if not digest:
        return "(no digest)"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest
