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

SECRET_FILES = frozenset({"talosconfig", "kubeconfig", "status-token", "controlplane.yaml"})


def appliance_home() -> Path:
    env = os.environ.get("ALGA_APPLIANCE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".alga-psa-appliance"


def validate_site_id(site_id: str, *, param: str = "--site-id") -> str:
    if not SITE_ID_RE.match(site_id):
        raise UsageError(
            f"{site_id!r} is not a valid site id (lowercase letters, digits and '-', at most 63)",
            param=param,
        )
    return site_id


def atomic_write(path: Path, data: str | bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
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
        root = config_dir if config_dir is not None else appliance_home() / site_id
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

    def exists(self) -> bool:
        return self.root.is_dir()

    def read(self, name: str) -> str | None:
        p = self.root / name
        try:
            return p.read_text().strip()
        except FileNotFoundError:
            return None

    def write(self, name: str, data: str | bytes, *, mode: int = 0o600) -> Path:
        p = self.root / name
        atomic_write(p, data, mode=mode)
        return p
