"""Per-chunk extraction results (and later summaries and reports), kept in the index's home.

Keyed by (what produced it, hash of the input): a reindex of unchanged text costs no extraction, and a
changed prompt, model or extractor version misses the cache by construction.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from kg.index.extract.base import ChunkExtraction, ExtractedEntity, ExtractedRelationship


def input_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Cache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS entries (kind TEXT, key TEXT, value TEXT, PRIMARY KEY (kind, key))"
            )

    def get_many(self, kind: str, keys: Sequence[str]) -> dict[str, object]:
        found: dict[str, object] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = list(keys[start : start + 500])
                marks = ",".join("?" * len(batch))
                rows = self._conn.execute(
                    f"SELECT key, value FROM entries WHERE kind = ? AND key IN ({marks})", [kind, *batch]
                )
                found.update((k, json.loads(v)) for k, v in rows)
        return found

    def put_many(self, kind: str, items: Iterable[tuple[str, object]]) -> None:
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO entries (kind, key, value) VALUES (?, ?, ?)",
                [(kind, k, json.dumps(v)) for k, v in items],
            )

    def close(self) -> None:
        self._conn.close()


def extraction_to_json(ext: ChunkExtraction) -> dict[str, object]:
    return asdict(ext)


def extraction_from_json(data: dict) -> ChunkExtraction:
    return ChunkExtraction(
        entities=[ExtractedEntity(**e) for e in data.get("entities", [])],
        relationships=[ExtractedRelationship(**r) for r in data.get("relationships", [])],
    )
