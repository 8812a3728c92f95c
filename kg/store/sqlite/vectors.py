"""Entity and chunk vectors of the SQLite store: float32 blobs in the file (`entity_vectors`,
`text_unit_vectors`), searched as one L2-normalised matrix per kind and namespace that the store keeps in memory
for the namespace's newest build. numpy is imported where vectors are handled: answering without them never
loads it."""

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


@dataclass
class Vectors:
    generation: int
    pks: np.ndarray  # int64, one per matrix row: the pk of the entity or chunk
    matrix: np.ndarray  # float32, rows L2-normalised

    @classmethod
    def normalised(cls, generation: int, pks: Sequence[int], vectors: Sequence[np.ndarray]) -> Vectors:
        import numpy as np

        if not vectors:
            return cls(generation, np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32))
        matrix = np.vstack(vectors).astype(np.float32, copy=False)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return cls(generation, np.asarray(pks, dtype=np.int64), matrix)

    def nearest(self, query: np.ndarray, limit: int) -> tuple[list[int], list[float]]:
        """(pks, cosine scores) of the `limit` rows nearest to `query` (L2-normalised), best first."""
        import numpy as np

        # einsum, not `@`: a multi-threaded BLAS would spin its threads after every product and take the
        # cores the event loop and the reading thread need; one thread is as fast for a matrix-vector product.
        scores = np.einsum("ij,j->i", self.matrix, query)
        k = min(limit, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [int(pk) for pk in self.pks[top]], [float(s) for s in scores[top]]


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
