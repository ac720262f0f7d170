"""What a person sees: `appliance bootstrap` against the lab under a real pseudo-terminal, read
back through a terminal emulator (pyte), final screen plus scrollback.

Each milestone (status URL and token, login URL, each phase's end, each warning and blocker)
is on screen exactly once, the phase markers are in order, no line appears twice, and the
live region leaves nothing behind; in colour, with NO_COLOR=1, and at 80 columns.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from appliance_lab.testing import LabHandle, running_lab

from appliance_cli import tls

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")

pytestmark = pytest.mark.slow
SPEED = 60.0
ARGS = ["bootstrap", "--site-id", "lab", "--release-version", "1.0-rc5", "--node-ip", "127.0.0.1"]
TITLES = ["Talos host", "Platform", "Status service", "Core", "Background", "Health"]


@dataclass
class Screen:
    exit_code: int
    lines: list[str]  # scrollback then the final screen, right-stripped, blank lines dropped
    coloured: bool  # any character drawn in a colour other than the terminal's default

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def count(self, prefix: str) -> int:
        return sum(1 for line in self.lines if line.startswith(prefix))

    def index(self, prefix: str) -> int:
        found = [i for i, line in enumerate(self.lines) if line.startswith(prefix)]
        assert len(found) == 1, f"{prefix!r} is on screen {len(found)} times:\n{self.text}"
        return found[0]


def run_in_terminal(home: Path, *, columns: int, no_color: bool, rows: int = 30) -> Screen:
    """The real CLI in a child process on a pty of ``columns`` x ``rows``, fed to an emulator."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update({"ALGA_APPLIANCE_HOME": str(home), "TERM": "xterm-256color", "COLUMNS": str(columns)})
    env.pop("LINES", None)
    if no_color:
        env["NO_COLOR"] = "1"
    screen = pyte.HistoryScreen(columns, rows, history=10_000)
    stream = pyte.ByteStream(screen)
    argv = ["-m", "appliance_cli", *ARGS, "--bootstrap-mode", "fresh"]
    child = pexpect.spawn(sys.executable, argv, env=env, dimensions=(rows, columns), timeout=120)
    try:
        while True:
            try:
                chunk = child.read_nonblocking(65536, timeout=120)
            except pexpect.EOF:
                break
            stream.feed(chunk)
    finally:
        child.close()
    assert child.exitstatus is not None, f"killed by signal {child.signalstatus}"

    def text(row: dict[int, object]) -> str:
        return "".join(getattr(row[x], "data", " ") for x in range(columns)).rstrip()

    rows_seen = [*screen.history.top, *(screen.buffer[y] for y in range(rows))]
    lines = [ln for ln in (text(r) for r in rows_seen) if ln.strip()]
    coloured = any(getattr(ch, "fg", "default") != "default" for r in rows_seen for ch in r.values())
    return Screen(child.exitstatus, lines, coloured)


def assert_no_line_twice(screen: Screen) -> None:
    seen: dict[str, int] = {}
    for line in screen.lines:
        seen[line] = seen.get(line, 0) + 1
    twice = {line: n for line, n in seen.items() if n > 1}
    assert not twice, f"lines shown more than once: {twice}\n{screen.text}"


def assert_phases_in_order(screen: Screen, last: int) -> None:
    """Each phase up to ``last`` ends exactly once (✓, or ⚠ with its warnings), in order."""
    at = []
    for n in range(last + 1):
        ends = [i for i, ln in enumerate(screen.lines) if ln[2:].startswith(f"phase {n}/5 {TITLES[n]}")]
        assert len(ends) == 1, f"phase {n} ends {len(ends)} times:\n{screen.text}"
        assert screen.lines[ends[0]][0] in "✓⚠", screen.lines[ends[0]]
        at.append(ends[0])
    assert at == sorted(at), screen.text


