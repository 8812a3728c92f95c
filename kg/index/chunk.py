"""Split documents into overlapping token windows ("text units", GraphRAG's default 1200/100).

A chunk is at most `size` tokens (as kg.text.tokens counts them). When a paragraph break, a sentence end or a
line break falls in the last ~15% of a window, the chunk ends there instead, so chunks rarely cut a
sentence. The next chunk starts `overlap` tokens before the previous one ended. Each unit's text is exactly
`doc.text[start:end]`: it begins at a token and ends at a token, so surrounding whitespace is left out.

Token spans are read ahead only as far as the chunk being cut needs and dropped behind it, so memory stays the
size of a chunk and the time linear in the document, whatever its shape (20 MB of punctuation is 20 million
tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from kg.model import Document, TextUnit, content_id
from kg.text.tokens import iter_token_spans

BOUNDARY_ZONE = 0.15  # share of a window, at its end, searched for a natural break
_SENTENCE_END = frozenset(".!?…")
_CLOSERS = frozenset("\"')]}’”»")
_LOOK_BACK = 4  # tokens before a chunk's first that `_natural_end` may read
_READ_AHEAD = 4096  # spans read at a time


class _Spans:
    """The token spans of a text by index, read on demand; spans before `forget_before` are dropped."""

    def __init__(self, text: str) -> None:
        self._next: Iterator[tuple[int, int]] = iter_token_spans(text)
        self._spans: list[tuple[int, int]] = []
        self._base = 0  # index of self._spans[0]
        self._exhausted = False

    def has(self, index: int) -> bool:
        """Whether the text has a token `index` (reading ahead as far as that)."""
        while self.known <= index and not self._exhausted:
            more = list(islice(self._next, _READ_AHEAD))
            self._exhausted = len(more) < _READ_AHEAD
            self._spans += more
        return index < self.known

    @property
    def known(self) -> int:
        """How many tokens have been read; the text's count once `has` has said False."""
        return self._base + len(self._spans)

    def __getitem__(self, index: int) -> tuple[int, int]:
        assert index >= self._base, "span dropped"
        return self._spans[index - self._base]

    def forget_before(self, index: int) -> None:
        if index > self._base:
            del self._spans[: index - self._base]
            self._base = index


def chunk_document(doc: Document, size: int = 1200, overlap: int = 100) -> list[TextUnit]:
    """The text units of `doc`, in order; [] for an empty or whitespace-only document."""
    _check(size, overlap)
    text = doc.text
    spans = _Spans(text)
    zone = max(1, int(size * BOUNDARY_ZONE))
    units: list[TextUnit] = []
    first = 0
    while spans.has(first):
        more = spans.has(first + size)  # tokens remain after a full window
        last = first + size if more else spans.known  # exclusive token index
        if more:
            last = _natural_end(text, spans, max(first + 1, last - zone), last)
        start, end = spans[first][0], spans[last - 1][1]
        units.append(
            TextUnit(
                id=content_id(doc.id, str(start), str(end)),
                short_id=0,
                document_id=doc.id,
                text=text[start:end],
                n_tokens=last - first,
                start=start,
                end=end,
            )
        )
        if not more:
            break
        first = max(last - overlap, first + 1)
        spans.forget_before(first - _LOOK_BACK)
    return units


def chunk_documents(
    docs: Iterable[Document],
    size: int = 1200,
    overlap: int = 100,
    on_document: Callable[[str, int, int], None] | None = None,
) -> list[TextUnit]:
    """The text units of every document, in order; sets each document's `text_unit_ids`.

    `on_document(source, done, total)` is told of each document before it is cut (a long one is named while
    it takes time)."""
    _check(size, overlap)
    docs = list(docs)
    units: list[TextUnit] = []
    for done, doc in enumerate(docs):
        if on_document is not None:
            on_document(doc.source, done, len(docs))
        doc_units = chunk_document(doc, size, overlap)
        doc.text_unit_ids = [unit.id for unit in doc_units]
        units.extend(doc_units)
    return units


def _check(size: int, overlap: int) -> None:
    if size < 1:
        raise ValueError(f"chunk size must be at least 1 token (got {size})")
    if overlap < 0:
        raise ValueError(f"chunk overlap must not be negative (got {overlap})")
    if overlap >= size:
        raise ValueError(f"chunk overlap ({overlap}) must be smaller than chunk size ({size})")


def _natural_end(text: str, spans: _Spans, low: int, high: int) -> int:
    """Exclusive token index to end a chunk at, in [low, high]: the latest paragraph (or page) break, else
    the latest sentence end, else the latest line break, else `high`. Cutting at i means the chunk's last
    token is i - 1 and the break lies between tokens i - 1 and i. Only called with high < len(spans)."""
    sentence = line = 0
    for k in range(high - 1, low - 2, -1):
        gap = text[spans[k][1] : spans[k + 1][0]]
        if "\n" in gap or "\f" in gap:
            if gap.count("\n") > 1 or "\f" in gap:  # blank line or page break
                return k + 1
            line = line or k + 1
        if not sentence and gap and _ends_sentence(text, spans, k):
            sentence = k + 1
    return sentence or line or high


def _ends_sentence(text: str, spans: _Spans, k: int) -> bool:
    """Token k ends a sentence: it is . ! ? (possibly followed by closing quotes/brackets)."""
    floor = max(0, k - 3)
    while k > floor and text[spans[k][0] : spans[k][1]] in _CLOSERS:
        k -= 1
    return text[spans[k][0] : spans[k][1]] in _SENTENCE_END
