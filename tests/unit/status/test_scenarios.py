"""Whole-snapshot scenarios: rollup, tiers, ranking and active operations together."""

from __future__ import annotations

from appliance_cli.releases import load_release
from appliance_cli.status.classify import classify
from appliance_cli.status.model import StatusDocument

from .builders import (
    BOOTSTRAP_JOB,
    IMAGES,
    Cluster,
    component_pod,
    component_workload,
    event,
    healthy_cluster,
    helm_release,
    image_pull_backoff,
    kustomization,
    not_found_message,
    running,
    terminated,
    waiting,
)
from .test_rules import bootstrap_failed, db_subpath, kube_down, worker_tag_missing

RELEASE = load_release("1.0-rc5")


def run(cl: Cluster) -> StatusDocument:
    return classify(cl.snapshot(), release=RELEASE)


def core_not_installed_yet(cl: Cluster) -> None:
    """alga-core's HelmRelease is installing: no bootstrap Job yet, no seed users, no login answer."""
    cl.remove("Job", BOOTSTRAP_JOB)
    cl.put(
        helm_release(
            "alga-core",
            ready="Unknown",
            reason="Progressing",
            message="Running 'install' action with timeout of 10m0s",
            reconciling=True,
        )
    )
    cl.put(
        kustomization(
            "alga-core", ready="Unknown", reason="Progressing", message="Reconciliation in progress"
        )
    )
    cl.put(
        kustomization(
            "alga-background",
            ready="False",
            reason="DependencyNotReady",
            message="dependency 'flux-system/alga-core' is not ready",
        )
    )
    cl.probes = {
        "login": {
            "url": "http://192.168.64.8:3000",
            "statusCode": None,
            "location": None,
            "error": "[Errno 111] Connection refused",
        },
        "seedUsers": {"count": None, "error": "database not ready", "source": "exec"},
    }


def test_healthy_snapshot_is_fully_healthy() -> None:
    doc = run(healthy_cluster())
    assert doc.rollup.state == "fully_healthy"
    assert all(
        getattr(doc.tiers, t).ready
        for t in ("platform", "core", "bootstrap", "login", "background", "full_health")
    )
    assert [c.name for c in doc.components][:2] == ["appliance-status", "db"]
    assert all(c.status == "healthy" for c in doc.components)
    assert doc.urls.login_url == "http://192.168.64.8:3000"
    assert doc.release.selected_release_version == "1.0-rc5"
    assert doc.release.git_revision and doc.release.git_revision.startswith("release/1.0-rc5@sha1:")


def test_missing_background_tag_is_ready_with_background_issues() -> None:
    cl = healthy_cluster()
    worker_tag_missing(cl)
    doc = run(cl)
    assert doc.rollup.state == "ready_with_background_issues"
    assert doc.rollup.message == "Alga is ready to log in. Some background services need attention."
    assert doc.rollup.next_action == "Log in to Alga, then review background service issues."
    top = doc.top_blockers[0]
    assert (top.code, top.component, top.severity, top.login_blocking) == (
        "image_tag_not_found",
        "workflow-worker",
        "background",
        False,
    )
    assert top.reason == f"Image tag not found: {IMAGES['workflow-worker']}"
    assert doc.tiers.login.ready and not doc.tiers.background.ready
    assert doc.tiers.background.status == "degraded"
    assert not doc.tiers.full_health.ready


def test_core_image_still_pulling_is_installing_with_an_active_operation() -> None:
    cl = healthy_cluster()
    core_not_installed_yet(cl)
    image = IMAGES["alga-core"]
    p = component_pod("alga-core", [waiting("web", image, "ContainerCreating")])
    cl.put(p, component_workload("alga-core", ready=False))
    cl.put(
        event(
            p,
            "Scheduled",
            "Successfully assigned msp/x to talos-appliance",
            type="Normal",
            minutes_ago=7,
            source="default-scheduler",
        )
    )
    cl.put(event(p, "Pulling", f'Pulling image "{image}"', type="Normal", minutes_ago=412 / 60))
    doc = run(cl)
    assert doc.rollup.state == "installing"
    assert doc.top_blockers == []
    pull = next(o for o in doc.active_operations if o.operation == "pulling_image")
    assert (pull.component, pull.image, pull.elapsed_seconds, pull.estimated_size) == (
        "alga-core",
        image,
        412,
        "~1.8 GB",
    )
    assert "~1.8 GB" in doc.rollup.next_action
    assert not doc.tiers.login.ready and doc.tiers.login.status == "progressing"


def test_core_image_tag_missing_requires_action() -> None:
    cl = healthy_cluster()
    core_not_installed_yet(cl)
    image_pull_backoff(cl, "alga-core", not_found_message(IMAGES["alga-core"]))
    doc = run(cl)
    assert doc.rollup.state == "failed_action_required"
    top = doc.top_blockers[0]
    assert (top.code, top.component, top.login_blocking, top.severity) == (
        "image_tag_not_found",
        "alga-core",
        True,
        "critical",
    )
    assert doc.rollup.next_action == top.next_action
    assert not any(o.operation == "pulling_image" for o in doc.active_operations)


