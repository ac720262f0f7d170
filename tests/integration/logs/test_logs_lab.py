"""`appliance logs` against the lab: lines the lab's kubelet wrote, over real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from appliance_lab.testing import LabHandle, running_lab

from appliance_cli.logs import LogLine, LogOptions, open_component_logs
from tests.cli_runner import invoke

SPEED = 60.0


def _running(lab: LabHandle, component_prefix: str) -> bool:
    for pod in lab.list_objects("v1/pods", "msp"):
        if pod["metadata"]["name"].startswith(component_prefix + "-"):
            for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                if (cs.get("state") or {}).get("running"):
                    return True
    return False


@pytest.fixture
def installed() -> Iterator[LabHandle]:
    """alga-core running, reached on virtual time; the test then has a lab at the wall clock's
    pace (followed logs, a CLI in a child process, container restarts)."""
    with running_lab(scenario="temporal-autosetup", speed=SPEED, virtual=True) as lab:
        lab.apply_bootstrap_objects()
        lab.wait_for(lambda: _running(lab, "alga-core-sebastian"), timeout=60, what="alga-core running")
        assert lab.clock is not None
        with lab.clock.realtime():
            yield lab


def test_logs_of_a_component_by_name_show_what_its_container_wrote(installed: LabHandle) -> None:
    r = invoke(["logs", "alga-core", "--site-id", "lab"])
    assert r.exit_code == 0, r.output
    assert "sebastian starting" in r.stdout and "sebastian ready" in r.stdout, r.output
    # the bootstrap Job's pods share the name prefix but are not the component
    assert "Bootstrap complete" not in r.stdout and "Waiting for PostgreSQL" not in r.stdout


def test_tail_limits_lines_per_container(installed: LabHandle) -> None:
    full = invoke(["logs", "alga-core", "--site-id", "lab"])
    one = invoke(["logs", "alga-core", "--site-id", "lab", "--tail", "1"])
    assert one.exit_code == 0
    assert len(one.stdout.splitlines()) == 1 < len(full.stdout.splitlines())
    assert one.stdout.splitlines()[0] == full.stdout.splitlines()[-1]


def test_secrets_in_log_lines_are_redacted(installed: LabHandle) -> None:
    assert installed.store is not None
    installed.wait_for(lambda: _running(installed, "redis"), what="redis running")
    pod = next(
        p["metadata"]["name"]
        for p in installed.list_objects("v1/pods", "msp")
        if p["metadata"]["name"].startswith("redis-")
    )
    installed.store.append_pod_log(
        "msp", pod, "redis", ["connecting to postgres://app:hunter2secret@db:5432/app"]
    )
    r = invoke(["logs", "redis", "--site-id", "lab", "--tail", "1"])
    assert r.exit_code == 0, r.output
    assert "hunter2secret" not in r.stdout and "<redacted>" in r.stdout


def test_follow_continues_across_container_restarts(installed: LabHandle) -> None:
    """temporal crash-loops in this scenario: each new instance's lines arrive on the same follow."""
    source = open_component_logs("lab", "temporal")
    lines: list[LogLine] = []
    stop = threading.Event()
    t = threading.Thread(
        target=source.follow, args=(LogOptions(follow=True), lines.append, stop), kwargs={"poll_seconds": 0.1}
    )
    t.start()
    try:
        fatal = "sql schema version compatibility check failed"
        installed.wait_for(
            lambda: sum(fatal in line.text for line in lines) >= 2, timeout=60, what="two crashed instances"
        )
        assert len({line.pod for line in lines}) == 1  # one pod, several container instances
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive()


def test_unknown_component_is_bad_input(installed: LabHandle) -> None:
    r = invoke(["logs", "alga", "--site-id", "lab"])
    assert r.exit_code == 2
    assert "no component named 'alga'" in r.stderr and "alga-core" in r.stderr


def test_bad_since_names_the_flag() -> None:
    r = invoke(["logs", "db", "--since", "yesterday"])
    assert r.exit_code == 2 and "--since" in r.stderr


def test_a_component_that_is_not_running_says_its_blocker() -> None:
    with running_lab(scenario="postgres-subpath", speed=SPEED, virtual=True) as lab:
        lab.apply_bootstrap_objects()

        def blocked() -> str | None:
            r = invoke(["logs", "db", "--site-id", "lab"])
            return r.output if "storage_pvc_subpath_failed" in r.output else None

        output = lab.wait_for(blocked, timeout=60, interval=0.5, what="db's blocker")
        r = invoke(["logs", "db", "--site-id", "lab"])
        assert r.exit_code == 1
        assert "db is not running" in output and "next:" in output


def test_follow_from_the_shell_streams_new_lines_and_ctrl_c_exits_130(
    installed: LabHandle, tmp_path: Path
) -> None:
    assert installed.store is not None
    pod = next(
        p["metadata"]["name"]
        for p in installed.list_objects("v1/pods", "msp")
        if p["metadata"]["name"].startswith("alga-core-sebastian-")
        and "bootstrap" not in p["metadata"]["name"]
    )
    out = tmp_path / "logs.out"
    env = {**os.environ, "ALGA_APPLIANCE_HOME": str(installed.site_dir.parent)}
    cmd = [
        sys.executable,
        "-m",
        "appliance_cli",
        "logs",
        "alga-core",
        "-f",
        "--tail",
        "1",
        "--site-id",
        "lab",
    ]
    with out.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        try:
            installed.wait_for(lambda: "sebastian ready" in out.read_text(), timeout=30, what="the last line")
            installed.store.append_pod_log("msp", pod, "sebastian", ["GET /msp/dashboard 200 in 12ms"])
            installed.wait_for(
                lambda: "GET /msp/dashboard 200" in out.read_text(), timeout=30, what="a new line"
            )
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = out.read_text()
    assert code == 130, text
    assert "sebastian starting" not in text  # --tail 1: only the last line before following
    assert f"[{pod}/sebastian] GET /msp/dashboard 200 in 12ms" in text
