"""What an extractor produces for one chunk, and the interface both extractors (nlp, llm) implement.

Extraction is per chunk so that results can be cached by chunk content: the graph is then re-merged from
cached per-chunk results, which makes edits and deletions exact and unchanged text free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kg.model import TextUnit


@dataclass
class ExtractedEntity:
    title: str
    type: str
    description: str  # one or more sentences about the entity, from this chunk


@dataclass
class ExtractedRelationship:
    source: str  # entity titles as extracted (normalised later, at merge)
    target: str
    description: str  # the evidence: for nlp the sentence where both occur
    weight: float = 1.0


@dataclass
class ChunkExtraction:
    entities: list[ExtractedEntity] = field(default_factory=list)
    relationships: list[ExtractedRelationship] = field(default_factory=list)
    # Why the result is empty or partial (unreadable model output, a failed call); such a result is used for
    # this build but not cached, so the next build tries the chunk again.
    problem: str = ""


ProgressFn = Callable[[int], None]  # called with the number of chunks just finished


class Extractor(Protocol):
    """Turns chunks into entities and relationships.

    `cache_key` names everything that changes the output (extractor kind, model, prompt version), so cached
    results are reused exactly when they would be reproduced.
    """

    @property
    def cache_key(self) -> str: ...

    async def extract(
        self, units: Sequence[TextUnit], progress: ProgressFn | None = None
    ) -> list[ChunkExtraction]:
        """One result per unit, in order. CPU-bound extractors run off the event loop."""
        ...
