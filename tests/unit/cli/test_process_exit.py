"""The ``appliance`` process ends without the interpreter's teardown only when nothing is left
for it to do: its output is whole, its exit code the command's, and an exit handler or a
thread still running makes it take the normal exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROGRAM = "import sys; sys.argv[0] = 'appliance'; from appliance_cli.cli.main import run; run()"


def appliance(*args: str, home: Path, before: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALGA_APPLIANCE_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-c", before + PROGRAM, *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_output_and_exit_codes_are_the_commands(_isolated_home: Path) -> None:
    listing = appliance("explain", "--list", home=_isolated_home)
    assert listing.returncode == 0, listing.stderr
    rows = listing.stdout.splitlines()
    assert rows[1].split()[0] == "code" and rows[-1].split()[0] == "workload_not_ready"  # all of it
    assert len(rows) > 20
    bad = appliance("status", "--bogus", home=_isolated_home)
    assert bad.returncode == 2 and "No such option: --bogus" in bad.stderr
    missing = appliance("status", "--site-id", "nosuch", home=_isolated_home)
    assert missing.returncode == 2 and "there is no site 'nosuch'" in missing.stderr


def test_an_exit_handler_still_runs(_isolated_home: Path) -> None:
    handler = "import atexit; atexit.register(lambda: print('handler ran', file=sys.stderr)); "
    r = appliance("explain", "--help", home=_isolated_home, before="import sys; " + handler)
    assert r.returncode == 0 and r.stderr.strip().endswith("handler ran")


def test_a_thread_still_working_is_waited_for(_isolated_home: Path) -> None:
    thread = (
        "import sys, threading, time; "
        "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done', flush=True))).start(); "
    )
    r = appliance("explain", "--help", home=_isolated_home, before=thread)
    assert r.returncode == 0 and r.stdout.rstrip().endswith("thread done")
