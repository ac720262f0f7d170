"""`appliance repair` against the lab, end to end over real HTTP.

For each repair scenario: status shows the blocker and says repair can fix it, `repair
--dry-run` changes nothing (the lab store compared before and after), `repair --yes` fixes
it (exit 0, each repair verified "fixed"), and status ends fully healthy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from appliance_lab.store import RESOURCE_TYPES
from appliance_lab.testing import LabHandle

from appliance_cli.status.live import collect_status
from appliance_cli.status.model import StatusDocument
from tests.cli_runner import invoke

SPEED = 40.0
Check = Callable[[StatusDocument], bool]


def _summary(doc: StatusDocument | None) -> str:
    if doc is None:
        return "no document"
    return f"{doc.rollup.state} " + str(
        [(b.code, b.component, b.repair.available if b.repair else None) for b in doc.top_blockers]
    )


def _wait(lab: LabHandle, check: Check, what: str, timeout: float = 90.0) -> StatusDocument:
    seen: list[StatusDocument] = []

    def probe() -> StatusDocument | None:
        doc = collect_status("lab")
        seen.append(doc)
        return doc if check(doc) else None

    try:
        result: StatusDocument = lab.wait_for(probe, timeout=timeout, interval=0.5, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status: {_summary(seen[-1] if seen else None)}") from None
    return result


def _repairable(*codes: str) -> Check:
    def check(doc: StatusDocument) -> bool:
        ready = {b.code for b in doc.top_blockers if b.repair is not None and b.repair.available}
        return set(codes) <= ready

    return check


def _identity(lab: LabHandle) -> dict[str, Any]:
    """Every object but events, as (uid, generation, annotations, spec): what repair could change."""
    out: dict[str, Any] = {}
    for rt in RESOURCE_TYPES:
        if rt.kind == "Event":
            continue
        for obj in lab.store.list(rt)[0]:
            meta = obj["metadata"]
            key = f"{rt.key}/{meta.get('namespace', '')}/{meta['name']}"
            out[key] = json.dumps(
                [meta.get("uid"), meta.get("generation"), meta.get("annotations"), obj.get("spec")],
                sort_keys=True,
                default=str,
            )
    return out


def _quiet(lab: LabHandle) -> dict[str, Any]:
    """The store's identity once the controllers stopped changing it (three equal looks)."""
    looks: list[dict[str, Any]] = []

    def settled() -> dict[str, Any] | None:
        looks.append(_identity(lab))
        return looks[-1] if len(looks) >= 3 and looks[-1] == looks[-2] == looks[-3] else None

    result: dict[str, Any] = lab.wait_for(settled, timeout=60, interval=0.4, what="a quiet lab")
    return result


def _dry_run_changes_nothing(lab: LabHandle, needle: str) -> None:
    before = _quiet(lab)
    r = invoke(["repair", "--site-id", "lab", "--dry-run"])
    assert r.exit_code == 0, r.output
    assert needle in r.stdout and "nothing was changed" in r.output.lower()
    after = _identity(lab)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"a dry run changed: {changed}"
    assert not (lab.site_dir / "operation.lock").exists()


def _repair_and_end_healthy(lab: LabHandle, *fixed: str) -> str:
    """Repair; every code in ``fixed`` must be reported fixed (one of them, when the codes are
    alternatives separated by "|", e.g. two blockers one repair fixes at once)."""
    r = invoke(["repair", "--site-id", "lab", "--yes", "--progress", "plain", "--verify-timeout", "90"])
    assert r.exit_code == 0, r.output[-4000:]
    for codes in fixed:
        assert any(
            f"{c} (" in line and ": fixed —" in line
            for c in codes.split("|")
            for line in r.stdout.splitlines()
        ), r.output[-4000:]
    _wait(lab, lambda d: d.rollup.state == "fully_healthy", "fully healthy after repair")
    return r.stdout


