"""Run the real ``appliance`` entry point in-process and capture exit code and output."""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from appliance_cli import console
from appliance_cli.cli.main import run


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(args: Sequence[str]) -> Result:
    out, err = io.StringIO(), io.StringIO()
    console.reset()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            run(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    console.reset()
    return Result(code, out.getvalue(), err.getvalue())
