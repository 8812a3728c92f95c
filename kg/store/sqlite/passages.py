"""Passage reads of the SQLite store: by id, by the pks a vector search found, and for local search's second
read, two-hop passages (`GraphRead.hop_limit`), scored as kg.store.hops defines and as the Neo4j store's
GRAPH_READ scores them, and the passages next to the best ones (`GraphRead.neighbour_short_ids`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from kg.model import TextUnit
from kg.store.base import GraphRead
from kg.store.hops import MAX_HOP_ENTITY_PASSAGES, MAX_HOP_SEED_DEGREE, SCORE_DIGITS
from kg.store.sqlite.rows import ids_json, text_unit_from
from kg.store.sqlite.schema import TEXT_UNIT_COLUMNS

# The neighbours are the other ends of the seeds' relationships (a relationship between two seeds is not a hop; a
# seed of too high a degree is no seed); each keeps its distinct passages when its list of them is short enough,
# and a passage sums links / passages over them (kg.store.hops).
_TWO_HOP = f"""
WITH seeds AS MATERIALIZED (
    SELECT DISTINCT e.title FROM json_each(?1) AS j CROSS JOIN entities AS e ON e.ns = ?2 AND e.title = j.value
    WHERE +e.degree <= ?7),  -- unary +: found by title, not by scanning the degree index
ends AS (
    SELECT r.target AS other, r.source AS seed FROM seeds CROSS JOIN relationships AS r
        ON r.ns = ?2 AND r.source = seeds.title
    UNION
    SELECT r.source, r.target FROM seeds CROSS JOIN relationships AS r ON r.ns = ?2 AND r.target = seeds.title),
neighbours AS (
    SELECT other, count(DISTINCT seed) AS links FROM ends
    WHERE other NOT IN (SELECT value FROM json_each(?1)) GROUP BY other),
mentions AS (
    SELECT DISTINCT e.pk, n.links, j.value AS unit FROM neighbours AS n
        CROSS JOIN entities AS e ON e.ns = ?2 AND e.title = n.other, json_each(e.text_unit_ids) AS j
    WHERE json_array_length(e.text_unit_ids) <= ?5),
shares AS (SELECT unit, CAST(links AS REAL) / count(*) OVER (PARTITION BY pk) AS share FROM mentions),
scores AS (
    SELECT unit, round(sum(share), ?6) AS score FROM shares
    WHERE unit NOT IN (SELECT value FROM json_each(?3)) GROUP BY unit),
best AS MATERIALIZED (  -- the texts of the best only
    SELECT x.unit, x.score, t.short_id FROM scores AS x CROSS JOIN text_units AS t ON t.ns = ?2 AND t.id = x.unit
    ORDER BY x.score DESC, t.short_id LIMIT ?4)
SELECT {TEXT_UNIT_COLUMNS}, b.score FROM best AS b CROSS JOIN text_units AS t ON t.ns = ?2 AND t.id = b.unit
ORDER BY b.score DESC, b.short_id
"""


def two_hop_passages(
    conn: sqlite3.Connection, ns: int, titles: Sequence[str], exclude: Sequence[str], limit: int
) -> list[tuple[TextUnit, float]]:
    if not titles or limit <= 0:
        return []
    rows = conn.execute(
        _TWO_HOP,
        (
            ids_json(titles),
            ns,
            ids_json(exclude),
            limit,
            MAX_HOP_ENTITY_PASSAGES,
            SCORE_DIGITS,
            MAX_HOP_SEED_DEGREE,
        ),
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


def passages_by_pk(
    conn: sqlite3.Connection, pks: Sequence[int], scores: Sequence[float]
) -> list[tuple[TextUnit, float]]:
    """The passages of these pks (a vector search's, best first) with their scores, in the order given."""
    if not pks:
        return []
    rows = conn.execute(
        f"""SELECT {TEXT_UNIT_COLUMNS} FROM json_each(?) AS j
            CROSS JOIN text_units AS t ON t.pk = j.value ORDER BY j.key""",
        (json.dumps([int(pk) for pk in pks]),),
    ).fetchall()
    return [(text_unit_from(row), float(s)) for row, s in zip(rows, scores, strict=True)]


def text_units_by_short_id(conn: sqlite3.Connection, ns: int, short_ids: Sequence[int]) -> list[TextUnit]:
    """The passages of these short ids, in the order asked; the ids no passage has are skipped (neighbours are
    asked for without knowing where the corpus ends)."""
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
