"""What both stores share about votes on answers: the time they are stamped with."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    """The time a vote or its reason is recorded: ISO 8601, UTC, to the second (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="seconds")
