"""Logs people can search: JSON lines when not on a terminal, a request id on every line of a question,
and no secret ever written, whoever tries to log it."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# Fields a log call may pass in `extra=` that JSON lines carry as their own keys, for searching.
FIELDS = ("platform", "mode", "kind", "latency_ms", "adapter")


def new_request_id() -> str:
    rid = uuid.uuid4().hex[:12]
    request_id.set(rid)
    return rid


def secrets_of(settings: Any) -> list[str]:
    """Every secret the settings hold: SecretStr values, and passwords written inside URLs."""
    from pydantic import SecretStr

    found = []
    for value in dict(settings).values():
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, str) and "://" in value:
            password = urlsplit(value).password
            if password:
                found.append(password)
    return [s for s in found if s]


# Library log lines that mean nothing to a kgbot user, by the logger that writes them: each is about a feature
# kgbot does not use, or is a driver's bare line ahead of the one-line message kgbot gives for the same failure.
_NOISE = {
    # We give AsyncApp its Web API client; SLACK_BOT_TOKEN in the environment is that client's token anyway.
    "slack_bolt.AsyncApp": ("As you gave `client` as well",),
    # Voice is never used.
    "discord.client": ("PyNaCl is not installed", "davey is not installed"),
    # An unreachable Neo4j: the store raises StoreError, which kgbot reports in its own words.
    "neo4j.pool": ("Unable to retrieve routing information",),
}


class _DropNoise(logging.Filter):
    def __init__(self, starts: tuple[str, ...]) -> None:
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.starts)


def quiet_library_noise() -> None:
    """Drop the library log lines in _NOISE, wherever logs go (kgbot's handler, or Python's last resort)."""
    for name, starts in _NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise(starts))


class _Redact(logging.Filter):
    """Replaces every configured secret value in a record's final message with ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), ()
        if record.exc_info and not record.exc_text:  # tracebacks quote values too
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        record.request_id = request_id.get()
        return True


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", ""):
            entry["request_id"] = record.request_id  # type: ignore[attr-defined]
        for name in FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info or record.exc_text:
            entry["error"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False)


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", "")
        prefix = f"[{rid}] " if rid else ""
        return f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.name}: {prefix}{super().format(record)}"


def setup_logging(
    secrets: Iterable[str] = (), level: int = logging.INFO, json_lines: bool | None = None
) -> None:
    """Route every logger through one handler on stderr; JSON unless stderr is a terminal."""
    handler = logging.StreamHandler(sys.stderr)
    use_json = not sys.stderr.isatty() if json_lines is None else json_lines
    handler.setFormatter(_Json() if use_json else _Text("%(message)s"))
    handler.addFilter(_Redact(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_library_noise()
    for noisy in ("httpx", "httpx2", "httpcore", "openai", "neo4j", "discord.gateway", "slack_bolt.AsyncApp"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
