"""Engine control flow over fakes at the adapter edge: order, skips, journal, resume,
dry run, interrupt, blockers ending waits."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from appliance_cli.bootstrap import engine
from appliance_cli.bootstrap.options import build_options
from appliance_cli.errors import ActionRequired, Interrupted, UsageError
from appliance_cli.site import Site
from tests.recording import RecordingReporter

from .fakes import FAKE_KUBECONFIG, Harness, site_files, status_doc

BASE: dict[str, Any] = {
    "bootstrap_mode": "fresh",
    "release_version": "1.0-rc5",
    "node_ip": "10.0.0.5",
    "site_id": "test-site",
    "hostname": "alga-node",
    "dns_servers": "1.1.1.1",
}


def run(h: Harness, **over: Any) -> tuple[engine.BootstrapResult, RecordingReporter, list[str]]:
    rep = RecordingReporter()
    said: list[str] = []
    opts = build_options(**{**BASE, **over})
    result = engine.run(opts, reporter=rep, announce=said.append, adapters=h.adapters())
    return result, rep, said


def phase_states(rep: RecordingReporter) -> list[tuple[int | None, str]]:
    return [
        (e.phase, e.state) for e in rep.events if e.details.get("scope") == "phase" and e.state != "start"
    ]


def test_fresh_run_goes_through_every_phase_in_order_and_exits_zero() -> None:
    h = Harness()
    result, rep, said = run(h)
    assert result.exit_code == 0
    assert phase_states(rep) == [(i, "done") for i in range(6)]
    assert h.talos.calls[:3] == ["maintenance_info", "gen_config /dev/sda", "apply_config"]
    assert "bootstrap_etcd" in h.talos.calls and "write_kubeconfig" in h.talos.calls
    assert h.flux.installs == 1
    token = Site.open("test-site").read("status-token")
    assert token and len(token) >= 40
    assert said.count(f"Appliance status UI: URL https://10.0.0.5:8080 Token {token}") == 1
    assert "Alga is ready to log in: http://10.0.0.5:3000" in said
    # the token appears only in that one announcement: not in progress events nor the journal
    assert all(token not in json.dumps(e.details, default=str) + e.step for e in rep.events)
    assert token not in Site.open("test-site").journal_file.read_text()


def test_secrets_and_site_files_are_written_0600() -> None:
    h = Harness()
    run(h)
    site = Site.open("test-site")
    for name in (
        "status-token",
        "status-tls.key",
        "status-tls.crt",
        "kubeconfig",
        "talosconfig",
        "controlplane.yaml",
        "journal.json",
    ):
        assert (site.root / name).stat().st_mode & 0o777 == 0o600, name


def test_coredns_corefile_forwards_to_the_given_servers_and_keeps_other_directives() -> None:
    h = Harness()
    run(h)
    corefile = h.cluster.get("v1/configmaps", "kube-system", "coredns")["data"]["Corefile"]
    assert "forward . 1.1.1.1 {" in corefile
    assert "max_concurrent 1000" in corefile and "cache 30" in corefile


def test_smoke_pods_are_cleaned_up_and_labelled_per_contract() -> None:
    h = Harness()
    run(h)
    applied_pods = [a for a in h.cluster.applies if a.startswith("Pod appliance-system/appliance-smoke-")]
    assert len(applied_pods) == 3
    assert h.cluster.count("Pod", "appliance-system") == 0
    assert h.cluster.count("PersistentVolumeClaim", "appliance-system") == 0


def test_second_run_is_a_verification_that_applies_no_object() -> None:
    h = Harness()
    run(h)
    writes_before = h.cluster.writes
    result, rep, said = run(h, bootstrap_mode="recover")
    assert result.exit_code == 0
    assert result.applied == 0
    assert h.cluster.writes == writes_before
    assert [s for _, s in phase_states(rep)] == ["skipped"] * 5 + ["done"]
    assert h.flux.installs == 1
    # the token is reused and shown again
    token = Site.open("test-site").read("status-token")
    assert f"Appliance status UI: URL https://10.0.0.5:8080 Token {token}" in said


def test_dry_run_writes_no_file_and_makes_no_cluster_write() -> None:
    h = Harness()
    site = Site.open("test-site")
    result, _, said = run(h, dry_run=True)
    assert result.exit_code == 0
    assert not site.root.exists()
    assert h.cluster.writes == 0
    assert h.talos.calls == []  # not even the maintenance API is asked in a dry run
    kinds = {a.kind for a in result.plan}
    assert {"command", "apply", "wait", "write"} <= kinds
    summaries = [a.summary for a in result.plan]
    assert any(s.startswith("talosctl gen config test-site https://10.0.0.5:6443") for s in summaries)
    assert "apply Kustomization flux-system/alga-core" in summaries
    assert any(s.startswith("wait up to 1800s for CORE_READY") for s in summaries)
    assert not any("Token" in s for s in said)


def test_dry_run_after_an_install_leaves_the_site_byte_identical() -> None:
    h = Harness()
    run(h)
    site = Site.open("test-site")
    before, writes = site_files(site), h.cluster.writes
    result, _, _ = run(h, bootstrap_mode="recover", dry_run=True)
    assert site_files(site) == before
    assert h.cluster.writes == writes
    assert any("already done: verify only" in a.summary for a in result.plan)


def test_fresh_over_an_installed_appliance_needs_force() -> None:
    h = Harness()
    run(h)
    with pytest.raises(UsageError) as exc:
        run(h)
    assert exc.value.param == "--bootstrap-mode"


def test_a_known_blocker_ends_the_core_wait_with_its_evidence_and_next_action() -> None:
    blocker = {
        "code": "storage_pvc_subpath_failed",
        "severity": "critical",
        "tier": "core",
        "component": "db",
        "layer": "storage",
        "reason": "Could not create the subPath of volume 'db-data'",
        "nextAction": "Fix the volume",
        "loginBlocking": True,
        "evidence": [
            {"kind": "Event", "message": 'failed to create subPath directory for volumeMount "db-data"'}
        ],
    }
    h = Harness(
        doc=lambda ctx: status_doc("failed_action_required", blockers=[blocker], ready={"core": False})
    )
    with pytest.raises(ActionRequired) as exc:
        run(h)
    assert exc.value.message.startswith("storage_pvc_subpath_failed")
    assert "failed to create subPath" in exc.value.message
    assert exc.value.hint == "Fix the volume"
    journal = json.loads(Site.open("test-site").journal_file.read_text())
    assert journal["phases"]["3"]["state"] == "failed"
    assert journal["phases"]["2"]["state"] == "completed"


def test_failed_storage_smoke_pod_is_storage_pvc_subpath_failed() -> None:
    h = Harness()

    def outcome(pod: dict[str, Any]) -> dict[str, Any] | None:
        if pod["metadata"]["labels"]["appliance.alga-psa.io/smoke"] == "storage":
            msg = 'failed to create subPath directory for volumeMount "data" of container "storage"'
            return {
                "phase": "Pending",
                "containerStatuses": [
                    {"state": {"waiting": {"reason": "CreateContainerConfigError", "message": msg}}}
                ],
            }
        return None

    h.cluster.pod_outcome = outcome
    with pytest.raises(ActionRequired) as exc:
        run(h)
    assert exc.value.message.startswith("storage_pvc_subpath_failed")
    assert h.cluster.count("Pod", "appliance-system") == 0  # cleanup on failure too


def test_background_issues_are_warnings_and_exit_zero() -> None:
    bg = {
        "code": "image_tag_not_found",
        "severity": "background",
        "tier": "background",
        "component": "workflow-worker",
        "layer": "image",
        "reason": "Image tag not found: ghcr.io/nine-minds/workflow-worker:61e4a00e",
        "nextAction": "Publish the missing image tag",
        "loginBlocking": False,
    }
    h = Harness(
        doc=lambda ctx: status_doc("ready_with_background_issues", blockers=[bg], ready={"background": False})
    )
    result, _, _ = run(h)
    assert result.exit_code == 0
    assert any("image_tag_not_found" in w and "workflow-worker" in w for w in result.warnings)


def test_login_blocked_at_the_end_exits_one() -> None:
    calls = {"n": 0}

    def doc(ctx: Any) -> Any:
        calls["n"] += 1
        return status_doc() if ctx.phase != 5 else status_doc("installing", ready={"login": False})

    h = Harness(doc=doc)
    result, _, _ = run(h)
    assert result.exit_code == 1


def test_interrupt_records_the_journal_and_names_the_resume_command() -> None:
    h = Harness()
    stop = threading.Event()

    def doc(ctx: Any) -> Any:
        if ctx.phase == 3:
            raise KeyboardInterrupt
        return status_doc()

    h.doc = doc
    opts = build_options(**BASE)
    with pytest.raises(Interrupted) as exc:
        engine.run(
            opts, reporter=RecordingReporter(), announce=lambda s: None, adapters=h.adapters(), stop=stop
        )
    assert exc.value.exit_code == 130
    assert "appliance bootstrap --bootstrap-mode recover --release-version 1.0-rc5" in (exc.value.hint or "")
    site = Site.open("test-site")
    journal = json.loads(site.journal_file.read_text())
    assert journal["phases"]["3"]["state"] == "interrupted"
    token = site.read("status-token")
    # resume: same token, no duplicate objects, completes
    h.doc = lambda ctx: status_doc()
    objects_before = set(h.cluster.objects)
    result, _, _said = run(h, bootstrap_mode="recover")
    assert result.exit_code == 0
    assert site.read("status-token") == token
    assert len(h.cluster.objects) == len(set(h.cluster.objects))
    assert objects_before <= set(h.cluster.objects)
    assert json.loads(site.journal_file.read_text())["phases"]["3"]["state"] == "completed"


def test_explicit_kubeconfig_of_an_installed_cluster_verifies_phase_zero(tmp_path: Any) -> None:
    kc = tmp_path / "kubeconfig"
    kc.write_text(FAKE_KUBECONFIG)
    before = kc.read_bytes()
    h = Harness()
    result, rep, _ = run(h, kubeconfig=str(kc), bootstrap_mode="recover")
    assert result.exit_code == 0
    assert phase_states(rep)[0] == (0, "skipped")
    assert h.talos.calls == []
    assert kc.read_bytes() == before
    assert not Site.open("test-site").kubeconfig.exists()


def test_fresh_mode_is_promoted_to_recover_in_the_values() -> None:
    h = Harness()
    run(h)
    sel = h.cluster.get("v1/configmaps", "alga-system", "appliance-release-selection")
    assert sel["data"]["bootstrapMode"] == "recover"
    facts = json.loads(
        h.cluster.get("v1/configmaps", "appliance-system", "appliance-facts")["data"]["facts.json"]
    )
    assert facts["releaseVersion"] == "1.0-rc5" and facts["siteId"] == "test-site"
    assert set(facts) >= {"seedUsers", "revisions", "phaseTimings", "currentPhase", "imageChecks"}


def _check(missing: dict[str, str]) -> Any:
    from appliance_cli.adapters.registry import ImageCheckResult
    from appliance_cli.releases import load_release
    from appliance_cli.status.image_preflight import classify_release_check

    release = load_release("1.0-rc5")
    results = [
        ImageCheckResult.model_validate(
            {
                "key": key,
                "image": ref.reference,
                "outcome": "missing" if key in missing else "present",
                "checkedAt": "2026-01-01T00:00:00Z",
            }
        )
        for key, ref in release.images.items()
    ]
    return classify_release_check("1.0-rc5", results)


def test_missing_core_image_stops_phase_3_before_anything_is_applied() -> None:
    h = Harness()
    adapters = h.adapters()
    adapters.image_check = lambda ctx: _check({"alga-core": "x"})
    opts = build_options(**BASE)
    with pytest.raises(ActionRequired) as exc:
        engine.run(opts, reporter=RecordingReporter(), announce=lambda s: None, adapters=adapters)
    assert "ghcr.io/nine-minds/alga-psa-ee:a2cbb430" in exc.value.message
    assert "--skip-image-tag-validation" in (exc.value.hint or "")
    assert not any(a.startswith("ConfigMap alga-system/") for a in h.cluster.applies)
    assert not any("alga-core" in a for a in h.cluster.applies)


def test_missing_core_image_with_skip_flag_continues_with_a_warning() -> None:
    h = Harness()
    adapters = h.adapters()
    adapters.image_check = lambda ctx: _check({"alga-core": "x"})
    opts = build_options(**BASE, skip_image_tag_validation=True)
    result = engine.run(opts, reporter=RecordingReporter(), announce=lambda s: None, adapters=adapters)
    assert result.exit_code == 0
    assert any("--skip-image-tag-validation" in w for w in result.warnings)


def test_missing_background_image_is_a_warning_naming_the_image() -> None:
    h = Harness()
    adapters = h.adapters()
    adapters.image_check = lambda ctx: _check({"workflow-worker": "x"})
    opts = build_options(**BASE)
    result = engine.run(opts, reporter=RecordingReporter(), announce=lambda s: None, adapters=adapters)
    assert result.exit_code == 0
    assert any("ghcr.io/nine-minds/workflow-worker:61e4a00e" in w for w in result.warnings)
    cm = h.cluster.get("v1/configmaps", "appliance-system", "appliance-facts")
    facts = json.loads(cm["data"]["facts.json"])
    assert {c["component"]: c["outcome"] for c in facts["imageChecks"]}["workflow-worker"] == "missing"


def test_prepull_starts_the_core_image_pull_after_the_talos_api() -> None:
    h = Harness()
    import time

    run(h, prepull_images=True)
    deadline = time.monotonic() + 5
    while "pull_image ghcr.io/nine-minds/alga-psa-ee:a2cbb430" not in h.talos.calls:
        assert time.monotonic() < deadline, h.talos.calls
        time.sleep(0.01)
    assert h.talos.calls.index("apply_config") < h.talos.calls.index("bootstrap_etcd")


def test_fresh_against_a_cluster_with_appliance_data_but_no_journal_needs_force(tmp_path: Any) -> None:
    h = Harness()
    run(h)
    Site.open("test-site").journal_file.unlink()
    kc = Site.open("test-site").kubeconfig
    with pytest.raises(UsageError) as exc:
        run(h, kubeconfig=str(kc))
    assert exc.value.param == "--bootstrap-mode"
    assert "recover" in (exc.value.hint or "")


def test_smoke_pods_left_by_a_killed_run_are_removed_by_the_next_phase_1() -> None:
    h = Harness()
    run(h)
    leftover = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "appliance-smoke-dns-dead01",
            "namespace": "appliance-system",
            "labels": {"appliance.alga-psa.io/smoke": "dns"},
        },
    }
    h.cluster.put(leftover)
    journal = Site.open("test-site").journal_file
    data = json.loads(journal.read_text())
    data["phases"]["1"]["state"] = "running"  # killed in phase 1
    journal.write_text(json.dumps(data))
    result, _, _ = run(h, bootstrap_mode="recover")
    assert result.exit_code == 0
    assert h.cluster.count("Pod", "appliance-system") == 0
