"""One lock per site for every command that changes the appliance.

``bootstrap``, ``upgrade``, ``repair``, ``reset`` and ``restore`` hold ``<site>/operation.lock``
while they run. The file records who holds it (command, pid, host, start time). A second
command on the same site is refused with that owner; a lock whose owner process is gone
(same host, pid not alive, or a pid reused by another process started later) is reclaimed,
so a killed run never wedges the site. ``--dry-run`` takes no lock (it changes nothing).

The lock is an ``O_CREAT | O_EXCL`` file: creation is atomic on every local filesystem.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from appliance_cli.errors import ActionRequired
from appliance_cli.site import Site, make_private_dir

LOCK_FILE = "operation.lock"


@dataclass(frozen=True)
class LockOwner:
    command: str
    pid: int
    host: str
    started_at: str
    # the owner's process start time (clock ticks since boot, /proc/<pid>/stat field 22):
    # tells a live owner from an unrelated process that reused its pid
    proc_start: int | None = None

    def describe(self) -> str:
        return f"'appliance {self.command}' (pid {self.pid} on {self.host}, since {self.started_at})"


class SiteLocked(ActionRequired):
    """Another mutating command holds the site (exit 1, nothing was changed: wait, then retry)."""


def _proc_start(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    # fields[0] is the state (field 3); start time is field 22 -> index 19
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _alive(owner: LockOwner) -> bool:
    if owner.host != socket.gethostname():
        return True  # another machine's process: we cannot tell, so we never steal it
    if owner.pid <= 0:
        return False
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    start = _proc_start(owner.pid)
    if start is not None and owner.proc_start is not None and start != owner.proc_start:
        return False  # the pid was reused by another process
    try:
        state = Path(f"/proc/{owner.pid}/stat").read_text().rsplit(")", 1)[-1].split()[:1]
    except OSError:
        return True
    return state != ["Z"]


def read_owner(site: Site) -> LockOwner | None:
    """Who holds the site's lock (``None``: nobody, or an unreadable leftover)."""
    try:
        data = json.loads((site.root / LOCK_FILE).read_text())
        return LockOwner(
            command=str(data["command"]),
            pid=int(data["pid"]),
            host=str(data["host"]),
            started_at=str(data["startedAt"]),
            proc_start=int(data["procStart"]) if data.get("procStart") is not None else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _try_create(path: Path, owner: LockOwner) -> bool:
    body = json.dumps(
        {
            "command": owner.command,
            "pid": owner.pid,
            "host": owner.host,
            "startedAt": owner.started_at,
            "procStart": owner.proc_start,
        }
    ).encode()
    # written whole under a private name, then linked into place: link() fails if the lock
    # exists, so taking it stays exclusive, and nobody ever reads a lock half written
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    tmp = Path(name)
    try:
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return True


def acquire(site: Site, command: str) -> LockOwner:
    """Take the site's lock for ``command`` or raise ``SiteLocked`` naming the holder."""
    make_private_dir(site.root)  # the home and the site directory: 0700 whatever the umask
    path = site.root / LOCK_FILE
    me = LockOwner(
        command=command,
        pid=os.getpid(),
        host=socket.gethostname(),
        started_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        proc_start=_proc_start(os.getpid()),
    )
    for _ in range(3):
        if _try_create(path, me):
            return me
        owner = read_owner(site)
        if owner is None:
            # released meanwhile, or garbage (a lock is linked into place whole, so it is never
            # seen half written); garbage older than a moment goes
            if _mtime_age(path) > 2.0:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            continue
        if owner.pid == me.pid and owner.host == me.host:
            raise SiteLocked(
                f"this process already holds the lock of site {site.site_id!r} "
                f"for 'appliance {owner.command}'"
            )
        if _alive(owner):
            raise SiteLocked(
                f"site {site.site_id!r} is busy: {owner.describe()} is changing it",
                hint="wait for it to finish (appliance status shows its progress), then run this again",
            )
        # the owner is gone: reclaim (rename first, so two reclaimers cannot both win)
        stale = path.with_name(f"{LOCK_FILE}.stale.{me.pid}")
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, stale)
            stale.unlink()
    raise SiteLocked(f"could not take the lock of site {site.site_id!r}")


def _mtime_age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def release(site: Site, owner: LockOwner) -> None:
    """Drop the lock when ``owner`` still holds it."""
    held = read_owner(site)
    mine = (owner.pid, owner.host, owner.started_at)
    if held is not None and (held.pid, held.host, held.started_at) == mine:
        with contextlib.suppress(FileNotFoundError):
            (site.root / LOCK_FILE).unlink()


@contextlib.contextmanager
def site_lock(site: Site, command: str, *, dry_run: bool = False) -> Iterator[LockOwner | None]:
    """Hold the site's lock for the duration of ``command`` (no lock in a dry run)."""
    if dry_run:
        yield None
        return
    owner = acquire(site, command)
    try:
        yield owner
    finally:
        release(site, owner)
