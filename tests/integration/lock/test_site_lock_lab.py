"""One mutating command per site, against the lab: while a real `appliance bootstrap` process
runs, a second bootstrap and a reset are refused naming it and change nothing; once that
process is killed (during its core wait), its lock is reclaimed and `recover` finishes the
install to the same end as an uninterrupted run (same token, no duplicates, no leftovers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from appliance_lab.testing import running_lab

from tests.cli_runner import invoke

BOOTSTRAP = ["bootstrap", "--site-id", "lab", "--release-version", "1.0-rc5", "--node-ip", "127.0.0.1"]


def test_a_running_bootstrap_holds_the_site_and_a_killed_one_is_reclaimed(_isolated_home: Path) -> None:
    # slow-core-pull keeps phase 3 waiting long enough to try the others meanwhile
    # virtual time, but the wall clock's pace while the child process runs (its waits poll on
    # the wall clock); the resumed run in this process is on virtual time again
    with running_lab(scenario="slow-core-pull", speed=10, bootstrapped=True, virtual=True) as lab:
        assert lab.clock is not None
        lock_file = lab.site_dir / "operation.lock"
        env = {**os.environ, "ALGA_APPLIANCE_HOME": str(_isolated_home), "NO_COLOR": "1"}
        with lab.clock.realtime():
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "appliance_cli",
                    *BOOTSTRAP,
                    "--bootstrap-mode",
                    "fresh",
                    "--progress",
                    "plain",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                lab.wait_for(lock_file.is_file, timeout=60, what="the bootstrap's lock")
                owner = json.loads(lock_file.read_text())
                assert owner["pid"] == proc.pid and owner["command"] == "bootstrap"
                ks = "kustomize.toolkit.fluxcd.io/v1/kustomizations"
                lab.wait_for(
                    lambda: lab.get(ks, "flux-system", "alga-core"), timeout=60, what="phase 3 applied"
                )
                rv = lab.store.resource_version if lab.store else 0

                second = invoke([*BOOTSTRAP, "--bootstrap-mode", "recover", "--progress", "plain"])
                reset = invoke(["reset", "--site-id", "lab", "--force"])

                for r in (second, reset):
                    assert r.exit_code == 1, r.output
                    assert "is busy" in r.stderr and f"pid {proc.pid}" in r.stderr, r.stderr
                    assert "appliance bootstrap" in r.stderr
                assert proc.poll() is None  # the owner was not disturbed
                assert json.loads(lock_file.read_text())["pid"] == proc.pid
                # neither refused command started: no phase ran, the reset deleted nothing
                assert "phase 0/5" not in second.stdout
                assert lab.get(ks, "flux-system", "alga-core") is not None
                assert lab.get("v1/namespaces", None, "msp") is not None
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
        assert lock_file.is_file()  # a killed process leaves its lock behind ...
        token = (lab.site_dir / "status-token").read_text()  # written in phase 2, before the kill

        resumed = invoke([*BOOTSTRAP, "--bootstrap-mode", "recover", "--progress", "plain"])

        assert resumed.exit_code == 0, resumed.output[-3000:]  # ... and the next command reclaims it
        assert not lock_file.exists()
        assert (lab.store.resource_version if lab.store else 0) > rv
        # the run killed during its core wait ends where an uninterrupted one does
        assert (lab.site_dir / "status-token").read_text() == token
        assert len(lab.list_objects("kustomize.toolkit.fluxcd.io/v1/kustomizations", "flux-system")) == 3
        assert len(lab.list_objects("source.toolkit.fluxcd.io/v1/gitrepositories", "flux-system")) == 2
        assert lab.list_objects("v1/persistentvolumeclaims", "appliance-system") == []
        smoke = [
            p for p in lab.list_objects("v1/pods", "appliance-system") if "smoke" in p["metadata"]["name"]
        ]
        assert smoke == []
