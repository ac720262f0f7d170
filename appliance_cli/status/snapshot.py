"""The cluster snapshot (docs/status.md): what collection produces and classification reads.

Each ``resources`` value is the List object exactly as the API returned it (raw JSON).
A resource that could not be listed (403, error) is recorded in ``unavailable`` so the
rest can still be classified.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance_cli.errors import SnapshotError

if TYPE_CHECKING:
    from appliance_cli.releases import Release

SNAPSHOT_API_VERSION: Literal["appliance.alga-psa.io/v1alpha1"] = "appliance.alga-psa.io/v1alpha1"

# The resource keys of a snapshot, in collection order.
RESOURCE_KEYS: tuple[str, ...] = (
    "v1/nodes",
    "v1/pods",
    "v1/events",
    "v1/persistentvolumeclaims",
    "v1/configmaps",
    "apps/v1/deployments",
    "apps/v1/statefulsets",
    "batch/v1/jobs",
    "source.toolkit.fluxcd.io/v1/gitrepositories",
    "kustomize.toolkit.fluxcd.io/v1/kustomizations",
    "helm.toolkit.fluxcd.io/v2/helmreleases",
)


class _Snap(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class EventsCollection(_Snap):
    """How events were read: per field selector, how many were listed; what was cut, in words.

    The events the rules read (warnings, the kubelet's image pulls) are listed whole, page by
    page; of all other events one page is read. ``cut`` is empty when nothing was left out.
    """

    listed: dict[str, int] = Field(default_factory=dict)
    cut: list[str] = Field(default_factory=list)
    # listed but not kept, per selector: pull events of pods whose containers all run, beyond
    # the newest few (no rule can need them)
    not_kept: dict[str, int] = Field(default_factory=dict, alias="notKept")


class CollectionInfo(_Snap):
    api_requests: int = Field(0, alias="apiRequests")
    seconds: float = 0.0
    unavailable: dict[str, str] = Field(default_factory=dict)
    events: EventsCollection | None = None


class SiteInfo(_Snap):
    site_id: str = Field(alias="siteId")
    node_ip: str | None = Field(None, alias="nodeIp")
    app_url: str | None = Field(None, alias="appUrl")
    status_url: str | None = Field(None, alias="statusUrl")
    release_version: str | None = Field(None, alias="releaseVersion")


class KubeReachability(_Snap):
    reachable: bool
    error: str | None = None


class TalosReachability(_Snap):
    checked: bool = False
    reachable: bool | None = None
    error: str | None = None


class Reachability(_Snap):
    kubernetes: KubeReachability
    talos: TalosReachability = Field(default_factory=TalosReachability)


class LoginProbe(_Snap):
    url: str | None = None
    status_code: int | None = Field(None, alias="statusCode")
    location: str | None = None
    error: str | None = None


class SeedUsersProbe(_Snap):
    count: int | None = None
    error: str | None = None
    source: Literal["exec", "published", "none"] | None = None


class Probes(_Snap):
    login: LoginProbe | None = None
    seed_users: SeedUsersProbe | None = Field(None, alias="seedUsers")


class ClusterSnapshot(_Snap):
    api_version: Literal["appliance.alga-psa.io/v1alpha1"] = Field(SNAPSHOT_API_VERSION, alias="apiVersion")
    kind: Literal["ClusterSnapshot"] = "ClusterSnapshot"
    collected_at: str = Field(alias="collectedAt")
    collection: CollectionInfo = Field(default_factory=CollectionInfo)
    site: SiteInfo
    reachability: Reachability
    resources: dict[str, dict[str, Any]] = Field(default_factory=dict)
    pod_logs: dict[str, list[str]] = Field(default_factory=dict, alias="podLogs")
    probes: Probes = Field(default_factory=Probes)
    # Facts from the release preflight / bootstrap journal, as plain JSON (optional).
    release_facts: dict[str, Any] = Field(default_factory=dict, alias="releaseFacts")

    def items(self, key: str) -> list[dict[str, Any]]:
        """The items of one resource list (empty when absent or unavailable)."""
        lst = self.resources.get(key) or {}
        items = lst.get("items") or []
        return list(items)

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(by_alias=True, indent=indent)


def with_release_facts(snapshot: ClusterSnapshot, release: Release) -> ClusterSnapshot:
    """The snapshot with the release it is judged against written into ``releaseFacts``.

    A support bundle carries it, so ``appliance status --snapshot`` gives the same answer on
    any machine, whatever release manifests that machine has. Facts already present (the
    preflight's ``imageChecks``, images published by bootstrap) are kept.
    """
    facts = dict(snapshot.release_facts)
    facts.setdefault("releaseVersion", release.version)
    facts.setdefault("appVersion", release.app.version)
    facts.setdefault("channel", release.channel)
    facts.setdefault("releaseBranch", release.app.release_branch)
    facts.setdefault(
        "images", {k: v.model_dump(by_alias=True, exclude_none=True) for k, v in release.images.items()}
    )
    facts.setdefault(
        "talos", {"version": release.talos.version, "installerImage": release.talos.installer_image}
    )
    facts.setdefault("kubernetes", {"version": release.kubernetes.version})
    return snapshot.model_copy(update={"release_facts": facts})


# Deeper than any List the API serves; deeper input is refused before anything recurses on it.
MAX_SNAPSHOT_DEPTH = 64
# The objects the classifier reads fields of: each, when present, must be a JSON object.
_OBJECT_FIELDS = ("metadata", "spec", "status")


def _depth_over(data: object, limit: int) -> bool:
    """Whether ``data`` nests deeper than ``limit`` (iterative: no recursion on the input)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _malformed_item(data: dict[str, Any]) -> str | None:
    """Where a listed object's metadata/spec/status is not an object, if anywhere."""
    resources = data.get("resources")
    if not isinstance(resources, dict):
        return None
    for key, listed in resources.items():
        items = listed.get("items") if isinstance(listed, dict) else None
        if items is None:
            continue
        if not isinstance(items, list):
            return f"resources.{key}.items: not a list"
        for i, obj in enumerate(items):
            if not isinstance(obj, dict):
                return f"resources.{key}.items[{i}]: not an object"
            for field in _OBJECT_FIELDS:
                if field in obj and obj[field] is not None and not isinstance(obj[field], dict):
                    return f"resources.{key}.items[{i}].{field}: not an object"
    return None


def load_snapshot(path: Path) -> ClusterSnapshot:
    """Read a snapshot file; raise ``SnapshotError`` (exit 2) naming the file when unusable:
    not a regular file (a FIFO is never opened, so nothing blocks), not UTF-8, not JSON,
    nested deeper than any API answer, or objects of the wrong shape."""
    try:
        regular = stat.S_ISREG(path.stat().st_mode)
    except OSError as exc:
        raise SnapshotError(f"cannot read snapshot: {exc.strerror or exc}", param=str(path)) from exc
    if not regular:
        raise SnapshotError("not a regular file", param=str(path))
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SnapshotError("not UTF-8 text", param=str(path)) from None
    except OSError as exc:
        raise SnapshotError(f"cannot read snapshot: {exc.strerror or exc}", param=str(path)) from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"not valid JSON (line {exc.lineno}: {exc.msg})", param=str(path)) from exc
    except RecursionError:
        raise SnapshotError(f"nested deeper than {MAX_SNAPSHOT_DEPTH} levels", param=str(path)) from None
    if _depth_over(data, MAX_SNAPSHOT_DEPTH):
        raise SnapshotError(f"nested deeper than {MAX_SNAPSHOT_DEPTH} levels", param=str(path))
    if isinstance(data, dict) and (where := _malformed_item(data)):
        raise SnapshotError(f"malformed snapshot at {where}", param=str(path))
    if not isinstance(data, dict) or data.get("kind") != "ClusterSnapshot":
        raise SnapshotError(
            "not a cluster snapshot (expected kind: ClusterSnapshot; "
            "make one with 'appliance support-bundle')",
            param=str(path),
        )
    try:
        return ClusterSnapshot.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SnapshotError(f"malformed snapshot at {where}: {first['msg']}", param=str(path)) from exc
