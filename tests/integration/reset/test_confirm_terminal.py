"""Destructive confirmation on a real pseudo-terminal: whenever STDIN is a terminal the site
id must be typed — also when stdout goes to a pipe (`reset --force | tee reset.log`) — for
`reset --force` and for `bootstrap --bootstrap-mode fresh --force` over an installed appliance.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from appliance_lab.store import RESOURCE_TYPES
from appliance_lab.testing import LabHandle

from tests.cli_runner import invoke
from tests.lab_install import LAB_BOOTSTRAP

# What a reset deletes (the lab's own controllers come and go with Jobs, pods and events).
KEPT = {
    "v1/namespaces",
    "v1/persistentvolumes",
    "v1/persistentvolumeclaims",
    "helm.toolkit.fluxcd.io/v2/helmreleases",
    "kustomize.toolkit.fluxcd.io/v1/kustomizations",
}


def store_dump(lab: LabHandle) -> str:
    assert lab.store is not None
    out = {}
    for rt in RESOURCE_TYPES:
        if rt.key in KEPT:
            pairs, _ = lab.store.snapshot(rt)
            out[rt.key] = sorted(f"{ns}/{name}" for (ns, name), _obj in pairs)
    assert len(out) == len(KEPT)
    return json.dumps(out, sort_keys=True)


def run_on_terminal(args: list[str], answer: bytes, home: Path) -> tuple[int, str, str]:
    """The real CLI with a terminal as stdin and stderr and a pipe as stdout; ``answer`` is
    typed when the question appears. Returns (exit code, terminal text, stdout)."""
    master, slave = pty.openpty()
    env = {**os.environ, "ALGA_APPLIANCE_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance_cli", *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 120
    os.set_blocking(master, False)
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            chunk = os.read(master, 4096)
        except BlockingIOError:
            time.sleep(0.05)
            continue
        except OSError:
            break
        seen += chunk
        if not answered and b"Type the site id" in seen:
            os.write(master, answer + b"\r")
            answered = True
    out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    try:
        while chunk := os.read(master, 4096):
            seen += chunk
    except OSError:
        pass
    os.close(master)
    terminal = " ".join(seen.decode(errors="replace").split())  # the terminal wraps long lines
    assert answered, f"never asked; terminal: {terminal}\nstdout: {out.decode(errors='replace')}"
    return proc.returncode, terminal, out.decode(errors="replace")


def test_reset_with_stdout_piped_still_asks_and_a_wrong_answer_deletes_nothing(installed: LabHandle) -> None:
    before = store_dump(installed)
    code, terminal, out = run_on_terminal(
        ["reset", "--site-id", "lab", "--force"], b"nope", installed.site_dir.parent
    )
    assert code == 2, terminal
    assert "does not match" in terminal and "nothing was deleted" in terminal
    assert "Type the site id" not in out  # the question is on the terminal, not in the log
    assert "Reset plan for site lab" in out
    assert store_dump(installed) == before


def test_reset_with_stdout_piped_goes_on_when_the_site_id_is_typed(installed: LabHandle) -> None:
    code, terminal, out = run_on_terminal(
        ["reset", "--site-id", "lab", "--force"], b"lab", installed.site_dir.parent
    )
    assert code == 0, terminal + out
    assert not installed.list_objects("v1/namespaces", None, fieldSelector="metadata.name=msp")


def test_fresh_bootstrap_over_an_installed_appliance_asks_on_a_terminal(installed: LabHandle) -> None:
    before = store_dump(installed)
    journal = (installed.site_dir / "journal.json").read_bytes()
    args = [*LAB_BOOTSTRAP, "--bootstrap-mode", "fresh", "--force", "--progress", "plain"]
    code, terminal, out = run_on_terminal(args, b"wrong-site", installed.site_dir.parent)
    assert code == 2, terminal + out
    assert "does not match" in terminal and "nothing was deleted" in terminal
    assert "first resets site lab" in terminal
    assert store_dump(installed) == before
    assert "[phase 0/5]" not in out  # nothing ran
    assert (
        json.loads((installed.site_dir / "journal.json").read_bytes())["phases"]
        == json.loads(journal)["phases"]
    )


def test_without_a_terminal_force_is_the_confirmation(installed: LabHandle) -> None:
    r = invoke(["reset", "--site-id", "lab", "--force"])  # stdin is not a terminal here
    assert r.exit_code == 0, r.output[-2000:]
    assert "Type the site id" not in r.output
