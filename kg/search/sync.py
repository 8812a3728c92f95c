"""Running the async search from synchronous code (LangChain's `invoke`, `stream`, `batch`).

A coroutine runs on a loop of its own; when the calling thread is already running a loop (a synchronous chain
called from async code), that loop is busy running the caller, so the coroutine runs on another thread's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """The result of `coroutine`, run to completion from synchronous code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