def test_db_subpath_failure_ranks_before_the_helm_timeout_it_causes() -> None:
    cl = healthy_cluster()
    core_not_installed_yet(cl)
    db_subpath(cl)
    cl.put(
        helm_release(
            "alga-core",
            ready="False",
            reason="InstallFailed",
            message="Helm install failed for release alga-system/alga-core with chart "
            "alga-core@0.1.0: context deadline exceeded",
            stalled={"reason": "RetriesExceeded", "message": "Failed to install after 1 attempt(s)"},
        )
    )
    doc = run(cl)
    assert doc.rollup.state == "failed_action_required"
    found = [(b.code, b.component) for b in doc.top_blockers]
    assert found[0] == ("storage_pvc_subpath_failed", "db")
    assert ("helmrelease_failed", "alga-core") in found[1:]
    hr = next(b for b in doc.top_blockers if b.code == "helmrelease_failed")
    assert "context deadline exceeded" in hr.reason and "storage_pvc_subpath_failed (db)" in hr.reason
    assert doc.tiers.core.status == "failed"


def test_bootstrap_job_failure_blocks_login_with_its_log_tail() -> None:
    cl = healthy_cluster()
    bootstrap_failed(cl)
    cl.probes["login"] = {
        "url": "http://192.168.64.8:3000",
        "statusCode": 500,
        "location": None,
        "error": None,
    }
    doc = run(cl)
    assert doc.rollup.state == "failed_action_required"
    assert doc.top_blockers[0].code == "bootstrap_job_failed"
    assert (
        doc.top_blockers[0]
        .evidence[-1]
        .message.endswith('error: password authentication failed for user "app_user"')
    )


def test_kubernetes_unreachable_with_talos_reachable() -> None:
    cl = healthy_cluster()
    kube_down(cl)
    doc = run(cl)
    assert doc.rollup.state == "failed_action_required"
    assert [b.code for b in doc.top_blockers] == ["kubernetes_api_unreachable"]
    assert "talosctl -n 192.168.64.8" in doc.top_blockers[0].next_action
    assert doc.tiers.platform.status == "failed"
    assert doc.tiers.login.status == "unknown"
    assert all(c.status == "unknown" for c in doc.components)


def test_stale_warnings_about_objects_healthy_now_give_no_blocker() -> None:
    cl = healthy_cluster()
    core = component_pod("alga-core")
    db = component_pod("db")
    email = component_pod(
        "email-service",
        [
            running(
                "email-service",
                IMAGES["email-service"],
                restarts=2,
                started=40,
                last=terminated("OOMKilled", 137, minutes_ago=41),
            )
        ],
    )
    cl.put(email)
    cl.put(
        event(core, "Failed", not_found_message(IMAGES["alga-core"]), minutes_ago=50),
        event(
            core, "BackOff", f'Back-off pulling image "{IMAGES["alga-core"]}"', type="Normal", minutes_ago=49
        ),
        event(
            db,
            "Failed",
            'Error: failed to create subPath directory for volumeMount "db-data" of container "postgres"',
            minutes_ago=45,
        ),
        event(
            email,
            "BackOff",
            "Back-off restarting failed container email-service in pod email-service",
            minutes_ago=41,
        ),
        event(
            core,
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            minutes_ago=35,
        ),
    )
    doc = run(cl)
    assert doc.top_blockers == []
    assert doc.rollup.state == "fully_healthy"
    assert doc.recent_events[0].reason == "Unhealthy", "recent events are newest first"
    assert len(doc.recent_events) <= 20


def test_release_published_in_the_cluster_supplies_images_sizes_and_versions() -> None:
    """Without a release manifest at hand, the release-selection ConfigMap bootstrap applied is used."""
    from appliance_cli import fluxlayout
    from appliance_cli.status.index import RELEASE_SELECTION_CONFIGMAP

    assert RELEASE_SELECTION_CONFIGMAP == fluxlayout.RELEASE_SELECTION_CONFIGMAP
    cl = healthy_cluster()
    cl.site["releaseVersion"] = None
    cl.put(fluxlayout.release_selection_configmap(RELEASE, app_url="http://192.168.64.8:3000"))
    cl.put(component_workload("workflow-worker", ready=True))
    cl.get("Deployment", "workflow-worker")["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "ghcr.io/nine-minds/workflow-worker:0badc0de"
    )
    image = IMAGES["alga-core"]
    core_not_installed_yet(cl)
    p = component_pod("alga-core", [waiting("web", image, "ContainerCreating")])
    cl.put(p, component_workload("alga-core", ready=False))
    cl.put(event(p, "Pulling", f'Pulling image "{image}"', type="Normal", minutes_ago=1))
    doc = classify(cl.snapshot())
    assert (doc.release.selected_release_version, doc.release.app_version, doc.release.channel) == (
        "1.0-rc5",
        "1.0-rc5",
        "candidate",
    )
    drift = next(b for b in doc.top_blockers if b.code == "release_image_drift")
    assert drift.component == "workflow-worker" and "61e4a00e" in drift.reason
    assert (
        next(o for o in doc.active_operations if o.operation == "pulling_image").estimated_size == "~1.8 GB"
    )


def test_advisory_issue_with_login_ready_says_login_is_not_affected() -> None:
    from .test_rules import talos_down

    cl = healthy_cluster()
    talos_down(cl)
    doc = run(cl)
    assert doc.rollup.state == "ready_with_background_issues"
    assert "login is not affected" in doc.rollup.message
    assert doc.rollup.next_action.startswith("Log in to Alga, then review: Talos API unreachable")


def test_flux_source_lost_after_install_does_not_stop_login() -> None:
    from .test_rules import dns_refused

    cl = healthy_cluster()
    dns_refused(cl)
    doc = run(cl)
    assert not doc.tiers.platform.ready and doc.tiers.login.ready
    assert doc.rollup.state == "ready_with_background_issues"
    assert doc.top_blockers[0].code == "dns_resolution_failed"
    assert not any(b.login_blocking for b in doc.top_blockers), "login works: nothing blocks it"
    assert doc.top_blockers[0].severity == "warning"
