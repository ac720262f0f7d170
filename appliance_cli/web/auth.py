"""Authentication of the status service.

* The admin signs in once through the login form with the status token; the service then
  sets a random session id (never the token) in an ``HttpOnly``, ``SameSite=Strict``
  cookie. Sessions live in memory and end at logout, expiry or restart.
* API clients may send ``Authorization: Bearer <token>`` instead.
* A token in a query string is never accepted (answer 401), even when it is right: URLs
  end up in logs, histories and ``Referer`` headers.
* Tokens are compared with ``hmac.compare_digest``; they are never logged.
* Failed attempts are counted per client address: after ``slow_after`` failures each
  answer is delayed, after ``max_failures`` the client is refused with 429 (even with the
  right token) until ``lockout_seconds`` have passed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from appliance_cli.errors import UsageError
from appliance_cli.site import validate_status_token

SESSION_COOKIE = "alga_status_session"
QUERY_TOKEN_KEYS = frozenset({"token", "access_token", "auth", "bearer", "apikey", "api_key", "key"})
TOKEN_ENV = "ALGA_APPLIANCE_STATUS_TOKEN"
TOKEN_FILE_ENV = "ALGA_APPLIANCE_STATUS_TOKEN_FILE"
# where flux/base/platform/appliance-status.yaml mounts the Secret's `token` key
IN_CLUSTER_TOKEN_FILE = Path("/etc/appliance-status/token")
TOKEN_RELOAD_SECONDS = 2.0
MAX_TRACKED_CLIENTS = 10_000


@dataclass
class AuthConfig:
    session_seconds: float = 12 * 3600
    slow_after: int = 3
    max_failures: int = 10
    delay_step_seconds: float = 0.25
    max_delay_seconds: float = 2.0
    window_seconds: float = 300.0
    lockout_seconds: float = 300.0


@dataclass
class _Failures:
    count: int = 0
    first: float = 0.0
    locked_until: float = 0.0


@dataclass(frozen=True)
class Attempt:
    """The verdict on one presented token: ``ok``, else the delay before answering and how
    long the client is locked out (0 when it is not)."""

    ok: bool
    delay: float = 0.0
    locked: float = 0.0


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass
class _Session:
    expiry: float
    token_digest: bytes  # the token it was issued for: a session never outlives its token


@dataclass
class Authenticator:
    """``token_file``, when given, is re-read when it changes (a rotated Secret reaches a
    running pod through its volume); a session is valid only for the token it was issued
    for, so a new token ends every session."""

    token: str
    config: AuthConfig = field(default_factory=AuthConfig)
    token_file: Path | None = None
    _sessions: dict[str, _Session] = field(default_factory=dict)
    _failures: dict[str, _Failures] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _checked_at: float = 0.0
    _file_id: tuple[int, int, int] | None = None

    # -- tokens --------------------------------------------------------------------------------
    def _current_token(self) -> str:
        if self.token_file is None:
            return self.token
        now = time.monotonic()
        with self._lock:
            if now - self._checked_at < TOKEN_RELOAD_SECONDS:
                return self.token
            self._checked_at = now
            try:
                st = self.token_file.stat()  # follows the Secret volume's ..data symlink
                file_id = (st.st_mtime_ns, st.st_size, st.st_ino)
                if self._file_id is None:
                    self._file_id = file_id
                elif file_id != self._file_id:
                    fresh = _read_token_file(self.token_file, str(self.token_file))
                    self._file_id = file_id
                    if fresh != self.token:
                        self.token = fresh
                        self._sessions.clear()
            except (OSError, UnicodeError, UsageError):
                pass  # keep the token we have; a half-written or missing file is not a new token
            return self.token

    @staticmethod
    def _matches(given: str, token: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode())

    def token_ok(self, given: str | None) -> bool:
        token = self._current_token()
        if not given:
            return False
        return self._matches(given, token)

    def attempt(self, client: str, given: str | None) -> Attempt:
        """Check a presented token and count the outcome in one step, under one lock: a client
        that is locked out is refused without its token being looked at, and concurrent
        guesses cannot get more evaluations than ``max_failures``."""
        token = self._current_token()
        now = time.monotonic()
        cfg = self.config
        with self._lock:
            f = self._failures.get(client)
            if f is not None and f.locked_until > now:
                return Attempt(ok=False, locked=f.locked_until - now)
            if given and self._matches(given, token):
                self._failures.pop(client, None)
                return Attempt(ok=True)
            if len(self._failures) > MAX_TRACKED_CLIENTS:  # many addresses: forget the expired ones
                self._failures = {
                    k: v
                    for k, v in self._failures.items()
                    if now - v.first <= cfg.window_seconds or v.locked_until > now
                }
            if f is None or now - f.first > cfg.window_seconds:
                f = _Failures(count=0, first=now)
                self._failures[client] = f
            f.count += 1
            if f.count >= cfg.max_failures:
                f.locked_until = now + cfg.lockout_seconds
            over = f.count - cfg.slow_after
            locked = max(0.0, f.locked_until - now)
        delay = 0.0 if over <= 0 else min(cfg.max_delay_seconds, over * cfg.delay_step_seconds)
        return Attempt(ok=False, delay=delay, locked=locked)

    # -- sessions ------------------------------------------------------------------------------
    def new_session(self) -> str:
        digest = _digest(self._current_token())
        sid = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._sessions = {k: v for k, v in self._sessions.items() if v.expiry > now}
            self._sessions[sid] = _Session(expiry=now + self.config.session_seconds, token_digest=digest)
        return sid

    def session_ok(self, sid: str | None) -> bool:
        if not sid:
            return False
        digest = _digest(self._current_token())  # notices a rotated token file
        now = time.monotonic()
        with self._lock:
            for known, session in self._sessions.items():
                if hmac.compare_digest(known.encode(), sid.encode("utf-8", "replace")):
                    return session.expiry > now and hmac.compare_digest(session.token_digest, digest)
        return False

    def end_session(self, sid: str | None) -> None:
        if not sid:
            return
        with self._lock:
            self._sessions.pop(sid, None)

    # -- brute force ---------------------------------------------------------------------------
    def locked_for(self, client: str) -> float:
        """Seconds this client is still refused (0 when it is not)."""
        now = time.monotonic()
        with self._lock:
            f = self._failures.get(client)
            if f is None:
                return 0.0
            return max(0.0, f.locked_until - now)


def load_token(
    *, token_file: Path | None = None, in_cluster: bool = False, site_token_file: Path | None = None
) -> str:
    return resolve_token(token_file=token_file, in_cluster=in_cluster, site_token_file=site_token_file)[0]


def resolve_token(
    *, token_file: Path | None = None, in_cluster: bool = False, site_token_file: Path | None = None
) -> tuple[str, Path | None]:
    """The status token and the file it came from: ``--token-file``, else
    ``$ALGA_APPLIANCE_STATUS_TOKEN`` (the Secret as env), else ``$ALGA_APPLIANCE_STATUS_TOKEN_FILE``
    or the mounted Secret file in-cluster, else the site's ``status-token`` file.
    """
    candidates: list[tuple[Path, str]] = []
    if token_file is not None:
        candidates.append((token_file, "--token-file"))
    else:
        env = os.environ.get(TOKEN_ENV, "").strip()
        if env:
            return validate_status_token(env, param=TOKEN_ENV), None
        env_file = os.environ.get(TOKEN_FILE_ENV)
        if env_file:
            candidates.append((Path(env_file), TOKEN_FILE_ENV))
        elif in_cluster:
            candidates.append((IN_CLUSTER_TOKEN_FILE, str(IN_CLUSTER_TOKEN_FILE)))
        elif site_token_file is not None:
            candidates.append((site_token_file, str(site_token_file)))
    for path, param in candidates:
        try:
            return _read_token_file(path, param), path
        except FileNotFoundError:
            raise UsageError(
                "status token file not found",
                param=param,
                hint="bootstrap writes it (phase 2), or pass --token-file",
            ) from None
        except OSError as exc:
            raise UsageError(f"cannot read the status token: {exc.strerror or exc}", param=param) from None
    raise UsageError(
        f"no status token: pass --token-file, set {TOKEN_ENV}, or run bootstrap first",
        param="--token-file",
    )


def _read_token_file(path: Path, param: str) -> str:
    try:
        text = path.read_bytes().decode("ascii")
    except UnicodeDecodeError:
        raise UsageError(
            "the status token may only hold printable ASCII characters without spaces", param=param
        ) from None
    return validate_status_token(text.strip(), param=param)