def assert_token_once(screen: Screen, lab: LabHandle) -> int:
    token = (lab.site_dir / "status-token").read_text().strip()
    assert screen.text.count(token) == 1, screen.text
    # the URL and the token are on the line that names them (word-wrapped whole, never cut)
    at = screen.index("Appliance status UI: URL ")
    assert lab.status_url in screen.lines[at]
    assert token in screen.lines[at] or token == screen.lines[at + 1].strip()
    assert_fingerprint_next_to_the_token(screen, lab, at)
    return at


FINGERPRINT_LINE = "Status page certificate SHA-256 fingerprint:"


def assert_fingerprint_next_to_the_token(screen: Screen, lab: LabHandle, token_at: int) -> None:
    """The certificate's fingerprint is on screen once, on the line right after the token's
    (at 80 columns its 95 characters fold onto the next line, never cut)."""
    fingerprint = tls.fingerprint((lab.site_dir / tls.CERT_FILE).read_bytes())
    at = screen.index(FINGERPRINT_LINE)
    assert token_at < at <= token_at + 2, screen.text  # the token's line may wrap once
    assert screen.text.count(fingerprint[:47]) == 1, screen.text
    joined = "".join("".join(line.split()) for line in screen.lines[at : at + 3])
    assert "".join(FINGERPRINT_LINE.split()) + fingerprint in joined, screen.text
    assert "PRIVATE KEY" not in screen.text


@pytest.mark.parametrize(
    ("columns", "no_color"), [(150, False), (80, True)], ids=["150-columns-colour", "80-columns-NO_COLOR"]
)
def test_healthy_bootstrap_shows_each_milestone_once(
    _isolated_home: Path, columns: int, no_color: bool
) -> None:
    with running_lab(scenario="healthy", speed=SPEED, bootstrapped=False) as lab:
        screen = run_in_terminal(_isolated_home, columns=columns, no_color=no_color)
        assert screen.exit_code == 0, screen.text
        assert_phases_in_order(screen, last=5)
        assert not any(line.startswith("✗") for line in screen.lines), screen.text
        status_at = assert_token_once(screen, lab)
        login_at = screen.index(f"Alga is ready to log in: {lab.login_url}")
        rollup_at = screen.index("Rollup: fully_healthy")
        assert screen.index("✓ phase 2/5 Status service") < status_at < login_at
        assert login_at < screen.index("✓ phase 3/5 Core") < rollup_at
        assert_no_line_twice(screen)
        assert not any(line.startswith("▸ ") for line in screen.lines), "the live region was left behind"
        assert all(len(line) <= columns for line in screen.lines)
        assert screen.coloured is not no_color  # NO_COLOR=1: not one coloured character


def test_missing_background_tag_warns_once_and_still_says_login_works(_isolated_home: Path) -> None:
    with running_lab(scenario="missing-background-tag", speed=SPEED, bootstrapped=False) as lab:
        screen = run_in_terminal(_isolated_home, columns=120, no_color=False)
        assert screen.exit_code == 0, screen.text
        assert_phases_in_order(screen, last=5)
        assert_token_once(screen, lab)
        screen.index(f"Alga is ready to log in: {lab.login_url}")
        warnings = [line for line in screen.lines if line.startswith("⚠ ")]
        assert any("workflow-worker" in w for w in warnings), screen.text
        assert screen.count("⚠ phase 4/5 Background") == 1  # the phase ends with its warnings
        screen.index("Rollup: ready_with_background_issues")
        assert_no_line_twice(screen)


def test_postgres_subpath_shows_the_blocker_once_and_no_token(_isolated_home: Path) -> None:
    with running_lab(scenario="postgres-subpath", speed=SPEED, bootstrapped=False):
        screen = run_in_terminal(_isolated_home, columns=100, no_color=True)
        assert screen.exit_code == 1, screen.text
        screen.index("✓ phase 0/5 Talos host")
        failed = screen.index("✗ phase 1/5 Platform")
        assert "storage_pvc_subpath_failed" in screen.text
        assert screen.index("error: ") > failed
        assert "Appliance status UI" not in screen.text  # phase 2 never ran
        assert_no_line_twice(screen)
