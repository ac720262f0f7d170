"""Messages on a pipe or in a file are whole lines: a long path is never broken."""

from __future__ import annotations

import io
from contextlib import redirect_stderr

from appliance_cli import console


def test_an_error_naming_a_long_path_is_one_line_when_stderr_is_not_a_terminal() -> None:
    path = "/tmp/" + "/".join(["a-rather-long-directory-name"] * 8) + "/snapshot.json"
    buf = io.StringIO()
    console.reset()
    with redirect_stderr(buf):
        console.display_error(f"{path}: not valid JSON", hint="make one with 'appliance support-bundle' " * 3)
        console.display_warning("w " * 100)
    console.reset()
    lines = buf.getvalue().splitlines()
    assert lines[0] == f"error: {path}: not valid JSON"
    assert lines[1].startswith("  hint: make one with") and len(lines) == 3


def test_colon_words_stay_text_and_never_become_emoji() -> None:
    """A certificate fingerprint (``…:AB:…``) or an event message (``:warning:``) is shown as written."""
    fingerprint = "61:F0:AB:3A:AB:CD"
    out, err = io.StringIO(), io.StringIO()
    console.reset()
    with redirect_stderr(err):
        console.display_info(f"Certificate SHA-256 fingerprint: {fingerprint}")
        console.display_warning("pod says :warning: and :smile:")
    console.reset()
    assert fingerprint in err.getvalue()
    assert ":warning: and :smile:" in err.getvalue()
    assert "\U0001f18e" not in err.getvalue() + out.getvalue()  # 🆎
