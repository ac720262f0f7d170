"""Remediation as data next to each rule, and what the status document says about repairing."""

from __future__ import annotations

import copy

import pytest

from appliance_cli import fluxlayout
from appliance_cli.status.remedy import FIX_FOR_CODE, fix_applied, repair_command, repair_hint
from appliance_cli.status.rules import registered
from appliance_cli.status.rules.registry import NO_REPAIR, repair_for

# The actions the repair package implements; a rule naming anything else is a typo.
KNOWN_ACTIONS = {
    "restart_pull",
    "rerun_bootstrap",
    "retry_helmrelease",
    "reconcile_kustomization",
    "reapply_fix",
    "show_crash",
}


def test_every_rule_declares_a_repair_or_says_why_not() -> None:
    for r in registered():
        repair = r.spec.repair
        assert repair.summary, r.spec.code
        if repair.action is None:
            assert repair.summary.startswith("No automatic repair"), r.spec.code
        else:
            assert repair.action in KNOWN_ACTIONS, r.spec.code
            assert repair.touches or not repair.mutates, r.spec.code


@pytest.mark.parametrize(
    ("code", "action"),
    [
        ("image_pull_interrupted", "restart_pull"),
        ("bootstrap_job_failed", "rerun_bootstrap"),
        ("seed_data_missing", "rerun_bootstrap"),
        ("helmrelease_failed", "retry_helmrelease"),
        ("kustomization_failed", "reconcile_kustomization"),
        ("service_link_collision", "reapply_fix"),
        ("temporal_schema_uninitialized", "reapply_fix"),
        ("storage_pvc_subpath_failed", "reapply_fix"),
        ("crash_loop", "show_crash"),
        ("oom_killed", "show_crash"),
        ("image_tag_not_found", None),
        ("dns_resolution_failed", None),
    ],
)
def test_the_issue_actions_are_declared_on_their_rules(code: str, action: str | None) -> None:
    assert repair_for(code).action == action


def test_a_code_no_rule_knows_has_no_repair() -> None:
    assert repair_for("node_pressure_from_the_future") is NO_REPAIR
    hint = repair_hint("node_pressure_from_the_future", site_id="lab")
    assert not hint.available and hint.command is None and hint.summary


def test_hint_gives_the_exact_command() -> None:
    hint = repair_hint("image_pull_interrupted", site_id="site a")
    assert hint.available
    assert hint.command == "appliance repair --site-id 'site a' --code image_pull_interrupted"
    assert repair_command("x", None) == "appliance repair --code x"


def test_a_symptom_waits_for_its_cause() -> None:
    assert not repair_hint("helmrelease_failed", site_id="lab", caused=True).available
    assert repair_hint("helmrelease_failed", site_id="lab", caused=False).available


def test_show_only_actions_are_not_offered_as_fixes() -> None:
    hint = repair_hint("oom_killed", site_id="lab")
    assert not hint.available and hint.command == "appliance repair --site-id lab --code oom_killed"


def _layout_hr(name: str) -> dict[str, object]:
    return next(hr for hr in fluxlayout.helm_releases() if hr["metadata"]["name"] == name)


@pytest.mark.parametrize(
    ("code", "release", "workload"),
    [
        ("temporal_schema_uninitialized", "temporal", "temporal"),
        ("service_link_collision", "temporal", "temporal-ui"),
        ("storage_pvc_subpath_failed", "alga-core", "db"),
    ],
)
def test_fix_applied_reads_the_postrenderers(code: str, release: str, workload: str) -> None:
    hr = _layout_hr(release)
    fix = FIX_FOR_CODE[code]
    assert fix_applied(hr, fix, workload)
    old = copy.deepcopy(hr)
    old["spec"].pop("postRenderers")  # type: ignore[union-attr]
    assert not fix_applied(old, fix, workload)
    assert not repair_hint(code, site_id="lab", fix_in_place=True).available
    assert repair_hint(code, site_id="lab", fix_in_place=False).available


@pytest.mark.parametrize(
    "message",
    [
        'Failed to pull image "r.io/x:1": rpc error: code = Canceled desc = failed to pull and unpack image '
        '"r.io/x:1": failed to resolve reference "r.io/x:1": unexpected status from HEAD request to '
        "https://r.io/v2/x/manifests/1: 503 Service Unavailable",
        "failed to copy: httpReadSeeker: failed open: unexpected status code "
        "https://r.io/v2/x/blobs/sha256:ab: 502 Bad Gateway",
    ],
)
def test_a_transient_registry_error_is_an_interrupted_pull_repair_retries(message: str) -> None:
    from appliance_cli.status.rules.signals import classify_pull_error

    assert classify_pull_error(message) == "interrupted"
    assert repair_for("image_pull_interrupted").action == "restart_pull"


def test_explain_shows_the_repair() -> None:
    from tests.cli_runner import invoke

    r = invoke(["explain", "bootstrap_job_failed"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "action: rerun_bootstrap" in text and "touches: Job, Pod, HelmRelease" in text
    assert "run: appliance repair --code bootstrap_job_failed" in text
    r = invoke(["explain", "image_tag_not_found"])
    assert "No automatic repair" in " ".join(r.stdout.split())


def test_the_status_document_says_which_blocker_repair_can_fix() -> None:
    from pathlib import Path

    from appliance_cli.status.classify import classify
    from appliance_cli.status.snapshot import load_snapshot

    snapshots = Path(__file__).resolve().parents[2] / "fixtures" / "snapshots"
    doc = classify(load_snapshot(snapshots / "bootstrap-job-failed.json"))
    hints = {b.code: b.repair for b in doc.top_blockers}
    job = hints["bootstrap_job_failed"]
    assert job is not None and job.available
    assert job.command == f"appliance repair --site-id {doc.site_id} --code bootstrap_job_failed"
    # the release and its tier failed because of the Job: repair the cause first
    for symptom in ("helmrelease_failed", "kustomization_failed"):
        hint = hints[symptom]
        assert hint is not None and not hint.available and hint.command is None
        assert hint.summary.startswith("Repair the specific cause listed above first")
    as_json = doc.model_dump(by_alias=True)
    assert as_json["topBlockers"][0]["repair"]["available"] is True
