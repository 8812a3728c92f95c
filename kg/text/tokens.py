"""Offline token counting and token-span splitting.

Budgets are in "tokens" as chat models count them. Real BPE vocabularies must be downloaded (tiktoken fetches
its encodings at run time), so we approximate cl100k-style tokenisation with a regex: short words are one
token, long words one token per 8 letters, digits in groups of three, each punctuation mark one token.
On English prose this lands within about 10% of cl100k, which is all a budget needs.

A "word" here is a run of non-space characters. Real folders hold words no reader wrote (a base64 image inlined
in Markdown, a minified asset, a hex dump); extraction works a word at a time and its cost grows with the square
of a word's length, so words longer than MAX_WORD_CHARS are cut to that length for indexing (`cut_long_words`)
while the text shown as a source keeps them whole.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

MAX_WORD_CHARS = 200  # longer than nearly every URL, path or hash a person writes; see the module docstring

_PIECE = re.compile(r"[^\W\d_]{1,8}|\d{1,3}|[^\w\s]|_")
# A word over the limit, found only where a word starts: each run of non-space characters is scanned once.
_LONG_WORD = re.compile(rf"(?<!\S)\S{{{MAX_WORD_CHARS + 1},}}")
_ASCII_PUNCTUATION = string.punctuation  # each of these is one token, "_" included
# ASCII text is counted without the regex, from runs of letters, runs of digits and the other visible characters.
_ASCII_LETTERS = bytes(ord("a") if chr(i).isalpha() else ord(" ") for i in range(128)) + b" " * 128
_ASCII_DIGITS = bytes(ord("0") if chr(i).isdigit() else ord(" ") for i in range(128)) + b" " * 128
_ASCII_MARKS = bytes(i for i in range(128) if not (chr(i).isalnum() or chr(i).isspace()))


def count_tokens(text: str) -> int:
    """The number of `_PIECE` matches in `text`, without matching them one by one (no token spans whitespace):
    ASCII text from its runs of letters and digits, other text a word at a time."""
    if text.isascii():
        data = text.encode("ascii")
        letters = data.translate(_ASCII_LETTERS).split()
        digits = data.translate(_ASCII_DIGITS).split()
        marks = len(data) - len(data.translate(None, _ASCII_MARKS))
        return (
            marks
            + len(letters)
            + sum([(len(run) - 1) >> 3 for run in letters if len(run) > 8])
            + len(digits)
            + sum([(len(run) - 1) // 3 for run in digits if len(run) > 3])
        )
    words = text.split()
    other = [word for word in words if not (len(word) <= 8 and word.isalpha())]
    return len(words) - len(other) + sum(map(_word_tokens, other))


def _word_tokens(word: str) -> int:
    core = word.strip(_ASCII_PUNCTUATION)
    if core.isalpha():
        return (len(core) + 7) // 8 + len(word) - len(core)
    if core.isdigit() and core.isascii():
        return (len(core) + 2) // 3 + len(word) - len(core)
    if not core:
        return len(word)
    return sum(1 for _ in _PIECE.finditer(word))


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character (start, end) of every token, in order."""
    return [m.span() for m in _PIECE.finditer(text)]


def iter_token_spans(text: str) -> Iterator[tuple[int, int]]:
    """`token_spans` one at a time, for texts whose list of spans would not fit in memory comfortably."""
    return (m.span() for m in _PIECE.finditer(text))


def truncate(text: str, max_tokens: int) -> str:
    """The longest prefix of `text` holding at most `max_tokens` tokens."""
    if max_tokens <= 0:
        return ""
    if len(text) <= max_tokens:  # a token is at least one character: it all fits
        return text
    # Counting is far cheaper than matching piece by piece, so a text of up to 16 characters per token allowed is
    # counted first and returned whole when it fits; a longer one is not counted whole only to keep its start.
    if len(text) <= 16 * max_tokens and count_tokens(text) <= max_tokens:
        return text
    for i, m in enumerate(_PIECE.finditer(text)):
        if i == max_tokens:
            return text[: m.start()].rstrip()
    return text


def long_words(text: str) -> tuple[int, int]:
    """(how many words of `text` are longer than MAX_WORD_CHARS, the length of the longest); (0, 0) if none."""
    count = longest = 0
    for m in _LONG_WORD.finditer(text):
        count += 1
        longest = max(longest, m.end() - m.start())
    return count, longest


def cut_long_words(text: str) -> str:
    """`text` with every word longer than MAX_WORD_CHARS cut to its first MAX_WORD_CHARS characters."""
    if _LONG_WORD.search(text) is None:
        return text
    return _LONG_WORD.sub(lambda m: m.group()[:MAX_WORD_CHARS], text)
