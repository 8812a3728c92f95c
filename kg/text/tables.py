"""The pipe-separated tables a model reads (context, report inputs): one row per line, cells kept on it."""

from __future__ import annotations

# What `cell` changes in ASCII text: a pipe, a run of spaces, any other whitespace (a space at either end too).
_ASCII_CHANGED = ("|", "  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def cell(text: str) -> str:
    """One table cell: no newlines or pipes, so a row stays one row. Most text is one already: checking is
    several times cheaper than splitting it into words and joining them (a fifth of a context build)."""
    if text.isascii() and text[:1] != " " and text[-1:] != " " and not any(c in text for c in _ASCII_CHANGED):
        return text
    return " ".join(text.replace("|", "/").split())
