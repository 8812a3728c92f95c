"""Entity vectors of the SQLite store: float32 blobs in the file, searched as one L2-normalised matrix per
namespace that the store keeps in memory for the namespace's newest build. numpy is imported where vectors
are handled: answering without them never loads it.

The search is exact but does not read the whole float32 matrix per question: at 100k entities of 256
dimensions that is 100 MB, 13 ms of memory traffic and half of a question's time (bench/graphrag_latency.py).
It first scores an int8 copy of the matrix (a quarter of the bytes, numkong's packed integer kernel), whose
error on each row's score is bounded (`_slack`), and then scores exactly, in float32, only the rows whose
bound can still reach the top: the same entities, scores and order as a full float32 scan."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

LEVELS = 127  # int8 codes in [-127, 127]
# Above the float32 rounding of a 4,096-dimension dot product of unit vectors, so that the bound also covers
# the exact scores' own rounding.
ROUNDING = 1e-4


@dataclass
class EntityVectors:
    generation: int
    entity_pks: np.ndarray  # int64, one per matrix row
    matrix: np.ndarray  # float32, rows L2-normalised
    scales: np.ndarray  # float64: row i ~ scales[i] * codes[i]
    errors: np.ndarray  # float64: the L2 norm of row i - scales[i] * codes[i]
    codes: Any  # numkong.PackedMatrix of the int8 codes, None when there are no rows

    @classmethod
    def normalised(cls, generation: int, pks: Sequence[int], vectors: Sequence[np.ndarray]) -> EntityVectors:
        import numpy as np

        if not vectors:
            empty = np.zeros(0, dtype=np.float64)
            return cls(
                generation,
                np.zeros(0, dtype=np.int64),
                np.zeros((0, 0), dtype=np.float32),
                empty,
                empty,
                None,
            )
        matrix = np.vstack(vectors).astype(np.float32, copy=False)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return cls(generation, np.asarray(pks, dtype=np.int64), matrix, *_quantised(matrix))

    def nearest(self, query: np.ndarray, limit: int) -> tuple[list[int], list[float]]:
        """(entity pks, cosine scores) of the `limit` rows nearest to `query` (L2-normalised), best first;
        equal scores in row order."""
        import numkong
        import numpy as np

        rows = len(self.entity_pks)
        k = min(limit, rows)
        if k <= 0:
            return [], []
        query = np.ascontiguousarray(query, dtype=np.float32)
        step, code = _code(query)
        dots = np.asarray(numkong.dots_packed(code[None, :], self.codes), dtype=np.float64)[0]
        approximate = self.scales * (step * dots)
        slack = self._slack(query, step, code)
        # The k-th best lower bound is at most the k-th best exact score: no row whose upper bound is below
        # it can be among the k best.
        floor = np.partition(approximate - slack, rows - k)[rows - k]
        candidates = np.flatnonzero(approximate + slack >= floor)
        scores = np.einsum("ij,j->i", self.matrix[candidates], query)
        best = np.lexsort((candidates, -scores))[:k]
        return [int(pk) for pk in self.entity_pks[candidates[best]]], [float(s) for s in scores[best]]

    def _slack(self, query: np.ndarray, step: float, code: np.ndarray) -> np.ndarray:
        """How far each row's int8 score can be from its exact score. With x a unit row, s*c its codes and t*d
        the query's: x.q - s*t*(c.d) = x.(q - t*d) + (x - s*c).(t*d), at most |q - t*d| + |x - s*c| * |t*d|."""
        import numpy as np

        query_error = float(np.linalg.norm(query.astype(np.float64) - step * code))
        code_norm = step * float(np.linalg.norm(code.astype(np.float64)))
        return self.errors * code_norm + (query_error + ROUNDING)


def _code(vector: np.ndarray) -> tuple[float, np.ndarray]:
    """(step, int8 codes) with vector ~ step * codes."""
    import numpy as np

    peak = float(np.abs(vector).max()) if len(vector) else 0.0
    step = peak / LEVELS if peak > 0 else 1.0
    return step, np.rint(vector / step).astype(np.int8)


def _quantised(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
    """Per-row scales, per-row quantisation errors and the packed int8 codes of `matrix`."""
    import numkong
    import numpy as np

    peaks = np.abs(matrix).max(axis=1).astype(np.float64)
    scales = np.where(peaks > 0, peaks / LEVELS, 1.0)
    codes = np.rint(matrix / scales[:, None]).astype(np.int8)
    errors = np.linalg.norm(matrix.astype(np.float64) - scales[:, None] * codes, axis=1)
    return scales, errors, numkong.dots_pack(codes)


def load_vectors(conn: sqlite3.Connection, ns: int, generation: int) -> EntityVectors:
    """The namespace's vectors read back from the file: after a restart, or a publish by another process."""
    import numpy as np

    rows = conn.execute(
        "SELECT entity_pk, vector FROM entity_vectors WHERE ns = ? AND length(vector) > 0 ORDER BY entity_pk",
        (ns,),
    ).fetchall()
    return EntityVectors.normalised(
        generation, [r[0] for r in rows], [np.frombuffer(r[1], dtype=np.float32) for r in rows]
    )
