"""`appliance reset` against an installed lab appliance (real HTTP, the official client)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from appliance_lab.store import RESOURCE_TYPES
from appliance_lab.testing import LabHandle, running_lab

from appliance_cli.progress import ProgressEvent
from tests.cli_runner import Result, invoke
from tests.integration.reset.conftest import SPEED, install
from tests.lab_install import LAB_BOOTSTRAP

BOOTSTRAP = [*LAB_BOOTSTRAP, "--progress", "plain"]
KS = "kustomize.toolkit.fluxcd.io/v1/kustomizations"
GR = "source.toolkit.fluxcd.io/v1/gitrepositories"
APP_NAMESPACES = ("msp", "alga-system")


def bootstrap(*extra: str, mode: str = "fresh") -> Result:
    return invoke([*BOOTSTRAP, "--bootstrap-mode", mode, *extra])


def reset(*extra: str) -> Result:
    return invoke(["reset", "--site-id", "lab", *extra])


def _install(lab: LabHandle) -> None:
    install(lab)
    settled(lab)


@pytest.fixture(scope="module")
def installer() -> Callable[[LabHandle], object]:
    """The install ends once the lab's controllers are done with it (see ``settled``)."""
    return _install


def settled(lab: LabHandle) -> LabHandle:
    """The lab after its own controllers are done with the install: the finished bootstrap Job
    has gone by its ttlSecondsAfterFinished (the chart's, ~5 s at this speed), so a store
    comparison sees only what the command under test did."""
    lab.wait_for(
        lambda: (
            not any(
                (j.get("status") or {}).get("succeeded") for j in lab.list_objects("batch/v1/jobs", "msp")
            )
        ),
        timeout=60,
        what="the finished bootstrap Job removed by its TTL",
    )
    return lab


def store_dump(lab: LabHandle) -> str:
    assert lab.store is not None
    out = {rt.key: [[list(k), o] for k, o in lab.store.snapshot(rt)[0]] for rt in RESOURCE_TYPES}
    return json.dumps(out, sort_keys=True, default=str)


def app_volumes(lab: LabHandle) -> list[str]:
    return [
        pv["metadata"]["name"]
        for pv in lab.list_objects("v1/persistentvolumes")
        if (pv["spec"].get("claimRef") or {}).get("namespace") in APP_NAMESPACES
    ]


def token_secret(lab: LabHandle) -> str:
    secret = lab.get("v1/secrets", "appliance-system", "appliance-status-auth")
    assert secret is not None
    return str(secret["data"]["token"])


def assert_reset_state(lab: LabHandle, token_before: str) -> None:
    """What every completed reset leaves: no app namespaces, volumes, data or Flux objects;
    the status service and its token untouched."""
    for ns in APP_NAMESPACES:
        assert lab.get("v1/namespaces", None, ns) is None, ns
    assert app_volumes(lab) == []
    assert lab.list_objects(KS, "flux-system") == []
    assert lab.list_objects(GR, "flux-system") == []
    assert lab.lab.controllers.ctx.host_dirs == set()  # the node's data directory is empty
    assert lab.get("apps/v1/deployments", "appliance-system", "appliance-status") is not None
    assert token_secret(lab) == token_before
    assert lab.list_objects("batch/v1/jobs", "local-path-storage") == []  # the wipe Job is gone too


def test_dry_run_prints_the_real_objects_and_changes_nothing(installed: LabHandle) -> None:
    lab = settled(installed)
    volumes = app_volumes(lab)
    claims = [p["metadata"]["name"] for p in lab.list_objects("v1/persistentvolumeclaims", "msp")]
    assert volumes and claims
    before, site_before = (
        store_dump(lab),
        {p.name: p.read_bytes() for p in lab.site_dir.iterdir() if p.is_file()},
    )

    r = reset("--dry-run")

    assert r.exit_code == 0, r.output
    for name in [
        *volumes,
        *claims,
        "namespace msp",
        "namespace alga-system",
        "Kustomization flux-system/alga-core",
        "GitRepository flux-system/alga-appliance",
        "/var/local-path-provisioner",
        "busybox:1.36",
        "privileged",
        "It keeps:",
        "Status service",
    ]:
        assert name in r.stdout, name
    assert "nothing was changed" in r.stderr
    assert store_dump(lab) == before
    assert {p.name: p.read_bytes() for p in lab.site_dir.iterdir() if p.is_file()} == site_before
    token = (lab.site_dir / "status-token").read_text().strip()
    assert token not in r.output

    as_json = reset("--dry-run", "--json")
    plan = json.loads(as_json.stdout)
    assert sorted(v["name"] for v in plan["volumes"]) == sorted(volumes)
    assert [n["name"] for n in plan["namespaces"]] == ["msp", "alga-system"]
    assert plan["wipe"]["path"] == "/var/local-path-provisioner" and plan["wipe"]["privileged"] is True
    assert store_dump(lab) == before


