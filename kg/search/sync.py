"""Running the async search from synchronous code (LangChain's `invoke`, `stream`, `batch`).

`run_sync` runs a coroutine on a loop of its own; when the calling thread is already running a loop (a
synchronous chain called from async code), that loop is busy running the caller, so the coroutine runs on
another thread's. `BackgroundLoop` keeps one loop for every call, for objects whose clients are bound to one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
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


class BackgroundLoop:
    """An event loop running on a daemon thread of its own, started on first use, for the synchronous entry
    points of an object that holds async clients: langchain-openai keeps one HTTP client per model, bound to
    the loop it first ran on, so every synchronous call must run on the same loop (a fresh `asyncio.run` per
    call breaks the second one)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Start `coroutine` on the loop; its future can be waited on, or cancelled, from any thread."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="kgbot-sync-loop", daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """The result of `coroutine`, run on the loop."""
        return self.submit(coroutine).result()
