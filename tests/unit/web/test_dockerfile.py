"""The status service image definition: built from the package, non-root, the right entrypoint."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[3] / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_entrypoint_runs_serve_status_in_cluster_on_8080() -> None:
    (entry,) = [rest for word, rest in _instructions() if word == "ENTRYPOINT"]
    assert json.loads(entry) == ["appliance", "serve-status", "--in-cluster", "--port", "8080"]


def test_the_final_stage_runs_as_the_manifests_non_root_uid() -> None:
    final = _instructions()
    last_from = max(i for i, (w, _) in enumerate(final) if w == "FROM")
    users = [rest for w, rest in final[last_from:] if w == "USER"]
    assert users and users[-1].split(":")[0] == "10001"


def test_nothing_secret_or_site_specific_is_copied() -> None:
    copied = " ".join(rest for w, rest in _instructions() if w in ("COPY", "ADD"))
    for forbidden in ("kubeconfig", "talosconfig", "status-token", ".alga-psa-appliance", "tests"):
        assert forbidden not in copied
    assert not re.search(r"^ADD\s+https?://", DOCKERFILE.read_text(), re.M)


def test_the_image_installs_this_package_with_its_web_assets() -> None:
    import tomllib

    pyproject = tomllib.loads((DOCKERFILE.parent / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] in DOCKERFILE.read_text()
    data = pyproject["tool"]["setuptools"]["package-data"]["appliance_cli"]
    assert "web/static/*" in data and "web/templates/*" in data
