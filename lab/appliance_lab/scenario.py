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
    interrupted_pulls: list[str] = Field(
        default_factory=list,
        alias="interruptedPulls",
        description="image substrings whose first pull breaks off (context canceled); that pod "
        "stays failed until it is deleted, a new pod pulls fine",
    )
    bootstrap_job_failures: int = Field(
        0, alias="bootstrapJobFailures", description="the first N bootstrap Jobs fail; later ones succeed"
    )
    installed_without_fixes: list[Fix] = Field(
        default_factory=list,
        alias="installedWithoutFixes",
        description="the install predates these durable fixes: HelmReleases are created without them",
    )
    crash_images: list[str] = Field(
        default_factory=list,
        alias="crashImages",
        description="image substrings whose long-running containers exit",
    )

    def pull_interrupted(self, image: str) -> bool:
        """Whether the first pull of ``image`` breaks off (``interruptedPulls``)."""
        return any(needle in image for needle in self.interrupted_pulls)

    def pull_seconds(self, image: str) -> float:
        for needle, seconds in self.timings.pulls.items():
            if needle in image:
                return seconds
        return self.timings.pull

    def image_crashes(self, image: str) -> bool:
        """Whether a long-running container of ``image`` exits soon after it starts (a broken build)."""
        return any(needle in image for needle in self.crash_images)

    def image_missing(self, image: str) -> bool:
        """Whether pulling ``image`` fails with "not found" (the kubelet's question)."""
        return any(needle in image for needle in self.missing_images)

    def manifest_missing(self, repository: str, tag: str) -> bool:
        """The registry's side of :meth:`image_missing`, for ``<repository>:<tag>``.

        The lab registry stands in for every registry host (the preflight sends each host's
        requests to it), so it sees the repository path without its host. The tag is
        missing when :meth:`image_missing` says so for that image under a host named in
        ``missingImages`` or under none — the same entries, the same match, so the
        registry's answer and the simulated pull agree.
        """
        hosts = {""} | {f"{host}/" for host in map(_registry_host, self.missing_images) if host}
        return any(self.image_missing(f"{host}{repository}:{tag}") for host in hosts)

    def repository_missing(self, repository: str) -> bool:
        """A ``missingImages`` entry without a tag names a repository that does not exist at all."""
        for needle in self.missing_images:
            host = _registry_host(needle)
            path = needle[len(host) + 1 :] if host else needle
            if ":" not in path.rsplit("/", 1)[-1] and "@" not in path and path.strip("/") == repository:
                return True
        return False


def _registry_host(image: str) -> str:
    """``ghcr.io/nine-minds/x:1`` → ``ghcr.io``; ``""`` when the reference names no host."""
    first, sep, _rest = image.partition("/")
    return first if sep and ("." in first or ":" in first or first == "localhost") else ""


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
