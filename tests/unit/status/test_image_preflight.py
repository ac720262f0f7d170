"""Classification of registry results through the catalog (pure, no registry)."""

from __future__ import annotations

import pytest

from appliance_cli.adapters.registry import ImageCheckResult
from appliance_cli.status.image_preflight import INSTALLER_KEY, classify_release_check
from appliance_cli.status.model import ImageCheck, ReleaseInfo

KEYS = ["appliance-status", "alga-core", "email-service", "workflow-worker", "temporal-worker"]


def result(key: str, outcome: str = "present", error: str | None = None) -> ImageCheckResult:
    return ImageCheckResult.model_validate(
        {
            "key": key,
            "image": f"ghcr.io/nine-minds/{key}:979e2079",
            "outcome": outcome,
            "digest": "sha256:" + "ab" * 32 if outcome == "present" else None,
            "error": error,
            "checkedAt": "2026-04-30T02:08:10Z",
        }
    )


def check(**outcomes: str) -> list[ImageCheckResult]:
    return [result(k, outcomes.get(k.replace("-", "_"), "present")) for k in KEYS]


def test_all_present_has_no_findings() -> None:
    rc = classify_release_check("1.0-rc5", check())
    assert rc.verdict == "all_present"
    assert rc.findings == [] and rc.blocking == [] and rc.warnings == []


def test_missing_background_image_is_a_warning_that_names_it_and_keeps_login() -> None:
    rc = classify_release_check("1.0-rc5", check(workflow_worker="missing"))
    assert rc.verdict == "missing"
    assert rc.blocking == []
    [warning] = rc.warnings
    assert warning.component == "workflow-worker"
    assert warning.tier == "background"
    assert "Image tag not found: ghcr.io/nine-minds/workflow-worker:979e2079" in warning.message
    assert "The install continues and login is not affected" in warning.message
    assert warning.next_action == "Publish the missing image tag or update the release manifest."
    [blocker] = rc.blockers()
    assert (blocker.code, blocker.severity, blocker.login_blocking) == (
        "image_tag_not_found",
        "background",
        False,
    )
    assert blocker.reason == "Image tag not found: ghcr.io/nine-minds/workflow-worker:979e2079"


@pytest.mark.parametrize(
    ("field", "component", "tier"),
    [("alga_core", "alga-core", "login"), ("appliance_status", "appliance-status", "platform")],
)
def test_missing_login_critical_image_blocks_bootstrap(field: str, component: str, tier: str) -> None:
    rc = classify_release_check("1.0-rc5", check(**{field: "missing"}))
    [finding] = rc.blocking
    assert (finding.component, finding.tier) == (component, tier)
    assert "Bootstrap stops before applying anything" in finding.message
    assert "--skip-image-tag-validation" in finding.next_action
    assert rc.blockers()[0].login_blocking is True


@pytest.mark.parametrize("outcome", ["unreachable", "unauthorized", "error"])
def test_unverified_core_image_is_a_warning_never_blocking(outcome: str) -> None:
    rc = classify_release_check("1.0-rc5", check(alga_core=outcome))
    assert rc.verdict == "unverified"
    assert rc.blocking == []
    [warning] = rc.warnings
    assert warning.message.startswith(
        "Could not verify ghcr.io/nine-minds/alga-core:979e2079 (alga-core, login tier)"
    )
    assert rc.blockers() == []


def test_missing_outranks_unverified_and_blocking_findings_come_first() -> None:
    rc = classify_release_check(
        "1.0-rc5", check(email_service="unreachable", workflow_worker="missing", alga_core="missing")
    )
    assert rc.verdict == "missing"
    assert [(f.component, f.blocking) for f in rc.findings] == [
        ("alga-core", True),
        ("email-service", False),
        ("workflow-worker", False),
    ]


def test_results_become_status_document_image_checks_with_components() -> None:
    rc = classify_release_check("1.0-rc5", check(workflow_worker="missing"))
    checks = rc.image_checks
    assert all(isinstance(c, ImageCheck) for c in checks)
    assert [c.component for c in checks] == KEYS
    info = ReleaseInfo.model_validate({"selectedReleaseVersion": "1.0-rc5", "imageChecks": checks})
    dumped = info.model_dump(by_alias=True)["imageChecks"][3]
    assert dumped["outcome"] == "missing" and dumped["checkedAt"] == "2026-04-30T02:08:10Z"


def test_installer_is_reported_separately_and_never_blocks_phase_3() -> None:
    rc = classify_release_check("1.0-rc5", [*check(), result(INSTALLER_KEY, "missing")])
    assert [c.component for c in rc.image_checks] == KEYS
    assert rc.installer is not None and rc.installer.result.outcome == "missing"
    assert rc.installer_check is not None and rc.installer_check.component == INSTALLER_KEY
    assert rc.verdict == "missing"
    [finding] = rc.findings
    assert not finding.blocking and "Talos installer image not found" in finding.message
    assert rc.blockers() == []


def test_image_outside_the_catalog_is_treated_as_background() -> None:
    rc = classify_release_check("1.0-rc5", [*check(), result("extra-tool", "missing")])
    [warning] = rc.warnings
    assert (warning.component, warning.tier, warning.blocking) == ("extra-tool", "background", False)


def test_journal_entry_is_json_ready() -> None:
    import json

    rc = classify_release_check("1.0-rc5", check(workflow_worker="missing"))
    entry = json.loads(json.dumps(rc.journal_entry()))
    assert entry["verdict"] == "missing"
    assert len(entry["imageChecks"]) == 5
    action = "Publish the missing image tag or update the release manifest."
    assert entry["findings"][0]["nextAction"] == action
