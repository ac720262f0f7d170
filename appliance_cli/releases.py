"""Release manifests: ``releases/<version>/release.json``, validated by a committed schema."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance_cli.errors import ReleaseError
from appliance_cli.paths import releases_dir


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class HostDNS(_Model):
    enabled: bool = True
    forward_kube_dns_to_host: bool = Field(False, alias="forwardKubeDNSToHost")
    resolve_member_names: bool = Field(False, alias="resolveMemberNames")


class TalosRelease(_Model):
    version: str
    installer_image: str = Field(alias="installerImage")
    host_dns: HostDNS = Field(default_factory=lambda: HostDNS(), alias="hostDNS")


class KubernetesRelease(_Model):
    version: str


class AppRelease(_Model):
    version: str
    release_branch: str = Field(alias="releaseBranch")
    repo_url: str = Field(alias="repoUrl")
    chart_paths: dict[str, str] = Field(default_factory=dict, alias="chartPaths")


class ImageRef(_Model):
    repository: str
    tag: str
    estimated_size: str | None = Field(None, alias="estimatedSize")

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def registry(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def path(self) -> str:
        """Repository path inside the registry (``nine-minds/alga-psa-ee``)."""
        return self.repository.split("/", 1)[1]


class Release(_Model):
    schema_ref: str | None = Field(None, alias="$schema")
    schema_version: Literal["v1"] = Field(alias="schemaVersion")
    version: str
    channel: Literal["stable", "candidate", "dev"]
    talos: TalosRelease
    kubernetes: KubernetesRelease
    app: AppRelease
    images: dict[str, ImageRef]

    def image(self, key: str) -> ImageRef:
        try:
            return self.images[key]
        except KeyError:
            raise ReleaseError(f"release {self.version} has no image {key!r}") from None


def available_versions(root: Path | None = None) -> list[str]:
    root = root or releases_dir()
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob("*/release.json"))


@lru_cache(maxsize=1)
def _schema(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def load_release(version: str, root: Path | None = None, *, schema: bool = True) -> Release:
    """Load and validate a release manifest; raise ``ReleaseError`` (exit 2) when unusable.

    ``schema=False`` skips the JSON Schema check (and importing ``jsonschema``) and relies on
    the model alone: for readers that only judge against a release (every status), never
    for a command that is about to install or change one.
    """
    root = root or releases_dir()
    if not version or "/" in version or version.startswith("."):
        raise ReleaseError(f"{version!r} is not a release version", param="--release-version")
    path = root / version / "release.json"
    if not path.is_file():
        known = ", ".join(available_versions(root)) or "none"
        raise ReleaseError(
            f"unknown release {version!r} (known releases: {known})",
            param="--release-version",
            hint=f"release manifests live in {root}/<version>/release.json",
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ReleaseError(f"{path} is not valid JSON: {exc}") from exc
    if schema:
        _check_schema(root, path, data)
    try:
        release = Release.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(p) for p in first["loc"]) or "(top level)"
        raise ReleaseError(f"{path}: {where}: {first['msg']}") from exc
    if release.version != version:
        raise ReleaseError(f"{path}: version {release.version!r} does not match its directory {version!r}")
    return release


def _check_schema(root: Path, path: Path, data: Any) -> None:
    import jsonschema

    schema_path = root / "release.schema.json"
    if not schema_path.is_file():
        from appliance_cli.paths import REPO_ROOT

        schema_path = REPO_ROOT / "releases" / "release.schema.json"
    validator = jsonschema.Draft202012Validator(_schema(schema_path))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        raise ReleaseError(f"{path}: {where}: {first.message}")
