"""The component catalog (``catalog.yaml``): data, not code."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance_cli import yamltext
from appliance_cli.errors import CatalogError
from appliance_cli.paths import PACKAGE_DIR

Tier = Literal["platform", "core", "login", "background"]
LOGIN_BLOCKING_TIERS: frozenset[str] = frozenset({"platform", "core", "login"})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Workload(_Model):
    kind: Literal["Deployment", "StatefulSet", "DaemonSet"]
    name: str
    container: str | None = None  # the main container, where one is addressed by name


class Component(_Model):
    name: str
    tier: Tier
    namespace: str
    workload: Workload
    pod_prefix: str = Field(alias="podPrefix")
    kustomization: str
    helm_release: str | None = Field(None, alias="helmRelease")
    image_key: str | None = Field(None, alias="imageKey")
    bootstrap_job_prefix: str | None = Field(None, alias="bootstrapJobPrefix")
    login_port: int | None = Field(None, alias="loginPort")
    pvcs: tuple[str, ...] = ()
    description: str = ""

    @property
    def login_blocking(self) -> bool:
        return self.tier in LOGIN_BLOCKING_TIERS


class KustomizationEntry(_Model):
    name: str
    tier: Literal["platform", "core", "background"]
    path: str
    depends_on: tuple[str, ...] = Field((), alias="dependsOn")


class Namespaces(_Model):
    app: str
    flux: str
    helm_releases: str = Field(alias="helmReleases")
    status: str


class Catalog(_Model):
    components: tuple[Component, ...]
    kustomizations: tuple[KustomizationEntry, ...]
    namespaces: Namespaces

    def component(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)

    def by_tier(self, tier: str) -> list[Component]:
        return [c for c in self.components if c.tier == tier]

    def helm_releases(self) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.components:
            if c.helm_release:
                seen.setdefault(c.helm_release, None)
        return list(seen)

    def component_for_pod(self, namespace: str, pod_name: str) -> Component | None:
        """The component a pod belongs to, by namespace and longest matching name prefix."""
        best: Component | None = None
        for c in self.components:
            if c.namespace != namespace:
                continue
            prefix = c.pod_prefix + "-"
            if pod_name.startswith(prefix) and (best is None or len(c.pod_prefix) > len(best.pod_prefix)):
                # Guard StatefulSet "db-0" vs Deployment "db-xxxx-yyyy" ambiguity by prefix length only.
                best = c
        return best


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    import yaml

    path = PACKAGE_DIR / "catalog.yaml"
    try:
        data = yamltext.safe_load(path.read_text())
        return Catalog.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise CatalogError(f"component catalog {path} is invalid: {exc}") from exc
