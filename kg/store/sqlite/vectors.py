"""Entity vectors of the SQLite store: float32 blobs in the file, searched as one L2-normalised matrix per
namespace that the store keeps in memory for the namespace's newest build. numpy is imported where vectors
are handled: answering without them never loads it."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass
class EntityVectors:
    generation: int
    entity_pks: np.ndarray  # int64, one per matrix row
    matrix: np.ndarray  # float32, rows L2-normalised

    @classmethod
    def normalised(cls, generation: int, pks: Sequence[int], vectors: Sequence[np.ndarray]) -> EntityVectors:
        import numpy as np

        if not vectors:
            return cls(generation, np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32))
        matrix = np.vstack(vectors).astype(np.float32, copy=False)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return cls(generation, np.asarray(pks, dtype=np.int64), matrix)

    def nearest(self, query: np.ndarray, limit: int) -> tuple[list[int], list[float]]:
        """(entity pks, cosine scores) of the `limit` rows nearest to `query` (L2-normalised), best first."""
        import numpy as np

        # einsum, not `@`: a multi-threaded BLAS would spin its threads after every product and take the
        # cores the event loop and the reading thread need; one thread is as fast for a matrix-vector product.
        scores = np.einsum("ij,j->i", self.matrix, query)
        k = min(limit, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [int(pk) for pk in self.entity_pks[top]], [float(s) for s in scores[top]]


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
