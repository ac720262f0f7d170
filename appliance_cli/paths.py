"""Where the tool finds its data: release manifests, Flux layout, committed schemas.

The tool runs from a checkout of this repository (Flux reads the same repository), so the
data directories sit beside the package. ``ALGA_APPLIANCE_RELEASES_DIR`` points the release
loader elsewhere (tests and release engineers use it).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def releases_dir() -> Path:
    override = os.environ.get("ALGA_APPLIANCE_RELEASES_DIR")
    return Path(override) if override else REPO_ROOT / "releases"


def flux_dir() -> Path:
    return REPO_ROOT / "flux"


def schemas_dir() -> Path:
    return REPO_ROOT / "schemas"
