"""`appliance bootstrap` end to end against the lab (real HTTP, simulated Talos node and controllers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from appliance_lab.store import RESOURCE_TYPES
from appliance_lab.testing import LabHandle, running_lab

from appliance_cli.bootstrap import engine
from appliance_cli.bootstrap.options import build_options
from appliance_cli.errors import Interrupted
from appliance_cli.progress import ProgressEvent
from tests.cli_runner import Result, invoke

pytestmark = pytest.mark.slow
SPEED = 60.0
KS_KEY = "kustomize.toolkit.fluxcd.io/v1/kustomizations"
ARGS = ["bootstrap", "--site-id", "lab", "--release-version", "1.0-rc5", "--node-ip", "127.0.0.1"]


@pytest.fixture
def fresh_lab(request: pytest.FixtureRequest) -> Iterator[LabHandle]:
    """A lab that still has to be bootstrapped; it shares a virtual clock with the CLI run in
    this process unless the test is marked ``lab(virtual=False)`` (a real-time run)."""
    marker = request.node.get_closest_marker("lab")
    scenario = marker.kwargs.get("scenario", "healthy") if marker else "healthy"
    virtual = marker.kwargs.get("virtual", True) if marker else True
    with running_lab(scenario=scenario, speed=SPEED, bootstrapped=False, virtual=virtual) as handle:
        yield handle
        errors = list(handle.lab.controllers.errors)
    assert not errors, f"lab controllers raised: {errors}"


def bootstrap(*extra: str, mode: str = "fresh") -> Result:
    return invoke([*ARGS, "--bootstrap-mode", mode, "--progress", "plain", *extra])


def store_dump(lab: LabHandle) -> str:
    assert lab.store is not None
    out: dict[str, Any] = {}
    for rt in RESOURCE_TYPES:
        pairs, _ = lab.store.snapshot(rt)
        out[rt.key] = [[list(k), obj] for k, obj in pairs]
    return json.dumps(out, sort_keys=True, default=str)


def site_bytes(lab: LabHandle) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(lab.site_dir.iterdir()) if p.is_file()}


def owned_versions(lab: LabHandle) -> dict[str, str]:
    """resourceVersion of every object bootstrap applies (its field manager is appliance-cli)."""
    assert lab.store is not None
    out: dict[str, str] = {}
    for rt in RESOURCE_TYPES:
        pairs, _ = lab.store.snapshot(rt)
        for (ns, name), obj in pairs:
            managers = {m.get("manager") for m in obj.get("metadata", {}).get("managedFields") or []}
            if "appliance-cli" in managers:
                out[f"{rt.key}/{ns}/{name}"] = str(obj["metadata"].get("resourceVersion"))
    return out


def kinds_count(lab: LabHandle, key: str, namespace: str | None = None) -> int:
    return len(lab.list_objects(key, namespace))


@pytest.mark.lab(scenario="healthy", virtual=False)  # stays a real-time run
def test_healthy_reaches_login_ready_then_fully_healthy(fresh_lab: LabHandle) -> None:
    r = bootstrap()
    assert r.exit_code == 0, r.output
    out = r.stdout
    token = (fresh_lab.site_dir / "status-token").read_text().strip()
    status_line = f"Appliance status UI: URL {fresh_lab.status_url} Token {token}"
    assert out.count(status_line) == 1
    login_line = f"Alga is ready to log in: {fresh_lab.login_url}"
    assert login_line in out
    # the status page is announced before the login URL, and login before the final report
    assert out.index(status_line) < out.index(login_line) < out.index("Rollup: fully_healthy")
    for n, title in enumerate(["Talos host", "Platform", "Status service", "Core", "Background", "Health"]):
        assert f"[phase {n}/5] {title}: started" in out
        assert f"[phase {n}/5] {title}: done in" in out
    assert (fresh_lab.site_dir / "kubeconfig").stat().st_mode & 0o777 == 0o600
    assert (fresh_lab.site_dir / "status-token").stat().st_mode & 0o777 == 0o600
    facts = fresh_lab.get("v1/configmaps", "appliance-system", "appliance-facts")
    assert facts is not None
    published = json.loads(facts["data"]["facts.json"])
    assert published["releaseVersion"] == "1.0-rc5" and published["siteId"] == "lab"
    assert published["seedUsers"]["count"] > 0  # probed by exec in msp/db-0
    assert published["currentPhase"]["phase"] == "Health"
    assert any(k.startswith("Kustomization/alga-core") for k in published["revisions"])
    sel = fresh_lab.get("v1/configmaps", "alga-system", "appliance-release-selection")
    assert sel is not None and sel["data"]["bootstrapMode"] == "recover"  # promoted after the app bootstrap

    # A second run is a fast verification that applies no object.
    owned_before = owned_versions(fresh_lab)
    assert len(owned_before) >= 30, owned_before
    again = bootstrap(mode="recover")
    assert again.exit_code == 0, again.output
    assert "objects applied this run: 0" in again.stdout
    assert again.stdout.count("already done, verified") == 5
    assert status_line in again.stdout  # same token, shown again
    assert owned_versions(fresh_lab) == owned_before  # not one bootstrap-owned object was written


def first_line(lines: list[str], prefix: str) -> int:
    found = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    assert found, f"no line starts with {prefix!r}:\n" + "\n".join(lines)
    return found[0]


PHASE_3_APPLIES = "[phase 3/5] Core: values and release selection"  # phase 3's first object


@pytest.mark.lab(scenario="missing-background-tag")
def test_missing_background_tag_is_ready_with_background_issues_exit_0(fresh_lab: LabHandle) -> None:
    r = bootstrap()
    assert r.exit_code == 0, r.output
    assert "Rollup: ready_with_background_issues" in r.stdout
    assert "image_tag_not_found [workflow-worker]" in r.stdout
    # each warning is said once, where it happened (not repeated by the final summary)
    assert (
        sum(
            line.startswith("[phase 4/5] Background: ⚠ background: image_tag_not_found")
            for line in r.stdout.splitlines()
        )
        == 1
    )
    assert "workflow-worker" not in r.stderr
    # The release image check asked the lab registry, and warned before phase 3 applied anything.
    lines = r.stdout.splitlines()
    assert "release image check skipped" not in r.stdout
    warning = first_line(
        lines,
        "[phase 3/5] Core: ⚠ ghcr.io/nine-minds/workflow-worker:61e4a00e: "
        "Image tag not found: ghcr.io/nine-minds/workflow-worker:61e4a00e (workflow-worker, background tier)",
    )
    assert first_line(lines, "[phase 3/5] Core: release image check") < warning
    assert warning < first_line(lines, PHASE_3_APPLIES)
    journal = json.loads((fresh_lab.site_dir / "journal.json").read_text())
    checks = {c["component"]: c["outcome"] for c in journal["facts"]["imageChecks"]}
    assert checks.pop("workflow-worker") == "missing"
    assert set(checks.values()) == {"present"}
    assert "release_image_drift" not in r.output  # pods run the digests the registry answered


@pytest.mark.lab(scenario="core-image-missing")
def test_missing_core_image_stops_before_phase_3_applies_anything(fresh_lab: LabHandle) -> None:
    r = bootstrap()
    assert r.exit_code == 1, r.output
    assert "error: image_tag_not_found:" in r.stderr
    assert "ghcr.io/nine-minds/alga-psa-ee:a2cbb430" in r.stderr
    assert "--skip-image-tag-validation" in r.stderr  # the hint
    assert "[phase 3/5] Core: failed" in r.stdout
    assert PHASE_3_APPLIES not in r.stdout
    assert fresh_lab.get(KS_KEY, "flux-system", "alga-core") is None
    assert fresh_lab.get("v1/configmaps", "alga-system", "appliance-release-selection") is None
    assert fresh_lab.list_objects("v1/pods", "msp") == []
    journal = json.loads((fresh_lab.site_dir / "journal.json").read_text())
    assert journal["phases"]["3"]["state"] == "failed"

    # With the flag it applies anyway and stops on the same cause.
    again = bootstrap("--skip-image-tag-validation", mode="recover")
    assert again.exit_code == 1, again.output
    lines = again.stdout.splitlines()
    warning = first_line(
        lines, "[phase 3/5] Core: ⚠ missing core image(s) ghcr.io/nine-minds/alga-psa-ee:a2cbb430"
    )
    assert warning < first_line(lines, PHASE_3_APPLIES)
    assert fresh_lab.get(KS_KEY, "flux-system", "alga-core") is not None
    assert "error: image_tag_not_found:" in again.stderr


@pytest.mark.lab(scenario="postgres-subpath")
def test_postgres_subpath_stops_early_with_the_blocker(fresh_lab: LabHandle) -> None:
    r = bootstrap()
    assert r.exit_code == 1, r.output
    assert "storage_pvc_subpath_failed" in r.stderr
    assert "context deadline exceeded" not in r.output
    assert "[phase 1/5] Platform: failed" in r.stdout
    # the failed smoke test cleaned up after itself
    assert fresh_lab.list_objects("v1/pods", "appliance-system") == []
    journal = json.loads((fresh_lab.site_dir / "journal.json").read_text())
    assert journal["phases"]["1"]["state"] == "failed"


@pytest.mark.lab(scenario="healthy")
def test_dry_run_leaves_the_lab_store_and_site_dir_byte_identical(fresh_lab: LabHandle) -> None:
    store_before, site_before = store_dump(fresh_lab), site_bytes(fresh_lab)
    r = bootstrap("--dry-run")
    assert r.exit_code == 0, r.output
    assert "Plan (dry run" in r.stdout
    assert store_dump(fresh_lab) == store_before
    assert site_bytes(fresh_lab) == site_before


@pytest.mark.parametrize("stop_at_phase", [0, 1, 2, 3, 4])
def test_interrupt_then_recover_keeps_the_token_and_duplicates_nothing(
    stop_at_phase: int, _isolated_home: Path
) -> None:
    with running_lab(scenario="healthy", speed=SPEED, bootstrapped=False, virtual=True) as lab:
        stop = threading.Event()

        class StopAt:
            def emit(self, event: ProgressEvent) -> None:
                if event.phase == stop_at_phase and event.state == "waiting":
                    stop.set()

            def close(self) -> None:
                return None

        opts = build_options(
            bootstrap_mode="fresh", release_version="1.0-rc5", node_ip="127.0.0.1", site_id="lab"
        )
        with pytest.raises(Interrupted) as exc:
            engine.run(opts, reporter=StopAt(), announce=lambda s: None, stop=stop)
        assert "--bootstrap-mode recover" in (exc.value.hint or "")
        journal = json.loads((lab.site_dir / "journal.json").read_text())
        assert journal["phases"][str(stop_at_phase)]["state"] == "interrupted"
        token = (lab.site_dir / "status-token").read_text() if stop_at_phase > 2 else None

        r = bootstrap(mode="recover")
        assert r.exit_code == 0, r.output
        if token is not None:
            assert (lab.site_dir / "status-token").read_text() == token
        assert kinds_count(lab, "kustomize.toolkit.fluxcd.io/v1/kustomizations", "flux-system") == 3
        assert kinds_count(lab, "source.toolkit.fluxcd.io/v1/gitrepositories", "flux-system") == 2
        assert lab.list_objects("v1/pods", "appliance-system") == [] or all(
            "appliance-smoke" not in p["metadata"]["name"]
            for p in lab.list_objects("v1/pods", "appliance-system")
        )
        assert lab.list_objects("v1/persistentvolumeclaims", "appliance-system") == []


def test_explicit_kubeconfig_of_an_installed_cluster_is_reused_and_phase_0_verified(
    _isolated_home: Path,
) -> None:
    with running_lab(scenario="healthy", speed=SPEED, bootstrapped=True, virtual=True) as lab:
        kubeconfig, talosconfig = lab.site_dir / "kubeconfig", lab.site_dir / "talosconfig"
        before = (kubeconfig.read_bytes(), talosconfig.read_bytes())
        # installed means its node is Ready: the lab's node reports Ready a moment after it starts
        lab.wait_for(
            lambda: any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for n in lab.list_objects("v1/nodes")
                for c in (n.get("status") or {}).get("conditions") or []
            ),
            what="the node Ready",
        )
        r = bootstrap("--kubeconfig", str(kubeconfig), "--talosconfig", str(talosconfig))
        assert r.exit_code == 0, r.output
        assert "[phase 0/5] Talos host: already done, verified" in r.stdout
        assert (kubeconfig.read_bytes(), talosconfig.read_bytes()) == before
        assert not (lab.site_dir / "controlplane.yaml").exists()


def test_json_progress_is_one_object_per_line(_isolated_home: Path) -> None:
    with running_lab(scenario="healthy", speed=SPEED, bootstrapped=False, virtual=True):
        r = invoke([*ARGS, "--bootstrap-mode", "fresh", "--progress", "json"])
        assert r.exit_code == 0, r.output
        objects = [json.loads(ln) for ln in r.stdout.splitlines()]  # stdout is JSON lines only
        *events, last = objects
        assert set(last) == {"result"} and last["result"]["rollup"]["state"] == "fully_healthy"
        assert all({"phase", "step", "state", "timestamp", "details"} <= set(e) for e in events)
        assert any(e["state"] == "waiting" and "lastSaw" in e["details"] for e in events)
        token = (_isolated_home / "lab" / "status-token").read_text().strip()
        # the token is in one event only: the status page's milestone, nowhere else
        assert [e["state"] for e in events if token in json.dumps(e)] == ["milestone"]
        assert token not in r.stderr
        milestones = [e["step"] for e in events if e["state"] == "milestone"]
        assert sum(m.startswith("Appliance status UI: URL ") for m in milestones) == 1
        assert sum(m.startswith("Alga is ready to log in: ") for m in milestones) == 1


@pytest.mark.parametrize(
    ("sig", "at"),
    [
        ("SIGINT", "[phase 2/5]"),
        ("SIGKILL", "[phase 1/5] Platform: waiting for https smoke test"),
        # SIGKILL during the core wait: tests/integration/lock/test_site_lock_lab.py
    ],
)
def test_killed_bootstrap_process_resumes_with_recover(sig: str, at: str, _isolated_home: Path) -> None:
    """The real CLI in a child process, stopped mid-run by Ctrl-C (SIGINT) or killed (SIGKILL)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    # The child's waits poll on the wall clock: the lab keeps real time until it is stopped,
    # then the recovery in this process runs on virtual time.
    with running_lab(scenario="healthy", speed=SPEED / 3, bootstrapped=False, virtual=True) as lab:
        assert lab.clock is not None
        cmd = [
            sys.executable,
            "-m",
            "appliance_cli",
            *ARGS,
            "--bootstrap-mode",
            "fresh",
            "--progress",
            "plain",
        ]
        env = {**os.environ, "ALGA_APPLIANCE_HOME": str(_isolated_home)}
        out_file, err_file = _isolated_home / "out.txt", _isolated_home / "err.txt"
        with lab.clock.realtime(), out_file.open("w") as out_fh, err_file.open("w") as err_fh:
            proc = subprocess.Popen(cmd, stdout=out_fh, stderr=err_fh, text=True, env=env)
            deadline = time.monotonic() + 120
            while not any(line.startswith(at) for line in out_file.read_text().splitlines()):
                assert proc.poll() is None, out_file.read_text()
                assert time.monotonic() < deadline, out_file.read_text()
                time.sleep(0.05)
            proc.send_signal(getattr(signal, sig))
            proc.wait(timeout=60)
        out, err = out_file.read_text(), err_file.read_text()
        if sig == "SIGINT":
            assert proc.returncode == 130, (out, err)
            assert "resume with: appliance bootstrap --bootstrap-mode recover" in err, (out, err)
            journal = json.loads((lab.site_dir / "journal.json").read_text())
            assert "interrupted" in {p["state"] for p in journal["phases"].values()}
        else:
            assert proc.returncode == -signal.SIGKILL
        token = (
            (lab.site_dir / "status-token").read_text() if (lab.site_dir / "status-token").exists() else None
        )

        r = bootstrap(mode="recover")
        assert r.exit_code == 0, r.output
        if token is not None:
            assert (lab.site_dir / "status-token").read_text() == token
        assert kinds_count(lab, "kustomize.toolkit.fluxcd.io/v1/kustomizations", "flux-system") == 3
        assert kinds_count(lab, "source.toolkit.fluxcd.io/v1/gitrepositories", "flux-system") == 2
        assert lab.list_objects("v1/persistentvolumeclaims", "appliance-system") == []
        smoke = [
            p for p in lab.list_objects("v1/pods", "appliance-system") if "smoke" in p["metadata"]["name"]
        ]
        assert smoke == []  # including those a killed run left behind


@pytest.mark.parametrize(
    ("scenario", "code", "phase_line"),
    [
        ("dns-refused", "dns_resolution_failed", "[phase 1/5] Platform: failed"),
        ("bootstrap-job-fails", "bootstrap_job_failed", "[phase 3/5] Core: failed"),
    ],
)
def test_login_blocking_scenarios_exit_1_with_their_blocker(
    scenario: str, code: str, phase_line: str, _isolated_home: Path
) -> None:
    with running_lab(scenario=scenario, speed=SPEED, bootstrapped=False, virtual=True):
        r = bootstrap()
        assert r.exit_code == 1, r.output
        assert f"error: {code}:" in r.stderr
        assert phase_line in r.stdout
        assert "hint:" in r.stderr  # the blocker's next action
