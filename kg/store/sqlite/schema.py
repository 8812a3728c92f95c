"""The SQLite store's layout: its tables, per-namespace full-text indexes and column lists, and how a file
becomes (or is upgraded to) a kgbot store. Every statement the store sends is parameterised; table names are
built only from constants and integer namespace ids."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kg.store.base import StoreError
from kg.text.tokens import count_tokens

APPLICATION_ID = 0x4B474254  # "KGBT": marks a file as a kgbot store
SCHEMA_VERSION = 8  # 2: namespaces.usage (the model cost of the build); 3: entity_keys, text_unit_entities;
# 4: feedback; 5: text_unit_postings; 6: text_units_by_short_id; 7: text_units.n_tokens is count_tokens(text);
# 8: text_unit_vectors
TOKENIZER = "unicode61 remove_diacritics 2"

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
-- Local search reads the passages next to its best ones in corpus order (kg.search.local, neighbour passages).
CREATE INDEX IF NOT EXISTS text_units_by_short_id ON text_units (ns, short_id);
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
-- The postings of each word of the chunks, JSON [[short_id, id, tf, n_tokens], ...] by short id, what chunk
-- searches rank (kg.store.chunk_ranking), and their first HEAD_POSTINGS apart (a search of common words reads
-- only those); the empty term's lists are empty and say they were recorded.
CREATE TABLE IF NOT EXISTS text_unit_postings (
    ns INTEGER NOT NULL, term TEXT NOT NULL, postings TEXT NOT NULL, head TEXT NOT NULL,
    PRIMARY KEY (ns, term)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entity_vectors (
    entity_pk INTEGER PRIMARY KEY, ns INTEGER NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entity_vectors_by_ns ON entity_vectors (ns);
-- The chunks' embeddings (passage vector search), as the entities' are kept.
CREATE TABLE IF NOT EXISTS text_unit_vectors (
    text_unit_pk INTEGER PRIMARY KEY, ns INTEGER NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS text_unit_vectors_by_ns ON text_unit_vectors (ns);
-- The link keys of each entity (kg.text.names.entity_keys): question entity linking is one indexed lookup.
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
-- Votes on answers, by namespace name: they outlive every build (a republish never touches them).
CREATE TABLE IF NOT EXISTS feedback (
    namespace TEXT NOT NULL, platform TEXT NOT NULL, workspace TEXT NOT NULL, answer_id TEXT NOT NULL,
    user TEXT NOT NULL, vote TEXT NOT NULL, reason TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    cited TEXT NOT NULL, generation INTEGER, search TEXT NOT NULL, mode TEXT NOT NULL, model TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (namespace, platform, workspace, answer_id, user)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feedback_by_time ON feedback (namespace, created_at)
"""

# Full-text indexes are one pair of FTS5 tables per namespace (named by its integer id, never by user text):
# BM25 statistics stay within the namespace, a search reads only its postings, and a republish clears the
# index with 'delete-all' instead of replaying every old row. Content comes from the shared row tables.
FTS_TABLES = {
    "entities_fts": ("entities", ("title", "description"), "bm25(10.0, 1.0)"),  # a title hit weighs 10x
    "text_units_fts": ("text_units", ("text",), "bm25()"),
}


def fts_table(kind: str, ns: int) -> str:
    """The FTS5 table of one namespace: `kind` is "entities_fts" or "text_units_fts"."""
    assert kind in FTS_TABLES
    return f"{kind}_{int(ns)}"


TEXT_UNIT_TERMS = next(s for s in SCHEMA.split(";\n") if "EXISTS text_unit_terms" in s)
TEXT_UNIT_POSTINGS = next(s for s in SCHEMA.split(";\n") if "EXISTS text_unit_postings" in s)
SHORT_ID_INDEX = next(s for s in SCHEMA.split(";\n") if "EXISTS text_units_by_short_id" in s)
TEXT_UNIT_VECTORS = [s for s in SCHEMA.split(";\n") if "text_unit_vectors" in s]
FEEDBACK_TABLES = [s for s in SCHEMA.split(";\n") if "EXISTS feedback" in s]
GRAPH_TABLES = [
    s for s in SCHEMA.split(";\n") if "EXISTS entity_keys" in s or "EXISTS text_unit_entities" in s
]

