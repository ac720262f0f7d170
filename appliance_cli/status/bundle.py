"""Support bundles: a tar.gz with the snapshot, the status, the journal and tool versions.

Nothing secret goes in: Secrets are never collected, the status token, kubeconfig and
talosconfig are never read into the bundle, every string of the snapshot and the journal is
redacted once, where it is collected (``status.redact.redact_snapshot``: log lines, messages,
ConfigMap values, secret-looking ``env`` values), the journal the same way, and the token
itself is replaced wherever it appears.
"""

from __future__ import annotations

import contextlib
import io
import json
import platform
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance_cli.errors import ActionRequired, UsageError
from appliance_cli.site import Site
from appliance_cli.status.collect import collect
from appliance_cli.status.live import classify_live, collect_snapshot, site_options
from appliance_cli.status.redact import REDACTED, redact, redact_json
from appliance_cli.status.snapshot import ClusterSnapshot, with_release_facts

if TYPE_CHECKING:
    from appliance_cli.releases import Release
    from appliance_cli.status.model import StatusDocument

TOOLS: tuple[tuple[str, list[str]], ...] = (
    ("talosctl", ["talosctl", "version", "--client", "--short"]),
    ("flux", ["flux", "version", "--client"]),
    ("kubectl", ["kubectl", "version", "--client", "-o", "json"]),
)


@dataclass(frozen=True)
class BundleResult:
    path: Path
    files: tuple[str, ...]
    snapshot: ClusterSnapshot


def scrub(value: Any, extra: Iterable[str] = ()) -> Any:
    """A copy of JSON ``value`` redacted the way snapshots are (``status.redact.redact_json``)."""
    return redact_json(value, extra=extra)


def tool_versions() -> dict[str, Any]:
    from appliance_cli import __version__

    versions: dict[str, Any] = {
        "appliance": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        from importlib.metadata import version

        versions["kubernetesClient"] = version("kubernetes")
    except Exception:  # pragma: no cover - metadata missing
        versions["kubernetesClient"] = None
    for name, argv in TOOLS:
        if shutil.which(argv[0]) is None:
            versions[name] = None
            continue
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            versions[name] = redact(proc.stdout.strip() or proc.stderr.strip())[:2000]
        except (OSError, subprocess.SubprocessError) as exc:
            versions[name] = f"error: {exc}"
    return versions


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _release_for(snapshot: ClusterSnapshot) -> Release | None:
    from appliance_cli.errors import ReleaseError
    from appliance_cli.releases import load_release

    version = snapshot.site.release_version
    if not version:
        return None
    try:
        return load_release(version)
    except ReleaseError:
        return None


def bundle_archive(
    snapshot: ClusterSnapshot,
    doc: StatusDocument,
    *,
    site_id: str,
    journal: Any = None,
    token: str | None = None,
) -> tuple[str, bytes]:
    """The bundle as bytes: ``(top directory name, tar.gz)`` with snapshot.json, status.json,
    versions.json and (when given) journal.json, redacted; the one builder of bundle content
    (``appliance support-bundle`` writes it to a file, the status page sends it)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    top = f"alga-support-{site_id}-{stamp}"
    files: dict[str, bytes] = {
        "snapshot.json": snapshot.to_json().encode(),
        "status.json": doc.to_json().encode(),
        "versions.json": json.dumps(tool_versions(), indent=2).encode(),
    }
    if journal is not None:
        files["journal.json"] = json.dumps(scrub(journal, extra=(token,) if token else ()), indent=2).encode()
    if token:
        for name, data in files.items():
            if token.encode() in data:  # belt and braces: never ship the token
                files[name] = data.replace(token.encode(), REDACTED.encode())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            _add(tar, f"{top}/{name}", data)
    return top, buf.getvalue()


def write_bundle(site_id: str, output_dir: Path) -> BundleResult:
    """Collect, classify and write the bundle into ``output_dir``; return its path."""
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError("not a directory", param="--output")
    site = Site.open(site_id)
    if not site.exists():  # nothing to bundle: bad input, and no bundle is written
        raise UsageError(f"there is no site '{site_id}' ({site.root} does not exist)", param="--site-id")
    token = site.read("status-token") or ""
    try:
        snapshot = collect_snapshot(site_id)
    except ActionRequired as exc:  # no kubeconfig yet: still bundle what the site knows
        snapshot = collect(None, site_options(site), kube_error=str(exc))
    # collect() already redacted the snapshot (with the site's token); it is written as it is
    clean = snapshot
    release = _release_for(clean)
    if release is not None:  # the facts it is judged against travel with it
        clean = with_release_facts(clean, release)
    doc = classify_live(clean)
    journal: Any = None
    with contextlib.suppress(OSError, ValueError):
        journal = json.loads(site.journal_file.read_text())
    top, data = bundle_archive(clean, doc, site_id=site_id, journal=journal, token=token)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the directory: {exc.strerror or exc}", param="--output") from exc
    path = output_dir / f"{top}.tar.gz"
    from appliance_cli.site import atomic_write

    try:
        atomic_write(path, data, mode=0o600)
    except OSError as exc:
        raise UsageError(f"cannot write the bundle there: {exc.strerror or exc}", param="--output") from exc
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = tuple(tar.getnames())
    return BundleResult(path=path, files=names, snapshot=clean)
