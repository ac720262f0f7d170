"""The status collection's parallel calls, on daemon threads.

``concurrent.futures`` joins its worker threads when the interpreter exits, so a process
stopped by Ctrl-C while a LIST hangs on an unanswering API would wait out that LIST's read
timeout before it could exit. A collection's calls run on daemon threads instead: the caller
still waits for every answer, a stopping process does not."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def parallel_map(fn: Callable[[T], R], items: Sequence[T], *, name: str) -> list[R]:
    """``[fn(x) for x in items]``, each call on its own daemon thread, results in order. The
    first exception (in the order of ``items``) is raised once every call has ended."""
    if len(items) <= 1:
        return [fn(x) for x in items]
    results: list[R | None] = [None] * len(items)
    errors: list[BaseException | None] = [None] * len(items)

    def run(i: int) -> None:
        try:
            results[i] = fn(items[i])
        except BaseException as exc:  # re-raised in the caller's thread below
            errors[i] = exc

    threads = [
        threading.Thread(target=run, args=(i,), name=f"{name}-{i}", daemon=True) for i in range(len(items))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return results  # type: ignore[return-value]  # every slot was filled (no error above)
