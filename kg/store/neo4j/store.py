"""The production graph store: Neo4j 5 through the official async driver (`neo4j`, with `neo4j-rust-ext`).

Layout, indexes and every statement are in `kg.store.neo4j.statements`; full-text queries in `fulltext`. In short:
- A publish writes the build as a new *generation* of nodes (every node carries `namespace` and `generation`)
  in UNWIND batches of `batch_size` rows, one transaction each, then switches the namespace's
  `current_generation` in one transaction. Readers always filter by it, so they see the previous build until
  the switch and the new one after; a failure or crash before the switch leaves the previous one serving.
- The generation a publish replaces is kept until the next publish (a read that started just before the
  switch still finds it whole); older ones, and leftovers of failed or crashed builds, are deleted in batches.
- Each read is one statement that resolves the current generation itself: a question costs a small fixed
  number of round trips whatever the number of entities.
- Driver errors become `StoreError` with a message naming the setting to fix (`errors`); every call
  has a timeout. Builds become statement rows, and records become model objects, in `rows`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from neo4j import AsyncGraphDatabase, Query, RoutingControl, unit_of_work
from neo4j.exceptions import AuthError, ConfigurationError, Forbidden, Neo4jError

from kg.model import Entity, Feedback, GraphIndex, Relationship, TextUnit
from kg.store.base import (
    ChildReport,
    GraphRead,
    GraphRows,
    LinkedEntity,
    PassageHits,
    PassageSearch,
    ScoredEntity,
    ScoredReport,
    StoreError,
    StoreStats,
)
from kg.store.feedback import now as feedback_now
from kg.store.neo4j import search
from kg.store.neo4j import search_statements as search_cypher
from kg.store.neo4j import statements as cypher
from kg.store.neo4j.errors import check_server_version, error_detail, redact_url, split_url, store_error
from kg.store.neo4j.fulltext import ENTITY_SEARCH_FIELDS, fulltext_query
from kg.store.neo4j.reads import read
from kg.store.neo4j.rows import (
    BATCH_SIZE,
    COUNT_FIELDS,
    BuildRows,
    batched,
    build_rows,
    entity_from,
    export_build,
    feedback_key,
    feedback_row,
    relationship_from,
    report_from,
    text_unit_from,
    usage_from,
)
from kg.text.words import query_words

log = logging.getLogger(__name__)

# kind -> (the statement creating its vector index, the one reading the index's dimension back)
_VECTOR_INDEXES = {
    "entity": (cypher.CREATE_ENTITY_VECTOR_INDEX, cypher.ENTITY_VECTOR_INDEX_DIMENSIONS),
    "chunk": (search_cypher.CREATE_CHUNK_VECTOR_INDEX, search_cypher.CHUNK_VECTOR_INDEX_DIMENSIONS),
}

# ---------------------------------------------------------------------------------------------- the store


class Neo4jStore:
    """`GraphStore` on a Neo4j 5 database. Creating it does not connect; the first call does."""

    def __init__(
        self,
        url: str,
        *,
        username: str = "neo4j",
        password: str = "",
        database: str = "neo4j",
        batch_size: int = BATCH_SIZE,
        connection_timeout: float = 10.0,
        max_transaction_retry_time: float = 15.0,
        read_timeout: float = 30.0,
        write_timeout: float = 300.0,
    ) -> None:
        if batch_size < 1:
            raise StoreError("the Neo4j batch size must be at least 1")
        driver_url, url_username, url_password = split_url(url)
        self.server = redact_url(url)
        self.database = database or "neo4j"
        self._batch_size = batch_size
        self._connection_timeout = connection_timeout
        self._retry_time = max_transaction_retry_time
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._closed = False
        self._ready = False
        self._schema_ready = False
        self._vector_index_dimensions: dict[str, int] = {}  # by kind (_VECTOR_INDEXES), once known
        self._lock = asyncio.Lock()
        auth = (url_username or username, url_password if url_password is not None else password)
        try:
            self._driver = AsyncGraphDatabase.driver(
                driver_url,
                auth=auth,
                connection_timeout=connection_timeout,
                connection_acquisition_timeout=2 * connection_timeout,
                max_transaction_retry_time=max_transaction_retry_time,
                notifications_min_severity="WARNING",
                # linted statements read properties that a namespace may not have yet (e.g. before its first
                # publish): the server warns about each such read, which is expected here, not a defect
                notifications_disabled_classifications=["UNRECOGNIZED"],
                user_agent="kgbot",
            )
        except (ConfigurationError, ValueError) as exc:
            raise StoreError(
                f"KG_STORE_URL ({self.server}) is not a usable Neo4j URL: {error_detail(exc)}"
            ) from None

    # ------------------------------------------------------------------ plumbing

    def _error(self, exc: BaseException, action: str) -> StoreError:
        return store_error(exc, server=self.server, database=self.database, action=action)

    def _budget(self, timeout: float) -> float:
        """How long one call may take in all: the server-side timeout, retries and connecting."""
        return timeout + self._retry_time + 3 * self._connection_timeout

    async def _ensure_ready(self) -> None:
        """Once per store: connect, log in and check the server version (fails fast, without retries)."""
        if self._closed:
            raise StoreError("the Neo4j store is closed")
        if self._ready:
            return
        try:
            async with asyncio.timeout(self._budget(0.0)):
                info = await self._driver.get_server_info()
        except Exception as exc:
            raise self._error(exc, "connect") from exc
        check_server_version(info.agent, self.server)
        self._ready = True

    async def _query(
        self, statement: str, parameters: dict[str, Any], *, action: str, write: bool = False
    ) -> list[Any]:
        """Run one statement; its records. A write runs in a managed transaction (retried on transient errors);
        a read in an auto-commit one, one round trip where a managed transaction takes a second for its COMMIT
        (local search's two reads: four round trips a question, not two), retried alike (kg.store.neo4j.reads)."""
        await self._ensure_ready()
        timeout = self._write_timeout if write else self._read_timeout
        query = Query(statement, timeout=timeout)  # type: ignore[arg-type]  # constants of kg.store.neo4j.statements
        try:
            async with asyncio.timeout(self._budget(timeout)):
                if not write:
                    return await read(self._driver, self.database, self._retry_time, query, parameters)
                records, _, _ = await self._driver.execute_query(
                    query, parameters, routing_=RoutingControl.WRITE, database_=self.database
                )
        except Exception as exc:
            raise self._error(exc, action) from exc
        return records

    async def _read_transaction(self, work: Any, *args: Any, action: str) -> Any:
        """Run `work(tx, *args)` as one read transaction (several statements seeing the same build)."""
        await self._ensure_ready()
        try:
            async with asyncio.timeout(self._budget(self._read_timeout)):
                async with self._driver.session(database=self.database) as session:
                    return await session.execute_read(unit_of_work(timeout=self._read_timeout)(work), *args)
        except Exception as exc:
            raise self._error(exc, action) from exc

    # ------------------------------------------------------------------ schema

    async def _ensure_schema(self, rows: BuildRows) -> tuple[int | None, int | None]:
        """Create constraints and indexes (idempotent), the vector indexes when the build `rows` has embeddings
        (an empty BuildRows: none); the dimensions of the entity and chunk vector indexes, None where there is
        none."""
        async with self._lock:
            if not self._schema_ready:
                for statement in (*cypher.SCHEMA_STATEMENTS, *search_cypher.SCHEMA_STATEMENTS):
                    await self._query(statement, {}, action="create the schema", write=True)
                await self._await_indexes()
                self._schema_ready = True
            for kind, dimensions in (
                ("entity", rows.embedding_dimensions),
                ("chunk", rows.chunk_embedding_dimensions),
            ):
                if dimensions and self._vector_index_dimensions.get(kind) is None:
                    await self._create_vector_index(kind, dimensions)
            return self._vector_index_dimensions.get("entity"), self._vector_index_dimensions.get("chunk")

    async def _create_vector_index(self, kind: str, dimensions: int) -> None:
        create, show = _VECTOR_INDEXES[kind]
        try:
            await self._query(
                create, {"dimensions": dimensions}, action="create the vector index", write=True
            )
        except StoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, Neo4jError) and not isinstance(cause, AuthError | Forbidden):
                raise StoreError(
                    f"the Neo4j server at {self.server} cannot create a vector index for {kind} "
                    "embeddings (vector indexes need Neo4j 5.15 or later): upgrade it, or index without "
                    f"embeddings by leaving KG_EMBEDDING_MODEL unset ({error_detail(cause)})"
                ) from cause
            raise
        await self._await_indexes()
        records = await self._query(show, {}, action="read the vector index", write=True)
        if records and records[0]["dimensions"] is not None:
            self._vector_index_dimensions[kind] = int(records[0]["dimensions"])

    async def _await_indexes(self) -> None:
        seconds = max(1, int(self._write_timeout) - 5)
        await self._query(
            cypher.AWAIT_INDEXES,
            {"timeout_seconds": seconds},
            action="wait for indexes to come online",
            write=True,
        )

    # ------------------------------------------------------------------ publish

    async def publish(self, namespace: str, index: GraphIndex) -> None:
        failed = f"publishing namespace {namespace!r} failed, the previous index is still served"
        if self._closed:
            raise StoreError("the Neo4j store is closed")
        try:
            rows = build_rows(index)
        except (StoreError, TypeError, ValueError) as exc:
            raise StoreError(f"{failed}: {exc}") from exc
        try:
            vector_index_dimensions = await self._ensure_schema(rows)
            started = await self._query(
                cypher.START_BUILD, {"namespace": namespace}, action="start a build", write=True
            )
        except StoreError as exc:
            raise StoreError(f"{failed}: {exc}") from exc
        generation = started[0]["generation"]
        leftovers = [g for g in started[0]["leftovers"] if g != generation]
        if leftovers:  # builds that crashed or failed before they could clean up after themselves
            await self._cleanup(namespace, leftovers)
        try:
            for statement, statement_rows in rows.writes():
                for batch in batched(statement_rows, self._batch_size):
                    await self._query(
                        statement,
                        {"namespace": namespace, "generation": generation, "rows": list(batch)},
                        action=f"write namespace {namespace!r}",
                        write=True,
                    )
            published = await self._query(
                cypher.PUBLISH_BUILD,
                self._publish_parameters(namespace, generation, index, rows, vector_index_dimensions),
                action=f"publish namespace {namespace!r}",
                write=True,
            )
            if not published:
                raise StoreError("a newer publish of this namespace started meanwhile and replaces this one")
        except Exception as exc:
            await self._cleanup(namespace, [generation])
            raise StoreError(f"{failed}: {exc}") from exc
        retired = published[0]["retired"]
        if retired is not None:
            await self._cleanup(namespace, [retired])
        await search.prime(self, namespace)

    def _publish_parameters(
        self,
        namespace: str,
        generation: int,
        index: GraphIndex,
        rows: BuildRows,
        vector_index_dimensions: tuple[int | None, int | None],
    ) -> dict[str, Any]:
        return {
            "namespace": namespace,
            "generation": generation,
            "built_at": str(index.built_at),
            "seconds": float(index.seconds),
            "extractor": str(index.extractor),
            "usage": json.dumps(index.usage, sort_keys=True),
            "document_count": len(index.documents),
            "chunk_count": len(index.text_units),
            "entity_count": len(index.entities),
            "relationship_count": len(index.relationships),
            "community_count": len(index.communities),
            "report_count": len(index.reports),
            "embedding_dimensions": rows.embedding_dimensions,
            "embedding_count": rows.embedding_count,
            "vector_index_dimensions": vector_index_dimensions[0],
            "chunk_embedding_dimensions": rows.chunk_embedding_dimensions,
            "chunk_embedding_count": rows.chunk_embedding_count,
            "chunk_vector_index_dimensions": vector_index_dimensions[1],
        }

    async def _delete_generations(self, namespace: str, generations: Sequence[int]) -> None:
        """Delete every node of these generations in batches (one transaction each), then forget them."""
        parameters = {
            "namespace": namespace,
            "generations": list(generations),
            "batch_size": self._batch_size,
        }
        for statement in cypher.DELETE_GENERATIONS_BY_LABEL.values():
            while True:
                records = await self._query(
                    statement, parameters, action=f"delete old builds of {namespace!r}", write=True
                )
                if not records or records[0]["deleted"] < self._batch_size:
                    break
        await self._query(
            cypher.FORGET_GENERATIONS,
            {"namespace": namespace, "generations": list(generations)},
            action=f"delete old builds of {namespace!r}",
            write=True,
        )

    async def _cleanup(self, namespace: str, generations: Sequence[int]) -> None:
        """Best effort: what cannot be deleted now stays listed and the next publish deletes it."""
        try:
            await self._delete_generations(namespace, generations)
        except StoreError as exc:
            log.warning(
                "could not delete builds %s of namespace %r yet: %s", list(generations), namespace, exc
            )

    async def drop_namespace(self, namespace: str) -> None:
        """Delete a namespace, every build of it and its feedback (not part of GraphStore: an admin and test
        helper)."""
        await self._query(
            cypher.DELETE_NAMESPACE_FEEDBACK, {"namespace": namespace}, action="delete feedback", write=True
        )
        records = await self._query(
            cypher.NAMESPACE_GENERATIONS, {"namespace": namespace}, action="read namespace generations"
        )
        if not records:
            return
        r = records[0]
        generations = {g for g in (r["current"], r["previous"], *r["cleanup"]) if g is not None}
        if generations:
            await self._delete_generations(namespace, sorted(generations))
        await self._query(
            cypher.DELETE_NAMESPACE, {"namespace": namespace}, action="delete a namespace", write=True
        )

    async def all_namespaces(self) -> list[str]:
        """Every namespace node, published or not (admin and test helper)."""
        records = await self._query(cypher.ALL_NAMESPACE_NAMES, {}, action="list namespaces")
        return [r["name"] for r in records]

    # ------------------------------------------------------------------ reads

    async def _published(self, namespace: str) -> Any | None:
        records = await self._query(
            cypher.NAMESPACE_STATE, {"namespace": namespace}, action="read the namespace"
        )
        return records[0] if records else None

    async def _search(self, statement: str, namespace: str, query: str | None, limit: int) -> list[Any]:
        if query is None or limit <= 0:
            return []
        try:
            return await self._query(
                statement,
                {"namespace": namespace, "query": query, "limit": int(limit)},
                action="search the knowledge graph",
            )
        except StoreError as exc:
            # A database where nothing was ever published has no full-text indexes yet.
            if isinstance(exc.__cause__, Neo4jError) and await self._published(namespace) is None:
                return []
            raise

    async def search_entities(self, namespace: str, query: str, limit: int) -> list[ScoredEntity]:
        if limit <= 0 or not query_words(query) or fulltext_query(query, ENTITY_SEARCH_FIELDS) is None:
            return []
        found = PassageSearch(
            query, [], entity_limit=limit, chunk_limit=0, seed_passages=0, passage_entity_limit=0
        )
        return (await search.find_passages(self, namespace, found)).entities  # ranked as find_passages ranks

    async def search_text_units(self, namespace: str, query: str, limit: int) -> list[tuple[TextUnit, float]]:
        if limit <= 0 or not query_words(query):
            return []
        found = PassageSearch(
            query, [], entity_limit=0, chunk_limit=limit, seed_passages=0, passage_entity_limit=0
        )
        return (await search.find_passages(self, namespace, found)).chunks  # ranked as find_passages ranks

    async def search_entities_by_vector(
        self, namespace: str, vector: Sequence[float], limit: int
    ) -> list[ScoredEntity]:
        if not search.searchable(vector, limit):  # nothing to ask the server
            return []
        return await search.vector_search(self, namespace, await self._published(namespace), vector, limit)

    async def find_passages(self, namespace: str, search_: PassageSearch) -> PassageHits:
        return await search.find_passages(self, namespace, search_)

    async def read_graph(self, namespace: str, read: GraphRead) -> GraphRows:
        return await search.read_graph(self, namespace, read)

    async def get_entities(self, namespace: str, titles: Sequence[str]) -> list[Entity]:
        titles = list(dict.fromkeys(titles))
        if not titles:
            return []
        records = await self._query(
            cypher.GET_ENTITIES, {"namespace": namespace, "titles": titles}, action="read entities"
        )
        return [entity_from(r) for r in records]

    async def link_entities(self, namespace: str, keys: Sequence[str]) -> list[LinkedEntity]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return []
        records = await self._query(
            cypher.LINK_ENTITIES,
            {
                "namespace": namespace,
                "keys": keys,
                "queries": search.link_queries(keys),
            },
            action="link entities",
        )
        return [LinkedEntity(r["key"], entity_from(r)) for r in records]

    async def entities_in_text_units(
        self, namespace: str, text_unit_ids: Sequence[str], limit: int
    ) -> list[Entity]:
        ids = list(dict.fromkeys(text_unit_ids))
        if not ids or limit <= 0:
            return []
        records = await self._query(
            cypher.ENTITIES_IN_CHUNKS,
            {"namespace": namespace, "ids": ids, "limit": int(limit)},
            action="read the entities of text units",
        )
        return [entity_from(r) for r in records]

    async def relationships_of(self, namespace: str, titles: Sequence[str], limit: int) -> list[Relationship]:
        titles = list(dict.fromkeys(titles))
        if not titles or limit <= 0:
            return []
        records = await self._query(
            cypher.RELATIONSHIPS_OF,
            {"namespace": namespace, "titles": titles, "limit": int(limit)},
            action="read relationships",
        )
        return [relationship_from(r) for r in records]

    async def reports_for(self, namespace: str, entity_ids: Sequence[str]) -> list[ScoredReport]:
        entity_ids = list(dict.fromkeys(entity_ids))
        if not entity_ids:
            return []
        records = await self._query(
            cypher.REPORTS_FOR,
            {"namespace": namespace, "entity_ids": entity_ids},
            action="read community reports",
        )
        return [ScoredReport(report_from(r), r["matches"]) for r in records]

    async def child_reports(self, namespace: str, parents: Sequence[int]) -> list[ChildReport]:
        parents = [int(p) for p in dict.fromkeys(parents)]
        if not parents:
            return []
        records = await self._query(
            cypher.CHILD_REPORTS,
            {"namespace": namespace, "parents": parents},
            action="read community reports",
        )
        return [ChildReport(r["parent"], report_from(r)) for r in records]

    async def community_text_units(self, namespace: str, communities: Sequence[int]) -> dict[int, list[str]]:
        communities = [int(c) for c in dict.fromkeys(communities)]
        if not communities:
            return {}
        records = await self._query(
            cypher.COMMUNITY_TEXT_UNITS,
            {"namespace": namespace, "communities": communities},
            action="read communities",
        )
        return {r["id"]: list(r["text_unit_ids"] or []) for r in records}

    async def community_entities(
        self, namespace: str, communities: Sequence[int], limit: int
    ) -> dict[int, list[Entity]]:
        communities = [int(c) for c in dict.fromkeys(communities)]
        if not communities or limit < 1:
            return {}
        records = await self._query(
            cypher.COMMUNITY_ENTITIES,
            {"namespace": namespace, "communities": communities, "limit": limit},
            action="read communities",
        )
        found: dict[int, list[Entity]] = {}
        for r in records:
            found.setdefault(r["community"], []).append(entity_from(r))
        return found

    async def get_text_units(self, namespace: str, ids: Sequence[str]) -> list[TextUnit]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        records = await self._query(
            cypher.GET_CHUNKS, {"namespace": namespace, "ids": ids}, action="read text units"
        )
        return [text_unit_from(r) for r in records]

    async def document_titles(
        self, namespace: str, document_ids: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        ids = list(dict.fromkeys(document_ids))
        if not ids:
            return {}
        records = await self._query(
            cypher.DOCUMENT_TITLES, {"namespace": namespace, "ids": ids}, action="read documents"
        )
        found = {r["id"]: (r["title"], r["source"]) for r in records}
        return {i: found[i] for i in ids if i in found}

    async def generation(self, namespace: str) -> int | None:
        state = await self._published(namespace)
        return state["generation"] if state is not None else None

    async def stats(self, namespace: str, top: int = 50) -> StoreStats | None:
        records = await self._query(
            cypher.STATS, {"namespace": namespace, "top": max(int(top), 0)}, action="read statistics"
        )
        if not records:
            return None
        r = records[0]
        return StoreStats(
            counts={name: r[key] for name, key in COUNT_FIELDS.items()},
            top_entities=[dict(e) for e in r["top_entities"]],
            built_at=r["built_at"],
            seconds=r["seconds"],
            extractor=r["extractor"],
            usage=usage_from(r["usage"]),
        )

    async def export(self, namespace: str) -> GraphIndex | None:
        return await self._read_transaction(export_build, namespace, action=f"export namespace {namespace!r}")

    async def namespaces(self) -> list[str]:
        records = await self._query(cypher.PUBLISHED_NAMESPACES, {}, action="list namespaces")
        return [r["name"] for r in records]

    # ------------------------------------------------------------------ feedback

    async def record_feedback(self, feedback: Feedback) -> bool:
        await self._ensure_schema(BuildRows())
        records = await self._query(
            cypher.RECORD_FEEDBACK,
            {**feedback_row(feedback), "now": feedback_now()},
            action="record feedback",
            write=True,
        )
        return records[0]["previous"] != feedback.vote

    async def set_feedback_reason(self, feedback: Feedback) -> bool:
        records = await self._query(
            cypher.SET_FEEDBACK_REASON,
            {
                "key": feedback_key(feedback),
                "namespace": feedback.namespace,
                "reason": feedback.reason,
                "now": feedback_now(),
            },
            action="record a feedback reason",
            write=True,
        )
        return bool(records[0]["updated"])

    async def feedback(self, namespace: str) -> list[Feedback]:
        records = await self._query(
            cypher.FEEDBACK_OF_NAMESPACE, {"namespace": namespace}, action="read feedback"
        )
        return [
            Feedback(namespace=namespace, **{**dict(r), "cited": list(r["cited"] or [])}) for r in records
        ]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._driver.close()
