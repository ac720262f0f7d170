"""The site directory: ``$ALGA_APPLIANCE_HOME/<site-id>/``.

Holds talosconfig, kubeconfig, controlplane.yaml, status-token, values/, journal.json,
node-ip and app-url. Every file is written through ``atomic_write`` (temp file in the
same directory, fsync, rename), so an interrupted write never leaves half a file;
secrets and configs are 0600.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from appliance_cli.errors import UsageError

DEFAULT_SITE_ID = "appliance-single-node"
SITE_ID_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

SECRET_FILES = frozenset({"talosconfig", "kubeconfig", "status-token", "status-tls.key", "controlplane.yaml"})

# The status token (``status-token``, the cluster Secret, ``--token-file``): what the status
# service accepts, checked here for every use so a token it would refuse is never deployed.
MIN_STATUS_TOKEN_LENGTH = 16
MAX_STATUS_TOKEN_LENGTH = 512
_STATUS_TOKEN_RE = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces (HTTP header and form safe)


def appliance_home() -> Path:
    """``$ALGA_APPLIANCE_HOME``, else ``~/.alga-psa-appliance``; bad input (exit 2) when
    neither it nor a home directory is known, or when it is not a directory."""
    env = os.environ.get("ALGA_APPLIANCE_HOME")
    if env:
        home = Path(env).expanduser()
        param = "ALGA_APPLIANCE_HOME"
    else:
        try:
            home = Path.home() / ".alga-psa-appliance"
        except (RuntimeError, KeyError, OSError):
            raise UsageError(
                "no home directory is known (HOME is not set)",
                param="HOME",
                hint="set HOME, or ALGA_APPLIANCE_HOME to the directory that keeps the sites",
            ) from None
        param = "HOME"
    if home.exists() and not home.is_dir():
        raise UsageError(f"{home} is not a directory; nothing was changed", param=param)
    return home


def make_private_dir(path: Path) -> None:
    """``path`` and every missing parent created 0700 whatever the umask (they hold secrets)."""
    missing: list[Path] = []
    cur = path
    while not cur.exists():
        missing.append(cur)
        if cur.parent == cur:
            break
        cur = cur.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=0o700)
        os.chmod(d, 0o700)


def validate_site_id(site_id: str, *, param: str = "--site-id") -> str:
    if not SITE_ID_RE.match(site_id):
        raise UsageError(
            f"{site_id!r} is not a valid site id (lowercase letters, digits and '-', at most 63)",
            param=param,
        )
    return site_id


def validate_status_token(token: str, *, param: str) -> str:
    """``token`` when the status service can use it; else ``UsageError`` (exit 2) naming ``param``."""
    if not MIN_STATUS_TOKEN_LENGTH <= len(token) <= MAX_STATUS_TOKEN_LENGTH:
        raise UsageError(
            f"the status token is {len(token)} characters long; it must be "
            f"{MIN_STATUS_TOKEN_LENGTH} to {MAX_STATUS_TOKEN_LENGTH} characters",
            param=param,
            hint="replace the file with a longer token, or delete it and bootstrap generates one",
        )
    if not _STATUS_TOKEN_RE.match(token):
        raise UsageError(
            "the status token may only hold printable ASCII characters without spaces",
            param=param,
            hint="replace the file with a token such as the output of "
            "'python3 -c \"import secrets; print(secrets.token_urlsafe(32))\"'",
        )
    return token


def atomic_write(path: Path, data: str | bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode``."""
    make_private_dir(path.parent)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class Site:
    site_id: str
    root: Path

    @classmethod
    def open(cls, site_id: str, *, config_dir: Path | None = None) -> Site:
        validate_site_id(site_id)
        if config_dir is not None:
            if config_dir.exists() and not config_dir.is_dir():
                raise UsageError(
                    f"{config_dir} is not a directory; nothing was changed", param="--config-dir"
                )
            return cls(site_id=site_id, root=config_dir)
        root = appliance_home() / site_id
        if root.exists() and not root.is_dir():
            raise UsageError(f"{root} is not a directory; nothing was changed", param="--site-id")
        return cls(site_id=site_id, root=root)

    def path(self, name: str) -> Path:
        return self.root / name

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def talosconfig(self) -> Path:
        return self.root / "talosconfig"

    @property
    def status_token_file(self) -> Path:
        return self.root / "status-token"

    @property
    def journal_file(self) -> Path:
        return self.root / "journal.json"

    @property
    def values_dir(self) -> Path:
        return self.root / "values"

    def status_token(self) -> str | None:
        """The site's status token, validated (``None`` when there is no ``status-token`` file).

        A file the status service would refuse (too short, spaces, not text) is a
        ``UsageError`` (exit 2) naming the file, raised before the token is used anywhere.
        """
        path = self.status_token_file
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UsageError(f"cannot read the status token: {exc.strerror or exc}", param=str(path)) from exc
        try:
            token = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise UsageError(
                "the status token may only hold printable ASCII characters without spaces", param=str(path)
            ) from None
        return validate_status_token(token, param=str(path))

    def exists(self) -> bool:
        return self.root.is_dir()

    def read(self, name: str) -> str | None:
        """A site file's text (stripped), ``None`` when missing; a directory, an unreadable or
        non-UTF-8 file is bad input (exit 2) naming the file."""
        p = self.root / name
        try:
            return p.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError:
            raise UsageError("not UTF-8 text; fix or remove the file", param=str(p)) from None
        except OSError as exc:
            raise UsageError(f"cannot read it: {exc.strerror or exc}", param=str(p)) from None

    def write(self, name: str, data: str | bytes, *, mode: int = 0o600) -> Path:
        p = self.root / name
        atomic_write(p, data, mode=mode)
        return p
