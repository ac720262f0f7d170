"""The ``appliance`` process ends without the interpreter's teardown only when nothing is left
for it to do: its output is whole, its exit code the command's, and an exit handler or a
thread still running makes it take the normal exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROGRAM = "import sys; sys.argv[0] = 'appliance'; from appliance_cli.cli.main import run; run()"


# An object whose finaliser speaks when the interpreter's teardown clears the module globals.
TEARDOWN_PROBE = (
    "_probe = type('Probe', (), {'__del__': lambda self: print('torn down', file=sys.__stderr__)})(); "
)


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
    r = appliance("explain", "--list", home=_isolated_home, before="import sys; " + handler + TEARDOWN_PROBE)
    assert r.returncode == 0 and "handler ran" in r.stderr
    assert "torn down" in r.stderr  # the normal exit


def test_a_thread_still_working_is_waited_for(_isolated_home: Path) -> None:
    # The thread prints only once the main thread has ended: after the command's output, and
    # never if the process ends without waiting for it.
    thread = (
        "import sys, threading; "
        "done = lambda: (threading.main_thread().join(), print('thread done', flush=True)); "
        "threading.Thread(target=done).start(); "
    )
    r = appliance("explain", "--list", home=_isolated_home, before=thread)
    assert r.returncode == 0 and r.stdout.rstrip().endswith("thread done")


def test_nothing_left_to_do_skips_the_teardown(_isolated_home: Path) -> None:
    # ``explain --list`` imports nothing that registers an exit handler (``--help`` does:
    # rich's markdown imports logging, which registers one), so its process ends at once.
    r = appliance("explain", "--list", home=_isolated_home, before="import sys; " + TEARDOWN_PROBE)
    assert r.returncode == 0 and r.stdout.splitlines()[-1].split()[0] == "workload_not_ready"  # all of it
    assert "torn down" not in r.stderr
