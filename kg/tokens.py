"""Offline token counting and token-span splitting.

Budgets are in "tokens" as chat models count them. Real BPE vocabularies must be downloaded (tiktoken fetches
its encodings at run time), so we approximate cl100k-style tokenisation with a regex: short words are one
token, long words one token per 8 letters, digits in groups of three, each punctuation mark one token.
On English prose this lands within about 10% of cl100k, which is all a budget needs.
"""

from __future__ import annotations

import re

_PIECE = re.compile(r"[^\W\d_]{1,8}|\d{1,3}|[^\w\s]|_")


def count_tokens(text: str) -> int:
    return sum(1 for _ in _PIECE.finditer(text))


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character (start, end) of every token, in order."""
    return [m.span() for m in _PIECE.finditer(text)]


def truncate(text: str, max_tokens: int) -> str:
    """The longest prefix of `text` holding at most `max_tokens` tokens."""
    if max_tokens <= 0:
        return ""
    for i, m in enumerate(_PIECE.finditer(text)):
        if i == max_tokens:
            return text[: m.start()].rstrip()
    return text
