"""Turning Neo4j driver errors into `StoreError`s whose message names the setting to fix, and the URL and
server-version checks behind them. Messages show the server as scheme://host:port, never credentials."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

from neo4j.exceptions import (
    AuthError,
    ConfigurationError,
    DatabaseUnavailable,
    DriverError,
    Forbidden,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from kg.store.base import StoreError

MIN_SERVER_VERSION = (5, 15)  # CREATE VECTOR INDEX; 5.26 LTS or a calendar version (2025.x) recommended
_VERSION = re.compile(r"(\d+)\.(\d+)")


def split_url(url: str) -> tuple[str, str | None, str | None]:
    """(URL for the driver without credentials, user name in the URL, password in the URL)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), username, password


def redact_url(url: str) -> str:
    """scheme://host:port of a store URL: safe to show (no credentials, no query)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url.partition("://")[0] + "://…"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def server_version(agent: str | None) -> tuple[int, int] | None:
    """(major, minor) from a server agent such as "Neo4j/5.26.0" or "Neo4j/2025.01.0"; None if unknown."""
    if not agent:
        return None
    match = _VERSION.search(agent)
    return (int(match.group(1)), int(match.group(2))) if match else None


def check_server_version(agent: str | None, server: str) -> None:
    version = server_version(agent)
    if version is not None and version < MIN_SERVER_VERSION:
        needed = ".".join(map(str, MIN_SERVER_VERSION))
        raise StoreError(
            f"the Neo4j server at {server} is {agent}; kgbot needs Neo4j {needed} or later: upgrade it, "
            "or point KG_STORE_URL at a newer server"
        )


def store_error(exc: BaseException, *, server: str, database: str, action: str) -> StoreError:
    """A `StoreError` for a driver error, whose message names the setting to fix."""
    if isinstance(exc, StoreError):
        return exc
    code = getattr(exc, "code", None) or ""
    detail = error_detail(exc)
    if isinstance(exc, AuthError) or code.startswith("Neo.ClientError.Security.Unauthorized"):
        return StoreError(
            f"Neo4j at {server} rejected the login: check NEO4J_USERNAME and NEO4J_PASSWORD ({detail})"
        )
    if isinstance(exc, Forbidden) or code.startswith("Neo.ClientError.Security."):
        return StoreError(
            f"the Neo4j user (NEO4J_USERNAME) may not {action} in database {database!r} at {server}: grant it "
            f"the needed role or use another user ({detail})"
        )
    if code == "Neo.ClientError.Database.DatabaseNotFound":
        return StoreError(
            f"Neo4j at {server} has no database {database!r}: set NEO4J_DATABASE to an existing database "
            "(Community Edition has only 'neo4j')"
        )
    if isinstance(exc, DatabaseUnavailable):
        return StoreError(
            f"the Neo4j database {database!r} at {server} is not available (starting, stopped or "
            f"recovering): check the server, or NEO4J_DATABASE ({detail})"
        )
    if isinstance(exc, TimeoutError) or code.startswith("Neo.ClientError.Transaction.TransactionTimedOut"):
        return StoreError(
            f"Neo4j at {server} did not finish in time while trying to {action}: the server may be overloaded"
        )
    if isinstance(exc, ServiceUnavailable | SessionExpired | OSError):
        return StoreError(
            f"cannot reach Neo4j at {server}: check that the server is running and that KG_STORE_URL points "
            f"at it ({detail})"
        )
    if isinstance(exc, ConfigurationError):
        return StoreError(f"KG_STORE_URL ({server}) is not usable for Neo4j: {detail}")
    if isinstance(exc, Neo4jError):
        return StoreError(f"Neo4j could not {action}: {code}: {detail}")
    if isinstance(exc, DriverError):
        return StoreError(f"the Neo4j driver could not {action}: {detail}")
    return StoreError(f"could not {action} in Neo4j: {detail}")


def error_detail(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(message).split())
