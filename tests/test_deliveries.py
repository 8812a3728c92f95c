"""A platform retry is answered once across bot processes, whatever happens to Redis.

- Two real `kgbot serve` processes over one store and one real redis-server: an event answered by one is not
  answered again when Slack retries it on the other after redis-server restarted (no persistence: every key
  gone), nor while redis-server is down.
- The store's ledger of delivered events (kg.store.deliveries) on SQLite and on a real Neo4j: one claim among
  concurrent ones wins, a record expires after its TTL, and expired records are deleted (the ledger stays
  bounded).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from kg.config import Settings
from kg.store import open_store
from kg.store.deliveries import delivery_ledger
from kg.store.neo4j.deliveries import Neo4jDeliveries
from kg.store.sqlite.deliveries import SqliteDeliveries
from kg.store.sqlite.store import SqliteStore
from tests.conftest import RedisServer
from tests.slack_fake import FakeSlack, event_body, mention, sign
from tests.test_serve import (  # noqa: F401 - fixtures, used by name
    Served,
    discord_api,
    eventually,
    indexed,
    kgbot_serve,
    metric,
    slack,
)
from tests.test_store_neo4j import real_store


async def deliver(served: Served, body: str, *, retry: int = 0, sent_at: float | None = None) -> None:
    """POST a signed event to /slack/events as Slack does; a retry carries X-Slack-Retry-Num and, sent
    later, a signature of its own."""
    headers = {"Content-Type": "application/json", **sign(body, timestamp=int(sent_at or time.time()))}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    async with served.session.post(f"{served.url}/slack/events", data=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()


async def turned_away_by_store(served: Served) -> float:
    return metric(await served.metrics(), "kgbot_duplicate_deliveries_total", platform="slack", by="store")


async def test_a_retry_on_another_process_after_a_redis_restart_or_during_an_outage_is_not_answered_again(
    kgbot_serve: Callable[..., Awaitable[Served]],  # noqa: F811 - the fixture of tests/test_serve.py
    redis_server: RedisServer,
    redis_url: str,
    slack: FakeSlack,  # noqa: F811 - the fixture of tests/test_serve.py
) -> None:
    env = {"REDIS_URL": redis_url, "DISCORD_TOKEN": None}
    first, second = await kgbot_serve(**env), await kgbot_serve(**env)
    await first.wait_ready()
    await second.wait_ready()

    def answers(ts: str) -> list[dict[str, object]]:
        return [m for m in slack.in_thread(ts) if "kgbot_footer" in json.dumps(m)]

    def reactions(method: str, ts: str) -> int:
        return sum(1 for c in slack.calls if c.method == method and c.args.get("timestamp") == ts)

    async def answered_in(ts: str) -> None:
        async def check() -> bool:  # answered, and done: its working indicator cleared (after the answer)
            return bool(answers(ts)) and reactions("reactions.remove", ts) >= reactions("reactions.add", ts)

        await eventually(check, 20, f"the answer in thread {ts}")

    # Delivered to the first process and answered there; then redis-server restarts and forgets every key.
    ts = "1700000200.000100"
    body = json.dumps(event_body(mention("Who maintains the data pipeline?", ts=ts), "EvRetry1"))
    await deliver(first, body, sent_at=time.time() - 60)
    await answered_in(ts)
    redis_server.stop()
    redis_server.start()
    await second.wait_ready()
    calls = len(slack.calls)

    # Slack's retry of the same event lands on the second process: recognised, not answered.
    await deliver(second, body, retry=1)

    async def second_handled_it() -> bool:  # turned it away, or (the failure) answered it again
        return await turned_away_by_store(second) == 1 or len(answers(ts)) > 1

    await eventually(second_handled_it, 20, "the second process to handle the retry")
    assert len(answers(ts)) == 1
    assert [c.method for c in slack.calls[calls:] if c.method != "auth.test"] == []

    # While redis-server is down each process falls back to its own memory; the store still decides.
    ts = "1700000300.000100"
    body = json.dumps(event_body(mention("Who designed the Lantern Engine?", ts=ts), "EvRetry2"))
    redis_server.stop()
    try:
        await deliver(second, body, sent_at=time.time() - 60)
        await answered_in(ts)
        calls = len(slack.calls)
        await deliver(first, body, retry=1)

        async def first_handled_it() -> bool:
            return await turned_away_by_store(first) == 1 or len(answers(ts)) > 1

        await eventually(first_handled_it, 20, "the first process to handle the retry")
    finally:
        redis_server.start()
    assert len(answers(ts)) == 1
    assert [c.method for c in slack.calls[calls:] if c.method != "auth.test"] == []


# --------------------------------------------------------------------------------------- the ledger itself


def rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM delivered_events").fetchone()[0])


async def test_sqlite_claims_are_atomic_between_connections(settings: Settings) -> None:
    store = open_store(settings.store_url)
    one, other = delivery_ledger(store), delivery_ledger(store)
    assert isinstance(one, SqliteDeliveries) and isinstance(other, SqliteDeliveries)
    results = await asyncio.gather(*(ledger.claim("slack:Ev1", 60) for ledger in [one, other] * 10))
    assert results.count(True) == 1
    assert await other.claim("slack:Ev2", 60) is True
    assert await one.claim("slack:Ev2", 60) is False
    for ledger in (one, other):
        await ledger.close()
    await store.close()


async def test_sqlite_records_expire_and_are_deleted(settings: Settings) -> None:
    store = open_store(settings.store_url)
    assert isinstance(store, SqliteStore)
    now = [1_000_000.0]
    ledger = SqliteDeliveries(store.path.with_name("ledger.db"), clock=lambda: now[0])
    for i in range(100):
        assert await ledger.claim(f"slack:Ev{i}", 60)
    assert await ledger.claim("slack:Ev0", 60) is False
    assert rows(ledger.path) == 100
    now[0] += 61
    assert await ledger.claim("slack:Ev0", 60) is True  # an expired record no longer counts
    assert rows(ledger.path) == 1  # and the other 99 are gone
    await ledger.close()
    await store.close()


async def test_neo4j_claims_are_atomic_and_expire(neo4j_url: str) -> None:
    store = real_store(neo4j_url)
    ledger = delivery_ledger(store)
    assert isinstance(ledger, Neo4jDeliveries)
    await store._query("MATCH (d:DeliveredEvent) DELETE d", {}, action="clean up", write=True)
    other = Neo4jDeliveries(real_store(neo4j_url))
    results = await asyncio.gather(*(led.claim("slack:Ev1", 60) for led in [ledger, other] * 5))
    assert results.count(True) == 1

    now = [time.time()]
    later = Neo4jDeliveries(store, clock=lambda: now[0])
    later.PURGE_EVERY = 1e9  # purges once, at its first claim
    for i in range(20):
        assert await later.claim(f"discord:Ev{i}", 60)
    assert await later.claim("discord:Ev0", 60) is False
    now[0] += 120
    assert await later.claim("discord:Ev0", 60) is True  # an expired record no longer counts
    sweeper = Neo4jDeliveries(store, clock=lambda: now[0])
    assert await sweeper.claim("discord:new", 60)
    [left] = await store._query(
        "MATCH (d:DeliveredEvent) RETURN count(d) AS n", {}, action="count delivered events"
    )
    assert left["n"] == 2  # the renewed Ev0 and the new one: every expired record was deleted
    await other._store.close()
    await store.close()


async def test_sqlite_claims_do_not_wait_for_a_publish_holding_the_store(settings: Settings) -> None:
    store = open_store(settings.store_url)
    assert isinstance(store, SqliteStore)
    ledger = delivery_ledger(store)
    assert ledger is not None
    publishing = sqlite3.connect(store.path, isolation_level=None)
    publishing.execute("BEGIN IMMEDIATE")  # the store's write lock, as a publish holds it while it writes
    try:
        assert await ledger.claim("slack:EvDuringPublish", 60) is True
    finally:
        publishing.execute("ROLLBACK")
        publishing.close()
    await ledger.close()
    await store.close()
