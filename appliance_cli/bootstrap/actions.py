"""The one helper every state-changing call goes through.

``Actions.command/apply/delete/write_file/wait/do`` either perform the call or, in dry
run, only record it for the plan. Because the real path and the plan are the same calls,
a dry run cannot drift from what a real run does. A dry run writes no local file and makes
no cluster write: the callables are simply never invoked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from appliance_cli.adapters.kubeapi import key_for
from appliance_cli.site import atomic_write

T = TypeVar("T")

ActionKind = Literal["command", "apply", "delete", "write", "wait", "call"]


def resource_key(obj: Mapping[str, Any]) -> str:
    """``v1/configmaps``, ``kustomize.toolkit.fluxcd.io/v1/kustomizations`` ..."""
    return key_for(obj)


def object_ref(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


class KubeWriter(Protocol):
    def apply(self, obj: dict[str, Any], field_manager: str = ..., force: bool = ...) -> dict[str, Any]: ...


@dataclass(frozen=True)
class PlannedAction:
    """One entry of the plan (and of the record of a real run)."""

    kind: ActionKind
    summary: str
    phase: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.phase, "kind": self.kind, "summary": self.summary, "details": self.details}


@dataclass
class Actions:
    dry_run: bool
    records: list[PlannedAction] = field(default_factory=list)
    phase: int | None = None
    field_manager: str = "appliance-cli"
    applied: int = 0  # objects actually applied (a verification run applies none)

    def _record(self, action: ActionKind, summary: str, **details: Any) -> None:
        self.records.append(PlannedAction(action, summary, self.phase, dict(details)))

    def command(self, argv: Sequence[str], fn: Callable[[], T], *, default: T) -> T:
        """An external command (talosctl, flux): ``argv`` as documented, secrets already redacted."""
        self._record("command", " ".join(argv), argv=list(argv))
        return default if self.dry_run else fn()

    def apply(self, kube: Callable[[], KubeWriter], obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.get("metadata") or {}
        self._record(
            "apply",
            f"apply {object_ref(obj)}",
            apiVersion=obj.get("apiVersion"),
            kind=obj.get("kind"),
            namespace=meta.get("namespace"),
            name=meta.get("name"),
        )
        if self.dry_run:
            return obj
        self.applied += 1
        return kube().apply(obj, field_manager=self.field_manager, force=True)

    def delete(self, description: str, fn: Callable[[], object]) -> None:
        self._record("delete", f"delete {description}")
        if not self.dry_run:
            fn()

    def write_file(self, path: Path, data: str | bytes, *, mode: int = 0o600, secret: bool = False) -> None:
        self._record("write", f"write {path} ({oct(mode)[2:]}{', secret' if secret else ''})", path=str(path))
        if not self.dry_run:
            atomic_write(path, data, mode=mode)

    def wait(self, what: str, bound_seconds: float, fn: Callable[[], T], *, default: T) -> T:
        self._record("wait", f"wait up to {bound_seconds:g}s for {what}", bound=bound_seconds)
        return default if self.dry_run else fn()

    def do(self, summary: str, fn: Callable[[], T], *, default: T) -> T:
        """Any other state change (a restart, a Talos API call through an adapter)."""
        self._record("call", summary)
        return default if self.dry_run else fn()

    def note(self, summary: str) -> None:
        """A plan-only line (a step that is skipped or verified)."""
        if self.dry_run:
            self._record("call", summary)
