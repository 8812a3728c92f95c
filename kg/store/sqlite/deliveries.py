"""The delivered-events ledger (kg.store.deliveries) of a SQLite store, in a file beside the store's.

A file of its own (`<store>.deliveries`), not a table in the store's: SQLite has one writer per file, and a
publish holds the store's write lock for as long as it replaces a namespace, so a claim there would wait for a
reindex before a question could be answered. The processes sharing the store share this file too; SQLite's
write lock (BEGIN IMMEDIATE) makes purge-then-insert one atomic step between them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kg.store.base import StoreError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS delivered_events (key TEXT PRIMARY KEY, expires REAL NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS delivered_events_expiry ON delivered_events (expires)",
)


def claim(conn: sqlite3.Connection, key: str, ttl: float, now: float) -> bool:
    """Delete expired records, then insert `key` unless a live record has it; True when inserted."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM delivered_events WHERE expires <= ?", (now,))
        inserted = conn.execute(
            "INSERT INTO delivered_events (key, expires) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            (key, now + ttl),
        ).rowcount
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return inserted == 1


class SqliteDeliveries:
    """`DeliveryLedger` in the table `delivered_events` of the SQLite file `path` (wall-clock expiry, as the
    processes sharing the file share no other clock)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kg-sqlite-deliveries")
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10.0)
            conn.execute("PRAGMA journal_mode = WAL")  # a claim commits without waiting for readers
            conn.execute("PRAGMA synchronous = NORMAL")
            for statement in _SCHEMA:
                conn.execute(statement)
            self._conn = conn
        return self._conn

    def _claim(self, key: str, ttl: float) -> bool:
        return claim(self._connection(), key, ttl, self._clock())

    async def claim(self, key: str, ttl: float) -> bool:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, self._claim, key, ttl)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: recording a delivered event: {exc}") from exc

    async def close(self) -> None:
        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._thread, shut)
        self._thread.shutdown(wait=False)
