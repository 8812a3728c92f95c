"""Reads as auto-commit transactions: one round trip a statement (RUN and PULL sent together), where the
driver's managed transactions (`execute_query`) take a second for their COMMIT. A read has nothing to commit,
so what a managed transaction adds is only its retries, done here the same way."""

from __future__ import annotations

import asyncio
from typing import Any

from neo4j import AsyncDriver, Query
from neo4j.exceptions import DriverError, Neo4jError


async def read(
    driver: AsyncDriver, database: str, retry_time: float, query: Query, parameters: dict[str, Any]
) -> list[Any]:
    """The records of `query`, retried with a growing delay for as long as a managed transaction would
    (`retry_time` seconds) on what the driver retries: a dropped connection, a transient server error."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_time
    delay = 0.05
    while True:
        try:
            async with driver.session(database=database, default_access_mode="READ") as session:
                result = await session.run(query, parameters)
                return [record async for record in result]
        except (Neo4jError, DriverError) as exc:
            if not exc.is_retryable() or loop.time() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay *= 2