@pytest.mark.lab(scenario="interrupted-pull", speed=SPEED)
def test_interrupted_pull_is_repaired_by_deleting_its_pod(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    doc = _wait(lab, _repairable("image_pull_interrupted"), "the interrupted pull")
    blocker = next(b for b in doc.top_blockers if b.code == "image_pull_interrupted")
    assert blocker.component == "email-service"
    assert blocker.repair is not None
    assert blocker.repair.command == "appliance repair --site-id lab --code image_pull_interrupted"
    old = {
        p["metadata"]["uid"] for p in lab.list_objects("v1/pods", "msp") if "email" in p["metadata"]["name"]
    }
    _dry_run_changes_nothing(lab, "image_pull_interrupted")
    _repair_and_end_healthy(lab, "image_pull_interrupted")
    new = {
        p["metadata"]["uid"] for p in lab.list_objects("v1/pods", "msp") if "email" in p["metadata"]["name"]
    }
    assert new and not (new & old)  # the pod was replaced by its ReplicaSet


@pytest.mark.lab(scenario="bootstrap-job-fails-once", speed=20)
def test_failed_bootstrap_job_is_run_again(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    _wait(lab, _repairable("bootstrap_job_failed"), "the failed bootstrap Job", timeout=120)
    _dry_run_changes_nothing(lab, "bootstrap_job_failed")
    _repair_and_end_healthy(lab, "bootstrap_job_failed")
    hr = lab.get("helm.toolkit.fluxcd.io/v2/helmreleases", "alga-system", "alga-core")
    assert hr is not None
    ann = hr["metadata"]["annotations"]
    assert ann["reconcile.fluxcd.io/forceAt"] == ann["reconcile.fluxcd.io/requestedAt"]
    assert hr["status"]["lastHandledForceAt"] == ann["reconcile.fluxcd.io/forceAt"]


@pytest.mark.lab(scenario="helmrelease-stalled", speed=SPEED)
def test_stalled_helmrelease_is_reset_once_its_cause_is_gone(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    _wait(
        lab,
        _repairable("helmrelease_failed", "kustomization_failed"),
        "a failed email-service release with its pull finished",
        timeout=120,
    )
    _dry_run_changes_nothing(lab, "helmrelease_failed")
    _repair_and_end_healthy(lab, "helmrelease_failed")
    hr = lab.get("helm.toolkit.fluxcd.io/v2/helmreleases", "alga-system", "email-service")
    assert hr is not None
    ann = hr["metadata"]["annotations"]
    token = ann["reconcile.fluxcd.io/requestedAt"]
    assert ann["reconcile.fluxcd.io/resetAt"] == token and ann["reconcile.fluxcd.io/forceAt"] == token
    ks = lab.get("kustomize.toolkit.fluxcd.io/v1/kustomizations", "flux-system", "alga-background")
    assert ks is not None and ks["status"]["lastHandledReconcileAt"] == token


@pytest.mark.lab(scenario="pre-fix-install", speed=SPEED)
def test_install_before_the_durable_fixes_gets_them(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    _wait(
        lab,
        _repairable("temporal_schema_uninitialized", "service_link_collision"),
        "temporal crash-looping without its fixes",
        timeout=120,
    )
    # the crash loops' specific causes come and go between log reads: either names the repair
    _dry_run_changes_nothing(lab, "reapply_fix")
    _repair_and_end_healthy(lab, "temporal_schema_uninitialized|service_link_collision")
    hr = lab.get("helm.toolkit.fluxcd.io/v2/helmreleases", "alga-system", "temporal")
    assert hr is not None
    patches = [p for r in hr["spec"]["postRenderers"] for p in r["kustomize"]["patches"]]
    assert any("autosetup" in p["patch"] for p in patches)
    assert any("enableServiceLinks" in p["patch"] for p in patches)


@pytest.mark.lab(scenario="interrupted-pull", speed=SPEED)
def test_json_progress_gives_the_plan_events_and_the_report_as_json(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    _wait(lab, _repairable("image_pull_interrupted"), "the interrupted pull")
    r = invoke(
        ["repair", "--site-id", "lab", "--yes", "--code", "image_pull_interrupted", "--progress", "json"]
    )
    assert r.exit_code == 0, r.output[-3000:]
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    plan = next(x["plan"] for x in lines if "plan" in x)
    assert [c["kind"] for c in plan[0]["changes"]] == ["Pod"] and plan[0]["changes"][0]["verb"] == "delete"
    result = next(x["result"] for x in lines if "result" in x)
    assert result["ok"] is True
    assert [(x["code"], x["outcome"]) for x in result["results"]] == [("image_pull_interrupted", "fixed")]


# the quiet-store check before its dry run wants the wall clock's pace
@pytest.mark.lab(scenario="pre-fix-install-db", speed=SPEED, virtual=False)
def test_install_before_the_db_subpath_fix_gets_it_and_keeps_its_volume(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    _wait(lab, _repairable("storage_pvc_subpath_failed"), "db-0 stuck on its subPath", timeout=120)
    claim = lab.get("v1/persistentvolumeclaims", "msp", "db-data-db-0")
    assert claim is not None
    _dry_run_changes_nothing(lab, "reapply_fix")
    _repair_and_end_healthy(lab, "storage_pvc_subpath_failed")
    after = lab.get("v1/persistentvolumeclaims", "msp", "db-data-db-0")
    assert after is not None and after["metadata"]["uid"] == claim["metadata"]["uid"]
