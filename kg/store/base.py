"""The contract every graph store keeps (SQLite embedded, Neo4j production).

Local search needs a handful of set-at-a-time reads; each is one round trip whatever the number of entities,
so a question costs a small fixed number of queries. A whole build is published atomically: readers see the
previous build until the new one is complete, and a failed publish leaves the previous one serving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kg.model import CommunityReport, Entity, Feedback, GraphIndex, Relationship, TextUnit


class StoreError(RuntimeError):
    """The store cannot be reached or used; the message is fit to show a user."""


@dataclass
class ScoredEntity:
    entity: Entity
    score: float


@dataclass
class ScoredReport:
    report: CommunityReport
    matches: int  # how many of the asked entities belong to the report's community


@dataclass
class LinkedEntity:
    key: str  # the link key (kg.text.names) the entity was found by
    entity: Entity


@dataclass
class ChildReport:
    parent: int  # the community it belongs to, -1 for a root
    report: CommunityReport


@dataclass
class PassageSearch:
    """The first read of a local-search question: everything that depends only on the question's words.

    A store answers it in one round trip (Neo4j: one statement; SQLite: one snapshot), with the number of the
    build it read, so that the second read (`GraphRead`) can be pinned to that build."""

    query: str  # full-text query: entity search (title, description) and chunk search
    link_keys: list[str]  # kg.text.names keys of the question's mentions
    entity_limit: int
    chunk_limit: int
    seed_passages: int  # the best chunk hits whose entities are read (the graph's passage seeds)
    passage_entity_limit: int
    vector: list[float] | None = None  # the query's embedding, for the vector entity and chunk searches
    chunk_vector_limit: int = 0  # chunks to find by their embedding's cosine with `vector`


@dataclass
class PassageHits:
    generation: int | None  # the published build all of it was read from; None before the first publish
    entities: list[ScoredEntity] = field(default_factory=list)  # full-text entity search, best first
    vector_entities: list[ScoredEntity] = field(default_factory=list)  # by embedding, best first
    chunks: list[tuple[TextUnit, float]] = field(default_factory=list)  # full-text chunk search, best first
    # by embedding (cosine), best first
    vector_chunks: list[tuple[TextUnit, float]] = field(default_factory=list)
    linked: list[LinkedEntity] = field(default_factory=list)  # as `link_entities`
    passage_entities: list[Entity] = field(default_factory=list)  # as `entities_in_text_units` of the seeds


@dataclass
class GraphRead:
    """The second read of a local-search question, from the build the first one read (`generation`)."""

    generation: int
    titles: list[str]  # relationships with an end among these
    entity_ids: list[str]  # reports of the communities holding these
    relationship_limit: int
    text_unit_ids: list[str]  # passages to read whole
    document_ids: list[str]  # documents to name, besides those of `text_unit_ids`
    hop_titles: list[str] = field(default_factory=list)  # the seeds of the two-hop passages (kg.store.hops)
    hop_limit: int = 0  # two-hop passages to read, best first
    hop_exclude: list[str] = field(default_factory=list)  # passages the question has already: not hops
    # Passages to read by short id (those that exist): the neighbours of the best ones in corpus order.
    neighbour_short_ids: list[int] = field(default_factory=list)


@dataclass
class GraphRows:
    generation: int | None  # the published build now; when it is not the one asked, the rows are empty
    relationships: list[Relationship] = field(default_factory=list)
    reports: list[ScoredReport] = field(default_factory=list)
    text_units: list[TextUnit] = field(default_factory=list)  # in the order asked
    hop_passages: list[tuple[TextUnit, float]] = field(default_factory=list)  # kg.store.hops, best first
    neighbours: list[TextUnit] = field(default_factory=list)  # of `neighbour_short_ids`, in the order asked
    documents: dict[str, tuple[str, str]] = field(default_factory=dict)  # document id -> (title, source)


@dataclass
class StoreStats:
    counts: dict[str, int]
    top_entities: list[dict[str, object]] = field(default_factory=list)  # {title, type, degree}
    built_at: str = ""
    seconds: float = 0.0
    extractor: str = ""
    usage: dict[str, dict[str, int]] = field(default_factory=dict)  # what the build cost (see GraphIndex)


class GraphStore(Protocol):
    async def publish(self, namespace: str, index: GraphIndex) -> None:
        """Replace the namespace's index with `index` in one atomic step."""
        ...

    async def search_entities(self, namespace: str, query: str, limit: int) -> list[ScoredEntity]:
        """Full-text (BM25) search over entity title and description; best first."""
        ...

    async def search_entities_by_vector(
        self, namespace: str, vector: Sequence[float], limit: int
    ) -> list[ScoredEntity]:
        """Cosine similarity over entity embeddings; empty when the build has none."""
        ...

    async def search_text_units(self, namespace: str, query: str, limit: int) -> list[tuple[TextUnit, float]]:
        """Full-text (BM25) search over chunk text; best first."""
        ...

    async def find_passages(self, namespace: str, search: PassageSearch) -> PassageHits:
        """Local search's first read in one round trip, from one build (see `PassageSearch`)."""
        ...

    async def read_graph(self, namespace: str, read: GraphRead) -> GraphRows:
        """Local search's second read in one round trip: relationships, reports, passages and documents of
        build `read.generation`, with the build published now. A question whose two reads name the same build
        never mixes two builds; when they differ it is read again."""
        ...

    async def get_entities(self, namespace: str, titles: Sequence[str]) -> list[Entity]: ...

    async def link_entities(self, namespace: str, keys: Sequence[str]) -> list[LinkedEntity]:
        """Entities whose title or alias has one of the link keys (kg.text.names.entity_keys), in key order."""
        ...

    async def entities_in_text_units(
        self, namespace: str, text_unit_ids: Sequence[str], limit: int
    ) -> list[Entity]:
        """Entities mentioned in any of the text units: those mentioned in the most of them first, then the
        most specific (fewest text units overall). The passage -> entity half of the passage-entity graph."""
        ...

    async def relationships_of(self, namespace: str, titles: Sequence[str], limit: int) -> list[Relationship]:
        """Relationships with at least one end among `titles`, strongest first (weight, then rank)."""
        ...

    async def reports_for(self, namespace: str, entity_ids: Sequence[str]) -> list[ScoredReport]:
        """Reports of every community holding any of the entities, with how many of them it holds."""
        ...

    async def child_reports(self, namespace: str, parents: Sequence[int]) -> list[ChildReport]:
        """Reports of the communities whose parent is in `parents` (-1: the roots), highest rank first.

        Global search walks the hierarchy down from the roots through relevant reports only, so what it
        reads grows with the question's reach, not with the corpus."""
        ...

    async def community_text_units(self, namespace: str, communities: Sequence[int]) -> dict[int, list[str]]:
        """community id -> ids of the text units its entities come from (what a report's claims rest on)."""
        ...

    async def community_entities(
        self, namespace: str, communities: Sequence[int], limit: int
    ) -> dict[int, list[Entity]]:
        """community id -> its `limit` most connected entities (degree, then title): what a picture of a
        global answer draws for each report it cites."""
        ...

    async def get_text_units(self, namespace: str, ids: Sequence[str]) -> list[TextUnit]: ...

    async def document_titles(
        self, namespace: str, document_ids: Sequence[str]
    ) -> dict[str, tuple[str, str]]:
        """document id -> (title, source)."""
        ...

    async def generation(self, namespace: str) -> int | None:
        """The number of the namespace's published build, None before the first. Every publish changes it, so
        reads made between two equal answers all come from one build (kg.search.local relies on this)."""
        ...

    async def stats(self, namespace: str, top: int = 50) -> StoreStats | None:
        """None when the namespace has never been published."""
        ...

    async def export(self, namespace: str) -> GraphIndex | None:
        """The whole published index of the namespace (for export and re-merging)."""
        ...

    async def namespaces(self) -> list[str]: ...

    async def record_feedback(self, feedback: Feedback) -> bool:
        """Keep a vote, idempotently: True when it is new or changes the person's vote on that answer, False
        when it repeats it (a double click, a redelivery). A changed vote replaces the old one and its reason;
        `created_at`/`updated_at` are set here. Feedback outlives republishing its namespace."""
        ...

    async def set_feedback_reason(self, feedback: Feedback) -> bool:
        """Attach `feedback.reason` to the person's existing vote on that answer (found by its key); False
        when there is no such vote."""
        ...

    async def feedback(self, namespace: str) -> list[Feedback]:
        """Every vote of one namespace, oldest first."""
        ...

    async def close(self) -> None: ...