# Tables holding a namespace's rows.
ROW_TABLES = (
    "documents",
    "text_units",
    "entities",
    "entity_terms",
    "text_unit_terms",
    "text_unit_postings",
    "entity_vectors",
    "text_unit_vectors",
    "entity_keys",
    "text_unit_entities",
    "relationships",
    "communities",
    "community_entities",
    "community_reports",
)

ENTITY_COLUMNS = "e.id, e.short_id, e.title, e.type, e.description, e.text_unit_ids, e.degree"
TEXT_UNIT_COLUMNS = "t.id, t.short_id, t.document_id, t.text, t.n_tokens, t.start_char, t.end_char"
RELATIONSHIP_COLUMNS = (
    "r.id, r.short_id, r.source, r.target, r.description, r.weight, r.text_unit_ids, r.rank"
)
REPORT_COLUMNS = "p.community, p.level, p.title, p.summary, p.full_content, p.rank, p.findings"


def create_or_migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Make `conn`'s file a kgbot store, or bring an older one up to SCHEMA_VERSION; raise StoreError for a
    file that is something else or was written by a newer kgbot. Closes `conn`."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id == 0:
            has_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if has_tables:
                raise StoreError(f"{path} is a SQLite database but not a kgbot store")
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
            raise StoreError(f"{path} is a SQLite database but not a kgbot store")
        elif version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer kgbot (schema {version}, this one reads {SCHEMA_VERSION})"
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
                    for statement in GRAPH_TABLES:
                        conn.execute(statement)
                    conn.execute("PRAGMA user_version = 3")
                conn.execute("COMMIT")
            if version < 4:
                conn.execute("BEGIN IMMEDIATE")
                if conn.execute("PRAGMA user_version").fetchone()[0] < 4:
                    for statement in FEEDBACK_TABLES:
                        conn.execute(statement)
                    conn.execute("PRAGMA user_version = 4")
                conn.execute("COMMIT")
            if version < 5:  # namespaces published before rank chunks as before until republished
                conn.execute("BEGIN IMMEDIATE")
                if conn.execute("PRAGMA user_version").fetchone()[0] < 5:
                    conn.execute(TEXT_UNIT_POSTINGS)
                    conn.execute("PRAGMA user_version = 5")
                conn.execute("COMMIT")
            if version < 6:
                conn.execute("BEGIN IMMEDIATE")
                if conn.execute("PRAGMA user_version").fetchone()[0] < 6:
                    conn.execute(SHORT_ID_INDEX)
                    conn.execute("PRAGMA user_version = 6")
                conn.execute("COMMIT")
            if version < 7:  # an imported build kept the token counts of the tokenizer that made it
                conn.execute("BEGIN IMMEDIATE")
                if conn.execute("PRAGMA user_version").fetchone()[0] < 7:
                    conn.create_function("kg_count_tokens", 1, count_tokens, deterministic=True)
                    conn.execute("UPDATE text_units SET n_tokens = kg_count_tokens(text)")
                    conn.execute("PRAGMA user_version = 7")
                conn.execute("COMMIT")
            if version < 8:  # namespaces published before have no chunk vectors until republished
                conn.execute("BEGIN IMMEDIATE")
                if conn.execute("PRAGMA user_version").fetchone()[0] < 8:
                    for statement in TEXT_UNIT_VECTORS:
                        conn.execute(statement)
                    conn.execute("PRAGMA user_version = 8")
                conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable kgbot store: {exc}") from exc
    finally:
        conn.close()


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """Several statements that must see the same committed build."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
