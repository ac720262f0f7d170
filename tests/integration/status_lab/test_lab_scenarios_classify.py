"""Each lab scenario, collected live over HTTP and classified, reaches the state its name promises.

This ties the simulator's objects and wordings to the classifier's rules: a scenario whose
signals the rules do not recognise fails here, with the last status document seen.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from appliance_lab.testing import LabHandle

from appliance_cli.status.live import collect_status
from appliance_cli.status.model import StatusDocument

Check = Callable[[StatusDocument], bool]


def _top(doc: StatusDocument) -> tuple[str, str] | None:
    return (doc.top_blockers[0].code, doc.top_blockers[0].component) if doc.top_blockers else None


def _summary(doc: StatusDocument | None) -> str:
    if doc is None:
        return "no document"
    return f"{doc.rollup.state} {[(b.code, b.component) for b in doc.top_blockers]} " + str(
        [(o.component, o.operation) for o in doc.active_operations]
    )


def _wait(lab: LabHandle, check: Check, what: str, timeout: float = 60.0) -> StatusDocument:
    seen: list[StatusDocument] = []

    def probe() -> StatusDocument | None:
        doc = collect_status("lab")
        seen.append(doc)
        return doc if check(doc) else None

    try:
        result: StatusDocument = lab.wait_for(probe, timeout=timeout, interval=0.3, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status: {_summary(seen[-1] if seen else None)}") from None
    return result


CASES: list[tuple[str, str, Check]] = [
    ("healthy", "fully healthy", lambda d: d.rollup.state == "fully_healthy"),
    (
        "missing-background-tag",
        "login ready, missing workflow-worker tag on top",
        lambda d: (
            d.rollup.state == "ready_with_background_issues"
            and _top(d) == ("image_tag_not_found", "workflow-worker")
        ),
    ),
    (
        "postgres-subpath",
        "db subPath failure on top",
        lambda d: (
            d.rollup.state == "failed_action_required" and _top(d) == ("storage_pvc_subpath_failed", "db")
        ),
    ),
    (
        "dns-refused",
        "DNS failure on top",
        lambda d: d.rollup.state == "failed_action_required" and _top(d) == ("dns_resolution_failed", "dns"),
    ),
    (
        "temporal-autosetup",
        "temporal schema on top, login ready",
        lambda d: (
            d.rollup.state == "ready_with_background_issues"
            and _top(d) == ("temporal_schema_uninitialized", "temporal")
        ),
    ),
    (
        "bootstrap-job-fails",
        "bootstrap Job failure on top",
        lambda d: (
            d.rollup.state == "failed_action_required" and _top(d) == ("bootstrap_job_failed", "alga-core")
        ),
    ),
]


@pytest.mark.parametrize(("scenario", "what", "check"), CASES, ids=[c[0] for c in CASES])
def test_lab_scenario_classifies_as_named(
    scenario: str, what: str, check: Check, request: pytest.FixtureRequest
) -> None:
    request.node.add_marker(pytest.mark.lab(scenario=scenario, speed=60))
    lab: LabHandle = request.getfixturevalue("lab")
    lab.apply_bootstrap_objects()
    _wait(lab, check, what)


@pytest.mark.lab(scenario="slow-core-pull", speed=20)
def test_slow_core_pull_is_installing_with_the_pull_as_active_operation(lab: LabHandle) -> None:
    lab.apply_bootstrap_objects()
    doc = _wait(
        lab,
        lambda d: (
            d.rollup.state == "installing"
            and any(
                o.operation == "pulling_image" and o.component == "alga-core" for o in d.active_operations
            )
        ),
        "alga-core pull in progress",
    )
    assert not [b for b in doc.top_blockers if b.login_blocking]
    pull = next(o for o in doc.active_operations if o.operation == "pulling_image")
    assert pull.estimated_size == "~1.8 GB"
