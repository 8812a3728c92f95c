"""Votes on answers in the SQLite store: one row per person and answer, kept across builds."""

from __future__ import annotations

import json
import sqlite3

from kg.model import Feedback
from kg.store.feedback import now

_KEY = "namespace = ? AND platform = ? AND workspace = ? AND answer_id = ? AND user = ?"
_COLUMNS = (
    "namespace, platform, workspace, answer_id, user, vote, reason, question, answer, cited, generation, "
    "search, mode, model, created_at, updated_at"
)


def _key(f: Feedback) -> tuple[str, str, str, str, str]:
    return (f.namespace, f.platform, f.workspace, f.answer_id, f.user)


def record(conn: sqlite3.Connection, f: Feedback) -> bool:
    """Insert or change one vote in one transaction; True when it is new or a different vote."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(f"SELECT vote FROM feedback WHERE {_KEY}", _key(f)).fetchone()
        if row is not None and row[0] == f.vote:
            conn.execute("COMMIT")
            return False
        stamp = now()
        if row is None:
            conn.execute(
                f"INSERT INTO feedback ({_COLUMNS}) VALUES ({', '.join('?' * 16)})",
                (
                    *_key(f),
                    f.vote,
                    f.reason,
                    f.question,
                    f.answer,
                    json.dumps(f.cited),
                    f.generation,
                    f.search,
                    f.mode,
                    f.model,
                    stamp,
                    stamp,
                ),
            )
        else:
            conn.execute(
                f"UPDATE feedback SET vote = ?, reason = ?, updated_at = ? WHERE {_KEY}",
                (f.vote, f.reason, stamp, *_key(f)),
            )
        conn.execute("COMMIT")
        return True
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def set_reason(conn: sqlite3.Connection, f: Feedback) -> bool:
    """Attach a reason to an existing vote; False when there is none."""
    cursor = conn.execute(
        f"UPDATE feedback SET reason = ?, updated_at = ? WHERE {_KEY}", (f.reason, now(), *_key(f))
    )
    return cursor.rowcount > 0


def of_namespace(conn: sqlite3.Connection, namespace: str) -> list[Feedback]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM feedback WHERE namespace = ? ORDER BY created_at, answer_id, user",
        (namespace,),
    ).fetchall()
    return [
        Feedback(
            namespace=r[0],
            platform=r[1],
            workspace=r[2],
            answer_id=r[3],
            user=r[4],
            vote=r[5],
            reason=r[6],
            question=r[7],
            answer=r[8],
            cited=json.loads(r[9]),
            generation=r[10],
            search=r[11],
            mode=r[12],
            model=r[13],
            created_at=r[14],
            updated_at=r[15],
        )
        for r in rows
    ]
