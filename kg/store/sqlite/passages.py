"""Passage reads of the SQLite store: by id, and for local search's second read, two-hop passages
(`GraphRead.hop_limit`), scored as kg.store.hops defines and as the Neo4j store's GRAPH_READ scores them, and
the passages next to the best ones (`GraphRead.neighbour_short_ids`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from kg.model import TextUnit
from kg.store.base import GraphRead
from kg.store.hops import MAX_HOP_ENTITY_PASSAGES, SCORE_DIGITS
from kg.store.sqlite.rows import ids_json, text_unit_from
from kg.store.sqlite.schema import TEXT_UNIT_COLUMNS

# The neighbours are the other ends of the seeds' relationships (a relationship between two seeds is not a hop);
# each keeps its distinct passages when it has few enough, and a passage sums links / passages over them.
_TWO_HOP = f"""
WITH seeds AS (SELECT DISTINCT value AS title FROM json_each(?1)),
ends AS (
    SELECT r.target AS other, r.source AS seed FROM seeds CROSS JOIN relationships AS r
        ON r.ns = ?2 AND r.source = seeds.title
    UNION
    SELECT r.source, r.target FROM seeds CROSS JOIN relationships AS r ON r.ns = ?2 AND r.target = seeds.title),
neighbours AS (
    SELECT other, count(DISTINCT seed) AS links FROM ends
    WHERE other NOT IN (SELECT title FROM seeds) GROUP BY other),
mentions AS (
    SELECT DISTINCT e.pk, n.links, j.value AS unit FROM neighbours AS n
        CROSS JOIN entities AS e ON e.ns = ?2 AND e.title = n.other, json_each(e.text_unit_ids) AS j),
sized AS (SELECT pk, count(*) AS passages FROM mentions GROUP BY pk HAVING count(*) <= ?5),
scores AS (
    SELECT m.unit, round(sum(CAST(m.links AS REAL) / s.passages), ?6) AS score
    FROM mentions AS m JOIN sized AS s ON s.pk = m.pk
    WHERE m.unit NOT IN (SELECT value FROM json_each(?3)) GROUP BY m.unit)
SELECT {TEXT_UNIT_COLUMNS}, x.score FROM scores AS x CROSS JOIN text_units AS t ON t.ns = ?2 AND t.id = x.unit
ORDER BY x.score DESC, t.short_id LIMIT ?4
"""


def two_hop_passages(
    conn: sqlite3.Connection, ns: int, titles: Sequence[str], exclude: Sequence[str], limit: int
) -> list[tuple[TextUnit, float]]:
    if not titles or limit <= 0:
        return []
    rows = conn.execute(
        _TWO_HOP,
        (ids_json(titles), ns, ids_json(exclude), limit, MAX_HOP_ENTITY_PASSAGES, SCORE_DIGITS),
    ).fetchall()
    return [(text_unit_from(row), float(row[7])) for row in rows]


def text_units_by_id(conn: sqlite3.Connection, ns: int | None, ids: Sequence[str]) -> list[TextUnit]:
    """The passages of these ids, in the order asked."""
    if ns is None or not ids:
        return []
    rows = conn.execute(
        f"""SELECT {TEXT_UNIT_COLUMNS} FROM json_each(?) AS j
            CROSS JOIN text_units AS t ON t.ns = ? AND t.id = j.value ORDER BY j.key""",
        (ids_json(ids), ns),
    ).fetchall()
    return [text_unit_from(row) for row in rows]


def text_units_by_short_id(conn: sqlite3.Connection, ns: int, short_ids: Sequence[int]) -> list[TextUnit]:
    """The passages of these short ids that exist, in the order asked."""
    if not short_ids:
        return []
    rows = conn.execute(
        f"""SELECT {TEXT_UNIT_COLUMNS} FROM json_each(?) AS j
            CROSS JOIN text_units AS t ON t.ns = ? AND t.short_id = j.value ORDER BY j.key""",
        (json.dumps([int(x) for x in dict.fromkeys(short_ids)]), ns),
    ).fetchall()
    return [text_unit_from(row) for row in rows]


def graph_passages(
    conn: sqlite3.Connection, ns: int | None, read: GraphRead
) -> tuple[list[tuple[TextUnit, float]], list[TextUnit]]:
    """The two-hop passages and the neighbour passages `read` asks for."""
    if ns is None:
        return [], []
    return (
        two_hop_passages(conn, ns, read.hop_titles, read.hop_exclude, read.hop_limit),
        text_units_by_short_id(conn, ns, read.neighbour_short_ids),
    )
