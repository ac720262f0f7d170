"""Start, inspect and stop the lab process for a site (what ``appliance lab`` does)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from appliance_cli.errors import ApplianceError, UsageError
from appliance_cli.site import Site
from appliance_lab.ownership import LAB_FILES, claim, foreign_files, owned
from appliance_lab.target import lab_info, pid_alive

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def _lab_info(site: Site) -> dict[str, Any] | None:
    return lab_info(site)


def next_command(info: dict[str, Any], site_id: str) -> str:
    return (
        f"appliance bootstrap --site-id {site_id} --bootstrap-mode fresh --release-version 1.0-rc5 "
        f"--node-ip {info['nodeIp']} --app-url {info['loginUrl']}"
    )


def _log_tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def _api_ready(url: str) -> bool:
    import httpx

    try:
        resp = httpx.get(url.rstrip("/") + "/readyz", verify=False, timeout=1.0)
    except httpx.HTTPError:
        return False
    return resp.status_code == 200


def lab_up(
    *,
    scenario: str,
    speed: float,
    site_id: str,
    bootstrapped: bool = False,
    foreground: bool = False,
    parent_pid: int | None = None,
) -> dict[str, Any] | None:
    """Start the lab; returns its ``lab.json`` once the API answers (``None`` after ``foreground``)."""
    from appliance_lab.scenario import load_scenario

    site = Site.open(site_id)
    load_scenario(scenario)
    if not speed > 0:
        raise UsageError(f"{speed} is not a positive number", param="--speed")
    running = _lab_info(site)
    if running is not None:
        raise UsageError(
            f"a lab is already running for site '{site_id}' (pid {running['pid']}); "
            "stop it with 'appliance lab down'",
            param="--site-id",
        )
    argv = [
        sys.executable,
        "-m",
        "appliance_lab.runtime",
        "--site-dir",
        str(site.root),
        "--scenario",
        scenario,
        "--speed",
        repr(speed),
        "--site-id",
        site_id,
    ]
    if bootstrapped:
        argv.append("--bootstrapped")
    if parent_pid is not None:
        argv += ["--parent-pid", str(parent_pid)]
    claim(site.root, site_id=site_id)  # a real site's directory: exit 2, nothing touched
    if foreground:
        from appliance_lab.runtime import main

        main(argv[3:])
        return None
    log_path = site.root / "lab.log"
    with open(log_path, "ab") as log:
        os.chmod(log_path, 0o600)
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=parent_pid is None
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ApplianceError(
                f"the lab process exited with code {proc.returncode} while starting",
                hint=_log_tail(log_path) or None,
            )
        info = _lab_info(site)
        if info is not None and info.get("pid") == proc.pid and _api_ready(str(info["apiUrl"])):
            return info
        time.sleep(0.05)
    proc.terminate()
    raise ApplianceError(
        f"the lab did not answer within {START_TIMEOUT:.0f}s", hint=_log_tail(log_path) or None
    )


def lab_status(*, site_id: str) -> dict[str, Any] | None:
    site = Site.open(site_id)
    info = _lab_info(site)
    if info is None:
        return None
    import httpx

    try:
        info["talosState"] = httpx.get(str(info["talosUrl"]) + "/healthz", timeout=2.0).json().get("state")
    except (httpx.HTTPError, ValueError):
        info["talosState"] = "unreachable"
    return info


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


def lab_down(*, site_id: str) -> str:
    """Stop the lab process (SIGTERM, then SIGKILL) and remove the site directory — only a
    site the lab created; in any other, the lab's own files at most (and never a real site's)."""
    site = Site.open(site_id)
    foreign = foreign_files(site.root)
    if foreign:
        raise UsageError(
            f"site '{site_id}' at {site.root} was not created by the lab (it holds {', '.join(foreign)}); "
            "nothing was stopped or deleted",
            param="--site-id",
        )
    info = _lab_info(site)
    stopped = ""
    if info is not None:
        pid = int(info["pid"])
        if pid == os.getpid():
            raise UsageError("this lab runs inside this process; stop it there", param="--site-id")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, STOP_TIMEOUT):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 2.0)
        stopped = f"Stopped the lab (pid {pid}). "
    if owned(site.root):
        shutil.rmtree(site.root, ignore_errors=True)
        return f"{stopped}Removed {site.root}."
    removed = [name for name in LAB_FILES if (site.root / name).is_file()]
    for name in removed:  # a directory the lab did not create keeps everything else
        (site.root / name).unlink(missing_ok=True)
    if removed:
        return f"{stopped}Removed {', '.join(removed)} from {site.root}."
    if stopped:
        return stopped.strip()
    return f"No lab is running for site '{site_id}'."


def read_lab_file(site_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((site_dir / "lab.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
