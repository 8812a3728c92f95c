"""Graph stores: `open_store(url)` picks the backend from the URL scheme (see `kg.store.base.GraphStore`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from kg.store.base import GraphStore, ScoredEntity, ScoredReport, StoreError, StoreStats

if TYPE_CHECKING:
    from kg.config import Settings

__all__ = [
    "GraphStore",
    "ScoredEntity",
    "ScoredReport",
    "StoreError",
    "StoreStats",
    "open_store",
    "store_from_settings",
]

NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


def open_store(
    url: str,
    *,
    neo4j_username: str = "neo4j",
    neo4j_password: str | SecretStr = "",
    neo4j_database: str = "neo4j",
    **kwargs: Any,
) -> GraphStore:
    """The store named by `url`: `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, or a Neo4j
    server: `neo4j://host:7687` (also `neo4j+s`, `neo4j+ssc`, `bolt`, `bolt+s`, `bolt+ssc`).

    The `neo4j_*` arguments (settings NEO4J_USERNAME, NEO4J_PASSWORD, NEO4J_DATABASE) are used by Neo4j only;
    a user name and password in the URL take precedence. Extra keyword arguments go to the backend's
    constructor. Opening a Neo4j store does not connect: the first call does. Raises StoreError for an
    unusable URL; the message never repeats the URL itself, which may hold credentials.
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise StoreError("the store URL has no scheme: use sqlite:///path/to/kg.db or neo4j://host:7687")
    if scheme == "sqlite":
        from kg.store.sqlite.store import SqliteStore

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
        from kg.store.neo4j.store import Neo4jStore

        if not rest.split("/", 1)[0].rpartition("@")[2]:
            raise StoreError(f"a {scheme} store URL names a server: {scheme}://host:7687")
        password = (
            neo4j_password.get_secret_value() if isinstance(neo4j_password, SecretStr) else neo4j_password
        )
        return Neo4jStore(url, username=neo4j_username, password=password, database=neo4j_database, **kwargs)
    raise StoreError(
        f"unsupported store URL scheme {scheme!r}: use sqlite:///path/to/kg.db or neo4j://host:7687"
    )


def store_from_settings(settings: Settings) -> GraphStore:
    """The store the settings name (KG_STORE_URL and, for Neo4j, its credentials)."""
    return open_store(
        settings.store_url,
        neo4j_username=settings.neo4j_username,
        neo4j_password=settings.neo4j_password,
        neo4j_database=settings.neo4j_database,
    )
