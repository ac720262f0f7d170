"""Redaction of log lines and free text before they are stored, shown or bundled.

Anything that looks like a password, token, key or a connection string with credentials is
replaced by ``<redacted>``; the rest of the line stays readable so the cause of a crash is
still visible.

``redact_snapshot`` is the one place a collected snapshot is cleaned: every string in it
(event and condition messages, log tails, ConfigMap values, annotations, probe errors) is
redacted, values under secret-looking keys (``api_key``, ``password``, an env var named
``DB_PASSWORD``) are replaced whole, and the caller's own secrets (the status token, the
Kubernetes bearer token) are replaced wherever they appear. ``status.collect.collect`` runs
it on every snapshot it returns, so the status document, ``/api/status``,
``/api/diagnostics`` and support bundles are all built from redacted text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance_cli.status.snapshot import ClusterSnapshot

REDACTED = "<redacted>"

_SECRET_WORD = (
    r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"client[_-]?secret|credentials?|auth)"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM private keys: the whole block across lines (a key file's text in a message or a
    # journal value), or from the marker to the end when the block was cut
    (re.compile(r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)"), REDACTED),
    # credentials inside URLs / connection strings: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@"), r"\1" + REDACTED + "@"),
    # Authorization headers and bearer tokens
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + REDACTED),
    # key=value / key: value / "key": "value" for secret-looking keys (the key ends with the
    # secret word, so "authorize: failed" or "unauthorized: authentication required" stay)
    (
        re.compile(
            r"(?i)(\b[\w.-]*" + _SECRET_WORD + r"(?:s|\d+)?[\"']?\s*[:=]\s*)"
            r"(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
        ),
        r"\1" + REDACTED,
    ),
    # a random-looking value right after the word: "token 3f9a…", "password Hunter2Hunter2"
    (
        re.compile(r"(?i)\b(" + _SECRET_WORD + r"s?\s+)(?=[^\s]*\d)(?=[^\s]*[a-z])[A-Za-z0-9._~+/=-]{16,}"),
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


# Keys whose whole value is a secret (ConfigMap data keys, Helm values, env var names).
_SECRET_KEY = re.compile(
    r"(?i)(?:^|[_.-])(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|client[_-]?secret|credentials?|auth|dsn|database[_-]?url)s?$"
)
# A cheap test first: a string none of these can occur in needs no pattern run.
_MAYBE = re.compile(
    r"(?i)pass|pwd|secret|token|key|credential|auth|bearer|basic|://|eyJ|gh[pousr]_|github_pat_|glpat-|AKIA"
)
# The same test for an ASCII string, lower-cased first: a case-sensitive search runs about
# five times faster than (?i), and for ASCII text the two find the same. (Unicode
# case-insensitivity has more equivalences, such as 'ſ' for 's': other text takes _MAYBE.)
_MAYBE_ASCII = re.compile(_MAYBE.pattern.removeprefix("(?i)").lower())


def _maybe_secret(text: str) -> bool:
    if text.isascii():
        return _MAYBE_ASCII.search(text.lower()) is not None
    return _MAYBE.search(text) is not None


# Words that make an environment variable's literal value a secret (DB_PASSWORD, SECRET_KEY_BASE,
# DATABASE_URL with credentials in it).
SECRET_ENV_WORDS = (
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "CREDENTIAL",
    "DSN",
    "DATABASE_URL",
    "AUTH",
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def secret_key(name: str) -> bool:
    """Whether a key or variable name says its value is a secret (``api_key``, ``DB_PASSWORD``,
    ``adminPassword``)."""
    return bool(_SECRET_KEY.search(_CAMEL.sub("_", name)))


def secret_env(name: str) -> bool:
    """Whether an environment variable's name says its literal value is a secret."""
    upper = name.upper()
    return any(word in upper for word in SECRET_ENV_WORDS) or secret_key(name)


def redact_json(value: Any, *, extra: Iterable[str] = ()) -> Any:
    """A copy of JSON ``value`` with every string redacted, the values of secret-looking keys
    and of secret-looking ``{"name": ..., "value": ...}`` pairs (env vars) replaced whole."""
    return _walker(extra)(value)


