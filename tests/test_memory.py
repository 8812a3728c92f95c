"""One behaviour suite for both memories: a real redis-server and the in-process fallback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.memory import Limits, LocalMemory, Memory, RedisMemory
from kg.model import Turn
from tests.conftest import RedisServer

LIMITS = Limits(history_turns=4, rate_per_minute=3, dedupe_ttl=60, lock_ttl=60, sources_ttl=60)


@pytest.fixture(params=["redis", "local"])
async def memory(request: pytest.FixtureRequest) -> AsyncIterator[Memory]:
    if request.param == "redis":
        mem: Memory = RedisMemory(request.getfixturevalue("redis_url"), LIMITS)
    else:
        mem = LocalMemory(LIMITS)
    yield mem
    await mem.close()


async def test_history_keeps_the_last_turns_per_thread(memory: Memory) -> None:
    for i in range(3):
        await memory.remember("t1", Turn("user", f"q{i}"), Turn("assistant", f"a{i}"))
    await memory.remember("t2", Turn("user", "other"))
    history = await memory.history("t1")
    assert [t.text for t in history] == ["q1", "a1", "q2", "a2"]
    assert [t.role for t in history] == ["user", "assistant"] * 2
    assert [t.text for t in await memory.history("t2")] == ["other"]
    assert await memory.history("never") == []


async def test_dedupe_answers_exactly_once_under_concurrency(memory: Memory) -> None:
    results = await asyncio.gather(*(memory.first_time("Ev1") for _ in range(20)))
    assert results.count(True) == 1
    assert await memory.first_time("Ev2") is True


async def test_rate_limit_per_user(memory: Memory) -> None:
    allowed = [await memory.allow("alice") for _ in range(5)]
    assert allowed == [True, True, True, False, False]
    assert await memory.allow("bob") is True


async def test_lock_progress_and_release(memory: Memory) -> None:
    assert await memory.acquire("reindex:ns")
    assert not await memory.acquire("reindex:ns")
    assert await memory.acquire("reindex:other")
    await memory.set_progress("reindex:ns", {"line": "40%"})
    assert await memory.progress("reindex:ns") == {"line": "40%"}
    await memory.release("reindex:ns")
    assert await memory.progress("reindex:ns") is None
    assert await memory.acquire("reindex:ns")


async def test_sources_round_trip(memory: Memory) -> None:
    payload = {"question": "q", "sources": [{"dataset": "Sources", "id": 3, "title": "t"}]}
    await memory.save_sources("k1", payload)
    assert await memory.sources("k1") == payload
    assert await memory.sources("missing") is None


async def test_a_claim_is_taken_once_under_concurrency_and_can_be_given_back(memory: Memory) -> None:
    results = await asyncio.gather(*(memory.claim("graph:a1") for _ in range(20)))
    assert results.count(True) == 1
    assert await memory.claim("graph:a2") is True  # another answer's claim is its own
    await memory.unclaim("graph:a1")  # its work failed: a retry may do it
    assert await memory.claim("graph:a1") is True
    assert await memory.claim("graph:a1") is False


async def test_a_claim_held_by_one_process_is_refused_to_another(redis_url: str) -> None:
    first, second = RedisMemory(redis_url, LIMITS), RedisMemory(redis_url, LIMITS)
    assert await first.claim("graph:shared") is True
    assert await second.claim("graph:shared") is False
    await first.unclaim("graph:shared")
    assert await second.claim("graph:shared") is True
    await first.close()
    await second.close()


async def test_local_memory_expires_entries() -> None:
    now = [1000.0]
    mem = LocalMemory(Limits(history_ttl=10, dedupe_ttl=5), clock=lambda: now[0])
    await mem.remember("t", Turn("user", "hello"))
    assert await mem.first_time("e")
    now[0] += 6
    assert await mem.first_time("e"), "dedupe key should have expired"
    assert [t.text for t in await mem.history("t")] == ["hello"]
    now[0] += 5
    assert await mem.history("t") == []


async def test_redis_keys_carry_ttls(redis_url: str) -> None:
    import redis.asyncio as redis

    mem = RedisMemory(redis_url, LIMITS)
    await mem.remember("t", Turn("user", "x"))
    await mem.first_time("e")
    await mem.save_sources("s", {"sources": []})
    await mem.claim("c")
    client = redis.from_url(redis_url)
    for key in ("kgbot:history:t", "kgbot:event:e", "kgbot:sources:s", "kgbot:claim:c"):
        assert 0 < await client.ttl(key) <= max(LIMITS.history_ttl, LIMITS.sources_ttl), key
    await client.aclose()
    await mem.close()


async def test_redis_down_degrades_then_recovers(redis_server: RedisServer, redis_url: str) -> None:
    mem = RedisMemory(redis_url, LIMITS, timeout=0.3)
    mem.RETRY_AFTER = 0.2
    await mem.remember("t", Turn("user", "before"))
    redis_server.stop()
    try:
        started = asyncio.get_running_loop().time()
        assert await mem.history("t") == []  # no shared history while Redis is down
        await mem.remember("t", Turn("user", "during"))  # dropped, not raised
        assert await mem.first_time("E") is True  # dedupe still works, in process
        assert await mem.first_time("E") is False
        assert not await mem.healthy()
        assert asyncio.get_running_loop().time() - started < 3, "a dead Redis must not stall answers"
    finally:
        redis_server.start()
    await asyncio.sleep(0.3)
    await mem.remember("t", Turn("user", "after"))
    assert [t.text for t in await mem.history("t")] == ["after"]  # fresh server, memory works again
    assert await mem.healthy()
    await mem.close()


async def test_dedupe_holds_across_a_redis_outage_and_a_restart(
    redis_server: RedisServer, redis_url: str
) -> None:
    mem = RedisMemory(redis_url, LIMITS, timeout=0.3)
    mem.RETRY_AFTER = 0  # try Redis again on every call
    redis_server.stop()
    try:
        assert await mem.first_time("during") is True  # first seen while Redis is down
    finally:
        redis_server.start()
    assert await mem.healthy()
    assert await mem.first_time("during") is False  # the retry, once Redis is back
    assert await mem.first_time("before") is True
    redis_server.stop()  # Redis keeps nothing on disk here: a restart forgets every key
    redis_server.start()
    assert await mem.first_time("before") is False
    other = RedisMemory(redis_url, LIMITS)  # another process sharing Redis: Redis still decides between them
    assert await other.first_time("new") is True and await mem.first_time("new") is False
    await other.close()
    await mem.close()


async def test_local_memory_forgets_expired_entries_it_is_never_asked_about_again() -> None:
    now = [1000.0]
    mem = LocalMemory(Limits(dedupe_ttl=60), clock=lambda: now[0])
    for i in range(1000):
        await mem.first_time(f"event-{i}")
    now[0] += 120
    await mem.first_time("later")
    assert len(mem._values) == 1  # without a sweep, a long-running bot would keep every event id
