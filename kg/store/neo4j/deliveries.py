"""The delivered-events ledger (kg.store.deliveries) in the Neo4j store's database.

One :DeliveredEvent node per event, outside every namespace and generation. The claim is one MERGE on a
uniquely constrained key: concurrent claims of one key serialise on the constraint, so exactly one creates
the node and sees its own claim token. Expired nodes are deleted in bounded batches, at most once a
PURGE_EVERY per process, so the label holds about one dedupe TTL of events.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

from kg.store.base import StoreError
from kg.store.neo4j import statements as cypher
from kg.store.neo4j.store import Neo4jStore

log = logging.getLogger(__name__)


class Neo4jDeliveries:
    """`DeliveryLedger` over an open Neo4jStore's driver (wall-clock expiry, shared by every process)."""

    PURGE_EVERY = 60.0  # seconds between purges of expired records
    PURGE_BATCH = 1000  # records deleted at most per purge

    def __init__(self, store: Neo4jStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._schema_ready = False
        self._schema_lock = asyncio.Lock()  # one schema creation, however many first claims run at once
        self._next_purge = 0.0

    async def _ensure_schema(self) -> None:
        async with self._schema_lock:
            if self._schema_ready:
                return
            for statement in (cypher.CREATE_DELIVERY_CONSTRAINT, cypher.CREATE_DELIVERY_INDEX):
                try:
                    await self._store._query(
                        statement, {}, action="create the delivered-events schema", write=True
                    )
                except StoreError as exc:  # IF NOT EXISTS still fails when another process creates it now
                    code = getattr(exc.__cause__, "code", "") or ""
                    if code != "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists":
                        raise
            self._schema_ready = True

    async def claim(self, key: str, ttl: float) -> bool:
        if not self._schema_ready:
            await self._ensure_schema()
        now = self._clock()
        if now >= self._next_purge:
            self._next_purge = now + self.PURGE_EVERY
            try:
                await self._store._query(
                    cypher.PURGE_DELIVERIES,
                    {"clock": now, "limit": self.PURGE_BATCH},
                    action="purge delivered events",
                    write=True,
                )
            except StoreError as exc:  # another process purging the same nodes: the next purge catches up
                log.info("purging expired delivered events failed (%s); retried later", exc)
        token = secrets.token_hex(8)
        records = await self._store._query(
            cypher.CLAIM_DELIVERY,
            {"key": key, "claim": token, "expires": now + ttl, "clock": now},
            action="record a delivered event",
            write=True,
        )
        return bool(records[0]["claimed"])

    async def close(self) -> None:
        """Nothing of its own to close: the store owns the driver."""
