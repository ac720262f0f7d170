"""Redaction of log lines and free text before they are stored, shown or bundled.

Anything that looks like a password, token, key or a connection string with credentials is
replaced by ``<redacted>``; the rest of the line stays readable so the cause of a crash is
still visible.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "<redacted>"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM blocks (a private key printed to a log, one line or the marker line)
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)"), REDACTED),
    # credentials inside URLs / connection strings: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@"), r"\1" + REDACTED + "@"),
    # Authorization headers and bearer tokens
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + REDACTED),
    # key=value / key: value / "key": "value" for secret-looking keys
    (
        re.compile(
            r"(?i)((?:[\w.-]*)(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|"
            r"private[_-]?key|client[_-]?secret|credentials?|auth)[\w.-]*[\"']?\s*[:=]\s*)"
            r"(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
        ),
        r"\1" + REDACTED,
    ),
    # libpq keyword strings: password=... inside "host=x user=y password=z"
    (re.compile(r"(?i)\b(password\s*=\s*)\S+"), r"\1" + REDACTED),
    # JWTs
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), REDACTED),
    # well-known token formats
    (
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,})"),
        REDACTED,
    ),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
)


def redact(text: str, *, extra: Iterable[str] = ()) -> str:
    """``text`` with secret-looking values (and every string of ``extra``) replaced."""
    out = text
    for secret in extra:
        if secret and len(secret) >= 4:
            out = out.replace(secret, REDACTED)
    for pattern, repl in _PATTERNS:
        out = pattern.sub(repl, out)
    return out


def redact_lines(lines: Iterable[str], *, extra: Iterable[str] = ()) -> list[str]:
    extras = [e for e in extra if e]
    return [redact(line, extra=extras) for line in lines]
