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
import math
import re
import sqlite3
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kg.linking import entity_keys
from kg.model import (
    Community,
    CommunityReport,
    Document,
    Entity,
    Finding,
    GraphIndex,
    Relationship,
    TextUnit,
)
from kg.store.base import ChildReport, LinkedEntity, ScoredEntity, ScoredReport, StoreError, StoreStats

if TYPE_CHECKING:  # numpy is imported where vectors are handled: answering without them never loads it
    import numpy as np

T = TypeVar("T")

APPLICATION_ID = 0x4B474254  # "KGBT": marks a file as a kgbot store
SCHEMA_VERSION = 3  # 2: namespaces.usage (the model cost of the build); 3: entity_keys, text_unit_entities
MAX_QUERY_WORDS = 64
# The cost of an entity search is bounded whatever the query, by the postings (term, entity) it reads. The
# rarest terms (they carry the most BM25 weight) are searched in titles and descriptions while they total at
# most MAX_POSTINGS (~2 us each: each match is ranked); the commoner ones in titles only while they total at
# most MAX_TITLE_POSTINGS (~0.1 us each: only title hits are ranked); terms commoner still are left out.
MAX_POSTINGS = 2000
MAX_TITLE_POSTINGS = 10_000
# A chunk search is bounded the same way: the rarest terms while they total at most MAX_TEXT_POSTINGS (~2.5 us
# each: every match is ranked by BM25); commoner terms carry little BM25 weight and are left out. When even the
# rarest is commoner than that, only the first MAX_TEXT_POSTINGS / 4 chunks holding a query word are ranked.
MAX_TEXT_POSTINGS = 1000
RESCORED_HITS = 20  # chunk hits re-scored with Okapi BM25 (okapi_rescored)
_TOKENIZER = "unicode61 remove_diacritics 2"

SCHEMA = """
CREATE TABLE IF NOT EXISTS namespaces (
    id INTEGER PRIMARY KEY,  -- permanent once assigned: readers cache name -> id
    name TEXT NOT NULL UNIQUE,
    generation INTEGER NOT NULL,
    built_at TEXT NOT NULL,
    seconds REAL NOT NULL,
    extractor TEXT NOT NULL,
    n_documents INTEGER NOT NULL,
    n_text_units INTEGER NOT NULL,
    n_entities INTEGER NOT NULL,
    n_relationships INTEGER NOT NULL,
    n_communities INTEGER NOT NULL,
    n_reports INTEGER NOT NULL,
    usage TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS documents (
    pk INTEGER PRIMARY KEY, ns INTEGER NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL,
    source TEXT NOT NULL, text TEXT NOT NULL, text_unit_ids TEXT NOT NULL, UNIQUE (ns, id)
);
CREATE TABLE IF NOT EXISTS text_units (
    pk INTEGER PRIMARY KEY, ns INTEGER NOT NULL, id TEXT NOT NULL, short_id INTEGER NOT NULL,
    document_id TEXT NOT NULL, text TEXT NOT NULL, n_tokens INTEGER NOT NULL,
    start_char INTEGER NOT NULL, end_char INTEGER NOT NULL, UNIQUE (ns, id)
);
CREATE TABLE IF NOT EXISTS entities (
    pk INTEGER PRIMARY KEY, ns INTEGER NOT NULL, id TEXT NOT NULL, short_id INTEGER NOT NULL,
    title TEXT NOT NULL, type TEXT NOT NULL, description TEXT NOT NULL, text_unit_ids TEXT NOT NULL,
    degree INTEGER NOT NULL, UNIQUE (ns, id)
);
CREATE INDEX IF NOT EXISTS entities_by_title ON entities (ns, title);
CREATE INDEX IF NOT EXISTS entities_by_degree ON entities (ns, degree DESC);
-- Document frequency of each word of entity titles and descriptions, to pick query terms by cost.
CREATE TABLE IF NOT EXISTS entity_terms (
    ns INTEGER NOT NULL, term TEXT NOT NULL, df INTEGER NOT NULL, PRIMARY KEY (ns, term)
) WITHOUT ROWID;
-- Document frequency of each word of the chunks, to pick query terms by cost. The empty term holds the number
-- of chunks (a namespace without it was published before these were recorded, and its chunk searches are not
-- bounded), the term ' ' their total tokens (BM25's mean length). Publish creates the table too, for stores
-- made before it.
CREATE TABLE IF NOT EXISTS text_unit_terms (
    ns INTEGER NOT NULL, term TEXT NOT NULL, df INTEGER NOT NULL, PRIMARY KEY (ns, term)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entity_vectors (
    entity_pk INTEGER PRIMARY KEY, ns INTEGER NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entity_vectors_by_ns ON entity_vectors (ns);
-- The link keys of each entity (kg.linking.entity_keys): question entity linking is one indexed lookup.
CREATE TABLE IF NOT EXISTS entity_keys (
    ns INTEGER NOT NULL, key TEXT NOT NULL, entity_pk INTEGER NOT NULL, PRIMARY KEY (ns, key, entity_pk)
) WITHOUT ROWID;
-- Which entities each text unit mentions: the passage -> entity half of the passage-entity graph.
CREATE TABLE IF NOT EXISTS text_unit_entities (
    ns INTEGER NOT NULL, text_unit_id TEXT NOT NULL, entity_pk INTEGER NOT NULL,
    PRIMARY KEY (ns, text_unit_id, entity_pk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS relationships (
    pk INTEGER PRIMARY KEY, ns INTEGER NOT NULL, id TEXT NOT NULL, short_id INTEGER NOT NULL,
    source TEXT NOT NULL, target TEXT NOT NULL, description TEXT NOT NULL, weight REAL NOT NULL,
    rank INTEGER NOT NULL, text_unit_ids TEXT NOT NULL, UNIQUE (ns, id)
);
CREATE INDEX IF NOT EXISTS relationships_by_source ON relationships (ns, source);
CREATE INDEX IF NOT EXISTS relationships_by_target ON relationships (ns, target);
CREATE TABLE IF NOT EXISTS communities (
    pk INTEGER PRIMARY KEY, ns INTEGER NOT NULL, id INTEGER NOT NULL, level INTEGER NOT NULL,
    parent INTEGER NOT NULL, title TEXT NOT NULL, entity_ids TEXT NOT NULL,
    relationship_ids TEXT NOT NULL, text_unit_ids TEXT NOT NULL, UNIQUE (ns, id)
);
CREATE INDEX IF NOT EXISTS communities_by_parent ON communities (ns, parent);
CREATE TABLE IF NOT EXISTS community_entities (
    ns INTEGER NOT NULL, entity_id TEXT NOT NULL, community INTEGER NOT NULL,
    PRIMARY KEY (ns, entity_id, community)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS community_reports (
    pk INTEGER PRIMARY KEY, ns INTEGER NOT NULL, community INTEGER NOT NULL, level INTEGER NOT NULL,
    title TEXT NOT NULL, summary TEXT NOT NULL, full_content TEXT NOT NULL, rank REAL NOT NULL,
    findings TEXT NOT NULL, UNIQUE (ns, community)
);
"""

