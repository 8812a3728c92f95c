"""Full-text search in the SQLite store: FTS5 MATCH expressions whose cost is bounded by the postings they
read, and the Okapi BM25 re-scoring that ranks chunk hits as the Neo4j store (Lucene) does."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence

from kg.model import TextUnit
from kg.store.chunk_ranking import (
    CHUNK_COUNT,
    HEAD_POSTINGS,
    MAX_TEXT_POSTINGS,
    TOTAL_TOKENS,
    cheapest_terms,
    query_groups,
    rank_chunks,
    searched_forms,
    window,
)
from kg.store.sqlite.passages import text_units_by_id
from kg.text.bm25 import idf, term_score
from kg.text.words import words_of

__all__ = ["cheapest_terms", "ranked_chunks"]

# The cost of an entity search is bounded whatever the query, by the postings (term, entity) it reads. The
# rarest terms (they carry the most BM25 weight) are searched in titles and descriptions while they total at
# most MAX_POSTINGS (~2 us each: each match is ranked); the commoner ones in titles only while they total at
# most MAX_TITLE_POSTINGS (~0.1 us each: only title hits are ranked); terms commoner still are left out.
MAX_POSTINGS = 2000  # the same in kg.store.neo4j.fulltext, which ranks entities as FTS5 does
MAX_TITLE_POSTINGS = 10_000


def split_by_cost(document_frequencies: Iterable[tuple[str, int]]) -> tuple[list[str], list[str]]:
    """(terms to search everywhere, terms to search in titles only), from each term's document frequency."""
    everywhere: list[str] = []
    titles_only: list[str] = []
    total = title_total = 0
    for term, df in sorted(document_frequencies, key=lambda item: (item[1], item[0])):
        if df <= 0:
            continue
        if total + df <= MAX_POSTINGS:
            everywhere.append(term)
            total += df
        elif title_total + df <= MAX_TITLE_POSTINGS:
            titles_only.append(term)
            title_total += df
    return everywhere, titles_only


def ranked_chunks(
    conn: sqlite3.Connection, ns: int, words: Sequence[str], frequencies: dict[str, int], limit: int
) -> list[tuple[TextUnit, float]] | None:
    """The best `limit` chunks for the query `words` as kg.store.chunk_ranking ranks them, from the postings
    recorded at publish (`frequencies`: the document frequencies of the words' forms, with the chunk count and
    total tokens); None for a namespace published before postings were recorded."""
    n_units, total_tokens = frequencies.get(CHUNK_COUNT), frequencies.get(TOTAL_TOKENS)
    if not n_units or total_tokens is None:
        return None
    terms = {t: df for t, df in frequencies.items() if t not in (CHUNK_COUNT, TOTAL_TOKENS)}
    forms, windowed = searched_forms(terms)
    # Windowed, only the first postings of each (common) word are read (its head, when one was kept). Each
    # list is parsed by json.loads: extracting the fields in SQL (json_each, ->>) cost three times as much.
    rows = conn.execute(
        """SELECT t.term, CASE WHEN ?3 AND t.head <> '' THEN t.head ELSE t.postings END
           FROM json_each(?1) AS j
           CROSS JOIN text_unit_postings AS t ON t.ns = ?2 AND t.term = j.value""",
        (json.dumps([CHUNK_COUNT, *forms]), ns, windowed and window() <= HEAD_POSTINGS),
    ).fetchall()
    postings = {  # [short id, id, tf, length], as chunk_ranking.Posting
        term: json.loads(found)[: window() if windowed else MAX_TEXT_POSTINGS] for term, found in rows
    }
    if postings.pop(CHUNK_COUNT, None) is None:
        return None
    ranked = rank_chunks(query_groups(words), postings, terms, n_units, total_tokens, windowed, limit)
    if not ranked:
        return []
    units = text_units_by_id(conn, ns, [chunk_id for chunk_id, _ in ranked])
    return [(unit, score) for unit, (_, score) in zip(units, ranked, strict=True)]


def match_expression(terms: Sequence[str], title_terms: Sequence[str] = ()) -> str | None:
    """An FTS5 MATCH expression OR-ing `terms` (any column) and `title_terms` (the title column only).

    Every term is quoted, so FTS syntax, quotes and operators in user text are only ever words. None when
    there is nothing to search for.
    """
    alternatives = [_quoted(term) for term in terms]
    if title_terms:
        alternatives.append("title : (" + " OR ".join(_quoted(term) for term in title_terms) + ")")
    return " OR ".join(alternatives) or None


def okapi_rescored(
    hits: Sequence[tuple[TextUnit, float]],
    groups: Sequence[Sequence[str]],
    frequencies: dict[str, int],
    n_units: int,
    mean_tokens: float,
) -> list[tuple[TextUnit, float]]:
    """The hits scored again with Okapi BM25 as Lucene (so Neo4j) computes it (kg.text.bm25). FTS5's bm25() uses ln((N - df + 0.5) / (df + 0.5)), which falls to nothing
    for a word in half the chunks: in one long document, where the question's words are all common, that
    ranks a chunk saying "d_model" many times below chunks that say it once. `groups` are the forms of each
    query word, the word as asked first ("models", "model"), counted as one term weighed by the idf of the
    word as asked (the commonest form's only when the word itself is in no chunk: a rare plural is not
    made as weak as its common singular); lengths are in words, the mean estimated from the chunks' token
    counts."""
    weights = []
    for forms in groups:
        df = frequencies.get(forms[0], 0) if forms else 0
        df = df or max((frequencies.get(f, 0) for f in forms), default=0)
        if df > 0:
            weights.append((frozenset(forms), idf(n_units, df)))
    words = [words_of(unit.text) for unit, _ in hits]
    tokens = sum(max(unit.n_tokens, 1) for unit, _ in hits)
    mean_words = mean_tokens * sum(len(w) for w in words) / tokens if tokens else 1.0
    scored = []
    for rank, ((unit, _), unit_words) in enumerate(zip(hits, words, strict=True)):
        counts = Counter(unit_words)
        score = 0.0
        for forms, weight in weights:
            f = sum(counts[form] for form in forms)
            if f:
                score += term_score(weight, f, len(unit_words), max(mean_words, 1.0))
        scored.append((score, rank, unit))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [(unit, score) for score, _, unit in scored]


def hits_mean_tokens(hits: Sequence[tuple[TextUnit, float]]) -> float:
    """The hits' own mean length: a stand-in for a namespace published before total tokens were recorded."""
    return sum(u.n_tokens for u, _ in hits) / len(hits) if hits else 1.0


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'
