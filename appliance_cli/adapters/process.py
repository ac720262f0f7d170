"""The one way the tool runs an external program (talosctl, flux, git).

An argv list (never a shell string), a timeout, captured output, and secrets redacted from
everything that leaves this module (``CommandError`` messages, argv, output). Tests use
``RecordingRunner`` to assert the exact argv without running anything.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from appliance_cli.errors import CommandError

DEFAULT_TIMEOUT = 120.0
REDACTED = "<redacted>"

_SECRET_PATTERNS = (
    re.compile(
        r"(?i)((?:token|password|passwd|secret|key|crt|ca|bearer)[\"']?\s*[:=]\s*[\"']?)([^\s\"',]{8,})"
    ),
    re.compile(r"(?i)(authorization:\s*(?:bearer|basic)\s+)(\S+)"),
    re.compile(r"(-----BEGIN [A-Z ]+-----)[\s\S]*?(-----END [A-Z ]+-----)"),
)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Remove known secret values and anything that looks like a credential."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 2 and pattern.pattern.startswith("(-----"):
            text = pattern.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(2)}", text)
        else:
            text = pattern.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return text


def _drop(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class ProcessRunner(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        secrets: Sequence[str] = (),
    ) -> Completed: ...


class SubprocessRunner:
    """Runs programs with ``subprocess.run``; raises ``CommandError`` on failure or timeout."""

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        secrets: Sequence[str] = (),
    ) -> Completed:
        shown = [_drop(a, secrets) for a in argv]
        full_env = {**os.environ, **(env or {})}
        try:
            proc = subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=cwd,
                env=full_env,
                check=False,
            )
        except FileNotFoundError:
            raise CommandError(
                f"{argv[0]} is not installed or not on PATH",
                argv=shown,
                returncode=None,
                hint=f"install {argv[0]} and make sure it is on PATH",
            ) from None
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
            raise CommandError(
                f"{' '.join(shown)} did not finish within {timeout:g}s",
                argv=shown,
                returncode=None,
                stdout=redact(out, secrets),
                stderr=redact(err, secrets),
            ) from None
        if check and proc.returncode != 0:
            # Output that leaves as an error (printed, logged) is redacted.
            stdout, stderr = redact(proc.stdout, secrets), redact(proc.stderr, secrets)
            last = (stderr.strip() or stdout.strip()).splitlines()[-1:] or [""]
            raise CommandError(
                f"{' '.join(shown)} failed (exit {proc.returncode}): {last[0]}",
                argv=shown,
                returncode=proc.returncode,
                stdout=stdout,
                stderr=stderr,
            )
        # A successful command's output is data for the caller (manifests, JSON): returned as
        # is, except for the secrets the caller named.
        return Completed(
            tuple(shown), proc.returncode, _drop(proc.stdout, secrets), _drop(proc.stderr, secrets)
        )


Responder = Callable[[Sequence[str]], Completed | None]
