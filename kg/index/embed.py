"""Embeddings for vector search: of every entity (`title: description`) and every chunk (its text), cached by
the hash of the embedded text.

Vectors are cached as base64 float32, per embedding model; a rebuild embeds only the entities and chunks whose
text changed. A failed request leaves its texts without vectors (a warning): they are still found by full text.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Sequence

import numpy as np

from kg.index.cache import Cache, input_hash
from kg.llm.client import ModelClient
from kg.llm.models import EMBED_BATCH
from kg.model import Entity, TextUnit

Progress = Callable[[str, int, int], None]


def entity_text(entity: Entity) -> str:
    return f"{entity.title}: {entity.description}".strip()


def _encode(vector: Sequence[float]) -> str:
    return base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode("ascii")


def _decode(value: object) -> list[float] | None:
    if not isinstance(value, str):
        return None
    return np.frombuffer(base64.b64decode(value), dtype=np.float32).tolist()


async def embed_entities(
    entities: Sequence[Entity], client: ModelClient, cache: Cache, progress: Progress | None = None
) -> list[str]:
    """Set `embedding` on every entity; returns warnings (entities left without a vector)."""
    vectors, problems = await _embed([entity_text(e) for e in entities], "entities", client, cache, progress)
    for entity, vector in zip(entities, vectors, strict=True):
        entity.embedding = vector
    return problems


async def embed_text_units(
    units: Sequence[TextUnit], client: ModelClient, cache: Cache, progress: Progress | None = None
) -> list[str]:
    """Set `embedding` on every chunk (the vector of its text); returns warnings (chunks left without one)."""
    vectors, problems = await _embed([u.text for u in units], "chunks", client, cache, progress)
    for unit, vector in zip(units, vectors, strict=True):
        unit.embedding = vector
    return problems


async def _embed(
    texts: Sequence[str], what: str, client: ModelClient, cache: Cache, progress: Progress | None
) -> tuple[list[list[float] | None], list[str]]:
    """The vector of each text (None where embedding failed), and warnings naming `what` was left out."""
    report = progress or (lambda stage, done, total: None)
    kind = f"embed:{client.embedding_name}"
    keys = [input_hash(t) for t in texts]
    cached = await asyncio.to_thread(cache.get_many, kind, list(dict.fromkeys(keys)))
    vectors: dict[str, list[float]] = {}
    for k, v in cached.items():
        decoded = _decode(v)
        if decoded:
            vectors[k] = decoded
    todo = list({k: t for k, t in zip(keys, texts, strict=True) if k not in vectors}.items())
    report("embed", 0, len(todo))
    problems: list[str] = []
    done = 0

    async def run(batch: list[tuple[str, str]]) -> None:
        nonlocal done
        try:
            result = await client.embed([t for _, t in batch])
        except Exception as exc:  # noqa: BLE001 - texts without vectors are still found by full text
            problems.append(f"{len(batch)} {what} not embedded ({type(exc).__name__}: {exc})")
        else:
            fresh = list(zip((k for k, _ in batch), result, strict=True))
            vectors.update(fresh)
            await asyncio.to_thread(cache.put_many, kind, [(k, _encode(v)) for k, v in fresh])
        done += len(batch)
        report("embed", done, len(todo))

    await asyncio.gather(*(run(todo[i : i + EMBED_BATCH]) for i in range(0, len(todo), EMBED_BATCH)))
    dims = {len(v) for v in vectors.values()}
    if len(dims) > 1:  # a model change under the same name: keep the vectors of the most common size
        sizes = [len(vectors[k]) for k in keys if k in vectors]
        common = max(dims, key=sizes.count)
        vectors = {k: v for k, v in vectors.items() if len(v) == common}
        problems.append(
            f"embedding sizes differ (the embedding model changed?): some {what} left without one"
        )
    return [vectors.get(k) for k in keys], problems