# Full-text indexes are one pair of FTS5 tables per namespace (named by its integer id, never by user text):
# BM25 statistics stay within the namespace, a search reads only its postings, and a republish clears the
# index with 'delete-all' instead of replaying every old row. Content comes from the shared row tables.
_FTS_TABLES = {
    "entities_fts": ("entities", ("title", "description"), "bm25(10.0, 1.0)"),  # a title hit weighs 10x
    "text_units_fts": ("text_units", ("text",), "bm25()"),
}


def fts_table(kind: str, ns: int) -> str:
    """The FTS5 table of one namespace: `kind` is "entities_fts" or "text_units_fts"."""
    assert kind in _FTS_TABLES
    return f"{kind}_{int(ns)}"


_TEXT_UNIT_TERMS = next(s for s in SCHEMA.split(";\n") if "EXISTS text_unit_terms" in s)
_GRAPH_TABLES = [
    s for s in SCHEMA.split(";\n") if "EXISTS entity_keys" in s or "EXISTS text_unit_entities" in s
]

# Tables holding a namespace's rows.
_ROW_TABLES = (
    "documents",
    "text_units",
    "entities",
    "entity_terms",
    "text_unit_terms",
    "entity_vectors",
    "entity_keys",
    "text_unit_entities",
    "relationships",
    "communities",
    "community_entities",
    "community_reports",
)

_ENTITY_COLUMNS = "e.id, e.short_id, e.title, e.type, e.description, e.text_unit_ids, e.degree"
_TEXT_UNIT_COLUMNS = "t.id, t.short_id, t.document_id, t.text, t.n_tokens, t.start_char, t.end_char"
_RELATIONSHIP_COLUMNS = (
    "r.id, r.short_id, r.source, r.target, r.description, r.weight, r.text_unit_ids, r.rank"
)
_REPORT_COLUMNS = "p.community, p.level, p.title, p.summary, p.full_content, p.rank, p.findings"

# Words that match most rows and carry no meaning for entity lookup; dropped unless the query has nothing else.
_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves tell explain describe""".split()
)
_WORD = re.compile(r"[^\W_]+")


def words_of(text: str) -> list[str]:
    """Lower-cased words without diacritics, split like the FTS5 `unicode61` tokenizer splits them."""
    text = text.lower()
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return _WORD.findall(text)


def query_words(text: str) -> list[str]:
    """The distinct words of a user query worth searching for: stopwords go unless nothing else is left."""
    words = list(dict.fromkeys(words_of(text)))
    meaningful = [w for w in words if w not in _STOPWORDS]
    return (meaningful or words)[:MAX_QUERY_WORDS]


def word_forms(word: str) -> list[str]:
    """The word and its singular or plural (the index does not stem): "transformers" also finds "transformer"."""
    if len(word) < 3 or not word.isalpha():
        return [word]
    if word.endswith("ies") and len(word) > 4:
        return [word, word[:-3] + "y"]
    if word.endswith("es"):
        return [word, word[:-1], word[:-2]]
    if word.endswith("s") and not word.endswith("ss"):
        return [word, word[:-1]]
    if word.endswith("y") and word[-2] not in "aeiou":
        return [word, word[:-1] + "ies"]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return [word, word + "es"]
    return [word, word + "s"]


def split_by_cost(document_frequencies: Iterable[tuple[str, int]]) -> tuple[list[str], list[str]]:
    """(terms to search everywhere, terms to search in titles only), from each term's document frequency."""
    everywhere: list[str] = []
    titles_only: list[str] = []
    total = title_total = 0
    for term, df in sorted(document_frequencies, key=lambda item: (item[1], item[0])):
        if df <= 0:
            continue
        if total + df <= MAX_POSTINGS:
            everywhere.append(term)
            total += df
        elif title_total + df <= MAX_TITLE_POSTINGS:
            titles_only.append(term)
            title_total += df
    return everywhere, titles_only


