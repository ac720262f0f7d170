"""``journal.json`` in the site directory: completed phases, the facts they established, timings.

Written atomically (temp file + rename, 0600) after every phase, on failure and on
interrupt, so ``--bootstrap-mode recover`` resumes from the last completed phase. Holds no
secret: the status token lives only in ``status-token`` and the Secret.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance_cli.errors import UsageError
from appliance_cli.site import atomic_write

PhaseState = Literal["running", "completed", "failed", "interrupted", "skipped"]


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PhaseRecord(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    state: PhaseState
    started_at: str | None = Field(None, alias="startedAt")
    finished_at: str | None = Field(None, alias="finishedAt")
    seconds: float | None = None
    message: str | None = None


class JournalData(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    version: Literal[1] = 1
    site_id: str = Field(alias="siteId")
    release_version: str | None = Field(None, alias="releaseVersion")
    bootstrap_mode: str | None = Field(None, alias="bootstrapMode")
    runs: int = 0
    phases: dict[str, PhaseRecord] = Field(default_factory=dict)
    facts: dict[str, Any] = Field(default_factory=dict)
    updated_at: str | None = Field(None, alias="updatedAt")


class Journal:
    """The journal of one site. ``save`` is a no-op in dry run (no local file is written)."""

    def __init__(self, path: Path, site_id: str, *, dry_run: bool) -> None:
        self.path = path
        self.site_id = site_id
        self.dry_run = dry_run
        self.data = self._load(path, site_id)

    def reload(self) -> None:
        """Read the file again (another command may have written it since this one started)."""
        self.data = self._load(self.path, self.site_id)

    @staticmethod
    def _load(path: Path, site_id: str) -> JournalData:
        hint = "move it aside to start over; the cluster is verified phase by phase"
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return JournalData(site_id=site_id)
        except UnicodeDecodeError:
            raise UsageError(
                "not a valid bootstrap journal (not UTF-8 text)", param=str(path), hint=hint
            ) from None
        except OSError as exc:
            raise UsageError(
                f"cannot read the bootstrap journal: {exc.strerror or exc}", param=str(path), hint=hint
            ) from None
        try:
            return JournalData.model_validate(json.loads(raw))
        except (json.JSONDecodeError, ValidationError, RecursionError) as exc:
            raise UsageError(
                f"not a valid bootstrap journal ({exc.__class__.__name__})", param=str(path), hint=hint
            ) from None

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def completed(self, phase: int) -> bool:
        rec = self.data.phases.get(str(phase))
        return rec is not None and rec.state in ("completed", "skipped")

    def start(self, phase: int) -> None:
        self.data.phases[str(phase)] = PhaseRecord(state="running", started_at=now_rfc3339())
        self.save()

    def finish(self, phase: int, state: PhaseState, seconds: float, message: str | None = None) -> None:
        rec = self.data.phases.get(str(phase)) or PhaseRecord(state=state)
        if state == "skipped" and self.completed(phase):
            state = "completed"  # verified on a later run: stays completed
        self.data.phases[str(phase)] = rec.model_copy(
            update={
                "state": state,
                "finished_at": now_rfc3339(),
                "seconds": round(seconds, 3),
                "message": message,
            }
        )
        self.save()

    def fact(self, key: str, default: Any = None) -> Any:
        return self.data.facts.get(key, default)

    def set_fact(self, key: str, value: Any) -> None:
        self.data.facts[key] = value

    def timings(self) -> dict[str, float]:
        return {k: v.seconds for k, v in self.data.phases.items() if v.seconds is not None}

    def save(self) -> None:
        if self.dry_run:
            return
        self.data.updated_at = now_rfc3339()
        atomic_write(self.path, self.data.model_dump_json(by_alias=True, indent=2) + "\n", mode=0o600)
