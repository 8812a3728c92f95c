"""Okapi BM25 as Lucene (so Neo4j) computes it: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), k1 1.2, b 0.75.

One formula for every ranking kgbot does itself: the SQLite store re-scoring its top chunk hits (so that both
stores rank alike) and global search judging community reports and their sentences.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

K1 = 1.2
B = 0.75


def idf(n: int, df: int) -> float:
    """The weight of a term found in `df` of `n` documents."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def term_score(weight: float, tf: int, length: float, mean_length: float) -> float:
    """One term's share of a document's score: its idf `weight`, `tf` occurrences in a document of `length`."""
    return weight * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / mean_length))


def bm25(terms: set[str], documents: Sequence[Counter[str]]) -> list[float]:
    """BM25 of each document (its term counts) for `terms`, statistics taken over `documents` themselves."""
    if not documents or not terms:
        return [0.0] * len(documents)
    lengths = [sum(d.values()) for d in documents]
    average = sum(lengths) / len(lengths) or 1.0
    n = len(documents)
    weights = {t: idf(n, df) for t in terms if (df := sum(t in d for d in documents))}
    scores = []
    for counts, length in zip(documents, lengths, strict=True):
        score = 0.0
        for t, weight in weights.items():
            tf = counts.get(t, 0)
            if tf:
                score += term_score(weight, tf, length, average)
        scores.append(score)
    return scores
