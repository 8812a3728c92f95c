"""The SQLite store's vector search of entities and chunks (kg/store/sqlite/vectors.py): its int8 first pass
must never change the result of a full float32 scan, only skip rows that cannot reach the top."""

from __future__ import annotations

import numpy as np
import pytest

from kg.store.sqlite.vectors import Vectors


def full_scan(vectors: Vectors, query: np.ndarray, limit: int) -> tuple[list[int], list[float]]:
    """Every row scored in float32, best first, equal scores in row order."""
    scores = np.einsum("ij,j->i", vectors.matrix, query)
    order = np.lexsort((np.arange(len(scores)), -scores))[:limit]
    return [int(p) for p in vectors.pks[order]], [float(s) for s in scores[order]]


@pytest.mark.parametrize("dimensions", [2, 3, 8, 64, 384])
def test_nearest_is_the_full_scan(dimensions: int) -> None:
    # Few dimensions quantise coarsely, so many rows' int8 scores cross each other: a bound that is too
    # tight (no slack) gets these wrong.
    rng = np.random.default_rng(dimensions)
    for trial in range(40):
        rows = int(rng.integers(1, 1500))
        matrix = rng.standard_normal((rows, dimensions)).astype(np.float32)
        if trial % 2:  # sparse and non-negative, like hashed bags of words: many equal scores
            matrix = np.abs(matrix) * (rng.random((rows, dimensions)) < 0.3)
        vectors = Vectors.normalised(7, list(range(100, 100 + rows)), list(matrix))
        query = rng.standard_normal(dimensions).astype(np.float32)
        query /= np.linalg.norm(query)
        limit = int(rng.integers(1, 30))
        assert vectors.nearest(query, limit) == full_scan(vectors, query, limit)


def test_zero_rows_score_zero_and_a_row_finds_itself() -> None:
    rows = [np.array([0.0, 0.0, 0.0], np.float32), np.array([1.0, 2.0, 2.0], np.float32)]
    rows += [np.array([2.0, -1.0, -0.5], np.float32)]
    vectors = Vectors.normalised(1, [10, 11, 12], rows)
    query = rows[1] / np.linalg.norm(rows[1])
    pks, scores = vectors.nearest(query, 5)
    assert pks == [11, 10, 12]
    assert scores[0] == pytest.approx(1.0, abs=1e-6)
    assert scores[1] == 0.0
    assert scores[2] < 0


def test_no_rows() -> None:
    vectors = Vectors.normalised(1, [], [])
    assert vectors.nearest(np.ones(4, np.float32) / 2, 3) == ([], [])
