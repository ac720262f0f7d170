"""Bounded waits on real signals that consult the status classifier while they wait.

``wait_until`` polls one signal (an API condition, a probe) until it holds or the bound runs
out. Every few seconds it collects and classifies the site's status (the same brain as
``appliance status``); a known blocker that concerns what is awaited ends the wait at once
with that blocker, its evidence and next action (``BlockerFound``). A wait that runs out
without a known blocker says what it waited for and what it last saw (``WaitTimeout``).
Every poll reports what the wait waits for, what it last saw, and the active image pull.

A wait that ends within its first ``FIRST_CLASSIFY_SECONDS`` never collects a status: there
was nothing to explain.

``wait_for_status`` decides on the classified status itself, and collects it only when it can
have changed: a ``ChangeFeed`` (watches on the objects a status is made of, on a client of its
own) wakes the wait when one of them changes; without a change, a status is collected again
only after ``REFRESH_SECONDS`` (the login probe and the ages in a status move with time). A
collection is what costs (every list, the log tails, the seed-user exec): a wait on a quiet
cluster makes one per refresh instead of one per poll. Where no watch can be opened (a client
without watches, an API away when the wait starts) every poll collects, as before.

An API that does not answer for a while (a restart, throttling, a dropped connection) is
something seen, not the end: a transient error of the signal and a transient blocker
(``TRANSIENT_BLOCKERS``) keep the wait going; only when the bound runs out while the API is
still away does the wait end, with that blocker. A watch that broke says "changed" until it
is back, so a wait never sleeps through what it could not see.
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
    from appliance_cli.status.informer import InformerSet
    from appliance_cli.status.model import Blocker, StatusDocument


# Blockers that say "cannot see right now" rather than "something is wrong": a wait rides
# through them until its bound.
TRANSIENT_BLOCKERS = frozenset({"kubernetes_api_unreachable"})
# A wait classifies the site's status first after this long (seconds of the site's clock).
FIRST_CLASSIFY_SECONDS = 1.0
# Without a change, ``wait_for_status`` collects again after this long (the site's clock).
REFRESH_SECONDS = 6.0
# Polls of a wait back off to their interval in this many steps (then stay there).
BACKOFF_STEPS = 12
# What a status is made of, watched by ``ChangeFeed``. Events are left out: they follow the
# changes of these objects, and a busy cluster writes them all the time.
FEED_KEYS = (
    "v1/nodes",
    "v1/pods",
    "v1/persistentvolumeclaims",
    "apps/v1/deployments",
    "apps/v1/statefulsets",
    "batch/v1/jobs",
    "source.toolkit.fluxcd.io/v1/gitrepositories",
    "kustomize.toolkit.fluxcd.io/v1/kustomizations",
    "helm.toolkit.fluxcd.io/v2/helmreleases",
)
FEED_SYNC_SECONDS = 2.0  # how long a wait gives its watches to list before it goes on without
FEED_WATCH_SECONDS = 60  # each watch request ends after this long and is made again


class _Wake(threading.Event):
    """Set by a change the feed saw; reads as set when ``stop`` is, too (what a wait sleeps on)."""

    def __init__(self, stop: threading.Event) -> None:
        super().__init__()
        self.stop = stop

    def is_set(self) -> bool:
        return super().is_set() or self.stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            super().wait(0.1 if left is None else min(left, 0.1))  # sees ``stop`` within 0.1 s
        return True


class ChangeFeed:
    """Watches on the objects a status is made of (``FEED_KEYS``, an ``InformerSet`` on a
    client of its own): whether any of them changed since a generation, and an event that a
    change sets. Until every watch has listed, and while one is broken, it says "changed"."""

    def __init__(self, client: Any, stop: threading.Event) -> None:
        from appliance_cli.status.informer import InformerSet

        self.client = client
        self.wake = _Wake(stop)
        self.informers: InformerSet = InformerSet(
            client, keys=FEED_KEYS, watch_timeout=FEED_WATCH_SECONDS, on_change=self.wake.set
        )

    @classmethod
    def open(cls, ctx: BootstrapContext, stop: threading.Event) -> ChangeFeed | None:
        """A feed on the site's cluster, or None where there is none to be had (no kubeconfig
        yet, a client that cannot watch)."""
        if not ctx.kubeconfig_path.is_file():
            return None
        try:
            client = ctx.adapters.kube(ctx.kubeconfig_path, ctx.env.retry_clock)
        except ApplianceError:
            return None
        if not callable(getattr(client, "watch", None)):
            return None
        feed = cls(client, stop)
        feed.informers.start()
        feed.informers.wait_synced(FEED_SYNC_SECONDS)
        return feed

    @property
    def generation(self) -> int:
        return self.informers.generation

    def changed_since(self, generation: int) -> bool:
        inf = self.informers
        if not all(i.synced for i in inf.informers.values()) or inf.stale_keys:
            return True  # it cannot tell: say changed
        return inf.generation != generation

    def close(self) -> None:
        self.informers.stop()
        close = getattr(self.client, "close", None)
        if callable(close):
            close()


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


def _confirmed_blocker(
    ctx: BootstrapContext, doc: StatusDocument, pick: Callable[[StatusDocument], Blocker | None]
) -> tuple[Blocker | None, StatusDocument]:
    """The blocker ``pick`` finds in ``doc``, confirmed by a second collection made at once,
    and that collection. The lists of one collection are read side by side, not at one
    instant: a chain of failures that runs while they are read (a Job fails, its HelmRelease
    stalls, the Kustomization fails) can be seen in part, the effect without its cause. The
    blocker reported is the second collection's (the cause, once it shows); none there means
    it is gone and the wait goes on. Only a wait about to end on a blocker pays for this."""
    first = pick(doc)
    if first is None:
        return None, doc
    again = ctx.status()
    if again is None:
        return first, doc
    return pick(again), again


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
    feed: ChangeFeed | None = None,
    quiet: Callable[[], bool] | None = None,
) -> Seen:
    """Poll ``check`` until it says done; end early on a known blocker; bounded by ``bound_seconds``.

    With a ``feed``, the wait sleeps up to ``interval`` between polls and a change wakes it
    (never sooner than the backoff's step, at most half the interval); ``quiet()`` says
    nothing changed since the last collection (the wait may then sleep on).

    Time is the site's clock (``ctx.env.clock``): the wall clock on hardware, the target's own
    time where its timeline is scaled (the lab's ``--speed``)."""
    clock = ctx.env.clock
    started = clock.monotonic()
    deadline = started + bound_seconds
    next_classify = started + min(FIRST_CLASSIFY_SECONDS, classify_every)
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
                blocker, doc = _confirmed_blocker(ctx, doc, lambda d: _pick_blocker(d, tiers, blocker_codes))
                pull = _active_pull(doc)
                away = _transient_blocker(doc)
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
        delay = min(interval, 0.2 * (1.5 ** min(polls, BACKOFF_STEPS)))
        polls += 1
        left = max(0.0, deadline - now)
        if feed is not None and quiet is not None:
            # at least half the interval (less at first) between polls, then on until a
            # change wakes the wait or the interval is over
            gap = min(delay, interval / 2)
            if clock.wait(stopper, min(gap, left)):
                raise KeyboardInterrupt
            feed.wake.clear()
            rest = min(interval - gap, max(0.0, left - gap))
            if quiet() and clock.wait(feed.wake, rest) and stopper.is_set():
                raise KeyboardInterrupt
        elif clock.wait(stopper, min(delay, left)):
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
    """Wait on the classified status itself: one collection decides both whether
    ``predicate`` holds and whether a known blocker ends the wait. A status is collected
    again when the cluster changed (``ChangeFeed``) or ``REFRESH_SECONDS`` passed; polls in
    between cost nothing. Without a status collector (None), ``fallback`` (a raw API signal)
    decides."""
    holder: dict[str, Any] = {"doc": None, "seen": None, "at": 0.0, "gen": -1}
    clock = ctx.env.clock
    stop = ctx.state.stop
    feed = ChangeFeed.open(ctx, stop)

    def quiet() -> bool:
        return feed is not None and not feed.changed_since(holder["gen"])

    def check() -> Seen:
        last: Seen | None = holder["seen"]
        if last is not None and quiet() and clock.monotonic() - holder["at"] < REFRESH_SECONDS:
            return last  # nothing it is made of changed: the last status stands
        if feed is not None:
            holder["gen"] = feed.generation
        holder["at"] = clock.monotonic()
        holder["seen"] = None
        seen = judge()
        holder["seen"] = seen
        return seen

    def judge() -> Seen:
        doc = ctx.status()
        if doc is None:
            holder["doc"] = None
            return fallback() if fallback is not None else Seen(False, "status not available yet")
        while True:  # twice at most: the second collection of a blocker holds none
            holder["doc"] = doc
            away = _transient_blocker(doc)
            if away is not None:  # nothing can be judged while the API is away: keep waiting
                return Seen(False, f"error: {away.reason}")
            seen = predicate(doc)
            if seen.done:
                return seen
            if not stop_on_blockers:
                return Seen(False, seen.last_seen, _active_pull(doc))
            blocker, again = _confirmed_blocker(ctx, doc, lambda d: _pick_blocker(d, tiers, None))
            if blocker is not None:
                raise BlockerFound(blocker, waiting_for=what)
            if again is doc:
                return Seen(False, seen.last_seen, _active_pull(doc))
            doc = again  # the blocker was gone a moment later: judge by what is now

    try:
        wait_until(
            ctx,
            what,
            check,
            bound_seconds=bound_seconds,
            interval=interval,
            classify=False,
            stop=stop,
            feed=feed,
            quiet=quiet,
        )
    except WaitTimeout:
        away = _transient_blocker(holder["doc"])
        if away is not None:
            raise BlockerFound(away, waiting_for=what) from None
        raise
    finally:
        if feed is not None:
            feed.close()
    doc: StatusDocument | None = holder["doc"]
    return doc
