"""The embedded graph store: one SQLite file (WAL), FTS5 for BM25, entity vectors as float32 blobs.

Every row carries the integer id of its namespace and every statement filters on it; full-text indexes are
per namespace. Reads run on one connection in a dedicated thread; a publish opens its own connection in its
own thread and replaces the namespace's rows in one transaction, so readers keep seeing the previous build
(WAL snapshot) until the commit, and a failure rolls back to it.

Lists of ids are stored as JSON text and read set-at-a-time through `json_each`, so a read is one statement
(two for an entity search, or inside one snapshot) whatever the number of ids; `json_each(...) CROSS JOIN
table` pins the id list as the outer loop, so each id is one index seek.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

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
from kg.store.chunk_ranking import MAX_TEXT_POSTINGS
from kg.store.sqlite import feedback as feedback_rows
from kg.store.sqlite.fulltext import (
    cheapest_terms,
    hits_mean_tokens,
    match_expression,
    okapi_rescored,
    ranked_chunks,
    split_by_cost,
)
from kg.store.sqlite.passages import graph_passages, passages_by_pk, text_units_by_id
from kg.store.sqlite.rows import (
    build_stats,
    entity_from,
    export_build,
    ids_json,
    relationship_from,
    replace_build,
    report_from,
    text_unit_from,
)
from kg.store.sqlite.schema import (
    ENTITY_COLUMNS,
    RELATIONSHIP_COLUMNS,
    REPORT_COLUMNS,
    TEXT_UNIT_COLUMNS,
    create_or_migrate,
    fts_table,
    snapshot,
)
from kg.store.sqlite.vectors import VectorCache
from kg.text.words import query_words, word_forms

T = TypeVar("T")

# Chunk searches rank with kg.store.chunk_ranking; in a namespace published before postings were recorded, with
# FTS5 over the rarest terms (MAX_TEXT_POSTINGS), its top RESCORED_HITS re-scored with Okapi BM25.
RESCORED_HITS = 20
_STATE = "SELECT id, generation FROM namespaces WHERE name = ?"


class SqliteStore:
    """`GraphStore` on one SQLite file. Create it with a path (parent directories must exist)."""

    def __init__(self, path: str | Path, *, mmap_size: int = 1 << 30, cache_mb: int = 64) -> None:
        self.path = Path(path)
        self._mmap_size = mmap_size
        self._cache_kib = cache_mb * 1024
        self._closed = False
        self._ns_ids: dict[str, int] = {}  # namespace ids are never reassigned
        self._vectors = VectorCache()
        self._open_and_migrate()
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kg-sqlite-read")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kg-sqlite-publish")
        self._read_conn = self._connect(read_only=True)
        self._has_text_unit_terms = self._text_unit_terms_exist(self._read_conn)

    # ------------------------------------------------------------------ connections

    def _connect(self, *, read_only: bool) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store {self.path}: {exc}") from exc
        try:
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute(f"PRAGMA cache_size = -{self._cache_kib}")
            if read_only:
                conn.execute(f"PRAGMA mmap_size = {self._mmap_size}")
                conn.execute("PRAGMA query_only = ON")
            else:
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA journal_size_limit = 67108864")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{self.path} is not a usable kgbot store: {exc}") from exc
        return conn

    def _open_and_migrate(self) -> None:
        if self.path.is_dir():
            raise StoreError(f"cannot open the SQLite store {self.path}: it is a directory")
        create_or_migrate(self._connect(read_only=False), self.path)

    async def _run(self, executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreError("the SQLite store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, fn, *args)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._run(self._reader, fn, self._read_conn, *args)

    def _namespace_id(self, conn: sqlite3.Connection, namespace: str) -> int | None:
        ns = self._ns_ids.get(namespace)
        if ns is None:
            row = conn.execute("SELECT id FROM namespaces WHERE name = ?", (namespace,)).fetchone()
            if row is None:
                return None
            ns = self._ns_ids[namespace] = row[0]
        return ns

    # ------------------------------------------------------------------ publish

    async def publish(self, namespace: str, index: GraphIndex) -> None:
        if self._closed:
            raise StoreError("the SQLite store is closed")
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._writer, self._publish, namespace, index)
        except Exception as exc:
            raise StoreError(
                f"publishing namespace {namespace!r} failed, the previous index is still served: {exc}"
            ) from exc

    def _publish(self, namespace: str, index: GraphIndex) -> None:
        conn = self._connect(read_only=False)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                vectors = replace_build(conn, namespace, index)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back by itself (e.g. disk full)
                    conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()
        # The first vector search after a publish need not load the matrices back from the file.
        for kind, matrix in vectors.items():
            self._vectors.remember(kind, namespace, matrix)

    # ------------------------------------------------------------------ reads

    async def search_entities(self, namespace: str, query: str, limit: int) -> list[ScoredEntity]:
        return await self._read(self._search_entities, namespace, query, limit)

    def _search_entities(
        self, conn: sqlite3.Connection, namespace: str, query: str, limit: int
    ) -> list[ScoredEntity]:
        ns = self._namespace_id(conn, namespace)
        words = query_words(query)
        if ns is None or not words or limit <= 0:
            return []
        forms = list(dict.fromkeys(form for word in words for form in word_forms(word)))
        frequencies = conn.execute(
            """SELECT t.term, t.df FROM json_each(?) AS j
               CROSS JOIN entity_terms AS t ON t.ns = ? AND t.term = j.value""",
            (json.dumps(forms), ns),
        ).fetchall()
        expression = match_expression(*split_by_cost(frequencies))
        if expression is None:
            return []
        table = fts_table("entities_fts", ns)
        rows = conn.execute(
            f"""SELECT {ENTITY_COLUMNS}, -m.rank
                FROM (SELECT rowid, rank FROM {table} WHERE {table} MATCH ? ORDER BY rank, rowid LIMIT ?) AS m
                JOIN entities AS e ON e.pk = m.rowid
                ORDER BY m.rank, m.rowid""",
            (expression, limit),
        ).fetchall()
        return [ScoredEntity(entity_from(row), row[7]) for row in rows]

    async def search_text_units(self, namespace: str, query: str, limit: int) -> list[tuple[TextUnit, float]]:
        return await self._read(self._search_text_units, namespace, query, limit)

    def _search_text_units(
        self, conn: sqlite3.Connection, namespace: str, query: str, limit: int
    ) -> list[tuple[TextUnit, float]]:
        ns = self._namespace_id(conn, namespace)
        words = query_words(query)
        if ns is None or not words or limit <= 0:
            return []
        forms = list(dict.fromkeys(form for word in words for form in word_forms(word)))
        table = fts_table("text_units_fts", ns)
        frequencies = dict(self._text_unit_frequencies(conn, ns, forms))
        if (ranked := ranked_chunks(conn, ns, words, frequencies, limit)) is not None:  # as Neo4j ranks
            return ranked
        window = ""
        n_units = frequencies.pop("", None)
        total_tokens = frequencies.pop(" ", None)
        if n_units is not None:  # recorded at publish: bound the cost
            forms = cheapest_terms(frequencies.items(), MAX_TEXT_POSTINGS)
            if not forms:  # every word is too common: rank the first chunks holding any of them
                forms = [term for term, df in frequencies.items() if df > 0]
                window = f"AND rowid <= (SELECT rowid FROM {table} WHERE {table} MATCH ?1 LIMIT 1 OFFSET ?3)"
        expression = match_expression(forms)
        if expression is None:
            return []
        rows = conn.execute(
            f"""SELECT {TEXT_UNIT_COLUMNS}, -m.rank
                FROM (SELECT rowid, rank FROM {table} WHERE {table} MATCH ?1 {window}
                      ORDER BY rank LIMIT ?2) AS m
                JOIN text_units AS t ON t.pk = m.rowid
                ORDER BY m.rank""",
            (expression, limit, max(MAX_TEXT_POSTINGS // 4, 1) - 1) if window else (expression, limit),
        ).fetchall()
        hits = [(text_unit_from(row), row[7]) for row in rows]
        if n_units is None:  # frequencies not recorded: FTS5's own order
            return hits
        # Every query word counts in the re-scoring, the common ones left out of the search too (with their
        # small idf): in one long document, where all the words are common, they are what ranks the chunks.
        groups = [[f for f in word_forms(w) if f in frequencies] for w in words]
        mean_tokens = total_tokens / n_units if total_tokens and n_units else hits_mean_tokens(hits)
        # Only the first hits are re-scored (the reordering that matters is near the top); the rest follow below.
        head = okapi_rescored(hits[:RESCORED_HITS], groups, frequencies, n_units, mean_tokens)
        tail = hits[RESCORED_HITS:]
        if not head or not tail or tail[0][1] <= 0:
            return head + tail
        scale = min(score for _, score in head) / tail[0][1]
        return head + [(unit, score * scale) for unit, score in tail]

    def _text_unit_frequencies(
        self, conn: sqlite3.Connection, ns: int, terms: Sequence[str]
    ) -> list[tuple[str, int]]:
        """(term, df) of the terms found in the namespace's chunks, ("", number of chunks) and (" ", their total
        tokens) when recorded; nothing for a store whose namespaces all predate them."""
        if not self._has_text_unit_terms:  # a store made before the table, which its next publish creates
            if not self._text_unit_terms_exist(conn):
                return []
            self._has_text_unit_terms = True
        return conn.execute(
            """SELECT t.term, t.df FROM json_each(?) AS j
               CROSS JOIN text_unit_terms AS t ON t.ns = ? AND t.term = j.value""",
            (json.dumps(["", " ", *terms]), ns),
        ).fetchall()

    @staticmethod
    def _text_unit_terms_exist(conn: sqlite3.Connection) -> bool:
        row = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'text_unit_terms'").fetchone()
        return row is not None

    async def search_entities_by_vector(
        self, namespace: str, vector: Sequence[float], limit: int
    ) -> list[ScoredEntity]:
        return await self._read(self._search_entities_by_vector, namespace, vector, limit)

    def _search_entities_by_vector(
        self, conn: sqlite3.Connection, namespace: str, vector: Sequence[float], limit: int
    ) -> list[ScoredEntity]:
        with snapshot(conn):
            row = conn.execute(_STATE, (namespace,)).fetchone()
            return self._vector_hits(conn, namespace, row, vector, limit) if row is not None else []

    def _vector_hits(
        self, conn: sqlite3.Connection, namespace: str, state: Any, vector: Sequence[float], limit: int
    ) -> list[ScoredEntity]:
        """The vector search of the build `state` (namespace id, generation), inside the caller's snapshot."""
        pks, scores = self._vectors.nearest(conn, "entities", namespace, state, vector, limit)
        rows = conn.execute(
            f"""SELECT {ENTITY_COLUMNS} FROM json_each(?) AS j CROSS JOIN entities AS e ON e.pk = j.value
                ORDER BY j.key""",
            (json.dumps(pks),),
        ).fetchall()
        return [ScoredEntity(entity_from(r), s) for r, s in zip(rows, scores, strict=True)]

    # ------------------------------------------------------------------ local search's two reads

    async def find_passages(self, namespace: str, search: PassageSearch) -> PassageHits:
        return await self._read(self._find_passages, namespace, search)

    def _find_passages(self, conn: sqlite3.Connection, namespace: str, search: PassageSearch) -> PassageHits:
        with snapshot(conn):  # every read below sees one build
            row = conn.execute(
                "SELECT id, generation FROM namespaces WHERE name = ?", (namespace,)
            ).fetchone()
            if row is None:
                return PassageHits(None)
            chunks = self._search_text_units(conn, namespace, search.query, search.chunk_limit)
            vector, limit = search.vector, search.chunk_vector_limit
            seeds = [u.id for u, _ in chunks[: search.seed_passages]]
            return PassageHits(
                row[1],
                entities=self._search_entities(conn, namespace, search.query, search.entity_limit),
                vector_entities=(
                    self._vector_hits(conn, namespace, row, search.vector, search.entity_limit)
                    if search.vector is not None
                    else []
                ),
                chunks=chunks,
                vector_chunks=(
                    passages_by_pk(
                        conn, *self._vectors.nearest(conn, "text_units", namespace, row, vector, limit)
                    )
                    if vector is not None and limit > 0
                    else []
                ),
                linked=self._link_entities(conn, namespace, search.link_keys),
                passage_entities=self._entities_in_text_units(
                    conn, namespace, seeds, search.passage_entity_limit
                ),
            )

    async def read_graph(self, namespace: str, read: GraphRead) -> GraphRows:
        return await self._read(self._read_graph, namespace, read)

    def _read_graph(self, conn: sqlite3.Connection, namespace: str, read: GraphRead) -> GraphRows:
        with snapshot(conn):  # a publish replaces a namespace's rows: only the current build can be read
            generation = self._generation(conn, namespace)
            if generation != read.generation:
                return GraphRows(generation)
            units = self._get_text_units(conn, namespace, read.text_unit_ids)
            hops, near = graph_passages(conn, self._namespace_id(conn, namespace), read)
            documents = [*read.document_ids, *(u.document_id for u in [*units, *near, *(u for u, _ in hops)])]
            return GraphRows(
                generation,
                relationships=self._relationships_of(conn, namespace, read.titles, read.relationship_limit),
                reports=self._reports_for(conn, namespace, read.entity_ids),
                text_units=units,
                hop_passages=hops,
                neighbours=near,
                documents=self._document_titles(conn, namespace, list(dict.fromkeys(documents))),
            )

    async def get_entities(self, namespace: str, titles: Sequence[str]) -> list[Entity]:
        return await self._read(self._get_entities, namespace, titles)

    def _get_entities(self, conn: sqlite3.Connection, namespace: str, titles: Sequence[str]) -> list[Entity]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not titles:
            return []
        rows = conn.execute(
            f"""SELECT {ENTITY_COLUMNS} FROM json_each(?) AS j
                CROSS JOIN entities AS e ON e.ns = ? AND e.title = j.value ORDER BY j.key, e.pk""",
            (ids_json(titles), ns),
        ).fetchall()
        return [entity_from(row) for row in rows]

    async def link_entities(self, namespace: str, keys: Sequence[str]) -> list[LinkedEntity]:
        return await self._read(self._link_entities, namespace, keys)

    def _link_entities(
        self, conn: sqlite3.Connection, namespace: str, keys: Sequence[str]
    ) -> list[LinkedEntity]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not keys:
            return []
        rows = conn.execute(
            f"""SELECT {ENTITY_COLUMNS}, k.key FROM json_each(?) AS j
                CROSS JOIN entity_keys AS k ON k.ns = ? AND k.key = j.value
                CROSS JOIN entities AS e ON e.pk = k.entity_pk
                ORDER BY j.key, e.pk""",
            (ids_json(keys), ns),
        ).fetchall()
        return [LinkedEntity(row[7], entity_from(row)) for row in rows]

    async def entities_in_text_units(
        self, namespace: str, text_unit_ids: Sequence[str], limit: int
    ) -> list[Entity]:
        return await self._read(self._entities_in_text_units, namespace, text_unit_ids, limit)

    def _entities_in_text_units(
        self, conn: sqlite3.Connection, namespace: str, text_unit_ids: Sequence[str], limit: int
    ) -> list[Entity]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not text_unit_ids or limit <= 0:
            return []
        rows = conn.execute(
            f"""SELECT {ENTITY_COLUMNS}
                FROM (SELECT m.entity_pk, count(*) AS hits FROM json_each(?1) AS j
                      CROSS JOIN text_unit_entities AS m ON m.ns = ?2 AND m.text_unit_id = j.value
                      GROUP BY m.entity_pk) AS h
                JOIN entities AS e ON e.pk = h.entity_pk
                ORDER BY h.hits DESC, json_array_length(e.text_unit_ids), e.pk LIMIT ?3""",
            (ids_json(text_unit_ids), ns, limit),
        ).fetchall()
        return [entity_from(row) for row in rows]

    async def relationships_of(self, namespace: str, titles: Sequence[str], limit: int) -> list[Relationship]:
        return await self._read(self._relationships_of, namespace, titles, limit)

    def _relationships_of(
        self, conn: sqlite3.Connection, namespace: str, titles: Sequence[str], limit: int
    ) -> list[Relationship]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not titles or limit <= 0:
            return []
        rows = conn.execute(
            f"""SELECT {RELATIONSHIP_COLUMNS} FROM relationships AS r WHERE r.pk IN (
                    SELECT x.pk FROM json_each(?1) AS j
                        CROSS JOIN relationships AS x ON x.ns = ?2 AND x.source = j.value
                    UNION
                    SELECT x.pk FROM json_each(?1) AS j
                        CROSS JOIN relationships AS x ON x.ns = ?2 AND x.target = j.value)
                ORDER BY r.weight DESC, r.rank DESC, r.short_id LIMIT ?3""",
            (ids_json(titles), ns, limit),
        ).fetchall()
        return [relationship_from(row) for row in rows]

    async def reports_for(self, namespace: str, entity_ids: Sequence[str]) -> list[ScoredReport]:
        return await self._read(self._reports_for, namespace, entity_ids)

    def _reports_for(
        self, conn: sqlite3.Connection, namespace: str, entity_ids: Sequence[str]
    ) -> list[ScoredReport]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not entity_ids:
            return []
        rows = conn.execute(
            f"""SELECT {REPORT_COLUMNS}, m.matches
                FROM (SELECT c.community, count(*) AS matches FROM json_each(?1) AS j
                      CROSS JOIN community_entities AS c ON c.ns = ?2 AND c.entity_id = j.value
                      GROUP BY c.community) AS m
                JOIN community_reports AS p ON p.ns = ?2 AND p.community = m.community
                ORDER BY m.matches DESC, p.rank DESC, p.community""",
            (ids_json(entity_ids), ns),
        ).fetchall()
        return [ScoredReport(report_from(row), row[7]) for row in rows]

    async def child_reports(self, namespace: str, parents: Sequence[int]) -> list[ChildReport]:
        return await self._read(self._child_reports, namespace, parents)

    def _child_reports(
        self, conn: sqlite3.Connection, namespace: str, parents: Sequence[int]
    ) -> list[ChildReport]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not parents:
            return []
        rows = conn.execute(
            f"""SELECT c.parent, {REPORT_COLUMNS}
                FROM json_each(?) AS j
                JOIN communities AS c ON c.ns = ? AND c.parent = j.value
                JOIN community_reports AS p ON p.ns = c.ns AND p.community = c.id
                ORDER BY p.rank DESC, p.community""",
            (json.dumps([int(p) for p in dict.fromkeys(parents)]), ns),
        ).fetchall()
        return [ChildReport(row[0], report_from(row[1:])) for row in rows]

    async def community_text_units(self, namespace: str, communities: Sequence[int]) -> dict[int, list[str]]:
        return await self._read(self._community_text_units, namespace, communities)

    def _community_text_units(
        self, conn: sqlite3.Connection, namespace: str, communities: Sequence[int]
    ) -> dict[int, list[str]]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not communities:
            return {}
        rows = conn.execute(
            """SELECT c.id, c.text_unit_ids FROM json_each(?) AS j
               JOIN communities AS c ON c.ns = ? AND c.id = j.value""",
            (json.dumps([int(c) for c in dict.fromkeys(communities)]), ns),
        ).fetchall()
        return {row[0]: json.loads(row[1]) for row in rows}

    async def community_entities(
        self, namespace: str, communities: Sequence[int], limit: int
    ) -> dict[int, list[Entity]]:
        return await self._read(self._community_entities, namespace, communities, limit)

    def _community_entities(
        self, conn: sqlite3.Connection, namespace: str, communities: Sequence[int], limit: int
    ) -> dict[int, list[Entity]]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not communities or limit < 1:
            return {}
        rows = conn.execute(
            f"""SELECT c.community, {ENTITY_COLUMNS} FROM json_each(?1) AS j
                CROSS JOIN community_entities AS c ON c.ns = ?2 AND c.community = j.value
                JOIN entities AS e ON e.ns = ?2 AND e.id = c.entity_id
                ORDER BY c.community, e.degree DESC, e.title""",
            (json.dumps([int(c) for c in dict.fromkeys(communities)]), ns),
        ).fetchall()
        found: dict[int, list[Entity]] = {}
        for row in rows:
            members = found.setdefault(row[0], [])
            if len(members) < limit:
                members.append(entity_from(row[1:]))
        return found

    async def get_text_units(self, namespace: str, ids: Sequence[str]) -> list[TextUnit]:
        return await self._read(self._get_text_units, namespace, ids)

    def _get_text_units(self, conn: sqlite3.Connection, namespace: str, ids: Sequence[str]) -> list[TextUnit]:
        return text_units_by_id(conn, self._namespace_id(conn, namespace), ids)

    async def document_titles(
        self, namespace: str, document_ids: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        return await self._read(self._document_titles, namespace, document_ids)

    def _document_titles(
        self, conn: sqlite3.Connection, namespace: str, document_ids: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not document_ids:
            return {}
        rows = conn.execute(
            """SELECT d.id, d.title, d.source FROM json_each(?) AS j
               CROSS JOIN documents AS d ON d.ns = ? AND d.id = j.value ORDER BY j.key""",
            (ids_json(document_ids), ns),
        ).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}

    async def generation(self, namespace: str) -> int | None:
        return await self._read(self._generation, namespace)

    @staticmethod
    def _generation(conn: sqlite3.Connection, namespace: str) -> int | None:
        row = conn.execute("SELECT generation FROM namespaces WHERE name = ?", (namespace,)).fetchone()
        return row[0] if row else None

    async def stats(self, namespace: str, top: int = 50) -> StoreStats | None:
        return await self._read(build_stats, namespace, top)

    async def export(self, namespace: str) -> GraphIndex | None:
        return await self._read(export_build, namespace)

    async def namespaces(self) -> list[str]:
        return await self._read(self._namespaces)

    @staticmethod
    def _namespaces(conn: sqlite3.Connection) -> list[str]:
        return [row[0] for row in conn.execute("SELECT name FROM namespaces ORDER BY name")]

    # ------------------------------------------------------------------ feedback

    async def record_feedback(self, feedback: Feedback) -> bool:
        return await self._run(self._writer, self._write, feedback_rows.record, feedback)

    async def set_feedback_reason(self, feedback: Feedback) -> bool:
        return await self._run(self._writer, self._write, feedback_rows.set_reason, feedback)

    async def feedback(self, namespace: str) -> list[Feedback]:
        return await self._read(feedback_rows.of_namespace, namespace)

    def _write(self, fn: Callable[[sqlite3.Connection, Feedback], bool], feedback: Feedback) -> bool:
        conn = self._connect(read_only=False)
        try:
            return fn(conn, feedback)
        finally:
            conn.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._reader, self._read_conn.close)
        self._reader.shutdown(wait=False)
        await loop.run_in_executor(None, self._writer.shutdown, True)
        self._vectors.clear()
