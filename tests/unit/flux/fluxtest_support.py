"""A copy of the repository's data (flux/, releases/, catalog) that a test may break."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
SCHEMAS_DIR = REPO_ROOT / "schemas"


def copy_repo(dest: Path) -> Path:
    root = dest / "repo"
    shutil.copytree(REPO_ROOT / "flux", root / "flux")
    shutil.copytree(REPO_ROOT / "releases", root / "releases")
    (root / "appliance_cli").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "appliance_cli" / "catalog.yaml", root / "appliance_cli" / "catalog.yaml")
    return root


def edit_yaml(path: Path, edit: Any) -> None:
    """Load every document of ``path``, let ``edit(docs)`` change them, write them back."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    edit(docs)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
