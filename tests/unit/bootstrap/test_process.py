"""The process runner: argv lists, captured output, timeouts, secrets kept out of errors."""

from __future__ import annotations

import sys

import pytest

from appliance_cli.adapters.process import REDACTED, SubprocessRunner, redact
from appliance_cli.errors import CommandError
from tests.recording import RecordingRunner

PY = sys.executable


def test_output_of_a_successful_command_is_returned_as_data() -> None:
    out = SubprocessRunner().run([PY, "-c", "print('key: app.kubernetes.io/name-value')"])
    assert out.stdout == "key: app.kubernetes.io/name-value\n"
    assert out.returncode == 0


def test_failure_carries_argv_and_redacted_output() -> None:
    script = (
        "import sys; print('token: abcdefgh12345678'); sys.stderr.write('boom s3cr3t-value\\n'); sys.exit(3)"
    )
    with pytest.raises(CommandError) as exc:
        SubprocessRunner().run([PY, "-c", script, "s3cr3t-value"], secrets=["s3cr3t-value"])
    err = exc.value
    assert err.returncode == 3
    assert err.argv[-1] == REDACTED
    assert "abcdefgh12345678" not in err.stdout and "s3cr3t-value" not in err.stderr
    assert "s3cr3t-value" not in err.message and "boom" in err.message


def test_timeout_is_a_command_error() -> None:
    with pytest.raises(CommandError, match=r"did not finish within 0\.2s"):
        SubprocessRunner().run([PY, "-c", "import time; time.sleep(5)"], timeout=0.2)


def test_missing_program_names_it() -> None:
    with pytest.raises(CommandError, match="no-such-tool-xyz is not installed"):
        SubprocessRunner().run(["no-such-tool-xyz", "--version"])


def test_redact_patterns() -> None:
    text = "Authorization: Bearer abc.def.ghi\n-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"
    red = redact(text)
    assert "abc.def.ghi" not in red and "MIIB" not in red


def test_recording_runner_records_and_answers() -> None:
    r = RecordingRunner()
    r.respond(["flux", "--version"], stdout="flux version 2.4.0\n")
    assert r.run(["flux", "--version"]).stdout == "flux version 2.4.0\n"
    assert r.run(["talosctl", "version"]).stdout == ""
    assert r.calls == [("flux", "--version"), ("talosctl", "version")]
