"""Graph stores: `open_store(url)` picks the backend from the URL scheme (see `kg.store.base.GraphStore`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kg.store.base import GraphStore, ScoredEntity, ScoredReport, StoreError, StoreStats

__all__ = ["GraphStore", "ScoredEntity", "ScoredReport", "StoreError", "StoreStats", "open_store"]

NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


def open_store(url: str, **kwargs: Any) -> GraphStore:
    """The store named by `url`: `sqlite:///relative/path.db` or `sqlite:////absolute/path.db`.

    Extra keyword arguments go to the backend's constructor. Raises StoreError for an unusable URL; the
    message never repeats the URL itself, which may hold credentials.
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise StoreError("the store URL has no scheme: use sqlite:///path/to/kg.db or neo4j://host:7687")
    if scheme == "sqlite":
        from kg.store.sqlite import SqliteStore

        if not rest.startswith("/") or rest in ("/", "/:memory:"):
            raise StoreError(
                "a sqlite store URL names a file: sqlite:///relative/kg.db or sqlite:////abs/kg.db"
            )
        path = Path(rest[1:]).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the directory of the SQLite store {path}: {exc.strerror}"
            ) from exc
        return SqliteStore(path, **kwargs)
    if scheme in NEO4J_SCHEMES:
        # The Neo4j backend (kg/store/neo4j.py) is wired here by a later change.
        raise StoreError(f"store URL scheme {scheme!r} is not supported yet: use sqlite:///path/to/kg.db")
    raise StoreError(
        f"unsupported store URL scheme {scheme!r}: use sqlite:///path/to/kg.db or neo4j://host:7687"
    )
