"""``asyncio.run`` for tests, in a thread of its own.

The browser tests drive Chromium through Playwright's sync API, whose event loop stays
running in the worker's main thread for the whole session (one browser per worker), and
``asyncio.run`` refuses to start in a thread where a loop runs. A thread of its own has no
loop: the coroutine runs there, and its result or its exception comes back here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="asyncio-run") as pool:
        return pool.submit(asyncio.run, coro).result()
