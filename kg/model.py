"""The records kgbot passes between its parts: an index's tables, shaped like Microsoft GraphRAG's output
tables, and what a question carries (the conversation's turns, a question embedder, the answer's usage).

Ids are content hashes so that re-indexing the same text yields the same ids (idempotent writes);
`short_id` is the small integer cited in answers (GraphRAG's `human_readable_id`), stable within one build.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

# A question's embedding, from the configured embedding model (kg.llm.models.query_embedder).
Embed = Callable[[str], Awaitable[Sequence[float]]]


def content_id(*parts: str) -> str:
    """A stable 16-hex id for the given parts (namespace-free: the store scopes ids by namespace)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:16]


@dataclass
class Document:
    id: str
    title: str
    source: str
    text: str = ""
    text_unit_ids: list[str] = field(default_factory=list)


@dataclass
class TextUnit:
    """A chunk of a document ("Sources" in citations); `start`/`end` are character offsets in the document.
    `embedding` is the vector of its text when the index has an embedding model (passage vector search). The
    stores return it from `export` only (a question's reads leave it out), so it is not part of a chunk's
    equality: the chunk a search returns equals the one that was indexed."""

    id: str
    short_id: int
    document_id: str
    text: str
    # As a store returns it, kg.text.tokens.count_tokens(text): the stores count it at publish (an imported
    # GraphRAG build brings its own tokenizer's counts), so that filling a context need not count passages.
    n_tokens: int
    start: int = 0
    end: int = 0
    embedding: list[float] | None = field(default=None, compare=False, repr=False)


@dataclass
class Entity:
    id: str
    short_id: int
    title: str
    type: str
    description: str
    text_unit_ids: list[str] = field(default_factory=list)
    degree: int = 0
    embedding: list[float] | None = None


@dataclass
class Relationship:
    """An edge between two entities, named by their titles as in GraphRAG's relationships table."""

    id: str
    short_id: int
    source: str
    target: str
    description: str
    weight: float = 1.0
    text_unit_ids: list[str] = field(default_factory=list)
    rank: int = 0  # combined degree of both ends, GraphRAG's `combined_degree`


@dataclass
class Community:
    id: int  # also its short id
    level: int
    parent: int  # -1 for a top-level community
    title: str = ""
    entity_ids: list[str] = field(default_factory=list)
    relationship_ids: list[str] = field(default_factory=list)
    text_unit_ids: list[str] = field(default_factory=list)


@dataclass
class Finding:
    summary: str
    explanation: str


@dataclass
class CommunityReport:
    community: int
    level: int
    title: str
    summary: str
    full_content: str
    rank: float
    findings: list[Finding] = field(default_factory=list)

    @property
    def short_id(self) -> int:
        return self.community


@dataclass
class GraphIndex:
    """One complete build of a namespace: what a store publishes atomically."""

    documents: list[Document] = field(default_factory=list)
    text_units: list[TextUnit] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    communities: list[Community] = field(default_factory=list)
    reports: list[CommunityReport] = field(default_factory=list)
    built_at: str = ""
    seconds: float = 0.0
    extractor: str = ""
    # Model calls and tokens the build cost, per phase: {"extract": {"calls", "prompt_tokens",
    # "completion_tokens"}, "summarize": ..., "report": ..., "embed": ...}; empty for an offline build.
    usage: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass
class Turn:
    """One message of a conversation, which a follow-up question is read with."""

    role: str  # "user" | "assistant"
    text: str


@dataclass
class Usage:
    """What answering one question cost: the context's size and the model calls made for it."""

    context_tokens: int = 0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Feedback:
    """One person's vote on one answer, with what the answer was, so a bad answer can be studied later.

    A person has at most one vote per answer: (namespace, platform, workspace, answer_id, user) is its key, a
    repeated vote changes nothing and a changed one replaces the old (and its reason).
    """

    namespace: str
    platform: str  # "slack" | "discord"
    workspace: str  # Slack team id, Discord guild id: feedback never crosses workspaces
    answer_id: str
    user: str
    vote: str  # "up" | "down"
    reason: str = ""  # what was wrong, for a "down" vote
    question: str = ""
    answer: str = ""
    cited: list[str] = field(default_factory=list)  # "Sources:9", "Entities:3", ...
    generation: int | None = None  # the build that answered
    search: str = ""  # "local" | "global"
    mode: str = ""  # "llm" | "extractive"
    model: str = ""  # the chat model's name, for "llm" answers
    created_at: str = ""  # ISO 8601, UTC: the first vote
    updated_at: str = ""  # ISO 8601, UTC: the last change of vote or reason