def cheapest_terms(document_frequencies: Iterable[tuple[str, int]], budget: int) -> list[str]:
    """The rarest terms while their document frequencies total at most `budget`."""
    terms: list[str] = []
    total = 0
    for term, df in sorted(document_frequencies, key=lambda item: (item[1], item[0])):
        if df <= 0:
            continue
        if total + df > budget:
            break
        terms.append(term)
        total += df
    return terms


def match_expression(terms: Sequence[str], title_terms: Sequence[str] = ()) -> str | None:
    """An FTS5 MATCH expression OR-ing `terms` (any column) and `title_terms` (the title column only).

    Every term is quoted, so FTS syntax, quotes and operators in user text are only ever words. None when
    there is nothing to search for.
    """
    alternatives = [_quoted(term) for term in terms]
    if title_terms:
        alternatives.append("title : (" + " OR ".join(_quoted(term) for term in title_terms) + ")")
    return " OR ".join(alternatives) or None


def okapi_rescored(
    hits: Sequence[tuple[TextUnit, float]],
    groups: Sequence[Sequence[str]],
    frequencies: dict[str, int],
    n_units: int,
    mean_tokens: float,
) -> list[tuple[TextUnit, float]]:
    """The hits scored again with Okapi BM25 as Lucene (so Neo4j) computes it: idf = ln(1 + (N - df + 0.5) /
    (df + 0.5)), k1 1.2, b 0.75. FTS5's bm25() uses ln((N - df + 0.5) / (df + 0.5)), which falls to nothing
    for a word in half the chunks: in one long document, where the question's words are all common, that
    ranks a chunk saying "d_model" many times below chunks that say it once. `groups` are the forms of each
    query word ("model", "models"), counted as one term; lengths are in words, the mean estimated from the
    chunks' token counts."""
    idf = []
    for forms in groups:
        df = max((frequencies.get(f, 0) for f in forms), default=0)
        if df > 0:
            idf.append((frozenset(forms), math.log(1 + (n_units - df + 0.5) / (df + 0.5))))
    words = [words_of(unit.text) for unit, _ in hits]
    tokens = sum(max(unit.n_tokens, 1) for unit, _ in hits)
    mean_words = mean_tokens * sum(len(w) for w in words) / tokens if tokens else 1.0
    scored = []
    for rank, ((unit, _), unit_words) in enumerate(zip(hits, words, strict=True)):
        counts = Counter(unit_words)
        norm = 1.2 * (0.25 + 0.75 * len(unit_words) / max(mean_words, 1.0))
        score = 0.0
        for forms, weight in idf:
            f = sum(counts[form] for form in forms)
            if f:
                score += weight * f * 2.2 / (f + norm)
        scored.append((score, rank, unit))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [(unit, score) for score, _, unit in scored]


def _mean_tokens(hits: Sequence[tuple[TextUnit, float]]) -> float:
    """The hits' own mean length: a stand-in for a namespace published before total tokens were recorded."""
    return sum(u.n_tokens for u, _ in hits) / len(hits) if hits else 1.0


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _ids_json(ids: Iterable[str]) -> str:
    return json.dumps(list(dict.fromkeys(ids)))


def _entity(row: Sequence[Any]) -> Entity:
    return Entity(
        id=row[0],
        short_id=row[1],
        title=row[2],
        type=row[3],
        description=row[4],
        text_unit_ids=json.loads(row[5]),
        degree=row[6],
    )


def _text_unit(row: Sequence[Any]) -> TextUnit:
    return TextUnit(*row[:7])


def _relationship(row: Sequence[Any]) -> Relationship:
    return Relationship(
        id=row[0],
        short_id=row[1],
        source=row[2],
        target=row[3],
        description=row[4],
        weight=row[5],
        text_unit_ids=json.loads(row[6]),
        rank=row[7],
    )


def _report(row: Sequence[Any]) -> CommunityReport:
    return CommunityReport(
        community=row[0],
        level=row[1],
        title=row[2],
        summary=row[3],
        full_content=row[4],
        rank=row[5],
        findings=[Finding(**f) for f in json.loads(row[6])],
    )


@dataclass
class _Vectors:
    generation: int
    entity_pks: np.ndarray  # int64, one per matrix row
    matrix: np.ndarray  # float32, rows L2-normalised

    @classmethod
    def normalised(cls, generation: int, pks: Sequence[int], vectors: Sequence[np.ndarray]) -> _Vectors:
        import numpy as np

        if not vectors:
            return cls(generation, np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32))
        matrix = np.vstack(vectors).astype(np.float32, copy=False)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return cls(generation, np.asarray(pks, dtype=np.int64), matrix)


