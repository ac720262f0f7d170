"""The records an upgrade keeps in the site directory: its journal, backups, history.

- ``upgrade.json`` (0600): the upgrade in progress or the last one — from/to release, the
  reconcile token it asked Flux with, the backup it took, each step's state, the bootstrap
  Jobs that existed before it (a new one means the new release migrated the database).
  A killed run leaves ``state: running``; the next ``appliance upgrade`` continues from it.
- ``backups/<id>.dump`` (0600): the database archive; ``backups/<id>.json`` (0600): its
  record (sha256, size, release, time) and the configuration it was taken with (values
  ConfigMaps, release selection, tier Kustomizations, HelmRelease specs).
- History: every upgrade, rollback, backup and restore, newest first, in the site journal's
  facts (``history``) and in the facts ConfigMap (``facts.json``, key ``history``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance_cli.errors import UsageError
from appliance_cli.site import Site, atomic_write

UPGRADE_FILE = "upgrade.json"
BACKUP_DIR = "backups"
HISTORY_LIMIT = 50

StepName = Literal["preflight", "backup", "core", "background", "rollback"]
StepState = Literal["running", "done", "failed", "skipped", "interrupted"]
UpgradeState = Literal["running", "rolling_back", "succeeded", "rolled_back", "failed"]
HistoryKind = Literal["upgrade", "rollback", "backup", "restore"]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class StepRecord(_Model):
    state: StepState
    started_at: str | None = Field(None, alias="startedAt")
    finished_at: str | None = Field(None, alias="finishedAt")
    seconds: float | None = None
    message: str | None = None


class BackupRecord(_Model):
    """One backup: the archive's file, digest and size, and the configuration beside it."""

    id: str
    file: str  # archive file name inside backups/
    sha256: str
    size_bytes: int = Field(alias="sizeBytes")
    created_at: str = Field(alias="createdAt")
    release_version: str | None = Field(None, alias="releaseVersion")
    database: str = "server"
    format: Literal["custom"] = "custom"
    seconds: float = 0.0
    reason: str = "manual"  # "manual" | "pre-upgrade to <version>"
    config: list[dict[str, Any]] = Field(default_factory=list)


class UpgradeJournal(_Model):
    version: Literal[1] = 1
    id: str
    from_version: str = Field(alias="fromVersion")
    to_version: str = Field(alias="toVersion")
    state: UpgradeState = "running"
    token: str  # the reconcile.fluxcd.io/requestedAt value of this upgrade
    rollback_token: str | None = Field(None, alias="rollbackToken")
    started_at: str = Field(alias="startedAt")
    finished_at: str | None = Field(None, alias="finishedAt")
    backup_id: str | None = Field(None, alias="backupId")
    jobs_before: list[str] = Field(default_factory=list, alias="bootstrapJobsBefore")
    new_jobs: list[str] = Field(default_factory=list, alias="newBootstrapJobs")
    steps: dict[str, StepRecord] = Field(default_factory=dict)
    failure: dict[str, Any] | None = None
    # the site journal's image checks before the upgrade (the status compares running digests
    # with them); put back by a rollback
    previous_image_checks: list[dict[str, Any]] | None = Field(None, alias="previousImageChecks")
    applied: int = 0
    timings: dict[str, float] = Field(default_factory=dict)

    def step_done(self, name: StepName) -> bool:
        rec = self.steps.get(name)
        return rec is not None and rec.state in ("done", "skipped")


class HistoryEntry(_Model):
    kind: HistoryKind
    at: str
    result: str  # succeeded | failed | rolled_back | ...
    from_version: str | None = Field(None, alias="fromVersion")
    to_version: str | None = Field(None, alias="toVersion")
    backup_id: str | None = Field(None, alias="backupId")
    message: str | None = None


def journal_path(site: Site) -> Path:
    return site.root / UPGRADE_FILE


def load_journal(site: Site) -> UpgradeJournal | None:
    path = journal_path(site)
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return UpgradeJournal.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        raise UsageError(
            f"{path} is not a valid upgrade journal",
            hint="move it aside; the next upgrade starts over from a fresh backup",
        ) from None


def save_journal(site: Site, journal: UpgradeJournal) -> None:
    atomic_write(journal_path(site), journal.model_dump_json(by_alias=True, indent=2) + "\n", mode=0o600)


def backup_dir(site: Site) -> Path:
    return site.root / BACKUP_DIR
