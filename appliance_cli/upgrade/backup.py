"""Database backups: a custom-format ``pg_dump`` of ``server`` streamed over exec from the
database pod into the site directory, and ``pg_restore`` of such an archive.

The archive is written to a temporary file (0600) in ``<site>/backups/`` while it streams,
checked (non-empty, the custom format's ``PGDMP`` header, pg_dump's exit code 0), then renamed
into place; its sha256 and size go into its record beside it, with the configuration the
cluster had when it was taken. A restore checks the digest against that record first.

Commands (PostgreSQL's documented options): ``pg_dump --username=postgres --format=custom
server`` (no ``--file``: the archive goes to stdout) and ``pg_restore --username=postgres
--dbname=server --clean --if-exists --no-owner --single-transaction`` (no file name: the
archive is read from stdin; ``--single-transaction`` restores all or nothing).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance_cli.catalog import load_catalog
from appliance_cli.errors import ActionRequired, ApplianceError, UsageError
from appliance_cli.site import Site, atomic_write
from appliance_cli.upgrade.model import BackupRecord, backup_dir

if TYPE_CHECKING:
    from appliance_cli.adapters.kube import KubeClient

DATABASE = "server"
DB_USER = "postgres"
DUMP_COMMAND = ["pg_dump", f"--username={DB_USER}", "--format=custom", DATABASE]
RESTORE_COMMAND = [
    "pg_restore",
    f"--username={DB_USER}",
    f"--dbname={DATABASE}",
    "--clean",
    "--if-exists",
    "--no-owner",
    "--single-transaction",
]
SIZE_COMMAND = ["psql", "-U", DB_USER, "-d", DATABASE, "-tAc", f"select pg_database_size('{DATABASE}')"]
ARCHIVE_MAGIC = b"PGDMP"  # first bytes of every pg_dump custom-format archive
FREE_SPACE_MARGIN = 64 * 1024 * 1024
DUMP_TIMEOUT = 3600.0


def db_pod() -> tuple[str, str, str]:
    """(namespace, pod, container) of the database (the catalog's ``db`` component)."""
    db = load_catalog().component("db")
    return db.namespace, f"{db.workload.name}-0", db.workload.container or db.workload.name


def now_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def database_size(kube: KubeClient) -> int:
    """``pg_database_size('server')`` in bytes (an upper bound of the archive's size)."""
    out, err, code = kube.exec(*db_pod(), list(SIZE_COMMAND), timeout=30.0)
    text = out.strip()
    if code != 0 or not text.isdigit():
        raise ActionRequired(
            f"cannot read the size of database {DATABASE}: "
            f"{(err.strip() or text or f'exit code {code}')[:200]}",
            hint="the database must be running for a backup; see 'appliance status'",
        )
    return int(text)


def check_free_space(site: Site, needed: int) -> tuple[int, int]:
    """(free bytes, needed bytes) for the site directory; refuses when too little is free."""
    site.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    free = shutil.disk_usage(site.root).free
    want = needed + FREE_SPACE_MARGIN
    if free < want:
        raise ActionRequired(
            f"not enough free space for the backup in {site.root}: {free // 2**20} MiB free, "
            f"{want // 2**20} MiB needed (database {needed // 2**20} MiB + margin); nothing was changed",
            hint="free space there (old archives live in <site>/backups/), then run again",
        )
    return free, want


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def take_backup(
    kube: KubeClient,
    site: Site,
    *,
    release_version: str | None,
    config: list[dict[str, Any]],
    reason: str = "manual",
) -> BackupRecord:
    """Dump the database into ``<site>/backups/<id>.dump`` and write its record (both 0600)."""
    folder = backup_dir(site)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = now_id()
    backup_id, n = stamp, 1
    while (folder / f"{backup_id}.json").exists() or (folder / f"{backup_id}.dump").exists():
        n += 1
        backup_id = f"{stamp}-{n}"  # a second backup within the same second
    final = folder / f"{backup_id}.dump"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{backup_id}.", suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    started = time.monotonic()
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            size, err, code = kube.exec_stream(*db_pod(), list(DUMP_COMMAND), sink=fh, timeout=DUMP_TIMEOUT)
            fh.flush()
            os.fsync(fh.fileno())
        if code != 0:
            raise ActionRequired(f"pg_dump failed (exit code {code}): {err.strip()[:300]}")
        with tmp.open("rb") as fh:
            head = fh.read(len(ARCHIVE_MAGIC))
        if size == 0 or head != ARCHIVE_MAGIC:
            raise ActionRequired("pg_dump did not write a custom-format archive (no PGDMP header)")
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    record = BackupRecord(
        id=backup_id,
        file=final.name,
        sha256=sha256_of(final),
        size_bytes=final.stat().st_size,
        created_at=rfc3339(),
        release_version=release_version,
        seconds=round(time.monotonic() - started, 3),
        reason=reason,
        config=config,
    )
    atomic_write(folder / f"{backup_id}.json", record.model_dump_json(by_alias=True, indent=2) + "\n")
    return record


def list_backups(site: Site) -> list[BackupRecord]:
    """Every backup of the site whose record is readable, newest first."""
    out: list[BackupRecord] = []
    folder = backup_dir(site)
    for path in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []:
        try:
            out.append(BackupRecord.model_validate_json(path.read_text()))
        except (OSError, ValueError):
            continue
    return out


def load_backup(site: Site, backup_id: str) -> BackupRecord:
    path = backup_dir(site) / f"{backup_id}.json"
    try:
        return BackupRecord.model_validate_json(path.read_text())
    except (OSError, ValueError) as exc:
        raise ActionRequired(f"the backup record {path} is unreadable: {exc}") from exc


def resolve_archive(site: Site, given: Path) -> tuple[Path, BackupRecord | None]:
    """The archive ``--from`` names (a path, or a backup id of this site) and its record."""
    candidates = [given.expanduser(), backup_dir(site) / f"{given.name}.dump", backup_dir(site) / given.name]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise UsageError(f"{given} is neither a file nor a backup of site {site.site_id!r}", param="--from")
    record_file = path.with_suffix(".json")
    record = None
    if record_file.is_file():
        with contextlib.suppress(OSError, ValueError):
            record = BackupRecord.model_validate_json(record_file.read_text())
    return path, record


def verify_archive(path: Path, record: BackupRecord | None) -> str:
    """The archive's sha256 after checking its header and, with a record, its digest and size."""
    with path.open("rb") as fh:
        if fh.read(len(ARCHIVE_MAGIC)) != ARCHIVE_MAGIC:
            raise UsageError(
                f"{path} is not a pg_dump custom-format archive (no PGDMP header)", param="--from"
            )
    digest = sha256_of(path)
    if record is not None and (record.sha256 != digest or record.size_bytes != path.stat().st_size):
        raise UsageError(
            f"{path} does not match its record (sha256 {digest[:12]}…, recorded {record.sha256[:12]}…): "
            "it changed since the backup was taken",
            param="--from",
        )
    return digest


def restore_database(kube: KubeClient, path: Path) -> float:
    """Stream the archive into ``pg_restore`` in the database pod; seconds it took."""
    started = time.monotonic()
    with path.open("rb") as fh:
        _, err, code = kube.exec_stream(*db_pod(), list(RESTORE_COMMAND), stdin=fh, timeout=DUMP_TIMEOUT)
    if code != 0:
        raise ActionRequired(
            f"pg_restore failed (exit code {code}): {err.strip()[:300]}",
            hint="nothing was committed (single transaction); the database holds what it held before",
        )
    return round(time.monotonic() - started, 3)


def seed_users(kube: KubeClient) -> int | None:
    """The seed-user count (``status.collect.SEED_COMMAND``), or None when it cannot be read."""
    from appliance_cli.status.collect import SEED_COMMAND

    try:
        out, _err, code = kube.exec(*db_pod(), list(SEED_COMMAND), timeout=20.0)
    except ApplianceError:
        return None
    text = out.strip()
    return int(text) if code == 0 and text.isdigit() else None


def backup_now(site: Site) -> BackupRecord:
    """``appliance backup``: free-space check, dump and configuration, history — under the site lock."""
    from appliance_cli.env import open_env
    from appliance_cli.lock import site_lock
    from appliance_cli.upgrade import cluster, history
    from appliance_cli.upgrade.model import HistoryEntry

    if not site.kubeconfig.is_file():
        raise UsageError(f"site {site.site_id!r} has no kubeconfig: nothing to back up", param="--site-id")
    client = open_env(site).kube()
    with site_lock(site, "backup"):
        check_free_space(site, database_size(client))
        selection = cluster.read_selection(client)
        record = take_backup(
            client,
            site,
            release_version=selection.get("releaseVersion"),
            config=cluster.config_snapshot(client),
        )
        history.record(
            site,
            HistoryEntry(
                kind="backup",
                at=record.created_at,
                result="succeeded",
                from_version=record.release_version,
                backup_id=record.id,
                message=f"{record.size_bytes} bytes in {record.seconds:g}s ({record.reason})",
            ),
            kube=client,
        )
    return record
