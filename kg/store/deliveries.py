"""Delivered chat events, recorded in the graph store that every bot process of a deployment shares.

Why the store and not only Redis: Redis holds the fast dedupe key (`SET NX EX`), but a Redis restart without
persistence forgets every key, and while Redis is down each process falls back to its own memory. Either way
a platform retry (Slack redelivers an event up to three times over about five minutes) that lands on another
process would be answered a second time. The graph store is already what every process must reach to answer
at all, it is durable, and both backends can insert-if-absent atomically, so one row (SQLite) or node (Neo4j)
per delivered event settles which process answers, whatever happened to Redis. Asking the operator for Redis
persistence instead (AOF with `appendfsync always`) would be a requirement the bot cannot check or enforce on
a managed Redis, and would still not cover an outage.

A record lives for the dedupe TTL; expired records are deleted as new ones are claimed, so the ledger holds at
most the events of the last TTL.
"""

from __future__ import annotations

from typing import Protocol

from kg.store.base import GraphStore


class DeliveryLedger(Protocol):
    async def claim(self, key: str, ttl: float) -> bool:
        """Record `key` as delivered for `ttl` seconds: True for exactly one caller across every process
        sharing the store until the record expires, False for every other. Raises StoreError when the
        store cannot be used."""
        ...

    async def close(self) -> None: ...


def delivery_ledger(store: GraphStore) -> DeliveryLedger | None:
    """The ledger kept in `store`'s database, or None for a store that has none (test doubles)."""
    from kg.store.sqlite.store import SqliteStore

    if isinstance(store, SqliteStore):
        from kg.store.sqlite.deliveries import SqliteDeliveries

        return SqliteDeliveries(store.path.with_name(store.path.name + ".deliveries"))
    from kg.store.neo4j.store import Neo4jStore

    if isinstance(store, Neo4jStore):
        from kg.store.neo4j.deliveries import Neo4jDeliveries

        return Neo4jDeliveries(store)
    return None
