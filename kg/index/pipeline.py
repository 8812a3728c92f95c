"""The indexing pipeline: load ▶ chunk ▶ extract (cached per chunk) ▶ merge ▶ communities ▶ reports ▶ embed ▶
publish.

CPU-heavy steps run in worker threads so an event loop serving chat stays responsive during a reindex.
Nothing reaches the store until the whole build exists, and the store publishes it atomically, so a failure
anywhere leaves the previous index serving.

Offline (nlp extractor) every step is local. With the llm extractor, descriptions with several sources are
summarised and community reports written by the model too; with an embedding model, entities and chunks get
vectors.
Every model result is cached by its input in KG_HOME, and the graph is re-merged from cached per-chunk
results, so a rebuild pays only for what changed; the cost of each build is counted per phase.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Protocol

from kg.config import Settings
from kg.index.cache import Cache, extraction_from_json, extraction_to_json, input_hash
from kg.index.chunk import chunk_documents
from kg.index.communities import detect_communities
from kg.index.embed import embed_entities, embed_text_units
from kg.index.extract.base import ChunkExtraction, Extractor
from kg.index.extract.llm import LlmExtractor
from kg.index.extract.nlp import NlpExtractor
from kg.index.load import load_documents
from kg.index.merge import merge_extractions, merge_graph
from kg.index.reports import extractive_reports, write_reports
from kg.index.summarize import summarize_descriptions
from kg.llm.client import ModelClient, usage_totals
from kg.model import Document, GraphIndex, TextUnit
from kg.store.base import GraphStore
from kg.text.tokens import MAX_WORD_CHARS, cut_long_words, long_words


class Progress(Protocol):
    """Where a build is: the stage, how many of its items are done, and the file being read (load, chunk and
    extract name it, so that a file that takes long is visible while it does)."""

    def __call__(self, stage: str, done: int, total: int, file: str = "") -> None: ...


class NothingToIndex(Exception):
    """No document could be read; the message lists why, one line per path."""


class ExtractionFailed(RuntimeError):
    """The model failed on most chunks (down, refusing, or unable to produce the format): nothing published."""


@dataclass
class LongWords:
    """A document with words longer than MAX_WORD_CHARS: indexed cut to that length, shown whole."""

    source: str
    count: int
    longest: int  # characters

    def describe(self) -> str:
        words = "word" if self.count == 1 else "words"
        return (
            f"{self.source}: {self.count:,} over-long {words} (longest {self.longest:,} characters) cut to "
            f"{MAX_WORD_CHARS} characters for indexing; the text is kept whole"
        )


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
    usage: dict[str, dict[str, int]] = field(
        default_factory=dict
    )  # per phase: calls, prompt/completion tokens
    long_words: list[LongWords] = field(default_factory=list)  # documents whose over-long words were cut


def make_extractor(
    settings: Settings, models: ModelClient | None = None, kind: str | None = None
) -> Extractor:
    """The extractor `kind` (default KG_EXTRACTOR) names: "llm", "nlp", or "auto" (llm when a chat model is
    configured, else nlp). `models` is the client the llm extractor calls (default: from settings)."""
    kind = kind or settings.kg_extractor
    if kind not in ("auto", "nlp", "llm"):
        raise ValueError(f"unknown extractor {kind!r}: use auto, nlp or llm")
    if kind == "nlp":
        return NlpExtractor()
    models = models if models is not None else ModelClient.from_settings(settings)
    if models is None or models.chat_model is None:
        if kind == "llm":
            raise ValueError("the llm extractor needs a model: set OPENAI_API_KEY or OPENAI_BASE_URL")
        return NlpExtractor()
    return LlmExtractor(models, settings.entity_types, settings.kg_gleaning)


def _indexed_text(units: Sequence[TextUnit]) -> list[TextUnit]:
    """The units as extraction sees them: over-long words cut (the units themselves keep their text)."""
    cut = [cut_long_words(u.text) for u in units]
    return [
        u if text is u.text else dataclasses.replace(u, text=text) for u, text in zip(units, cut, strict=True)
    ]


async def _extract_cached(
    units: Sequence[TextUnit], extractor: Extractor, cache: Cache, progress: Progress, sources: dict[str, str]
) -> tuple[list[ChunkExtraction], int, list[str]]:
    kind = f"extract:{extractor.cache_key}"
    units = await asyncio.to_thread(_indexed_text, units)
    keys = [input_hash(u.text) for u in units]
    cached = await asyncio.to_thread(cache.get_many, kind, keys)
    missing = [i for i, k in enumerate(keys) if k not in cached]
    done = len(units) - len(missing)
    fresh_done = 0

    def report() -> None:
        following = missing[fresh_done] if fresh_done < len(missing) else None
        file = sources.get(units[following].document_id, "") if following is not None else ""
        progress("extract", done, len(units), file)

    def advance(n: int) -> None:
        nonlocal done, fresh_done
        done += n
        fresh_done += n
        report()

    report()
    fresh = await extractor.extract([units[i] for i in missing], advance) if missing else []
    failed = [(i, ext.problem) for i, ext in zip(missing, fresh, strict=True) if ext.problem]
    if failed and len(failed) * 2 > len(fresh):  # a model that is down or unusable: keep the old index
        raise ExtractionFailed(
            f"extraction failed on {len(failed)} of {len(fresh)} chunks ({failed[0][1]}); "
            "nothing was published, the previous index is still serving"
        )
    await asyncio.to_thread(  # results with a problem are not cached: the next build retries them
        cache.put_many,
        kind,
        [
            (keys[i], extraction_to_json(ext))
            for i, ext in zip(missing, fresh, strict=True)
            if not ext.problem
        ],
    )
    by_index = dict(zip(missing, fresh, strict=True))
    results = [by_index[i] if i in by_index else extraction_from_json(cached[k]) for i, k in enumerate(keys)]
    problems = [f"chunk {units[i].short_id}: {problem}" for i, problem in failed]
    return results, len(missing), problems


async def build_index(
    paths: Sequence[str | Path],
    store: GraphStore,
    settings: Settings,
    namespace: str | None = None,
    extractor: Extractor | None = None,
    progress: Progress | None = None,
    models: ModelClient | None = None,
) -> IndexSummary:
    """Build a complete index of `paths` and publish it as the namespace's index.

    `models` (default: from settings, None when no model is configured) serves the llm extractor, the
    summaries and reports that come with it, and entity and chunk embeddings when it has an embedding model.
    Raises NothingToIndex (store untouched) when no document could be loaded, ExtractionFailed when the model
    failed on most chunks.
    """
    namespace = namespace or settings.kg_namespace
    report = progress or (lambda stage, done, total, file="": None)
    if models is None and (extractor is None or getattr(extractor, "uses_model", False)):
        models = getattr(extractor, "client", None) or ModelClient.from_settings(settings)
    extractor = extractor or make_extractor(settings, models)
    with_model = bool(getattr(extractor, "uses_model", False)) and models is not None
    usage_before = models.meter.snapshot() if models is not None else {}
    started = time.perf_counter()

    loop = asyncio.get_running_loop()

    def from_thread(stage: str) -> Callable[[str, int, int], None]:
        """A progress callback for a worker thread: the report itself runs on the event loop."""
        return lambda file, done, total: loop.call_soon_threadsafe(report, stage, done, total, file)

    report("load", 0, len(paths))
    loaded = await asyncio.to_thread(
        partial(load_documents, max_file_mb=settings.kg_max_file_mb, on_file=from_thread("load")), paths
    )
    if not loaded.documents:
        raise NothingToIndex("\n".join(loaded.problems) or "nothing to index")
    docs = loaded.documents
    report("load", len(docs), len(docs))
    long = await asyncio.to_thread(_long_words, docs)

    units = await asyncio.to_thread(
        partial(chunk_documents, on_document=from_thread("chunk")),
        docs,
        settings.kg_chunk_size,
        settings.kg_chunk_overlap,
    )
    for i, unit in enumerate(units, start=1):
        unit.short_id = i
    report("chunk", len(docs), len(docs))

    cache = Cache(settings.kg_home / "cache.db")
    try:
        sources = {doc.id: doc.source for doc in docs}
        extractions, extracted, problems = await _extract_cached(units, extractor, cache, report, sources)

        report("merge", 0, 1)
        if with_model:
            assert models is not None
            merged = await asyncio.to_thread(merge_graph, units, extractions, False)
            report("merge", 1, 1)
            problems += await summarize_descriptions(merged, models, cache, settings.kg_summary_batch, report)
            entities, relationships = merged.entities, merged.relationships
        else:
            entities, relationships = await asyncio.to_thread(merge_extractions, units, extractions)
            report("merge", 1, 1)
        report("communities", 0, 1)
        communities = await asyncio.to_thread(
            detect_communities, entities, relationships, settings.kg_max_cluster_size, settings.kg_seed
        )
        if with_model:
            assert models is not None
            report("communities", 1, 1)
            reports, report_problems = await write_reports(
                communities, entities, relationships, models, cache, settings.kg_report_max_tokens, report
            )
            problems += report_problems
        else:
            reports = await asyncio.to_thread(extractive_reports, communities, entities, relationships)
            report("communities", 1, 1)
        if models is not None and models.embeddings is not None:
            problems += await embed_entities(entities, models, cache, report)
            problems += await embed_text_units(units, models, cache, report)
    finally:
        cache.close()
    usage = models.meter.since(usage_before) if models is not None else {}

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
        usage=usage,
    )
    report("publish", 0, 1)
    await store.publish(namespace, index)
    report("publish", 1, 1)
    totals = usage_totals(usage)
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
        problems=loaded.problems + problems,
        llm_calls=totals["calls"],
        prompt_tokens=totals["prompt_tokens"],
        completion_tokens=totals["completion_tokens"],
        usage=usage,
        long_words=long,
    )


def _long_words(docs: Sequence[Document]) -> list[LongWords]:
    found = []
    for doc in docs:
        count, longest = long_words(doc.text)
        if count:
            found.append(LongWords(doc.source, count, longest))
    return found
