"""The site lock: one mutating command at a time, with its owner named; stale locks reclaimed."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading

import pytest

from appliance_cli import lock
from appliance_cli.errors import EXIT_ACTION_REQUIRED
from appliance_cli.site import Site


def _site() -> Site:
    site = Site.open("locked")
    site.root.mkdir(parents=True, exist_ok=True)
    return site


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lock_records_its_owner_0600_and_is_released() -> None:
    site = _site()
    with lock.site_lock(site, "upgrade") as owner:
        assert owner is not None
        path = site.root / lock.LOCK_FILE
        assert path.stat().st_mode & 0o777 == 0o600
        data = json.loads(path.read_text())
        assert data["command"] == "upgrade" and data["pid"] == os.getpid()
        assert data["host"] == socket.gethostname() and data["startedAt"].endswith("Z")
    assert not (site.root / lock.LOCK_FILE).exists()


def test_a_second_holder_is_refused_with_the_owner_named() -> None:
    site = _site()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (site.root / lock.LOCK_FILE).write_text(
            json.dumps(
                {
                    "command": "bootstrap",
                    "pid": holder.pid,
                    "host": socket.gethostname(),
                    "startedAt": "2026-12-04T10:00:00Z",
                    "procStart": lock._proc_start(holder.pid),
                }
            )
        )
        with pytest.raises(lock.SiteLocked) as exc, lock.site_lock(site, "reset"):
            pass
        assert exc.value.exit_code == EXIT_ACTION_REQUIRED
        assert f"pid {holder.pid}" in exc.value.message and "appliance bootstrap" in exc.value.message
        assert (site.root / lock.LOCK_FILE).exists()  # not stolen
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("variant", ["dead-pid", "reused-pid", "garbage"])
def test_a_lock_whose_owner_is_gone_is_reclaimed(variant: str) -> None:
    site = _site()
    path = site.root / lock.LOCK_FILE
    if variant == "garbage":
        path.write_text("{not json")
        os.utime(path, (0, 0))
    else:
        pid = _dead_pid() if variant == "dead-pid" else os.getppid()
        path.write_text(
            json.dumps(
                {
                    "command": "upgrade",
                    "pid": pid,
                    "host": socket.gethostname(),
                    "startedAt": "2026-12-04T10:00:00Z",
                    "procStart": 1,
                }
            )
        )
    with lock.site_lock(site, "repair") as owner:
        assert owner is not None and json.loads(path.read_text())["command"] == "repair"


def test_dry_run_takes_no_lock() -> None:
    site = _site()
    with lock.site_lock(site, "upgrade", dry_run=True) as owner:
        assert owner is None
        assert not (site.root / lock.LOCK_FILE).exists()


def _contend(home: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    os.environ["ALGA_APPLIANCE_HOME"] = home
    try:
        lock.acquire(Site.open("locked"), "bootstrap")
        queue.put("won")
        import time

        time.sleep(1.0)
    except lock.SiteLocked:
        queue.put("refused")


def test_only_one_of_many_concurrent_commands_wins() -> None:
    site = _site()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(str(site.root.parent), queue)) for _ in range(6)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=20) for _ in procs]
    for p in procs:
        p.join(timeout=20)
    assert results.count("won") == 1 and results.count("refused") == 5


def test_a_reader_never_sees_a_half_written_lock_and_no_temporary_file_stays() -> None:
    site = _site()
    path = site.root / lock.LOCK_FILE
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            with contextlib.suppress(FileNotFoundError):
                seen.append(path.read_text())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(300):
            with lock.site_lock(site, "upgrade"):
                pass
    finally:
        done.set()
        reader.join(timeout=10)
    assert seen, "the reader never caught the lock held"
    assert [text for text in seen if not text.startswith("{")] == []
    assert [json.loads(text)["command"] for text in seen] == ["upgrade"] * len(seen)
    assert sorted(p.name for p in site.root.iterdir()) == []
