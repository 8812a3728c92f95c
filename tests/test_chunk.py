"""Token chunking: exact offsets, overlap, size cap, coverage and sentence-boundary preference."""

from __future__ import annotations

import pytest

from kg.index.chunk import chunk_document, chunk_documents
from kg.model import Document, content_id
from kg.text.tokens import count_tokens, token_spans


def make_doc(text: str) -> Document:
    return Document(id=content_id(text), title="t", source="t.txt", text=text)


WORDS = "harbor lights builds lantern engine radar ocean buoy forecast accuracy pipeline".split()


def prose(n_sentences: int) -> str:
    """Sentences of varying length, with a paragraph break every seventh sentence."""
    out = []
    for i in range(n_sentences):
        words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(3 + (i * 7) % 11))
        out.append(f"Sentence {i} says {words}.")
        out.append("\n\n" if i % 7 == 6 else " ")
    return "".join(out)


def token_index(text: str) -> dict[int, int]:
    """Character start of each token -> its index."""
    return {start: i for i, (start, _) in enumerate(token_spans(text))}


@pytest.mark.parametrize(("size", "overlap"), [(50, 10), (40, 0), (25, 24), (1200, 100)])
def test_chunks_are_exact_slices_within_size_with_overlap_and_full_coverage(size: int, overlap: int) -> None:
    text = "  Leading spaces.\r\n" + prose(200) + "  trailing words without a full stop  "
    doc = make_doc(text)
    units = chunk_document(doc, size=size, overlap=overlap)
    assert len(units) > 1
    starts = token_index(text)
    spans = token_spans(text)
    covered = [False] * len(spans)
    for unit in units:
        assert doc.text[unit.start : unit.end] == unit.text
        assert unit.document_id == doc.id
        assert unit.short_id == 0
        assert 0 < unit.n_tokens <= size
        assert unit.n_tokens == count_tokens(unit.text)
        first = starts[unit.start]
        for i in range(first, first + unit.n_tokens):
            covered[i] = True
    assert all(covered), "every token is in some chunk"
    assert units[0].start == spans[0][0]
    assert units[-1].end == spans[-1][1]
    for prev, nxt in zip(units, units[1:], strict=False):
        assert prev.start < nxt.start
        shared = starts[prev.start] + prev.n_tokens - starts[nxt.start]
        # `overlap` tokens, unless the chunk ended early at a boundary and that would not move forward
        assert shared == min(overlap, prev.n_tokens - 1)
    assert len({u.id for u in units}) == len(units)


def test_chunks_prefer_sentence_and_paragraph_ends() -> None:
    text = prose(300)
    units = chunk_document(make_doc(text), size=100, overlap=10)
    assert len(units) > 5
    for unit in units[:-1]:
        # Sentences are at most 17 tokens and the boundary zone is 15 tokens, so a sentence or a paragraph
        # end lies in every window; a chunk cut mid-sentence would end in a word.
        assert unit.text.endswith("."), unit.text[-40:]
        assert unit.n_tokens >= 85
    # A paragraph break in the zone wins over a later sentence end.
    para = [u for u in units[:-1] if text[u.end : u.end + 2] == "\n\n"]
    assert para, "some chunks end at a paragraph break"


def test_paragraph_break_beats_later_sentence_end() -> None:
    # 90 tokens, a paragraph break, then sentences of 2 tokens: the window of 100 ends at token 100,
    # the zone (15 tokens) holds the paragraph break after token 90 and sentence ends after 92, 94, ...
    first = " ".join(["alpha"] * 89) + "."
    text = first + "\n\n" + " ".join(["Go."] * 40)
    units = chunk_document(make_doc(text), size=100, overlap=5)
    assert units[0].text == first
    assert units[0].n_tokens == 90


def test_no_boundary_cuts_at_size() -> None:
    text = " ".join(["word"] * 1000)
    units = chunk_document(make_doc(text), size=100, overlap=10)
    assert [u.n_tokens for u in units[:-1]] == [100] * (len(units) - 1)
    assert units[-1].end == len(text)


def test_long_words_and_punctuation_only_text() -> None:
    text = "x" * 10_000 + " " + "!?" * 500
    units = chunk_document(make_doc(text), size=64, overlap=8)
    assert all(u.n_tokens <= 64 and text[u.start : u.end] == u.text for u in units)
    assert units[-1].end == len(text)


def test_tiny_and_empty_documents() -> None:
    assert chunk_document(make_doc("")) == []
    assert chunk_document(make_doc(" \n\t \n")) == []
    (unit,) = chunk_document(make_doc("\n  Hello, world!  \n"))
    assert unit.text == "Hello, world!"
    assert (unit.start, unit.end, unit.n_tokens) == (3, 16, 4)


@pytest.mark.parametrize(("size", "overlap"), [(100, 100), (100, 150), (0, 0), (10, -1)])
def test_invalid_size_or_overlap(size: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="chunk"):
        chunk_document(make_doc("some text"), size=size, overlap=overlap)
    with pytest.raises(ValueError, match="chunk"):
        chunk_documents([], size=size, overlap=overlap)


def test_overlap_error_message_names_both_numbers() -> None:
    with pytest.raises(ValueError, match=r"overlap \(100\) must be smaller than chunk size \(100\)"):
        chunk_document(make_doc("text"), size=100, overlap=100)


def test_chunk_documents_sets_text_unit_ids_and_ids_are_stable() -> None:
    a, b, empty = make_doc(prose(60)), make_doc("A short one."), make_doc("")
    units = chunk_documents([a, b, empty], size=50, overlap=5)
    assert a.text_unit_ids and b.text_unit_ids and empty.text_unit_ids == []
    assert [u.id for u in units] == a.text_unit_ids + b.text_unit_ids
    assert {u.document_id for u in units} == {a.id, b.id}
    again = chunk_documents([make_doc(prose(60))], size=50, overlap=5)
    assert [u.id for u in again] == a.text_unit_ids


def test_line_break_is_used_when_there_is_no_sentence_end() -> None:
    text = "\n".join(f"item number {'x' * (i % 5 + 1)} of the list" for i in range(200))
    units = chunk_document(make_doc(text), size=60, overlap=6)
    for unit in units[:-1]:
        assert text[unit.end] == "\n", repr(unit.text[-30:])
        assert unit.text.endswith("of the list")