class SqliteStore:
    """`GraphStore` on one SQLite file. Create it with a path (parent directories must exist)."""

    def __init__(self, path: str | Path, *, mmap_size: int = 1 << 30, cache_mb: int = 64) -> None:
        self.path = Path(path)
        self._mmap_size = mmap_size
        self._cache_kib = cache_mb * 1024
        self._closed = False
        self._ns_ids: dict[str, int] = {}  # namespace ids are never reassigned
        self._vectors: dict[str, _Vectors] = {}  # per namespace: its newest generation's matrix
        self._vectors_lock = threading.Lock()
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
        conn = self._connect(read_only=False)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if app_id == 0:
                has_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if has_tables:
                    raise StoreError(f"{self.path} is a SQLite database but not a kgbot store")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                if conn.execute("PRAGMA application_id").fetchone()[0] == 0:  # not raced by another process
                    for statement in SCHEMA.split(";\n"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            elif app_id != APPLICATION_ID:
                raise StoreError(f"{self.path} is a SQLite database but not a kgbot store")
            elif version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer kgbot (schema {version}, this one reads {SCHEMA_VERSION})"
                )
            else:
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                if version < 2:
                    conn.execute("BEGIN IMMEDIATE")
                    if conn.execute("PRAGMA user_version").fetchone()[0] < 2:  # not raced by another process
                        conn.execute("ALTER TABLE namespaces ADD COLUMN usage TEXT NOT NULL DEFAULT '{}'")
                        conn.execute("PRAGMA user_version = 2")
                    conn.execute("COMMIT")
                if version < 3:  # namespaces published before link them to nothing until republished
                    conn.execute("BEGIN IMMEDIATE")
                    if conn.execute("PRAGMA user_version").fetchone()[0] < 3:
                        for statement in _GRAPH_TABLES:
                            conn.execute(statement)
                        conn.execute("PRAGMA user_version = 3")
                    conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable kgbot store: {exc}") from exc
        finally:
            conn.close()

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

    @contextmanager
    def _snapshot(self, conn: sqlite3.Connection) -> Iterator[None]:
        """Several statements that must see the same committed build."""
        conn.execute("BEGIN")
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

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
                vectors = self._replace(conn, namespace, index)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back by itself (e.g. disk full)
                    conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()
        # The first vector search after a publish need not load the matrix back from the file.
        self._remember_vectors(namespace, vectors)

    def _remember_vectors(self, namespace: str, vectors: _Vectors) -> None:
        """Cache `vectors` unless a newer generation is cached already (publish and reads race here)."""
        with self._vectors_lock:
            cached = self._vectors.get(namespace)
            if cached is None or cached.generation < vectors.generation:
                self._vectors[namespace] = vectors

    def _replace(self, conn: sqlite3.Connection, namespace: str, index: GraphIndex) -> _Vectors:
        generation = conn.execute("SELECT coalesce(max(generation), 0) + 1 FROM namespaces").fetchone()[0]
        ns = conn.execute(
            """INSERT INTO namespaces (name, generation, built_at, seconds, extractor, n_documents,
                   n_text_units, n_entities, n_relationships, n_communities, n_reports, usage)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (name) DO UPDATE SET generation = excluded.generation,
                   built_at = excluded.built_at, seconds = excluded.seconds, extractor = excluded.extractor,
                   n_documents = excluded.n_documents, n_text_units = excluded.n_text_units,
                   n_entities = excluded.n_entities, n_relationships = excluded.n_relationships,
                   n_communities = excluded.n_communities, n_reports = excluded.n_reports,
                   usage = excluded.usage
               RETURNING id""",
            (
                namespace,
                generation,
                str(index.built_at),
                float(index.seconds),
                str(index.extractor),
                len(index.documents),
                len(index.text_units),
                len(index.entities),
                len(index.relationships),
                len(index.communities),
                len(index.reports),
                json.dumps(index.usage),
            ),
        ).fetchone()[0]
        self._delete_rows(conn, ns)
        self._insert_documents(conn, ns, index.documents)
        self._insert_text_units(conn, ns, index.text_units)
        pks, vectors = self._insert_entities(conn, ns, index.entities)
        self._insert_relationships(conn, ns, index.relationships)
        self._insert_communities(conn, ns, index.communities)
        self._insert_reports(conn, ns, index.reports)
        return _Vectors.normalised(generation, pks, vectors)

    def _delete_rows(self, conn: sqlite3.Connection, ns: int) -> None:
        conn.execute(_TEXT_UNIT_TERMS)
        for kind, (content, columns, rank) in _FTS_TABLES.items():
            table = fts_table(kind, ns)
            # The rank function is configured once, when the table is made: setting it again on a republish
            # makes the next full-text query of every other open connection fail ("SQL logic error").
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone() is None:
                conn.execute(
                    f"""CREATE VIRTUAL TABLE {table} USING fts5({", ".join(columns)},
                        content='{content}', content_rowid='pk', tokenize='{_TOKENIZER}')"""
                )
                conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('rank', '{rank}')")
            conn.execute(f"INSERT INTO {table} ({table}) VALUES ('delete-all')")
        for table in _ROW_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE ns = ?", (ns,))

    def _index_text(self, conn: sqlite3.Connection, kind: str, ns: int) -> None:
        """Fill the namespace's full-text index from its freshly inserted rows, merged into one segment."""
        content, columns, _ = _FTS_TABLES[kind]
        table = fts_table(kind, ns)
        names = ", ".join(columns)
        conn.execute(
            f"INSERT INTO {table} (rowid, {names}) SELECT pk, {names} FROM {content} WHERE ns = ?", (ns,)
        )
        conn.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")

    def _insert_documents(self, conn: sqlite3.Connection, ns: int, documents: list[Document]) -> None:
        conn.executemany(
            "INSERT INTO documents (ns, id, title, source, text, text_unit_ids) VALUES (?, ?, ?, ?, ?, ?)",
            ((ns, d.id, d.title, d.source, d.text, json.dumps(list(d.text_unit_ids))) for d in documents),
        )

    def _insert_text_units(self, conn: sqlite3.Connection, ns: int, units: list[TextUnit]) -> None:
        conn.executemany(
            """INSERT INTO text_units (ns, id, short_id, document_id, text, n_tokens, start_char, end_char)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                (ns, t.id, int(t.short_id), t.document_id, t.text, int(t.n_tokens), int(t.start), int(t.end))
                for t in units
            ),
        )
        self._index_text(conn, "text_units_fts", ns)
        table = fts_table("text_units_fts", ns)
        conn.execute(f"CREATE VIRTUAL TABLE temp.{table}_vocab USING fts5vocab(main, '{table}', 'row')")
        try:
            conn.execute(
                f"INSERT INTO text_unit_terms (ns, term, df) SELECT ?, term, doc FROM temp.{table}_vocab",
                (ns,),
            )
        finally:
            conn.execute(f"DROP TABLE temp.{table}_vocab")
        conn.execute("INSERT INTO text_unit_terms (ns, term, df) VALUES (?, '', ?)", (ns, len(units)))
        total = sum(int(t.n_tokens) for t in units)
        conn.execute("INSERT INTO text_unit_terms (ns, term, df) VALUES (?, ' ', ?)", (ns, total))

    def _insert_entities(
        self, conn: sqlite3.Connection, ns: int, entities: list[Entity]
    ) -> tuple[list[int], list[np.ndarray]]:
        """Insert entities, their full-text index, term frequencies and vectors; returns (pk, vector) lists."""
        import numpy as np

        first_pk = conn.execute("SELECT coalesce(max(pk), 0) + 1 FROM entities").fetchone()[0]
        conn.executemany(
            """INSERT INTO entities (pk, ns, id, short_id, title, type, description, text_unit_ids, degree)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                (
                    first_pk + i,
                    ns,
                    e.id,
                    int(e.short_id),
                    e.title,
                    e.type,
                    e.description,
                    json.dumps(list(e.text_unit_ids)),
                    int(e.degree),
                )
                for i, e in enumerate(entities)
            ),
        )
        self._index_text(conn, "entities_fts", ns)
        frequencies: Counter[str] = Counter()
        for e in entities:
            frequencies.update(set(words_of(f"{e.title} {e.description}")))
        conn.executemany(
            "INSERT INTO entity_terms (ns, term, df) VALUES (?, ?, ?)",
            ((ns, term, df) for term, df in frequencies.items()),
        )
        dims: set[int] = set()
        pks: list[int] = []
        vectors: list[np.ndarray] = []

        def rows() -> Iterable[tuple[int, int, bytes]]:
            for i, e in enumerate(entities):
                if e.embedding is not None:
                    vector = np.asarray(e.embedding, dtype=np.float32)
                    if vector.ndim != 1:
                        raise StoreError(f"entity {e.title!r} has an embedding that is not a flat vector")
                    if len(vector):
                        dims.add(len(vector))
                        pks.append(first_pk + i)
                        vectors.append(vector)
                    if len(dims) > 1:
                        raise StoreError(f"entity embeddings have different dimensions: {sorted(dims)}")
                    yield first_pk + i, ns, vector.tobytes()

        conn.executemany("INSERT INTO entity_vectors (entity_pk, ns, vector) VALUES (?, ?, ?)", rows())
        conn.executemany(
            "INSERT OR IGNORE INTO entity_keys (ns, key, entity_pk) VALUES (?, ?, ?)",
            ((ns, key, first_pk + i) for i, e in enumerate(entities) for key in entity_keys(e.title)),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO text_unit_entities (ns, text_unit_id, entity_pk) VALUES (?, ?, ?)",
            ((ns, unit_id, first_pk + i) for i, e in enumerate(entities) for unit_id in e.text_unit_ids),
        )
        return pks, vectors

    def _insert_relationships(
        self, conn: sqlite3.Connection, ns: int, relationships: list[Relationship]
    ) -> None:
        conn.executemany(
            """INSERT INTO relationships (ns, id, short_id, source, target, description, weight, rank,
                   text_unit_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                (
                    ns,
                    r.id,
                    int(r.short_id),
                    r.source,
                    r.target,
                    r.description,
                    float(r.weight),
                    int(r.rank),
                    json.dumps(list(r.text_unit_ids)),
                )
                for r in relationships
            ),
        )

    def _insert_communities(self, conn: sqlite3.Connection, ns: int, communities: list[Community]) -> None:
        conn.executemany(
            """INSERT INTO communities (ns, id, level, parent, title, entity_ids, relationship_ids,
                   text_unit_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                (
                    ns,
                    int(c.id),
                    int(c.level),
                    int(c.parent),
                    c.title,
                    json.dumps(list(c.entity_ids)),
                    json.dumps(list(c.relationship_ids)),
                    json.dumps(list(c.text_unit_ids)),
                )
                for c in communities
            ),
        )
        conn.executemany(
            "INSERT OR IGNORE INTO community_entities (ns, entity_id, community) VALUES (?, ?, ?)",
            ((ns, entity_id, int(c.id)) for c in communities for entity_id in c.entity_ids),
        )

    def _insert_reports(self, conn: sqlite3.Connection, ns: int, reports: list[CommunityReport]) -> None:
        conn.executemany(
            """INSERT INTO community_reports (ns, community, level, title, summary, full_content, rank,
                   findings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                (
                    ns,
                    int(r.community),
                    int(r.level),
                    r.title,
                    r.summary,
                    r.full_content,
                    float(r.rank),
                    json.dumps([{"summary": f.summary, "explanation": f.explanation} for f in r.findings]),
                )
                for r in reports
            ),
        )

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
            f"""SELECT {_ENTITY_COLUMNS}, -m.rank
                FROM (SELECT rowid, rank FROM {table} WHERE {table} MATCH ? ORDER BY rank LIMIT ?) AS m
                JOIN entities AS e ON e.pk = m.rowid
                ORDER BY m.rank""",
            (expression, limit),
        ).fetchall()
        return [ScoredEntity(_entity(row), row[7]) for row in rows]

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
            f"""SELECT {_TEXT_UNIT_COLUMNS}, -m.rank
                FROM (SELECT rowid, rank FROM {table} WHERE {table} MATCH ?1 {window}
                      ORDER BY rank LIMIT ?2) AS m
                JOIN text_units AS t ON t.pk = m.rowid
                ORDER BY m.rank""",
            (expression, limit, max(MAX_TEXT_POSTINGS // 4, 1) - 1) if window else (expression, limit),
        ).fetchall()
        hits = [(_text_unit(row), row[7]) for row in rows]
        if n_units is None:  # frequencies not recorded: FTS5's own order
            return hits
        searched = set(forms)
        groups = [[f for f in word_forms(w) if f in searched] for w in words]
        mean_tokens = total_tokens / n_units if total_tokens and n_units else _mean_tokens(hits)
        # Only the first hits are re-scored (reading every word of a chunk is this search's main cost, and the
        # reordering that matters is near the top); the rest follow in FTS5's order, scaled below them.
        head = okapi_rescored(hits[:RESCORED_HITS], groups, frequencies, n_units, mean_tokens)
        tail = hits[RESCORED_HITS:]
        if not head or not tail or tail[0][1] <= 0:
            return head + tail
        scale = min(score for _, score in head) / tail[0][1]
        return head + [(unit, score * scale) for unit, score in tail]

    def _text_unit_frequencies(
        self, conn: sqlite3.Connection, ns: int, terms: Sequence[str]
    ) -> list[tuple[str, int]]:
        """(term, document frequency) of the terms found in the namespace's chunks, ("", number of chunks) when
        frequencies were recorded and (" ", their total tokens) when that was; nothing for a store whose
        namespaces all predate them."""
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
        import numpy as np

        query = np.asarray(vector, dtype=np.float32).ravel()
        norm = float(np.linalg.norm(query))
        if limit <= 0 or norm == 0.0 or not np.isfinite(norm):
            return []
        with self._snapshot(conn):
            row = conn.execute(
                "SELECT id, generation FROM namespaces WHERE name = ?", (namespace,)
            ).fetchone()
            if row is None:
                return []
            ns, generation = row
            vectors = self._vectors.get(namespace)
            if vectors is None or vectors.generation != generation:
                vectors = self._load_vectors(conn, ns, generation)
                self._remember_vectors(namespace, vectors)
            if not len(vectors.entity_pks):
                return []
            if vectors.matrix.shape[1] != len(query):
                raise StoreError(
                    f"the query embedding has {len(query)} dimensions but the index of {namespace!r} has "
                    f"{vectors.matrix.shape[1]}: reindex with the current embedding model"
                )
            # einsum, not `@`: a multi-threaded BLAS would spin its threads after every product and take the
            # cores the event loop and this thread need; one thread is as fast for a matrix-vector product.
            scores = np.einsum("ij,j->i", vectors.matrix, query / norm)
            k = min(limit, len(scores))
            top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
            top = top[np.argsort(-scores[top], kind="stable")]
            pks = [int(pk) for pk in vectors.entity_pks[top]]
            rows = conn.execute(
                f"""SELECT {_ENTITY_COLUMNS} FROM json_each(?) AS j CROSS JOIN entities AS e ON e.pk = j.value
                    ORDER BY j.key""",
                (json.dumps(pks),),
            ).fetchall()
        return [ScoredEntity(_entity(r), float(s)) for r, s in zip(rows, scores[top], strict=True)]

    @staticmethod
    def _load_vectors(conn: sqlite3.Connection, ns: int, generation: int) -> _Vectors:
        import numpy as np

        rows = conn.execute(
            "SELECT entity_pk, vector FROM entity_vectors WHERE ns = ? AND length(vector) > 0 ORDER BY entity_pk",
            (ns,),
        ).fetchall()
        return _Vectors.normalised(
            generation, [r[0] for r in rows], [np.frombuffer(r[1], dtype=np.float32) for r in rows]
        )

    async def get_entities(self, namespace: str, titles: Sequence[str]) -> list[Entity]:
        return await self._read(self._get_entities, namespace, titles)

    def _get_entities(self, conn: sqlite3.Connection, namespace: str, titles: Sequence[str]) -> list[Entity]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not titles:
            return []
        rows = conn.execute(
            f"""SELECT {_ENTITY_COLUMNS} FROM json_each(?) AS j
                CROSS JOIN entities AS e ON e.ns = ? AND e.title = j.value ORDER BY j.key, e.pk""",
            (_ids_json(titles), ns),
        ).fetchall()
        return [_entity(row) for row in rows]

    async def link_entities(self, namespace: str, keys: Sequence[str]) -> list[LinkedEntity]:
        return await self._read(self._link_entities, namespace, keys)

    def _link_entities(
        self, conn: sqlite3.Connection, namespace: str, keys: Sequence[str]
    ) -> list[LinkedEntity]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not keys:
            return []
        rows = conn.execute(
            f"""SELECT {_ENTITY_COLUMNS}, k.key FROM json_each(?) AS j
                CROSS JOIN entity_keys AS k ON k.ns = ? AND k.key = j.value
                CROSS JOIN entities AS e ON e.pk = k.entity_pk
                ORDER BY j.key, e.pk""",
            (_ids_json(keys), ns),
        ).fetchall()
        return [LinkedEntity(row[7], _entity(row)) for row in rows]

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
            f"""SELECT {_ENTITY_COLUMNS}
                FROM (SELECT m.entity_pk, count(*) AS hits FROM json_each(?1) AS j
                      CROSS JOIN text_unit_entities AS m ON m.ns = ?2 AND m.text_unit_id = j.value
                      GROUP BY m.entity_pk) AS h
                JOIN entities AS e ON e.pk = h.entity_pk
                ORDER BY h.hits DESC, json_array_length(e.text_unit_ids), e.pk LIMIT ?3""",
            (_ids_json(text_unit_ids), ns, limit),
        ).fetchall()
        return [_entity(row) for row in rows]

    async def relationships_of(self, namespace: str, titles: Sequence[str], limit: int) -> list[Relationship]:
        return await self._read(self._relationships_of, namespace, titles, limit)

    def _relationships_of(
        self, conn: sqlite3.Connection, namespace: str, titles: Sequence[str], limit: int
    ) -> list[Relationship]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not titles or limit <= 0:
            return []
        rows = conn.execute(
            f"""SELECT {_RELATIONSHIP_COLUMNS} FROM relationships AS r WHERE r.pk IN (
                    SELECT x.pk FROM json_each(?1) AS j
                        CROSS JOIN relationships AS x ON x.ns = ?2 AND x.source = j.value
                    UNION
                    SELECT x.pk FROM json_each(?1) AS j
                        CROSS JOIN relationships AS x ON x.ns = ?2 AND x.target = j.value)
                ORDER BY r.weight DESC, r.rank DESC, r.short_id LIMIT ?3""",
            (_ids_json(titles), ns, limit),
        ).fetchall()
        return [_relationship(row) for row in rows]

    async def reports_for(self, namespace: str, entity_ids: Sequence[str]) -> list[ScoredReport]:
        return await self._read(self._reports_for, namespace, entity_ids)

    def _reports_for(
        self, conn: sqlite3.Connection, namespace: str, entity_ids: Sequence[str]
    ) -> list[ScoredReport]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not entity_ids:
            return []
        rows = conn.execute(
            f"""SELECT {_REPORT_COLUMNS}, m.matches
                FROM (SELECT c.community, count(*) AS matches FROM json_each(?1) AS j
                      CROSS JOIN community_entities AS c ON c.ns = ?2 AND c.entity_id = j.value
                      GROUP BY c.community) AS m
                JOIN community_reports AS p ON p.ns = ?2 AND p.community = m.community
                ORDER BY m.matches DESC, p.rank DESC, p.community""",
            (_ids_json(entity_ids), ns),
        ).fetchall()
        return [ScoredReport(_report(row), row[7]) for row in rows]

    async def child_reports(self, namespace: str, parents: Sequence[int]) -> list[ChildReport]:
        return await self._read(self._child_reports, namespace, parents)

    def _child_reports(
        self, conn: sqlite3.Connection, namespace: str, parents: Sequence[int]
    ) -> list[ChildReport]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not parents:
            return []
        rows = conn.execute(
            f"""SELECT c.parent, {_REPORT_COLUMNS}
                FROM json_each(?) AS j
                JOIN communities AS c ON c.ns = ? AND c.parent = j.value
                JOIN community_reports AS p ON p.ns = c.ns AND p.community = c.id
                ORDER BY p.rank DESC, p.community""",
            (json.dumps([int(p) for p in dict.fromkeys(parents)]), ns),
        ).fetchall()
        return [ChildReport(row[0], _report(row[1:])) for row in rows]

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

    async def get_text_units(self, namespace: str, ids: Sequence[str]) -> list[TextUnit]:
        return await self._read(self._get_text_units, namespace, ids)

    def _get_text_units(self, conn: sqlite3.Connection, namespace: str, ids: Sequence[str]) -> list[TextUnit]:
        ns = self._namespace_id(conn, namespace)
        if ns is None or not ids:
            return []
        rows = conn.execute(
            f"""SELECT {_TEXT_UNIT_COLUMNS} FROM json_each(?) AS j
                CROSS JOIN text_units AS t ON t.ns = ? AND t.id = j.value ORDER BY j.key""",
            (_ids_json(ids), ns),
        ).fetchall()
        return [_text_unit(row) for row in rows]

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
            (_ids_json(document_ids), ns),
        ).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}

    async def generation(self, namespace: str) -> int | None:
        return await self._read(self._generation, namespace)

    @staticmethod
    def _generation(conn: sqlite3.Connection, namespace: str) -> int | None:
        row = conn.execute("SELECT generation FROM namespaces WHERE name = ?", (namespace,)).fetchone()
        return row[0] if row else None

    async def stats(self, namespace: str, top: int = 50) -> StoreStats | None:
        return await self._read(self._stats, namespace, top)

    def _stats(self, conn: sqlite3.Connection, namespace: str, top: int) -> StoreStats | None:
        with self._snapshot(conn):
            row = conn.execute(
                """SELECT id, built_at, seconds, extractor, n_documents, n_text_units, n_entities,
                       n_relationships, n_communities, n_reports, usage FROM namespaces WHERE name = ?""",
                (namespace,),
            ).fetchone()
            if row is None:
                return None
            top_rows = conn.execute(
                "SELECT title, type, degree FROM entities WHERE ns = ? ORDER BY degree DESC, pk LIMIT ?",
                (row[0], max(top, 0)),
            ).fetchall()
        names = ("documents", "text_units", "entities", "relationships", "communities", "reports")
        return StoreStats(
            counts=dict(zip(names, row[4:10], strict=True)),
            top_entities=[{"title": t, "type": ty, "degree": d} for t, ty, d in top_rows],
            built_at=row[1],
            seconds=row[2],
            extractor=row[3],
            usage=json.loads(row[10]),
        )

    async def export(self, namespace: str) -> GraphIndex | None:
        return await self._read(self._export, namespace)

    def _export(self, conn: sqlite3.Connection, namespace: str) -> GraphIndex | None:
        import numpy as np

        with self._snapshot(conn):
            meta = conn.execute(
                "SELECT id, built_at, seconds, extractor, usage FROM namespaces WHERE name = ?", (namespace,)
            ).fetchone()
            if meta is None:
                return None
            ns = meta[0]

            def rows(sql: str) -> list[Any]:
                return conn.execute(sql, (ns,)).fetchall()

            documents = [
                Document(id=r[0], title=r[1], source=r[2], text=r[3], text_unit_ids=json.loads(r[4]))
                for r in rows(
                    "SELECT id, title, source, text, text_unit_ids FROM documents WHERE ns = ? ORDER BY pk"
                )
            ]
            text_units = [
                _text_unit(r)
                for r in rows(f"SELECT {_TEXT_UNIT_COLUMNS} FROM text_units AS t WHERE ns = ? ORDER BY pk")
            ]
            entities = []
            for r in rows(
                f"""SELECT {_ENTITY_COLUMNS}, v.vector FROM entities AS e
                    LEFT JOIN entity_vectors AS v ON v.entity_pk = e.pk WHERE e.ns = ? ORDER BY e.pk"""
            ):
                entity = _entity(r)
                if r[7] is not None:
                    entity.embedding = np.frombuffer(r[7], dtype=np.float32).tolist()
                entities.append(entity)
            relationships = [
                _relationship(r)
                for r in rows(
                    f"SELECT {_RELATIONSHIP_COLUMNS} FROM relationships AS r WHERE ns = ? ORDER BY pk"
                )
            ]
            communities = [
                Community(
                    id=r[0],
                    level=r[1],
                    parent=r[2],
                    title=r[3],
                    entity_ids=json.loads(r[4]),
                    relationship_ids=json.loads(r[5]),
                    text_unit_ids=json.loads(r[6]),
                )
                for r in rows(
                    """SELECT id, level, parent, title, entity_ids, relationship_ids, text_unit_ids
                       FROM communities WHERE ns = ? ORDER BY pk"""
                )
            ]
            reports = [
                _report(r)
                for r in rows(
                    f"SELECT {_REPORT_COLUMNS} FROM community_reports AS p WHERE ns = ? ORDER BY pk"
                )
            ]
        return GraphIndex(
            documents=documents,
            text_units=text_units,
            entities=entities,
            relationships=relationships,
            communities=communities,
            reports=reports,
            built_at=meta[1],
            seconds=meta[2],
            extractor=meta[3],
            usage=json.loads(meta[4]),
        )

    async def namespaces(self) -> list[str]:
        return await self._read(self._namespaces)

    @staticmethod
    def _namespaces(conn: sqlite3.Connection) -> list[str]:
        return [row[0] for row in conn.execute("SELECT name FROM namespaces ORDER BY name")]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._reader, self._read_conn.close)
        self._reader.shutdown(wait=False)
        await loop.run_in_executor(None, self._writer.shutdown, True)
        self._vectors.clear()
