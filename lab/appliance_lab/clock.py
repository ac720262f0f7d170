"""Which clock an in-process lab runs on, for the CLI in the same process to share.

A lab in its own process (``appliance lab up``) runs on the wall clock, and the CLI reaches it
with a ``ScaledClock`` (``appliance_cli.env``). A lab started in-process with an explicit
clock (tests: ``appliance_lab.testing.VirtualClock``) registers it here under its site
directory; ``LabTarget.claims`` hands it to ``open_env`` so the CLI's waits and the lab's
controllers see one time.
"""

from __future__ import annotations

import threading
from pathlib import Path

from appliance_cli.env import Clock

_lock = threading.Lock()
_shared: dict[Path, Clock] = {}


def share(site_dir: Path, clock: Clock) -> None:
    with _lock:
        _shared[site_dir.resolve()] = clock


def unshare(site_dir: Path, clock: Clock) -> None:
    with _lock:
        if _shared.get(site_dir.resolve()) is clock:
            del _shared[site_dir.resolve()]


def shared_clock(site_dir: Path) -> Clock | None:
    """The clock of the lab running in this process for ``site_dir``, if it shares one."""
    with _lock:
        return _shared.get(site_dir.resolve())
