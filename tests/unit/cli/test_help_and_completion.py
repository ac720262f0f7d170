"""`--help` reads right (a flag shows no value placeholder) and shell completion offers the
values that are data: site ids, release versions, blocker codes, lab scenarios."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance_cli.releases import available_versions
from tests.cli_runner import invoke


@pytest.mark.parametrize(
    "argv", [["--help"], ["bootstrap", "--help"], ["reset", "--help"], ["lab", "up", "--help"]]
)
def test_help_shows_no_value_placeholder_after_a_flag(argv: list[str]) -> None:
    r = invoke(argv)
    assert r.exit_code == 0, r.output
    assert "<bool>" not in r.stdout
    assert "--help" in r.stdout


def test_help_keeps_placeholders_of_options_that_take_a_value() -> None:
    r = invoke(["bootstrap", "--help"])
    line = next(ln for ln in r.stdout.splitlines() if "--node-ip" in ln)
    assert "<str>" in line
    dry = next(ln for ln in r.stdout.splitlines() if "--dry-run" in ln)
    assert "<" not in dry


def test_root_help_offers_shell_completion() -> None:
    r = invoke(["--help"])
    assert "--install-completion" in r.stdout and "--show-completion" in r.stdout


def complete(words: str, home: Path) -> list[str]:
    """Ask the real program as bash's completion hook does (COMP_WORDS / COMP_CWORD)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {
        **os.environ,
        "ALGA_APPLIANCE_HOME": str(home),
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
        "_APPLIANCE_COMPLETE": "complete_bash",
    }
    code = "import sys; sys.argv[0] = 'appliance'; from appliance_cli.cli.main import run; run()"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_completion_of_site_ids_release_versions_blocker_codes_and_scenarios(_isolated_home: Path) -> None:
    for site in ("lab", "branch-office"):
        (_isolated_home / site).mkdir()
    assert complete("appliance status --site-id ", _isolated_home) == ["branch-office", "lab"]
    assert complete("appliance bootstrap --site-id l", _isolated_home) == ["lab"]
    assert complete("appliance bootstrap --release-version ", _isolated_home) == available_versions()
    assert complete("appliance explain image_tag", _isolated_home) == ["image_tag_not_found"]
    scenarios = complete("appliance lab up --scenario ", _isolated_home)
    assert {"healthy", "missing-background-tag", "postgres-subpath"} <= set(scenarios)


def test_help_paragraphs_wrap_at_the_terminal_not_at_the_source_line_breaks() -> None:
    # upgrade's docstring breaks "1 when action / is required" across two source lines.
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm"}
    code = "import sys; sys.argv[0] = 'appliance'; from appliance_cli.cli.main import run; run()"
    out = subprocess.run(
        [sys.executable, "-c", code, "upgrade", "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    lines = [ln.strip() for ln in out.stdout.splitlines()]
    assert any("1 when action is required (refused by the preflight" in ln for ln in lines), out.stdout


def test_unwrap_joins_paragraph_lines_and_keeps_lists_and_no_rewrap_blocks() -> None:
    from appliance_cli.cli.helptext import unwrap

    text = "First line\ncontinued.\n\nSecond para\nwraps here.\n\nSteps:\n- one\n- two\n\n\bkeep\n  as is"
    assert unwrap(text).split("\n\n") == [
        "First line continued.",
        "Second para wraps here.",
        "Steps:\n- one\n- two",
        "\bkeep\n  as is",
    ]
