"""The language-model extractor: entities and relationships of each chunk through structured output.

One call per chunk (a forced `record_graph` tool call, or plain JSON for models without tool calling), plus
an optional gleaning call asking for what the first one missed. Output that cannot be read, even repaired,
costs only its chunk: the chunk is skipped with a warning (and not cached, so a rebuild retries it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import HumanMessage

from kg import prompts
from kg.index.extract.base import ChunkExtraction, ExtractedEntity, ExtractedRelationship, ProgressFn
from kg.llm.client import ModelClient
from kg.llm.structured import MalformedOutput, call_structured, follow_up
from kg.model import TextUnit

log = logging.getLogger(__name__)

DEFAULT_ENTITY_TYPES = ("ORGANIZATION", "PERSON", "GEO", "EVENT")


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _strength(value: Any) -> float:
    try:
        strength = float(value)
    except (TypeError, ValueError):
        return 1.0
    return min(10.0, max(1.0, strength)) if strength == strength else 1.0  # NaN -> 1


def parse_extraction(data: dict[str, Any]) -> tuple[ChunkExtraction, int]:
    """The records of a `record_graph` payload, and how many were unreadable and dropped.

    Lenient about names (GraphRAG's `entity_name`, `name`, `src`...) and types; raises MalformedOutput when the
    payload holds neither entities nor relationships lists.
    """
    raw_entities = data.get("entities")
    raw_relationships = data.get("relationships")
    if not isinstance(raw_entities, list) and not isinstance(raw_relationships, list):
        raise MalformedOutput("the reply has no entities or relationships list")
    dropped = 0
    entities: list[ExtractedEntity] = []
    for item in raw_entities if isinstance(raw_entities, list) else []:
        if not isinstance(item, dict):
            dropped += 1
            continue
        title = _text(item.get("title") or item.get("name") or item.get("entity_name"))
        if not title:
            dropped += 1
            continue
        kind = _text(item.get("type") or item.get("entity_type")).upper().replace(" ", "_") or "CONCEPT"
        entities.append(ExtractedEntity(title, kind, _text(item.get("description"))))
    relationships: list[ExtractedRelationship] = []
    for item in raw_relationships if isinstance(raw_relationships, list) else []:
        if not isinstance(item, dict):
            dropped += 1
            continue
        source = _text(item.get("source") or item.get("source_entity") or item.get("src"))
        target = _text(item.get("target") or item.get("target_entity") or item.get("tgt"))
        if not source or not target or source.lower() == target.lower():
            dropped += 1
            continue
        weight = _strength(item.get("strength", item.get("weight")))
        relationships.append(ExtractedRelationship(source, target, _text(item.get("description")), weight))
    return ChunkExtraction(entities=entities, relationships=relationships), dropped


def _combine(first: ChunkExtraction, more: ChunkExtraction) -> ChunkExtraction:
    """A gleaning pass adds records; one that repeats a record adds nothing."""
    seen_e = {(e.title.lower(), e.description) for e in first.entities}
    seen_r = {(r.source.lower(), r.target.lower(), r.description) for r in first.relationships}
    return ChunkExtraction(
        entities=first.entities
        + [e for e in more.entities if (e.title.lower(), e.description) not in seen_e],
        relationships=first.relationships
        + [
            r for r in more.relationships if (r.source.lower(), r.target.lower(), r.description) not in seen_r
        ],
    )


class LlmExtractor:
    """The `Extractor` backed by a chat model (through `ModelClient`: bounded, retried and metered)."""

    uses_model = True  # the pipeline then also writes summaries and reports with the model

    def __init__(
        self, client: ModelClient, entity_types: Sequence[str] = DEFAULT_ENTITY_TYPES, gleaning: int = 0
    ) -> None:
        if client.chat_model is None:
            raise ValueError("the llm extractor needs a chat model")
        self.client = client
        self.entity_types = [t.strip().upper() for t in entity_types if t.strip()] or list(
            DEFAULT_ENTITY_TYPES
        )
        self.gleaning = max(0, gleaning)
        self._system = prompts.EXTRACT_SYSTEM.format(entity_types=", ".join(self.entity_types))

    @property
    def cache_key(self) -> str:
        """Model, prompt version, entity types and gleaning: everything that changes the output."""
        types = hashlib.sha256(",".join(self.entity_types).encode()).hexdigest()[:8]
        return f"llm:{self.client.chat_name}:{prompts.EXTRACT_VERSION}:types-{types}:glean-{self.gleaning}"

    async def extract(
        self, units: Sequence[TextUnit], progress: ProgressFn | None = None
    ) -> list[ChunkExtraction]:
        async def one(unit: TextUnit) -> ChunkExtraction:
            try:
                return await self.extract_text(unit.text)
            finally:
                if progress is not None:
                    progress(1)

        return list(await asyncio.gather(*(one(u) for u in units)))

    async def extract_text(self, text: str) -> ChunkExtraction:
        """The extraction of one chunk; a chunk whose output cannot be read gets an empty result with a
        `problem`, and so does one whose model call keeps failing."""
        messages = [HumanMessage(prompts.EXTRACT_HUMAN.format(text=text))]
        try:
            reply = await call_structured(
                self.client, "extract", self._system, messages, prompts.EXTRACT_TOOL, prompts.EXTRACT_SHAPE
            )
            result, dropped = parse_extraction(reply.data)
        except MalformedOutput as exc:
            return ChunkExtraction(problem=f"unreadable model output, chunk skipped: {exc}")
        except Exception as exc:  # noqa: BLE001 - one chunk's failure is reported, the build goes on
            return ChunkExtraction(problem=f"model call failed, chunk skipped: {type(exc).__name__}: {exc}")
        for _ in range(self.gleaning):
            try:
                more = await call_structured(
                    self.client,
                    "extract",
                    self._system,
                    [*messages, *follow_up(reply, prompts.EXTRACT_GLEANING)],
                    prompts.EXTRACT_TOOL,
                    prompts.EXTRACT_SHAPE,
                )
                extra, extra_dropped = parse_extraction(more.data)
            except Exception as exc:  # noqa: BLE001 - the first pass stands; the chunk is redone next build
                result.problem = f"gleaning pass failed ({type(exc).__name__}: {exc}); first pass kept"
                break
            result = _combine(result, extra)
            dropped += extra_dropped
        if dropped:
            log.info("%d unreadable records dropped from one chunk's extraction", dropped)
        return result
