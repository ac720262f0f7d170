"""The wipe Job for the local-path data directory on the node, built as data.

The path it mounts is validated here and nowhere else: absolute, normalised (no ``.``,
``..`` or empty components), made of plain characters, equal to or under the local-path
root, and the root itself under ``/var`` (the only writable tree on Talos). No path can
widen the wipe: the Job mounts exactly the validated directory and its script only removes
entries *inside* it, sparing the names in ``KEEP`` (directories of volumes the reset keeps).

The script prints two machine-readable lines that the reset (and the lab's simulated node)
read back as the verification of the data directory::

    appliance-wipe: removed <n> entries from <path>
    appliance-wipe: remaining <m>[ <name> ...]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from appliance_cli.errors import UsageError

WIPE_JOB_NAME = "appliance-reset-wipe"
WIPE_NAMESPACE = "local-path-storage"  # already privileged (the provisioner's helper pods run there)
WIPE_LABEL = "app.kubernetes.io/name"
WIPE_MOUNT = "/wipe"
DEFAULT_HELPER_IMAGE = "busybox:1.36"  # the helper image of the local-path config bootstrap installs
LOG_PREFIX = "appliance-wipe:"

_SAFE = re.compile(r"^/[A-Za-z0-9._/-]+$")
_ENTRY = re.compile(r"^[A-Za-z0-9._-]+$")

# POSIX sh (busybox): remove every entry of $WIPE_DIR except the names listed in $KEEP, then
# count what is left (kept entries excluded). Globs cover dotfiles; `rm -rf --` on a symlink
# removes the link, never its target.
SCRIPT = r"""set -eu
cd "$WIPE_DIR"
kept() { printf '%s\n' "$KEEP" | grep -qxF -- "$1"; }
removed=0
for entry in * .[!.]* ..?*; do
  if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then continue; fi
  if [ -n "$KEEP" ] && kept "$entry"; then continue; fi
  rm -rf -- "$entry"
  removed=$((removed + 1))
done
echo "appliance-wipe: removed $removed entries from $WIPE_PATH"
left=""
count=0
for entry in * .[!.]* ..?*; do
  if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then continue; fi
  if [ -n "$KEEP" ] && kept "$entry"; then continue; fi
  left="$left $entry"
  count=$((count + 1))
done
echo "appliance-wipe: remaining $count$left"
"""


def wipe_namespace() -> dict[str, Any]:
    """The namespace the Job runs in, as bootstrap installs it (privileged pods allowed)."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": WIPE_NAMESPACE,
            "labels": {"pod-security.kubernetes.io/enforce": "privileged"},
        },
    }


def validate_root(root: str) -> str:
    """The local-path root as read from the cluster: absolute, plain, under /var."""
    _check_plain(root, what="local-path root")
    parts = root.strip("/").split("/")
    if parts[0] != "var" or len(parts) < 2:
        raise UsageError(
            f"local-path root {root!r} is not a directory under /var; refusing to wipe it",
            hint="check the ConfigMap local-path-storage/local-path-config (config.json nodePathMap)",
        )
    return root


def validate_wipe_path(path: str, root: str) -> str:
    """``path`` if it is the root or a directory under it, else a ``UsageError``."""
    validate_root(root)
    _check_plain(path, what="wipe path")
    if path != root and not path.startswith(root.rstrip("/") + "/"):
        raise UsageError(f"wipe path {path!r} is not under the local-path root {root!r}; refusing")
    return path


def validate_entry(name: str) -> str:
    """A directory name inside the root (no slash, no ``.``/``..``)."""
    if not _ENTRY.match(name) or name in (".", ".."):
        raise UsageError(f"{name!r} is not a plain directory name; refusing to use it in the wipe")
    return name


def _check_plain(path: str, *, what: str) -> None:
    if not path.startswith("/"):
        raise UsageError(f"{what} {path!r} is not absolute; refusing")
    if not _SAFE.match(path):
        raise UsageError(f"{what} {path!r} contains characters a wipe path may not have; refusing")
    parts = path.split("/")[1:]
    if path.endswith("/") or any(p in ("", ".", "..") for p in parts):
        raise UsageError(f"{what} {path!r} is not a normalised path (no '..', '.', '//', trailing '/')")


def entry_of(host_path: str, root: str) -> str | None:
    """The top-level entry under ``root`` that ``host_path`` lives in (None when outside)."""
    prefix = root.rstrip("/") + "/"
    if not host_path.startswith(prefix):
        return None
    name = host_path[len(prefix) :].split("/", 1)[0]
    return name or None


def wipe_job(path: str, root: str, *, image: str, keep: list[str]) -> dict[str, Any]:
    """The Job manifest (batch/v1) that empties ``path`` on the node, sparing ``keep``."""
    validate_wipe_path(path, root)
    names = [validate_entry(k) for k in keep]
    labels = {WIPE_LABEL: WIPE_JOB_NAME, "app.kubernetes.io/managed-by": "appliance-cli"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": WIPE_JOB_NAME, "namespace": WIPE_NAMESPACE, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": 300,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "priorityClassName": "system-node-critical",
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [
                        {
                            "name": "wipe",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["/bin/sh", "-c", SCRIPT],
                            "env": [
                                {"name": "WIPE_DIR", "value": WIPE_MOUNT},
                                {"name": "WIPE_PATH", "value": path},
                                {"name": "KEEP", "value": "\n".join(names)},
                            ],
                            "securityContext": {"privileged": True},
                            "volumeMounts": [{"name": "data", "mountPath": WIPE_MOUNT}],
                        }
                    ],
                    "volumes": [{"name": "data", "hostPath": {"path": path, "type": "DirectoryOrCreate"}}],
                },
            },
        },
    }


@dataclass(frozen=True)
class WipeResult:
    removed: int | None
    remaining: list[str]
    found: bool  # both lines were in the log


def parse_log(lines: list[str]) -> WipeResult:
    """Read the script's two lines back (the last occurrence wins)."""
    removed: int | None = None
    remaining: list[str] | None = None
    for line in lines:
        text = line.strip()
        if not text.startswith(LOG_PREFIX):
            continue
        words = text[len(LOG_PREFIX) :].split()
        if len(words) >= 2 and words[0] == "removed" and words[1].isdigit():
            removed = int(words[1])
        elif len(words) >= 2 and words[0] == "remaining" and words[1].isdigit():
            remaining = words[2:]
    return WipeResult(removed, remaining or [], removed is not None and remaining is not None)


def log_lines(removed: int, path: str, remaining: list[str]) -> list[str]:
    """The two lines the script prints (used by the lab's simulated node)."""
    tail = "".join(f" {r}" for r in remaining)
    return [
        f"{LOG_PREFIX} removed {removed} entries from {path}",
        f"{LOG_PREFIX} remaining {len(remaining)}{tail}",
    ]