def test_reset_then_fresh_bootstrap(installed: LabHandle) -> None:
    lab = installed
    token = token_secret(lab)
    site_token = (lab.site_dir / "status-token").read_text().strip()

    r = reset("--force")

    assert r.exit_code == 0, r.output
    assert "Reset complete and verified" in r.stdout
    assert_reset_state(lab, token)
    assert site_token not in r.output
    journal = json.loads((lab.site_dir / "journal.json").read_text())
    assert sorted(journal["phases"]) == ["0", "1"] and "appBootstrapMode" not in journal["facts"]
    assert (lab.site_dir / "status-token").read_text().strip() == site_token

    # The status page is still served with the same token, and on its next collection shows
    # that login is gone.
    def served_state() -> str | None:
        resp = httpx.get(
            f"{lab.status_url}/api/status", headers={"Authorization": f"Bearer {site_token}"}, timeout=10
        )
        assert resp.status_code == 200, resp.text
        state = str(resp.json()["rollup"]["state"])
        return (
            state
            if state not in ("ready_to_log_in", "ready_with_background_issues", "fully_healthy")
            else None
        )

    lab.wait_for(served_state, timeout=60, interval=0.5, what="the status page to show the reset")

    again = reset("--force")  # idempotent: a second reset finds nothing and verifies
    assert again.exit_code == 0, again.output
    assert "none left" in again.stdout

    r2 = bootstrap()
    assert r2.exit_code == 0, r2.output[-3000:]
    assert lab.ready(KS, "flux-system", "alga-core")
    assert token_secret(lab) == token


def test_without_force_nothing_is_deleted(installed: LabHandle) -> None:
    before = store_dump(settled(installed))
    r = reset()
    assert r.exit_code == 2
    assert "--force" in r.stderr and "--dry-run" in r.stderr
    both = reset("--force", "--dry-run")
    assert both.exit_code == 2 and "--force" in both.stderr
    assert store_dump(installed) == before


def test_a_wrong_typed_site_id_on_a_terminal_deletes_nothing(installed: LabHandle) -> None:
    """The real CLI on a pseudo-terminal: the confirmation prompt, a wrong answer, exit 2."""
    import pty

    before = store_dump(settled(installed))
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI with the terminal as stdin and stdout
        os.environ["ALGA_APPLIANCE_HOME"] = str(installed.site_dir.parent)
        os.execv(
            sys.executable, [sys.executable, "-m", "appliance_cli", "reset", "--site-id", "lab", "--force"]
        )
    seen = b""
    deadline = time.monotonic() + 60
    answered = False
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"Type the site id" in seen:
            os.write(fd, b"not-the-site\r")
            answered = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = " ".join(seen.decode(errors="replace").split())  # the terminal wraps long lines
    assert answered, text
    assert os.waitstatus_to_exitcode(status) == 2, text
    assert "does not match" in text and "nothing was deleted" in text
    assert store_dump(installed) == before


def test_an_unreachable_cluster_is_a_clear_error_exit_1(
    _isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from appliance_lab.testing import VirtualClock

    from appliance_cli.env import SiteEnv

    # Reset rides through outages of tens of seconds before it gives up: its retries wait in
    # the site's retry clock, here a virtual one, so the whole policy runs without the wait.
    clock = VirtualClock()
    monkeypatch.setattr(SiteEnv, "retry_clock", property(lambda _self: clock))

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    site = _isolated_home / "gone"
    site.mkdir()
    (site / "kubeconfig").write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {"server": f"https://127.0.0.1:{port}", "insecure-skip-tls-verify": True},
                    }
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    r = invoke(["reset", "--site-id", "gone", "--force"])
    assert r.exit_code == 1, r.output
    assert f"127.0.0.1:{port}" in r.stderr and "unreachable" in r.stderr
    assert "Traceback" not in r.output
    assert clock.skipped > 10  # the retries' back-off ran (in virtual time) before the verdict


def test_a_site_without_a_cluster_is_bad_input() -> None:
    r = invoke(["reset", "--site-id", "never-installed", "--force"])
    assert r.exit_code == 2
    assert "--site-id" in r.stderr and "no kubeconfig" in r.stderr


class Crash(BaseException):
    """Stands for the process dying: nothing of the reset catches it."""


@pytest.mark.slow
@pytest.mark.parametrize("after_step", [1, 2, 3, 4, 5])
def test_a_reset_killed_after_any_step_finishes_when_run_again(installed: LabHandle, after_step: int) -> None:
    from appliance_cli.reset import run

    lab = installed
    token = token_secret(lab)

    class DiesAfter:
        def emit(self, event: ProgressEvent) -> None:
            if event.details.get("scope") == "phase" and event.phase == after_step and event.state == "done":
                raise Crash

        def close(self) -> None:
            return None

    cluster = run.open_cluster("lab", kubeconfig=None, config_dir=None)
    with pytest.raises(Crash):
        run.execute(cluster, run.plan_for(cluster), DiesAfter())

    r = reset("--force")
    assert r.exit_code == 0, r.output
    assert_reset_state(lab, token)


