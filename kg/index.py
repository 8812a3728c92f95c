"""The indexing pipeline: load ▶ chunk ▶ extract (cached per chunk) ▶ merge ▶ communities ▶ reports ▶ publish.

CPU-heavy steps run in worker threads so an event loop serving chat stays responsive during a reindex.
Nothing reaches the store until the whole build exists, and the store publishes it atomically, so a failure
anywhere leaves the previous index serving.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from kg.cache import Cache, extraction_from_json, extraction_to_json, input_hash
from kg.chunk import chunk_documents
from kg.communities import detect_communities
from kg.config import Settings
from kg.extract.base import ChunkExtraction, Extractor
from kg.extract.nlp import NlpExtractor
from kg.load import load_documents
from kg.merge import merge_extractions
from kg.model import GraphIndex
from kg.reports import extractive_reports
from kg.store.base import GraphStore

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class NothingToIndex(Exception):
    """No document could be read; the message lists why, one line per path."""


@dataclass
class IndexSummary:
    namespace: str
    documents: int
    text_units: int
    entities: int
    relationships: int
    communities: int
    reports: int
    seconds: float
    chunks_extracted: int
    chunks_cached: int
    problems: list[str] = field(default_factory=list)
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def make_extractor(settings: Settings) -> Extractor:
    if settings.kg_extractor == "llm":
        raise ValueError("KG_EXTRACTOR=llm is not available in this version; use nlp (the offline extractor)")
    if settings.kg_extractor not in ("auto", "nlp"):
        raise ValueError(f"unknown KG_EXTRACTOR {settings.kg_extractor!r}: use auto, nlp or llm")
    return NlpExtractor()


async def _extract_cached(
    units: Sequence, extractor: Extractor, cache: Cache, progress: Progress
) -> tuple[list[ChunkExtraction], int]:
    kind = f"extract:{extractor.cache_key}"
    keys = [input_hash(u.text) for u in units]
    cached = await asyncio.to_thread(cache.get_many, kind, keys)
    missing = [i for i, k in enumerate(keys) if k not in cached]
    done = len(units) - len(missing)
    progress("extract", done, len(units))

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress("extract", done, len(units))

    fresh = await extractor.extract([units[i] for i in missing], advance) if missing else []
    await asyncio.to_thread(
        cache.put_many,
        kind,
        [(keys[i], extraction_to_json(ext)) for i, ext in zip(missing, fresh, strict=True)],
    )
    by_index = dict(zip(missing, fresh, strict=True))
    results = [by_index[i] if i in by_index else extraction_from_json(cached[k]) for i, k in enumerate(keys)]
    return results, len(missing)


async def build_index(
    paths: Sequence[str | Path],
    store: GraphStore,
    settings: Settings,
    namespace: str | None = None,
    extractor: Extractor | None = None,
    progress: Progress | None = None,
) -> IndexSummary:
    """Build a complete index of `paths` and publish it as the namespace's index.

    Raises NothingToIndex (store untouched) when no document could be loaded.
    """
    namespace = namespace or settings.kg_namespace
    report = progress or (lambda stage, done, total: None)
    extractor = extractor or make_extractor(settings)
    started = time.perf_counter()

    report("load", 0, len(paths))
    loaded = await asyncio.to_thread(partial(load_documents, max_file_mb=settings.kg_max_file_mb), paths)
    if not loaded.documents:
        raise NothingToIndex("\n".join(loaded.problems) or "nothing to index")
    report("load", len(paths), len(paths))
    docs = loaded.documents

    units = await asyncio.to_thread(chunk_documents, docs, settings.kg_chunk_size, settings.kg_chunk_overlap)
    for i, unit in enumerate(units, start=1):
        unit.short_id = i
    report("chunk", len(units), len(units))

    cache = Cache(settings.kg_home / "cache.db")
    try:
        extractions, extracted = await _extract_cached(units, extractor, cache, report)
    finally:
        cache.close()

    report("merge", 0, 1)
    entities, relationships = await asyncio.to_thread(merge_extractions, units, extractions)
    report("merge", 1, 1)
    report("communities", 0, 1)
    communities = await asyncio.to_thread(
        detect_communities, entities, relationships, settings.kg_max_cluster_size, settings.kg_seed
    )
    reports = await asyncio.to_thread(extractive_reports, communities, entities, relationships)
    report("communities", 1, 1)

    for doc in docs:
        doc.text = ""  # the store keeps chunks, not a second copy of every document
    seconds = round(time.perf_counter() - started, 3)
    index = GraphIndex(
        documents=docs,
        text_units=units,
        entities=entities,
        relationships=relationships,
        communities=communities,
        reports=reports,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=seconds,
        extractor=extractor.cache_key,
    )
    report("publish", 0, 1)
    await store.publish(namespace, index)
    report("publish", 1, 1)
    return IndexSummary(
        namespace=namespace,
        documents=len(docs),
        text_units=len(units),
        entities=len(entities),
        relationships=len(relationships),
        communities=len(communities),
        reports=len(reports),
        seconds=round(time.perf_counter() - started, 2),
        chunks_extracted=extracted,
        chunks_cached=len(units) - extracted,
        problems=loaded.problems,
    )
