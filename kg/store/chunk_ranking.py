"""How both stores rank chunks for a question: one definition, so that the same corpus gives the same passages
on SQLite and on Neo4j, whatever else either database holds (other namespaces, a killed build's rows).

At publish each store records, for its build only, the postings of every word of its chunks (`chunk_postings`:
the chunks holding it, how often, and each chunk's length in tokens) with the number of chunks and their total
tokens. A question searches the rarest of its words while their postings total at most MAX_TEXT_POSTINGS
(`searched_forms`), so a search costs at most that many postings; when even the rarest is commoner than that,
the first `window()` chunks (by short id) holding any of its words are the candidates. Every candidate is scored
with Okapi BM25 as kg.text.bm25 computes it, from the build's own statistics (`rank_chunks`); ties go to the
smaller short id. The Neo4j store computes the same in Cypher (kg.store.neo4j.search_statements), with the same
arithmetic in the same order; tests/test_chunk_ranking.py checks that the two agree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from kg.model import TextUnit
from kg.text.bm25 import K1, B, idf, term_score
from kg.text.words import word_forms, words_of

MAX_TEXT_POSTINGS = 1000  # postings a chunk search reads at most (each ~1 us); a quarter of it (`window`) are
# the candidates when every query word is commoner than that
HEAD_POSTINGS = 250  # the SQLite store keeps each word's first postings apart (for `window()` <= this)
CHUNK_COUNT = ""  # the pseudo-term whose df is the number of chunks of the build
TOTAL_TOKENS = " "  # ... and whose df is their total tokens

# The constants of kg.text.bm25.term_score, as the Cypher of the Neo4j store receives them.
BM25_PARAMETERS = {"k1": K1, "k1_plus_1": K1 + 1, "b": B, "one_minus_b": 1 - B}


class Posting(NamedTuple):
    """A chunk holding a term: its short id (the tie-break), id, the term's count in it, its length in tokens.
    A tuple, so that a store reading a thousand of them per question makes them from its rows for free."""

    short_id: int
    id: str
    tf: int
    length: int


def chunk_postings(units: Iterable[TextUnit]) -> dict[str, list[Posting]]:
    """Every word of the chunks (as kg.text.words.words_of splits them) -> its postings, by short id."""
    postings: dict[str, list[Posting]] = defaultdict(list)
    for unit in sorted(units, key=lambda u: int(u.short_id)):
        for term, tf in Counter(words_of(unit.text)).items():
            postings[term].append(Posting(int(unit.short_id), unit.id, tf, max(int(unit.n_tokens), 1)))
    return dict(postings)


def cheapest_terms(document_frequencies: Iterable[tuple[str, int]], budget: int) -> list[str]:
    """The rarest terms while their document frequencies total at most `budget` (ties by term)."""
    terms: list[str] = []
    total = 0
    for term, df in sorted(document_frequencies, key=lambda item: (item[1], item[0])):
        if df <= 0:
            continue
        if total + df > budget:
            break
        terms.append(term)
        total += df
    return terms


def searched_forms(frequencies: Mapping[str, int]) -> tuple[list[str], bool]:
    """(the forms to read postings of, whether only the first WINDOW candidates are ranked)."""
    forms = cheapest_terms(frequencies.items(), MAX_TEXT_POSTINGS)
    if forms:
        return forms, False
    return sorted(term for term, df in frequencies.items() if df > 0), True


def window() -> int:
    return max(MAX_TEXT_POSTINGS // 4, 1)


def query_groups(words: Sequence[str]) -> list[list[str]]:
    """The forms of each query word ("model", "models"): a word's forms count as one term."""
    return [word_forms(word) for word in words]


def rank_chunks(
    groups: Sequence[Sequence[str]],
    postings: Mapping[str, Sequence[Sequence[Any]]],
    frequencies: Mapping[str, int],
    n_units: int,
    total_tokens: int,
    windowed: bool,
    limit: int,
) -> list[tuple[str, float]]:
    """(chunk id, score) of the best `limit` chunks among the `postings` of the searched forms (each a `Posting`
    or a list of its fields, as a store parsed it).

    A group's weight is the idf of its commonest searched form; a chunk's count of a group is the sum of its
    forms' counts; its length and the mean length are in tokens.
    """
    searched, first = set(postings), window()
    weights: list[float] = []
    groups_of: dict[str, list[int]] = {}  # searched form -> the groups (indexes into weights) it counts for
    for forms in groups:
        df = max((frequencies.get(f, 0) for f in forms if f in searched), default=0)
        if df > 0:
            for form in dict.fromkeys(f for f in forms if f in searched):
                groups_of.setdefault(form, []).append(len(weights))
            weights.append(idf(n_units, df))
    candidates: dict[str, tuple[int, int, dict[int, int]]] = {}  # id -> (short id, length, group -> count)
    for term, term_postings in postings.items():
        counted = groups_of.get(term, ())
        for short_id, chunk_id, tf, length in term_postings[:first] if windowed else term_postings:
            candidate = candidates.get(chunk_id)
            if candidate is None:
                candidate = candidates[chunk_id] = (short_id, length, {})
            counts = candidate[2]
            for group in counted:
                counts[group] = counts.get(group, 0) + tf
    chosen: Iterable[tuple[str, tuple[int, int, dict[int, int]]]] = candidates.items()
    if windowed:
        chosen = sorted(chosen, key=lambda item: item[1][0])[:first]
    mean = max(total_tokens / n_units, 1.0) if n_units else 1.0
    scored = []
    for chunk_id, (short_id, length, counts) in chosen:
        score = 0.0
        for group in sorted(counts):  # in the groups' order, as the Cypher adds them
            score += term_score(weights[group], counts[group], length, mean)
        scored.append((-score, short_id, chunk_id))
    scored.sort()
    return [(chunk_id, -negative) for negative, _, chunk_id in scored[: max(limit, 0)]]
