"""Conversation memory: thread history, event dedupe, rate limits, the reindex lock, answers' sources and
claims (one-off work per answer, such as posting its picture once).

Redis when `REDIS_URL` is set, so several bot processes share it and it survives restarts; in-process
otherwise, with the same behaviour and TTLs. Redis is a convenience, never a dependency of answering: when it
is unreachable, history reads as empty and the rest falls back to the in-process memory until Redis answers
again, after a short, bounded wait.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from kg.model import Turn

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    history_turns: int = 12  # kept per thread (a question and its answer are two turns)
    history_ttl: int = 7 * 24 * 3600
    dedupe_ttl: int = 15 * 60
    rate_per_minute: int = 10
    lock_ttl: int = 2 * 3600
    sources_ttl: int = 30 * 24 * 3600


class Memory(Protocol):
    limits: Limits

    async def history(self, thread: str) -> list[Turn]: ...
    async def remember(self, thread: str, *turns: Turn) -> None: ...
    async def first_time(self, event: str) -> bool:
        """True exactly once per event key within the dedupe TTL, even under concurrent duplicates."""
        ...

    async def allow(self, user: str) -> bool:
        """Count one request of `user`; False when over the per-minute limit."""
        ...

    async def acquire(self, lock: str) -> bool: ...
    async def release(self, lock: str) -> None: ...
    async def set_progress(self, lock: str, progress: dict[str, Any]) -> None: ...
    async def progress(self, lock: str) -> dict[str, Any] | None: ...
    async def save_sources(self, key: str, payload: dict[str, Any]) -> None: ...
    async def sources(self, key: str) -> dict[str, Any] | None: ...
    async def claim(self, key: str) -> bool:
        """True for exactly one caller per key while the claim lasts (sources_ttl), even under concurrent
        duplicates: a second click or a redelivered action finds the work already taken."""
        ...

    async def unclaim(self, key: str) -> None:
        """Give a claim back when its work failed, so that a retry can do it."""
        ...

    async def healthy(self) -> bool: ...
    async def close(self) -> None: ...


class LocalMemory:
    """In-process memory with the same TTL semantics as the Redis one."""

    SWEEP_EVERY = 60.0  # seconds between purges of expired entries nobody asked about again

    def __init__(self, limits: Limits = Limits(), clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._values: dict[str, tuple[float, Any]] = {}
        self._next_sweep = clock() + self.SWEEP_EVERY

    def _get(self, key: str) -> Any | None:
        item = self._values.get(key)
        if item is None:
            return None
        expires, value = item
        if expires <= self._clock():
            del self._values[key]
            return None
        return value

    def _set(self, key: str, value: Any, ttl: float) -> None:
        now = self._clock()
        if now >= self._next_sweep:  # event ids and rate windows are rarely read again: expire them here
            self._values = {k: item for k, item in self._values.items() if item[0] > now}
            self._next_sweep = now + self.SWEEP_EVERY
        self._values[key] = (now + ttl, value)

    async def history(self, thread: str) -> list[Turn]:
        return list(self._get(f"history:{thread}") or [])

    async def remember(self, thread: str, *turns: Turn) -> None:
        kept = (await self.history(thread) + list(turns))[-self.limits.history_turns :]
        self._set(f"history:{thread}", kept, self.limits.history_ttl)

    async def first_time(self, event: str) -> bool:
        if self._get(f"event:{event}") is not None:
            return False
        self._set(f"event:{event}", 1, self.limits.dedupe_ttl)
        return True

    async def allow(self, user: str) -> bool:
        window = int(time.time() // 60)
        key = f"rate:{user}:{window}"
        count = (self._get(key) or 0) + 1
        self._set(key, count, 61)
        return count <= self.limits.rate_per_minute

    async def acquire(self, lock: str) -> bool:
        if self._get(f"lock:{lock}") is not None:
            return False
        self._set(f"lock:{lock}", 1, self.limits.lock_ttl)
        return True

    async def release(self, lock: str) -> None:
        self._values.pop(f"lock:{lock}", None)
        self._values.pop(f"progress:{lock}", None)

    async def set_progress(self, lock: str, progress: dict[str, Any]) -> None:
        self._set(f"progress:{lock}", dict(progress), self.limits.lock_ttl)

    async def progress(self, lock: str) -> dict[str, Any] | None:
        return self._get(f"progress:{lock}")

    async def save_sources(self, key: str, payload: dict[str, Any]) -> None:
        self._set(f"sources:{key}", payload, self.limits.sources_ttl)

    async def sources(self, key: str) -> dict[str, Any] | None:
        return self._get(f"sources:{key}")

    async def claim(self, key: str) -> bool:
        if self._get(f"claim:{key}") is not None:
            return False
        self._set(f"claim:{key}", 1, self.limits.sources_ttl)
        return True

    async def unclaim(self, key: str) -> None:
        self._values.pop(f"claim:{key}", None)

    async def healthy(self) -> bool:
        return True

    async def close(self) -> None:
        self._values.clear()


class RedisMemory:
    """Memory in Redis. Any Redis failure degrades to `fallback` for a few seconds instead of failing."""

    RETRY_AFTER = 5.0  # seconds before a failed Redis is tried again

    def __init__(
        self, url: str, limits: Limits = Limits(), prefix: str = "kgbot:", timeout: float = 0.5
    ) -> None:
        import redis.asyncio as redis

        self.limits = limits
        self._prefix = prefix
        self._redis = redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )
        self._fallback = LocalMemory(limits)
        self._down_until = 0.0

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def _try(self, op: Callable[[], Awaitable[T]], fallback: Callable[[], Awaitable[T]]) -> T:
        from redis.exceptions import RedisError

        if time.monotonic() < self._down_until:
            return await fallback()
        try:
            result = await op()
        except (RedisError, OSError) as exc:
            if not self._down_until:
                log.warning("redis unavailable (%s); continuing without shared memory", type(exc).__name__)
            self._down_until = time.monotonic() + self.RETRY_AFTER
            return await fallback()
        if self._down_until:
            log.warning("redis is reachable again")
            self._down_until = 0.0
        return result

    async def history(self, thread: str) -> list[Turn]:
        async def op() -> list[Turn]:
            raw = await self._redis.lrange(self._k(f"history:{thread}"), 0, -1)
            return [Turn(**json.loads(item)) for item in raw]

        async def none() -> list[Turn]:
            return []  # without Redis there is no shared history: answer without it

        return await self._try(op, none)

    async def remember(self, thread: str, *turns: Turn) -> None:
        key = self._k(f"history:{thread}")

        async def op() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, *[json.dumps({"role": t.role, "text": t.text}) for t in turns])
                pipe.ltrim(key, -self.limits.history_turns, -1)
                pipe.expire(key, self.limits.history_ttl)
                await pipe.execute()

        async def skip() -> None:
            return None

        await self._try(op, skip)

    async def first_time(self, event: str) -> bool:
        """Recorded in-process as well as in Redis, so a delivery first seen while Redis was down (or before
        a Redis restart lost its keys) is still recognised when the platform retries it."""
        if not await self._fallback.first_time(event):
            return False

        async def op() -> bool:
            return bool(
                await self._redis.set(self._k(f"event:{event}"), 1, nx=True, ex=self.limits.dedupe_ttl)
            )

        async def seen_here_first() -> bool:
            return True

        return await self._try(op, seen_here_first)

    async def allow(self, user: str) -> bool:
        key = self._k(f"rate:{user}:{int(time.time() // 60)}")

        async def op() -> bool:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, 61)
                count, _ = await pipe.execute()
            return int(count) <= self.limits.rate_per_minute

        return await self._try(op, lambda: self._fallback.allow(user))

    async def acquire(self, lock: str) -> bool:
        async def op() -> bool:
            return bool(await self._redis.set(self._k(f"lock:{lock}"), 1, nx=True, ex=self.limits.lock_ttl))

        return await self._try(op, lambda: self._fallback.acquire(lock))

    async def release(self, lock: str) -> None:
        async def op() -> None:
            await self._redis.delete(self._k(f"lock:{lock}"), self._k(f"progress:{lock}"))

        await self._fallback.release(lock)
        await self._try(op, lambda: self._fallback.release(lock))

    async def set_progress(self, lock: str, progress: dict[str, Any]) -> None:
        async def op() -> None:
            await self._redis.set(self._k(f"progress:{lock}"), json.dumps(progress), ex=self.limits.lock_ttl)

        await self._try(op, lambda: self._fallback.set_progress(lock, progress))

    async def progress(self, lock: str) -> dict[str, Any] | None:
        async def op() -> dict[str, Any] | None:
            raw = await self._redis.get(self._k(f"progress:{lock}"))
            return json.loads(raw) if raw else None

        return await self._try(op, lambda: self._fallback.progress(lock))

    async def save_sources(self, key: str, payload: dict[str, Any]) -> None:
        async def op() -> None:
            await self._redis.set(self._k(f"sources:{key}"), json.dumps(payload), ex=self.limits.sources_ttl)

        await self._try(op, lambda: self._fallback.save_sources(key, payload))

    async def sources(self, key: str) -> dict[str, Any] | None:
        async def op() -> dict[str, Any] | None:
            raw = await self._redis.get(self._k(f"sources:{key}"))
            return json.loads(raw) if raw else await self._fallback.sources(key)

        return await self._try(op, lambda: self._fallback.sources(key))

    async def claim(self, key: str) -> bool:
        """SET NX in Redis, so one process of several does the work; in-process too (as `first_time`), so a
        claim taken while Redis was down is still held when it comes back."""
        if not await self._fallback.claim(key):
            return False

        async def op() -> bool:
            taken = await self._redis.set(self._k(f"claim:{key}"), 1, nx=True, ex=self.limits.sources_ttl)
            if not taken:
                await self._fallback.unclaim(key)  # held elsewhere: keep no local claim that outlives it
            return bool(taken)

        async def taken_here() -> bool:
            return True

        return await self._try(op, taken_here)

    async def unclaim(self, key: str) -> None:
        async def op() -> None:
            await self._redis.delete(self._k(f"claim:{key}"))

        async def skip() -> None:
            return None

        await self._fallback.unclaim(key)
        await self._try(op, skip)

    async def healthy(self) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def open_memory(redis_url: str, limits: Limits = Limits()) -> Memory:
    return RedisMemory(redis_url, limits) if redis_url else LocalMemory(limits)
