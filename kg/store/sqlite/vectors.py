"""Entity and chunk vectors of the SQLite store: float32 blobs in the file (`entity_vectors`,
`text_unit_vectors`), searched as one L2-normalised matrix per kind and namespace that the store keeps in memory
for the namespace's newest build. numpy is imported where vectors are handled: answering without them never
loads it.

The search is exact but does not read the whole float32 matrix per question: at 100k entities of 256
dimensions that is 100 MB, 13 ms of memory traffic and half of a question's time (bench/graphrag_latency.py).
It first scores an int8 copy of the matrix (a quarter of the bytes, numkong's packed integer kernel), whose
error on each row's score is bounded (`_slack`), and then scores exactly, in float32, only the rows whose
bound can still reach the top: the same rows, scores and order as a full float32 scan."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kg.store.base import StoreError

if TYPE_CHECKING:
    import numpy as np

# kind -> (table, its key column: the pk of the row the vector belongs to). Names are constants, never user text.
VECTOR_TABLES = {
    "entities": ("entity_vectors", "entity_pk"),
    "text_units": ("text_unit_vectors", "text_unit_pk"),
}


LEVELS = 127  # int8 codes in [-127, 127]
# Above the float32 rounding of a 4,096-dimension dot product of unit vectors, so that the bound also covers
# the exact scores' own rounding.
ROUNDING = 1e-4


@dataclass
class Vectors:
    generation: int
    pks: np.ndarray  # int64, one per matrix row: the pk of the entity or chunk
    matrix: np.ndarray  # float32, rows L2-normalised
    scales: np.ndarray  # float64: row i ~ scales[i] * codes[i]
    errors: np.ndarray  # float64: the L2 norm of row i - scales[i] * codes[i]
    codes: Any  # numkong.PackedMatrix of the int8 codes, None when there are no rows

    @classmethod
    def normalised(cls, generation: int, pks: Sequence[int], vectors: Sequence[np.ndarray]) -> Vectors:
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
        """(pks, cosine scores) of the `limit` rows nearest to `query` (L2-normalised), best first;
        equal scores in row order."""
        import numkong
        import numpy as np

        rows = len(self.pks)
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
        return [int(pk) for pk in self.pks[candidates[best]]], [float(s) for s in scores[best]]

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


def vector_rows(
    what: str, first_pk: int, embeddings: Iterable[tuple[str, Sequence[float] | None]]
) -> tuple[list[tuple[int, bytes]], list[int], list[np.ndarray]]:
    """The (pk, blob) rows of the embeddings of records inserted from `first_pk` on (each named for errors),
    and the pks and vectors of the non-empty ones. Raises StoreError for a vector that is not flat or mixed
    dimensions: a build that cannot be searched faithfully is not published."""
    import numpy as np

    rows: list[tuple[int, bytes]] = []
    pks: list[int] = []
    vectors: list[np.ndarray] = []
    dims: set[int] = set()
    for i, (name, embedding) in enumerate(embeddings):
        if embedding is None:
            continue
        vector = np.asarray(embedding, dtype=np.float32)
        if vector.ndim != 1:
            raise StoreError(f"{what} {name!r} has an embedding that is not a flat vector")
        if len(vector):
            dims.add(len(vector))
            pks.append(first_pk + i)
            vectors.append(vector)
        if len(dims) > 1:
            raise StoreError(f"{what} embeddings have different dimensions: {sorted(dims)}")
        rows.append((first_pk + i, vector.tobytes()))
    return rows, pks, vectors


def load_vectors(conn: sqlite3.Connection, kind: str, ns: int, generation: int) -> Vectors:
    """The namespace's vectors of `kind` read back from the file: after a restart, or a publish by another
    process."""
    import numpy as np

    table, key = VECTOR_TABLES[kind]
    rows = conn.execute(
        f"SELECT {key}, vector FROM {table} WHERE ns = ? AND length(vector) > 0 ORDER BY {key}", (ns,)
    ).fetchall()
    return Vectors.normalised(
        generation, [r[0] for r in rows], [np.frombuffer(r[1], dtype=np.float32) for r in rows]
    )


class VectorCache:
    """The matrices of each namespace's newest build, by kind: publish leaves them here, a search after a
    restart (or another process's publish) loads them from the file."""

    def __init__(self) -> None:
        self._matrices: dict[tuple[str, str], Vectors] = {}
        self._lock = threading.Lock()

    def remember(self, kind: str, namespace: str, vectors: Vectors) -> None:
        """Cache `vectors` unless a newer generation is cached already (publish and reads race here)."""
        with self._lock:
            cached = self._matrices.get((kind, namespace))
            if cached is None or cached.generation < vectors.generation:
                self._matrices[(kind, namespace)] = vectors

    def nearest(
        self,
        conn: sqlite3.Connection,
        kind: str,
        namespace: str,
        state: Any,
        vector: Sequence[float],
        limit: int,
    ) -> tuple[list[int], list[float]]:
        """(pks, cosine scores) of the `limit` records of `kind` nearest to `vector` in the build `state`
        (namespace id, generation), inside the caller's snapshot; empty when the build has no such vectors."""
        import numpy as np

        query = np.asarray(vector, dtype=np.float32).ravel()
        norm = float(np.linalg.norm(query))
        if limit <= 0 or norm == 0.0 or not np.isfinite(norm):
            return [], []
        ns, generation = state
        vectors = self._matrices.get((kind, namespace))
        if vectors is None or vectors.generation != generation:
            vectors = load_vectors(conn, kind, ns, generation)
            self.remember(kind, namespace, vectors)
        if not len(vectors.pks):
            return [], []
        if vectors.matrix.shape[1] != len(query):
            raise StoreError(
                f"the query embedding has {len(query)} dimensions but the index of {namespace!r} has "
                f"{vectors.matrix.shape[1]}: reindex with the current embedding model"
            )
        return vectors.nearest(query / norm, limit)

    def clear(self) -> None:
        with self._lock:
            self._matrices.clear()
