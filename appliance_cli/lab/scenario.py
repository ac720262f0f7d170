"""Lab scenarios: data files (``lab/scenarios/<name>.yaml``) with timings in seconds at speed 1.

A scenario says how long things take on the simulated node and which faults it has: image
tags that do not exist in the registry, a DNS resolver that refuses, a kubelet that cannot
create subPath directories, a bootstrap Job that fails, or a durable fix of the Flux layout
whose effect is switched off (to show the incident it fixes). ``--speed`` divides every time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from appliance_cli.errors import UsageError

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
Fix = Literal["db-subpath", "temporal-autosetup", "service-links"]


class Timings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    talos_install: float = Field(20.0, alias="talosInstall")
    talos_reboot: float = Field(10.0, alias="talosReboot")
    kubernetes_start: float = Field(8.0, alias="kubernetesStart")
    schedule: float = 1.0
    pull: float = 6.0
    pulls: dict[str, float] = Field(default_factory=dict, description="image substring -> pull seconds")
    container_start: float = Field(2.0, alias="containerStart")
    ready: float = 3.0
    pvc_bind: float = Field(2.0, alias="pvcBind")
    git_fetch: float = Field(3.0, alias="gitFetch")
    kustomization_apply: float = Field(2.0, alias="kustomizationApply")
    helm_install: float = Field(3.0, alias="helmInstall")
    bootstrap_job: float = Field(15.0, alias="bootstrapJob")
    smoke: float = 2.0
    crash_after: float = Field(4.0, alias="crashAfter")
    backoff: float = 10.0
    helm_timeout: float = Field(600.0, alias="helmTimeout", description="cap on HelmRelease spec.timeout")
    rollout: float = 3.0


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    description: str
    timings: Timings = Field(default_factory=Timings)
    missing_images: list[str] = Field(default_factory=list, alias="missingImages")
    dns_refused: bool = Field(False, alias="dnsRefused")
    subpath_broken: bool = Field(False, alias="subpathBroken")
    disabled_fixes: list[Fix] = Field(default_factory=list, alias="disabledFixes")
    bootstrap_job_fails: bool = Field(False, alias="bootstrapJobFails")
    seed_users: int = Field(7, alias="seedUsers")

    def pull_seconds(self, image: str) -> float:
        for needle, seconds in self.timings.pulls.items():
            if needle in image:
                return seconds
        return self.timings.pull

    def image_missing(self, image: str) -> bool:
        return any(needle in image for needle in self.missing_images)


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load_scenario(name: str, *, param: str = "--scenario") -> Scenario:
    path = SCENARIO_DIR / f"{name}.yaml"
    if not path.is_file():
        raise UsageError(
            f"unknown scenario {name!r}; known scenarios: {', '.join(scenario_names())}", param=param
        )
    data = yaml.safe_load(path.read_text()) or {}
    return Scenario.model_validate({"name": name, **data})
