"""Bounded waits on real signals that consult the status classifier while they wait.

``wait_until`` polls one signal (an API condition, a probe) until it holds or the bound runs
out. Every few seconds it collects and classifies the site's status (the same brain as
``appliance status``); a known blocker that concerns what is awaited ends the wait at once
with that blocker, its evidence and next action (``BlockerFound``). A wait that runs out
without a known blocker says what it waited for and what it last saw (``WaitTimeout``).
Every poll reports what the wait waits for, what it last saw, and the active image pull.

An API that does not answer for a while (a restart, throttling, a dropped connection) is
something seen, not the end: a transient error of the signal and a transient blocker
(``TRANSIENT_BLOCKERS``) keep the wait going; only when the bound runs out while the API is
still away does the wait end, with that blocker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appliance_cli.bootstrap.phases.base import BlockerFound, WaitTimeout
from appliance_cli.errors import ApplianceError

if TYPE_CHECKING:
    from appliance_cli.bootstrap.context import BootstrapContext
    from appliance_cli.status.model import Blocker, StatusDocument


# Blockers that say "cannot see right now" rather than "something is wrong": a wait rides
# through them until its bound.
TRANSIENT_BLOCKERS = frozenset({"kubernetes_api_unreachable"})


@dataclass(frozen=True)
class Seen:
    """One observation of the awaited signal."""

    done: bool
    last_seen: str
    pull: dict[str, Any] | None = None  # the active image pull, when one is seen


def _pick_blocker(
    doc: StatusDocument, tiers: Collection[str], codes: Collection[str] | None
) -> Blocker | None:
    for blocker in doc.top_blockers:
        if blocker.code in TRANSIENT_BLOCKERS:
            continue
        if codes is not None and blocker.code in codes:
            return blocker
        if codes is None and blocker.login_blocking and blocker.tier in tiers:
            return blocker
    return None


def _transient_blocker(doc: StatusDocument | None) -> Blocker | None:
    if doc is None:
        return None
    return next((b for b in doc.top_blockers if b.code in TRANSIENT_BLOCKERS), None)


def _active_pull(doc: StatusDocument | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    for op in doc.active_operations:
        if op.operation == "pulling_image":
            return {
                "component": op.component,
                "image": op.image,
                "elapsedSeconds": op.elapsed_seconds,
                "estimatedSize": op.estimated_size,
                "estimatedSecondsLeft": op.estimated_seconds_left,
                "estimatedTotalSeconds": op.estimated_total_seconds,
                "blockedBy": op.blocked_by,
            }
    return None


def wait_until(
    ctx: BootstrapContext,
    what: str,
    check: Callable[[], Seen],
    *,
    bound_seconds: float,
    interval: float = 1.0,
    classify_every: float = 5.0,
    tiers: Collection[str] = ("platform", "core", "login"),
    blocker_codes: Collection[str] | None = None,
    classify: bool = True,
    stop: threading.Event | None = None,
) -> Seen:
    """Poll ``check`` until it says done; end early on a known blocker; bounded by ``bound_seconds``.

    Time is the site's clock (``ctx.env.clock``): the wall clock on hardware, the target's own
    time where its timeline is scaled (the lab's ``--speed``)."""
    clock = ctx.env.clock
    started = clock.monotonic()
    deadline = started + bound_seconds
    next_classify = started
    last = Seen(False, "nothing yet")
    pull: dict[str, Any] | None = None
    away: Blocker | None = None  # the API was away at the last classification
    stopper = stop or threading.Event()
    polls = 0
    while True:
        try:
            last = check()
        except (BlockerFound, WaitTimeout):
            raise
        except ApplianceError as exc:  # a transient API error is something seen, not the end
            last = Seen(False, f"error: {exc.message}")
        if last.pull is not None:
            pull = last.pull
        if last.done:
            ctx.report(what, "done", lastSaw=last.last_seen, seconds=round(clock.monotonic() - started, 1))
            return last
        now = clock.monotonic()
        if classify and now >= next_classify:
            next_classify = now + classify_every
            doc = ctx.status()
            if doc is not None:
                pull = _active_pull(doc)
                away = _transient_blocker(doc)
                blocker = _pick_blocker(doc, tiers, blocker_codes)
                if blocker is not None:
                    ctx.report(what, "failed", blocker=blocker.code, lastSaw=last.last_seen)
                    raise BlockerFound(blocker, waiting_for=what)
        ctx.report(
            what,
            "waiting",
            waitingFor=what,
            lastSaw=last.last_seen,
            elapsedSeconds=round(now - started, 1),
            boundSeconds=bound_seconds,
            **({"activePull": pull} if pull else {}),
        )
        if now >= deadline:
            if away is not None and last.last_seen.startswith("error:"):
                ctx.report(what, "failed", blocker=away.code, lastSaw=last.last_seen)
                raise BlockerFound(away, waiting_for=what)
            raise WaitTimeout(
                f"gave up after {bound_seconds:g}s waiting for {what}; last saw: {last.last_seen}",
                hint="run 'appliance status' for the full picture, then re-run with --bootstrap-mode recover",
            )
        # Poll soon at first, then back off to ``interval``: short waits end quickly, long
        # waits do not hammer the API.
        delay = min(interval, 0.2 * (1.5**polls))
        polls += 1
        if clock.wait(stopper, min(delay, max(0.0, deadline - now))):
            raise KeyboardInterrupt


def wait_for_status(
    ctx: BootstrapContext,
    what: str,
    predicate: Callable[[StatusDocument], Seen],
    *,
    bound_seconds: float,
    fallback: Callable[[], Seen] | None = None,
    interval: float = 2.0,
    tiers: Collection[str] = ("platform", "core", "login"),
    stop_on_blockers: bool = True,
) -> StatusDocument | None:
    """Wait on the classified status itself: one collection per poll decides both whether
    ``predicate`` holds and whether a known blocker ends the wait. Without a status collector
    (None), ``fallback`` (a raw API signal) decides."""
    holder: dict[str, StatusDocument | None] = {"doc": None}

    def check() -> Seen:
        doc = ctx.status()
        holder["doc"] = doc
        if doc is None:
            return fallback() if fallback is not None else Seen(False, "status not available yet")
        away = _transient_blocker(doc)
        if away is not None:  # nothing can be judged while the API is away: keep waiting
            return Seen(False, f"error: {away.reason}")
        seen = predicate(doc)
        if seen.done:
            return seen
        if stop_on_blockers:
            blocker = _pick_blocker(doc, tiers, None)
            if blocker is not None:
                raise BlockerFound(blocker, waiting_for=what)
        return Seen(False, seen.last_seen, _active_pull(doc))

    try:
        wait_until(
            ctx,
            what,
            check,
            bound_seconds=bound_seconds,
            interval=interval,
            classify=False,
            stop=ctx.state.stop,
        )
    except WaitTimeout:
        away = _transient_blocker(holder["doc"])
        if away is not None:
            raise BlockerFound(away, waiting_for=what) from None
        raise
    return holder["doc"]
