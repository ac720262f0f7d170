"""`appliance lab up|status|down`: a real background process, cleaned up."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from appliance_lab.target import pid_alive as _pid_alive

from appliance_cli.site import appliance_home
from tests.cli_runner import invoke


def _kubectl_nodes(kubeconfig: str) -> str:
    return subprocess.run(
        ["kubectl", "--kubeconfig", kubeconfig, "get", "nodes", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout


def test_up_status_down_and_second_up_refused() -> None:
    up = invoke(["lab", "up", "--speed", "50", "--bootstrapped"])
    site = appliance_home() / "lab"
    try:
        assert up.exit_code == 0, up.output
        info = json.loads((site / "lab.json").read_text())
        pid = int(info["pid"])
        assert pid != os.getpid() and _pid_alive(pid)
        for name in ("kubeconfig", "talosconfig", "lab.json", "node-ip"):
            assert (site / name).stat().st_mode & 0o777 == 0o600, name
        assert (site / "node-ip").read_text().strip() == "127.0.0.1"
        assert "appliance bootstrap --site-id lab" in up.stdout
        assert str(site / "kubeconfig") in up.stdout

        again = invoke(["lab", "up"])
        assert again.exit_code == 2
        assert "already running" in again.output

        status = invoke(["lab", "status"])
        assert status.exit_code == 0 and f"pid {pid}" in status.output and "running" in status.output

        if subprocess.run(["which", "kubectl"], capture_output=True).returncode == 0:
            import time

            deadline = time.monotonic() + 10
            out = ""
            while time.monotonic() < deadline and "node/" not in out:
                out = _kubectl_nodes(str(site / "kubeconfig"))
            assert "node/talos-lab-cp1" in out
    finally:
        down = invoke(["lab", "down"])
    assert down.exit_code == 0
    assert not _pid_alive(pid)
    assert not site.exists()
    status = invoke(["lab", "status"])
    assert status.exit_code == 1 and "No lab is running" in status.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["lab", "up", "--scenario", "nope"], "temporal-autosetup"),
        (["lab", "up", "--speed", "0"], "--speed"),
        (["lab", "up", "--site-id", "Bad_Id"], "--site-id"),
    ],
)
def test_bad_input_exits_2_and_starts_nothing(args: list[str], needle: str) -> None:
    result = invoke(args)
    assert result.exit_code == 2
    assert needle in result.output
    assert not (appliance_home() / "lab" / "lab.json").exists()


def test_lab_process_dies_with_its_parent(tmp_path: object) -> None:
    """A lab started with --parent-pid stops when that process is gone (no orphans)."""
    import sys
    import time

    site_dir = appliance_home() / "orphan"
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance_lab.runtime",
            "--site-dir",
            str(site_dir),
            "--speed",
            "50",
            "--parent-pid",
            str(parent.pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (site_dir / "lab.json").exists():
            time.sleep(0.05)
        assert (site_dir / "lab.json").exists()
        parent.kill()
        parent.wait()
        assert child.wait(timeout=10) == 0
        assert not (site_dir / "lab.json").exists()
    finally:
        for p in (parent, child):
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.lab(scenario="healthy", speed=50, site_id="proc")
def test_lab_process_fixture_serves_the_official_client(lab_process: Any) -> None:
    from kubernetes import client

    info = json.loads((appliance_home() / "proc" / "lab.json").read_text())
    assert info["pid"] != os.getpid() and _pid_alive(int(info["pid"]))
    api = lab_process.api_client()
    try:
        core = client.CoreV1Api(api)
        lab_process.wait_for(lambda: core.list_node().items, what="node registered")
        assert core.list_node().items[0].metadata.name == "talos-lab-cp1"
    finally:
        api.close()
