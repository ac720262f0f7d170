"""The journal: atomic, 0600, resumable, refuses a corrupt file with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance_cli.bootstrap.journal import Journal
from appliance_cli.errors import UsageError


def test_phases_and_facts_survive_a_reload(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json", "s", dry_run=False)
    j.start(0)
    j.finish(0, "completed", 1.5)
    j.set_fact("installDisk", "/dev/sda")
    j.start(1)
    j.finish(1, "interrupted", 0.2, "interrupted (Ctrl-C)")
    again = Journal(tmp_path / "journal.json", "s", dry_run=False)
    assert again.completed(0) and not again.completed(1)
    assert again.fact("installDisk") == "/dev/sda"
    assert again.timings() == {"0": 1.5, "1": 0.2}
    assert (tmp_path / "journal.json").stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob(".journal.json.*"))  # no temp file left behind


def test_a_verified_phase_stays_completed(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json", "s", dry_run=False)
    j.finish(2, "completed", 3.0)
    j.finish(2, "skipped", 0.1, "verified")
    assert j.data.phases["2"].state == "completed"


def test_dry_run_journal_writes_nothing(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json", "s", dry_run=True)
    j.start(0)
    j.finish(0, "completed", 1.0)
    assert not (tmp_path / "journal.json").exists()


def test_corrupt_journal_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "journal.json").write_text("{not json")
    with pytest.raises(UsageError, match="not a valid bootstrap journal"):
        Journal(tmp_path / "journal.json", "s", dry_run=False)
