"""A build as rows of the SQLite store's tables, and rows back as records: what a publish writes (inside the
publish transaction) and what an export reads (inside one snapshot)."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from kg.model import Community, CommunityReport, Document, Entity, Finding, GraphIndex, Relationship, TextUnit
from kg.store.base import StoreStats
from kg.store.chunk_ranking import CHUNK_COUNT, HEAD_POSTINGS, TOTAL_TOKENS, chunk_postings
from kg.store.sqlite.schema import (
    ENTITY_COLUMNS,
    FTS_TABLES,
    RELATIONSHIP_COLUMNS,
    REPORT_COLUMNS,
    ROW_TABLES,
    TEXT_UNIT_COLUMNS,
    TEXT_UNIT_POSTINGS,
    TEXT_UNIT_TERMS,
    TOKENIZER,
    fts_table,
    snapshot,
)
from kg.store.sqlite.vectors import Vectors, vector_rows
from kg.text.names import entity_keys
from kg.text.tokens import count_tokens
from kg.text.words import words_of

if TYPE_CHECKING:
    import numpy as np


def ids_json(ids: Iterable[str]) -> str:
    return json.dumps(list(dict.fromkeys(ids)))


def entity_from(row: Sequence[Any]) -> Entity:
    return Entity(
        id=row[0],
        short_id=row[1],
        title=row[2],
        type=row[3],
        description=row[4],
        text_unit_ids=json.loads(row[5]),
        degree=row[6],
    )


def text_unit_from(row: Sequence[Any]) -> TextUnit:
    return TextUnit(*row[:7])


def relationship_from(row: Sequence[Any]) -> Relationship:
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


def report_from(row: Sequence[Any]) -> CommunityReport:
    return CommunityReport(
        community=row[0],
        level=row[1],
        title=row[2],
        summary=row[3],
        full_content=row[4],
        rank=row[5],
        findings=[Finding(**f) for f in json.loads(row[6])],
    )


def replace_build(conn: sqlite3.Connection, namespace: str, index: GraphIndex) -> dict[str, Vectors]:
    """Write `index` as the namespace's rows (inside the caller's transaction); the build's vectors by kind
    (kg.store.sqlite.vectors.VECTOR_TABLES), for the store to search without reading them back."""
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
    _delete_rows(conn, ns)
    _insert_documents(conn, ns, index.documents)
    unit_pks, unit_vectors = _insert_text_units(conn, ns, index.text_units)
    pks, vectors = _insert_entities(conn, ns, index.entities)
    _insert_relationships(conn, ns, index.relationships)
    _insert_communities(conn, ns, index.communities)
    _insert_reports(conn, ns, index.reports)
    return {
        "entities": Vectors.normalised(generation, pks, vectors),
        "text_units": Vectors.normalised(generation, unit_pks, unit_vectors),
    }


def _delete_rows(conn: sqlite3.Connection, ns: int) -> None:
    conn.execute(TEXT_UNIT_TERMS)
    conn.execute(TEXT_UNIT_POSTINGS)
    for kind, (content, columns, rank) in FTS_TABLES.items():
        table = fts_table(kind, ns)
        # The rank function is configured once, when the table is made: setting it again on a republish
        # makes the next full-text query of every other open connection fail ("SQL logic error").
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone() is None:
            conn.execute(
                f"""CREATE VIRTUAL TABLE {table} USING fts5({", ".join(columns)},
                    content='{content}', content_rowid='pk', tokenize='{TOKENIZER}')"""
            )
            conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('rank', '{rank}')")
        conn.execute(f"INSERT INTO {table} ({table}) VALUES ('delete-all')")
    for table in ROW_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE ns = ?", (ns,))


def _index_text(conn: sqlite3.Connection, kind: str, ns: int) -> None:
    """Fill the namespace's full-text index from its freshly inserted rows, merged into one segment."""
    content, columns, _ = FTS_TABLES[kind]
    table = fts_table(kind, ns)
    names = ", ".join(columns)
    conn.execute(
        f"INSERT INTO {table} (rowid, {names}) SELECT pk, {names} FROM {content} WHERE ns = ?", (ns,)
    )
    conn.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")


def _insert_documents(conn: sqlite3.Connection, ns: int, documents: list[Document]) -> None:
    conn.executemany(
        "INSERT INTO documents (ns, id, title, source, text, text_unit_ids) VALUES (?, ?, ?, ?, ?, ?)",
        ((ns, d.id, d.title, d.source, d.text, json.dumps(list(d.text_unit_ids))) for d in documents),
    )


