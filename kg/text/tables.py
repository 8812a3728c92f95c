"""The pipe-separated tables a model reads (context, report inputs): one row per line, cells kept on it."""

from __future__ import annotations


def cell(text: str) -> str:
    """One table cell: no newlines or pipes, so a row stays one row."""
    return " ".join(text.replace("|", "/").split())