@pytest.mark.slow
def test_a_reset_process_killed_during_the_wipe_finishes_when_run_again(_isolated_home: Path) -> None:
    """SIGKILL of the real CLI while its wipe Job runs; the re-run replaces the leftover Job."""
    # virtual time, but the wall clock's pace while the child process runs (its waits poll on
    # the wall clock)
    with running_lab(scenario="healthy", speed=SPEED / 20, bootstrapped=True, virtual=True) as lab:
        assert lab.clock is not None
        # an installed appliance, quickly: what bootstrap applies, then wait for the data volumes
        lab.apply_bootstrap_objects()
        lab.wait_for(lambda: len(app_volumes(lab)) >= 2, timeout=120, what="the app's volumes bound")
        token = token_secret(lab)
        out_file = _isolated_home / "reset.out"
        env = {**os.environ, "ALGA_APPLIANCE_HOME": str(_isolated_home)}
        cmd = [
            sys.executable,
            "-m",
            "appliance_cli",
            "reset",
            "--site-id",
            "lab",
            "--force",
            "--progress",
            "json",
        ]
        with lab.clock.realtime(), out_file.open("w") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
            deadline = time.monotonic() + 60
            while '"state": "waiting"' not in _step_lines(out_file, 5):
                assert proc.poll() is None, out_file.read_text()
                assert time.monotonic() < deadline, out_file.read_text()
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        assert (
            lab.get("batch/v1/jobs", "local-path-storage", "appliance-reset-wipe") is not None
        )  # left behind

        r = reset("--force")
        assert r.exit_code == 0, r.output
        assert_reset_state(lab, token)


def _step_lines(path: Path, step: int) -> str:
    lines: list[dict[str, Any]] = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return "\n".join(json.dumps(o) for o in lines if o.get("phase") == step)


def test_fresh_bootstrap_over_an_installed_appliance(installed: LabHandle) -> None:
    lab = settled(installed)
    token = token_secret(lab)
    before = store_dump(lab)

    refused = bootstrap()
    assert refused.exit_code == 2 and "--force" in refused.stderr
    planned = bootstrap("--force", "--dry-run")
    assert planned.exit_code == 0, planned.output
    assert "reset first: Reset plan for site lab" in planned.stdout
    assert "reset first: - namespace msp" in planned.stdout
    assert store_dump(lab) == before

    r = bootstrap("--force")
    assert r.exit_code == 0, r.output[-3000:]
    out = r.stdout
    assert out.index("Reset plan for site lab") < out.index("reset 6/6 Verify") < out.index("[phase 0/5]")
    assert lab.ready(KS, "flux-system", "alga-core")
    assert token_secret(lab) == token
    journal = json.loads((lab.site_dir / "journal.json").read_text())
    assert "lastReset" in journal["facts"]


def test_recover_never_resets(installed: LabHandle) -> None:
    volumes = sorted(app_volumes(installed))
    r = bootstrap(mode="recover")
    assert r.exit_code == 0, r.output[-2000:]
    assert "Reset plan" not in r.output
    assert sorted(app_volumes(installed)) == volumes
    forced = bootstrap("--force", mode="recover")
    assert forced.exit_code == 2 and "--force" in forced.stderr


@pytest.mark.slow
def test_lifecycle_bootstrap_status_reset_five_times_keeps_the_token(_isolated_home: Path) -> None:
    with running_lab(scenario="healthy", speed=SPEED, bootstrapped=False, virtual=True) as lab:
        site_tokens: list[str] = []
        secret_tokens: list[str] = []
        for cycle in range(5):
            r = bootstrap()
            assert r.exit_code == 0, (cycle, r.output[-3000:])
            status = invoke(["status", "--site-id", "lab", "--json"])
            doc = json.loads(status.stdout)
            assert status.exit_code == 0 and doc["tiers"]["login"]["ready"] is True, (cycle, doc["rollup"])
            assert doc["rollup"]["state"] in (
                "ready_to_log_in",
                "ready_with_background_issues",
                "fully_healthy",
            )
            site_tokens.append((lab.site_dir / "status-token").read_text().strip())
            secret_tokens.append(base64.b64decode(token_secret(lab)).decode())
            rr = reset("--force")
            assert rr.exit_code == 0, (cycle, rr.output[-3000:])
        assert len(set(site_tokens)) == 1 and secret_tokens == site_tokens
        assert not list(lab.lab.controllers.errors)
