"""The reset plan as data: what ``--dry-run`` prints, ``--json`` serialises, and execution follows.

Every step is derived from the targets (the live objects read from the cluster), so the
printed plan and the executed plan cannot differ.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class FluxObject(_Model):
    kind: str
    namespace: str
    name: str
    suspended: bool = False

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


class NamespaceTarget(_Model):
    name: str
    pods: int = 0
    pvcs: int = 0
    config_maps: int = Field(0, alias="configMaps")
    terminating: bool = False


class VolumeTarget(_Model):
    name: str
    claim: str  # namespace/name
    size: str
    host_path: str | None = Field(None, alias="hostPath")
    phase: str = ""


class WipeTarget(_Model):
    namespace: str
    job_name: str = Field(alias="jobName")
    image: str
    path: str
    root: str
    privileged: bool = True
    keep: list[str] = Field(default_factory=list)  # entries under the root that stay (other volumes)
    known_entries: list[str] = Field(default_factory=list, alias="knownEntries")
    leftover_job: bool = Field(False, alias="leftoverJob")
    create_namespace: bool = Field(False, alias="createNamespace")  # local-path storage was removed


class Kept(_Model):
    what: str
    detail: str


class PlanStep(_Model):
    number: int
    title: str
    description: str
    objects: list[str] = Field(default_factory=list)


class ResetPlan(_Model):
    schema_version: str = Field("v1", alias="schemaVersion")
    site_id: str = Field(alias="siteId")
    server: str
    flux: list[FluxObject] = Field(default_factory=list)
    helm_releases: list[FluxObject] = Field(default_factory=list, alias="helmReleases")
    namespaces: list[NamespaceTarget] = Field(default_factory=list)
    volumes: list[VolumeTarget] = Field(default_factory=list)
    wipe: WipeTarget
    keep: list[Kept] = Field(default_factory=list)
    status_service: bool = Field(False, alias="statusService")  # present when the plan was read
    status_token: bool = Field(False, alias="statusToken")
    steps: list[PlanStep] = Field(default_factory=list)

    @property
    def holds_data(self) -> bool:
        """Anything of an installed appliance is still there (Flux objects, namespaces, volumes)."""
        return bool(self.flux or self.namespaces or self.volumes)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)