def _insert_text_units(
    conn: sqlite3.Connection, ns: int, units: list[TextUnit]
) -> tuple[list[int], list[np.ndarray]]:
    """Insert chunks, their full-text index, postings and vectors; returns (pk, vector) lists."""
    first_pk = conn.execute("SELECT coalesce(max(pk), 0) + 1 FROM text_units").fetchone()[0]
    conn.executemany(
        """INSERT INTO text_units (pk, ns, id, short_id, document_id, text, n_tokens, start_char, end_char)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            (
                first_pk + i,
                ns,
                t.id,
                int(t.short_id),
                t.document_id,
                t.text,
                count_tokens(t.text),
                int(t.start),
                int(t.end),
            )
            for i, t in enumerate(units)
        ),
    )
    rows, pks, vectors = vector_rows("text unit", first_pk, ((t.id, t.embedding) for t in units))
    conn.executemany(
        "INSERT INTO text_unit_vectors (text_unit_pk, ns, vector) VALUES (?, ?, ?)",
        ((pk, ns, blob) for pk, blob in rows),
    )
    _index_text(conn, "text_units_fts", ns)
    # Document frequencies and postings as kg.store.chunk_ranking counts them, as the Neo4j store records them.
    postings = chunk_postings(units)
    total = sum(int(t.n_tokens) for t in units)
    conn.executemany(
        "INSERT INTO text_unit_terms (ns, term, df) VALUES (?, ?, ?)",
        [(ns, term, len(p)) for term, p in postings.items()]
        + [(ns, CHUNK_COUNT, len(units)), (ns, TOTAL_TOKENS, total)],
    )
    lists = {term: [[x.short_id, x.id, x.tf, x.length] for x in p] for term, p in postings.items()}
    conn.executemany(
        "INSERT INTO text_unit_postings (ns, term, postings, head) VALUES (?, ?, ?, ?)",
        [
            (ns, term, _compact(p), _compact(p[:HEAD_POSTINGS]) if len(p) > HEAD_POSTINGS else "")
            for term, p in lists.items()
        ]
        + [(ns, CHUNK_COUNT, "[]", "")],
    )
    return pks, vectors


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _insert_entities(
    conn: sqlite3.Connection, ns: int, entities: list[Entity]
) -> tuple[list[int], list[np.ndarray]]:
    """Insert entities, their full-text index, term frequencies and vectors; returns (pk, vector) lists."""
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
    _index_text(conn, "entities_fts", ns)
    frequencies: Counter[str] = Counter()
    for e in entities:
        frequencies.update(set(words_of(f"{e.title} {e.description}")))
    conn.executemany(
        "INSERT INTO entity_terms (ns, term, df) VALUES (?, ?, ?)",
        ((ns, term, df) for term, df in frequencies.items()),
    )
    rows, pks, vectors = vector_rows("entity", first_pk, ((e.title, e.embedding) for e in entities))
    conn.executemany(
        "INSERT INTO entity_vectors (entity_pk, ns, vector) VALUES (?, ?, ?)",
        ((pk, ns, blob) for pk, blob in rows),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO entity_keys (ns, key, entity_pk) VALUES (?, ?, ?)",
        ((ns, key, first_pk + i) for i, e in enumerate(entities) for key in entity_keys(e.title)),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO text_unit_entities (ns, text_unit_id, entity_pk) VALUES (?, ?, ?)",
        ((ns, unit_id, first_pk + i) for i, e in enumerate(entities) for unit_id in e.text_unit_ids),
    )
    return pks, vectors


def _insert_relationships(conn: sqlite3.Connection, ns: int, relationships: list[Relationship]) -> None:
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


def _insert_communities(conn: sqlite3.Connection, ns: int, communities: list[Community]) -> None:
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


def _insert_reports(conn: sqlite3.Connection, ns: int, reports: list[CommunityReport]) -> None:
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


def _with_embedding(record: Any, blob: bytes | None) -> Any:
    """`record` (an entity or a text unit) with the embedding of its float32 `blob`, when it has one."""
    import numpy as np

    if blob is not None:
        record.embedding = np.frombuffer(blob, dtype=np.float32).tolist()
    return record


def export_build(conn: sqlite3.Connection, namespace: str) -> GraphIndex | None:
    with snapshot(conn):
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
            _with_embedding(text_unit_from(r), r[7])
            for r in rows(
                f"""SELECT {TEXT_UNIT_COLUMNS}, v.vector FROM text_units AS t
                    LEFT JOIN text_unit_vectors AS v ON v.text_unit_pk = t.pk WHERE t.ns = ? ORDER BY t.pk"""
            )
        ]
        entities = [
            _with_embedding(entity_from(r), r[7])
            for r in rows(
                f"""SELECT {ENTITY_COLUMNS}, v.vector FROM entities AS e
                    LEFT JOIN entity_vectors AS v ON v.entity_pk = e.pk WHERE e.ns = ? ORDER BY e.pk"""
            )
        ]
        relationships = [
            relationship_from(r)
            for r in rows(f"SELECT {RELATIONSHIP_COLUMNS} FROM relationships AS r WHERE ns = ? ORDER BY pk")
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
            report_from(r)
            for r in rows(f"SELECT {REPORT_COLUMNS} FROM community_reports AS p WHERE ns = ? ORDER BY pk")
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


def build_stats(conn: sqlite3.Connection, namespace: str, top: int) -> StoreStats | None:
    """What `kgbot stats` shows of the published build of `namespace`, read in one snapshot."""
    with snapshot(conn):
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
