"""The canonical status document (docs/status.md).

``appliance status --json``, ``GET /api/status`` and the bootstrap engine all produce this
model. Its JSON schema is committed as ``schemas/status.schema.json``; a test fails when
the two disagree (regenerate with ``python -m appliance_cli.status.model > schemas/status.schema.json``).
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal["v1"] = "v1"

RollupState = Literal[
    "installing",
    "ready_to_log_in",
    "ready_with_background_issues",
    "fully_healthy",
    "failed_action_required",
]
# The rollup states in which Alga can be logged in to (bootstrap's goal, exit code 0).
LOGIN_STATES: frozenset[RollupState] = frozenset(
    {"ready_to_log_in", "ready_with_background_issues", "fully_healthy"}
)
TierHealth = Literal["healthy", "progressing", "degraded", "failed", "unknown"]
Severity = Literal["critical", "background", "warning"]
ComponentTier = Literal["platform", "core", "login", "background"]


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ImageCheck(_Doc):
    """Outcome of the registry preflight for one image of the release."""

    component: str
    image: str
    outcome: Literal["present", "missing", "unauthorized", "unreachable", "error", "skipped"]
    digest: str | None = None
    error: str | None = None
    checked_at: str | None = Field(None, alias="checkedAt")


class ReleaseInfo(_Doc):
    selected_release_version: str | None = Field(None, alias="selectedReleaseVersion")
    app_version: str | None = Field(None, alias="appVersion")
    channel: str | None = None
    git_revision: str | None = Field(None, alias="gitRevision")
    image_checks: list[ImageCheck] = Field(default_factory=list, alias="imageChecks")


class Urls(_Doc):
    status_url: str | None = Field(None, alias="statusUrl")
    login_url: str | None = Field(None, alias="loginUrl")


class Rollup(_Doc):
    state: RollupState
    message: str
    next_action: str = Field(alias="nextAction")


class TierStatus(_Doc):
    ready: bool
    status: TierHealth
    message: str = ""


class Tiers(_Doc):
    platform: TierStatus
    core: TierStatus
    bootstrap: TierStatus
    login: TierStatus
    background: TierStatus
    full_health: TierStatus = Field(alias="fullHealth")


class Evidence(_Doc):
    kind: str
    namespace: str | None = None
    name: str | None = None
    reason: str | None = None
    message: str
    timestamp: str | None = None


class BlockerRepair(_Doc):
    """Whether ``appliance repair`` can fix the blocker now, the exact command, and why (not)."""

    available: bool
    action: str | None = None
    command: str | None = None
    summary: str = ""


class Blocker(_Doc):
    code: str
    severity: Severity
    tier: ComponentTier
    component: str
    layer: str
    reason: str
    next_action: str = Field(alias="nextAction")
    login_blocking: bool = Field(alias="loginBlocking")
    evidence: list[Evidence] = Field(default_factory=list)
    repair: BlockerRepair | None = None


class ActiveOperation(_Doc):
    component: str
    operation: Literal["pulling_image", "reconciling", "running_job", "provisioning_volume", "starting"]
    image: str | None = None
    elapsed_seconds: int | None = Field(None, alias="elapsedSeconds")
    estimated_size: str | None = Field(None, alias="estimatedSize")
    message: str = ""
    # the code of a blocker of this component: the operation is held by it, not progressing
    blocked_by: str | None = Field(None, alias="blockedBy")
    # an image pull: the image's size (release manifest), the node's download rate measured
    # from the kubelet's earlier "Successfully pulled ... Image size: N bytes." events, and
    # the time left at that rate
    size_bytes: int | None = Field(None, alias="sizeBytes")
    download_rate_bytes_per_second: float | None = Field(None, alias="downloadRateBytesPerSecond")
    estimated_seconds_left: int | None = Field(None, alias="estimatedSecondsLeft")
    estimated_total_seconds: int | None = Field(None, alias="estimatedTotalSeconds")


class ComponentStatus(_Doc):
    name: str
    tier: ComponentTier
    ready: bool
    status: TierHealth
    message: str = ""


class EventSummary(_Doc):
    namespace: str | None = None
    kind: str | None = None
    name: str | None = None
    type: str | None = None
    reason: str | None = None
    message: str = ""
    timestamp: str | None = None
    count: int | None = None


class BootstrapProgress(_Doc):
    """What bootstrap last published about itself (phase in progress, when)."""

    phase: str | None = None
    step: str | None = None
    state: str | None = None
    updated_at: str | None = Field(None, alias="updatedAt")


class StatusDocument(_Doc):
    schema_version: Literal["v1"] = Field(SCHEMA_VERSION, alias="schemaVersion")
    site_id: str = Field(alias="siteId")
    timestamp: str
    release: ReleaseInfo
    urls: Urls
    rollup: Rollup
    tiers: Tiers
    top_blockers: list[Blocker] = Field(default_factory=list, alias="topBlockers")
    active_operations: list[ActiveOperation] = Field(default_factory=list, alias="activeOperations")
    components: list[ComponentStatus] = Field(default_factory=list)
    recent_events: list[EventSummary] = Field(default_factory=list, alias="recentEvents")
    bootstrap: BootstrapProgress | None = None

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(by_alias=True, indent=indent)


def status_json_schema() -> dict[str, object]:
    return StatusDocument.model_json_schema(by_alias=True, mode="serialization")


if __name__ == "__main__":  # pragma: no cover - schema regeneration helper
    import sys

    sys.stdout.write(json.dumps(status_json_schema(), indent=2, sort_keys=True) + "\n")
