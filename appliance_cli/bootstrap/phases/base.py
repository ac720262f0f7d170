"""The shape of a phase: a title, ``should_run``, ``run``, ``plan`` and an optional ``cleanup``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from appliance_cli.errors import ActionRequired

if TYPE_CHECKING:
    from appliance_cli.bootstrap.context import BootstrapContext
    from appliance_cli.status.model import Blocker


class Phase(Protocol):
    number: int
    title: str

    def should_run(self, ctx: BootstrapContext) -> bool:
        """False when the phase's outcome already holds (verified on the cluster): skip it."""
        ...

    def run(self, ctx: BootstrapContext) -> None: ...

    def plan(self, ctx: BootstrapContext) -> None:
        """Record every action ``run`` would take (``ctx.actions`` is in dry-run mode)."""
        ...

    def cleanup(self, ctx: BootstrapContext) -> None:
        """Undo short-lived objects after a failure or an interrupt (best effort)."""
        ...


class PhaseBase:
    number = -1
    title = ""

    def should_run(self, ctx: BootstrapContext) -> bool:
        return not ctx.journal.completed(self.number)

    def run(self, ctx: BootstrapContext) -> None:
        raise NotImplementedError

    def cleanup(self, ctx: BootstrapContext) -> None:
        return None

    def after(self, ctx: BootstrapContext) -> None:
        """Runs after the phase, whether it ran or was verified and skipped."""
        return None

    def plan(self, ctx: BootstrapContext) -> None:
        # The real path with the do-or-record helper in dry-run mode is the plan.
        self.run(ctx)


class BlockerFound(ActionRequired):
    """A wait ended early on a known blocker (exit 1), with its evidence and next action."""

    def __init__(self, blocker: Blocker, *, waiting_for: str) -> None:
        evidence = "; ".join(e.message for e in blocker.evidence[:2] if e.message not in blocker.reason)
        super().__init__(
            f"{blocker.code}: {blocker.reason}" + (f" ({evidence})" if evidence else ""),
            hint=blocker.next_action,
        )
        self.blocker = blocker
        self.waiting_for = waiting_for


class WaitTimeout(ActionRequired):
    """A bounded wait ran out without a known blocker; says what it waited for and last saw."""