# What each distinct string and key redacts to, kept across calls: a service that collects
# every few seconds sees mostly the same names, reasons and images each time. Bounded: a cache
# that grows past its size starts again.
_TEXT_CACHE_SIZE = 50_000
_TEXT_CACHES: dict[tuple[str, ...], dict[str, str]] = {}
_SECRET_KEYS: dict[str, bool] = {}
# What each Kubernetes object redacted to last time, by (uid, resourceVersion): the object as
# it came and its redacted copy. An API server changes the resourceVersion whenever anything in
# the object changes, but two clusters (or two snapshot files) can hold the same pair, so the
# object is compared with the one cached (a C-level comparison, far cheaper than the walk)
# before its redacted copy is reused. Snapshots share these copies; nothing changes them.
_OBJECT_CACHE_SIZE = 20_000
_OBJECT_CACHES: dict[tuple[str, ...], dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]]] = {}


def _bounded(
    caches: dict[tuple[str, ...], dict[Any, Any]], extras: tuple[str, ...], size: int
) -> dict[Any, Any]:
    cache = caches.get(extras)
    if cache is None or len(cache) > size:
        if len(caches) >= 8:  # other callers' secrets: keep only a few sets
            caches.clear()
        cache = caches[extras] = {}
    return cache


def _judged_texts(extras: tuple[str, ...]) -> dict[str, str]:
    if len(_SECRET_KEYS) > _TEXT_CACHE_SIZE:
        _SECRET_KEYS.clear()
    return _bounded(_TEXT_CACHES, extras, _TEXT_CACHE_SIZE)


def _walker(extra: Iterable[str], *, objects: bool = False) -> Callable[[Any], Any]:
    """The function behind ``redact_json``.

    ``metadata.managedFields`` (field names only, no values) is kept as it is. Keys and
    strings repeat a lot in Kubernetes lists and from one collection to the next (names,
    reasons, images), so each distinct one is judged once (``_TEXT_CACHES``). ``objects``: an
    object seen before (same uid, resourceVersion and content) gets the redacted copy made
    last time (``_OBJECT_CACHES``), for snapshots collected again and again.
    """
    extras = tuple(e for e in extra if e and len(e) >= 4)
    texts = _judged_texts(extras)
    keys = _SECRET_KEYS
    seen: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] | None = (
        _bounded(_OBJECT_CACHES, extras, _OBJECT_CACHE_SIZE) if objects else None
    )

    def text(v: str) -> str:
        done = texts.get(v)
        if done is None:
            done = v
            if _maybe_secret(v):
                done = redact(v, extra=extras)
            else:
                for e in extras:
                    if e in v:
                        done = redact(v, extra=extras)
                        break
            texts[v] = done
        return done

    def is_secret_key(k: str) -> bool:
        known = keys.get(k)
        if known is None:
            known = keys[k] = secret_key(k)
        return known

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return text(v)
        if isinstance(v, dict):
            if seen is not None:
                m = v.get("metadata")
                if (
                    type(m) is dict
                    and isinstance(m.get("uid"), str)
                    and isinstance(m.get("resourceVersion"), str)
                ):
                    ident = (m["uid"], m["resourceVersion"])
                    hit = seen.get(ident)
                    if hit is not None and hit[0] == v:
                        return hit[1]
                    done = walk_dict(v)
                    seen[ident] = (v, done)
                    return done
            return walk_dict(v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    def walk_dict(v: dict[str, Any]) -> dict[str, Any]:
        # Every dict of every object passes here: numbers and nested dicts are told apart by
        # exact type first (cheaper than ``walk``'s isinstance chain); anything else goes there.
        out: dict[str, Any] = {}
        for k, x in v.items():
            t = type(x)
            if t is str or isinstance(x, str):
                out[k] = REDACTED if x and is_secret_key(k) else text(x)
            elif t is int or t is bool or x is None or k == "managedFields":
                out[k] = x
            elif t is dict and seen is None:
                out[k] = walk_dict(x)
            else:
                out[k] = walk(x)
        val = v.get("value")
        if val and isinstance(val, str):
            name = v.get("name")
            if isinstance(name, str) and secret_env(name):
                out["value"] = REDACTED  # an env var such as DB_PASSWORD
        return out

    return walk


def redact_snapshot(snapshot: ClusterSnapshot, *, extra: Iterable[str] = ()) -> ClusterSnapshot:
    """The snapshot with every free-text field redacted (see the module docstring)."""
    from appliance_cli.status.snapshot import ClusterSnapshot

    rest = _walker(extra)(snapshot.model_dump(mode="json", by_alias=True, exclude={"resources"}))
    # already plain JSON: no dump needed
    rest["resources"] = _walker(extra, objects=True)(snapshot.resources)
    return ClusterSnapshot.model_validate(rest)
