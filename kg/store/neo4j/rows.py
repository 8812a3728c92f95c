"""Between the model and Neo4j: a build as the parameter rows of the write statements (checked before
anything is written), and records read back into model objects."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kg.model import (
    Community,
    CommunityReport,
    Document,
    Entity,
    Feedback,
    Finding,
    GraphIndex,
    Relationship,
    TextUnit,
)
from kg.store.base import StoreError
from kg.store.chunk_ranking import CHUNK_COUNT, HEAD_POSTINGS, Posting, chunk_postings
from kg.store.neo4j import search_statements as search_cypher
from kg.store.neo4j import statements as cypher
from kg.store.neo4j import vocabulary
from kg.store.neo4j.fulltext import search_text
from kg.text.names import entity_keys
from kg.text.tokens import count_tokens
from kg.text.words import words_of

T = TypeVar("T")

BATCH_SIZE = 1000


def batched(rows: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    """`rows` in consecutive slices of at most `size` (each slice is one UNWIND statement)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


@dataclass
class BuildRows:
    """A build turned into the parameter rows of the write statements, checked before anything is written."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    chunks: list[dict[str, Any]] = field(default_factory=list)
    entities: dict[str | None, list[dict[str, Any]]] = field(default_factory=dict)  # by type label
    mentions: list[dict[str, Any]] = field(default_factory=list)
    relationships: list[dict[str, Any]] = field(default_factory=list)
    communities: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    parents: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    terms: list[dict[str, Any]] = field(default_factory=list)  # chunk postings (kg.store.chunk_ranking)
    entity_terms: list[dict[str, Any]] = field(default_factory=list)  # entity word frequencies
    embedding_dimensions: int | None = None  # of the entities' vectors
    embedding_count: int = 0
    chunk_embedding_dimensions: int | None = None  # of the chunks' vectors
    chunk_embedding_count: int = 0

    def writes(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(statement, rows) in write order: nodes before the relationships that need them."""
        steps = [(cypher.CREATE_DOCUMENTS, self.documents), (cypher.CREATE_CHUNKS, self.chunks)]
        steps += [(cypher.CREATE_ENTITIES_BY_LABEL[label], rows) for label, rows in self.entities.items()]
        steps += [
            (cypher.CREATE_MENTIONS, self.mentions),
            (cypher.CREATE_RELATIONSHIPS, self.relationships),
            (cypher.CREATE_COMMUNITIES, self.communities),
            (cypher.CREATE_COMMUNITY_MEMBERS, self.members),
            (cypher.CREATE_COMMUNITY_PARENTS, self.parents),
            (cypher.CREATE_REPORTS, self.reports),
            (search_cypher.CREATE_TERMS, self.terms),
            (search_cypher.CREATE_ENTITY_TERMS, self.entity_terms),
        ]
        return [(statement, rows) for statement, rows in steps if rows]


def posting_lists(postings: Sequence[Posting], prefix: str = "") -> dict[str, list[Any]]:
    """A chunk word's postings as the parallel lists its Term node holds; a common word's first HEAD_POSTINGS
    also apart ("head_"), so that a search ranking only those (kg.store.chunk_ranking.window) does not read
    every posting of the word (at 100k entities a question of common words read 15,000; over the questions of
    bench/context_latency.py the first read's server time p95 was 36 ms, 13 with the heads)."""
    return {
        prefix + "short_ids": [p.short_id for p in postings],
        prefix + "ids": [p.id for p in postings],
        prefix + "tfs": [p.tf for p in postings],
        prefix + "lengths": [p.length for p in postings],
    }


def entity_term_rows(entities: Sequence[Entity]) -> list[dict[str, Any]]:
    """Each word of the entities with its document frequency (title or description: df; title alone: title_df),
    as the SQLite store's entity full-text index counts them, and its postings, by entity seq: every entity
    having it (`seqs`, with its count in the title and in the description and the entity's length in words) and
    those having it in the title (`title_seqs`, for a word searched in titles only). The word '' holds the entity
    count and total words. Ranking from these (kg.store.neo4j.search_statements) reads no entity's text."""
    postings: dict[str, list[tuple[int, int, int, int]]] = {}
    total = 0
    for seq, e in enumerate(entities):
        title, description = Counter(words_of(e.title)), Counter(words_of(e.description))
        length = title.total() + description.total()
        total += length
        for term in title.keys() | description.keys():
            postings.setdefault(term, []).append((seq, title[term], description[term], length))
    rows: list[dict[str, Any]] = []
    for term, found in postings.items():
        in_title = [p for p in found if p[1]]
        rows.append(
            {
                "term": term,
                "df": len(found),
                "title_df": len(in_title),
                "seqs": [p[0] for p in found],
                "title_tfs": [p[1] for p in found],
                "description_tfs": [p[2] for p in found],
                "lengths": [p[3] for p in found],
                "title_seqs": [p[0] for p in in_title],
                "title_only_tfs": [p[1] for p in in_title],
                "title_lengths": [p[3] for p in in_title],
            }
        )
    return rows + [{"term": "", "df": len(entities), "title_df": 0, "tokens": total, "seqs": []}]


def _require_unique(kind: str, keys: Iterable[object]) -> None:
    seen: set[object] = set()
    for key in keys:
        if key in seen:
            raise StoreError(f"the build has two {kind} with the id {key!r}")
        seen.add(key)


def _embedding(what: str, name: str, embedding: Sequence[float] | None) -> list[float] | None:
    if embedding is None:
        return None
    try:
        vector = [float(x) for x in embedding]
    except TypeError as exc:
        raise StoreError(f"{what} {name!r} has an embedding that is not a flat vector") from exc
    return vector


def _embeddings(
    what: str, named: Iterable[tuple[str, Sequence[float] | None]]
) -> tuple[list[Any], int | None, int]:
    """The embeddings as stored (each checked flat), their one dimension (None when there are none) and how many
    are non-empty. Raises StoreError for mixed dimensions: such a build could not be searched faithfully."""
    vectors: list[Any] = []
    dimensions: set[int] = set()
    count = 0
    for name, embedding in named:
        vector = _embedding(what, name, embedding)
        if vector:
            dimensions.add(len(vector))
            count += 1
            if len(dimensions) > 1:
                raise StoreError(f"{what} embeddings have different dimensions: {sorted(dimensions)}")
        vectors.append(vector)
    return vectors, (dimensions.pop() if dimensions else None), count


def build_rows(index: GraphIndex) -> BuildRows:
    """Rows for every write statement. Raises StoreError for a build that cannot be stored faithfully:
    duplicate ids, relationships naming entities that are not in the build, mixed embedding dimensions."""
    _require_unique("documents", (d.id for d in index.documents))
    _require_unique("text units", (t.id for t in index.text_units))
    _require_unique("entities", (e.id for e in index.entities))
    _require_unique("relationships", (r.id for r in index.relationships))
    _require_unique("communities", (int(c.id) for c in index.communities))
    _require_unique("reports", (int(p.community) for p in index.reports))
    rows = BuildRows()
    rows.documents = [
        {
            "seq": i,
            "id": d.id,
            "title": d.title,
            "source": d.source,
            "text": d.text,
            "text_unit_ids": list(d.text_unit_ids),
        }
        for i, d in enumerate(index.documents)
    ]
    chunk_vectors, rows.chunk_embedding_dimensions, rows.chunk_embedding_count = _embeddings(
        "text unit", ((t.id, t.embedding) for t in index.text_units)
    )
    rows.chunks = [
        {
            "seq": i,
            "id": t.id,
            "short_id": int(t.short_id),
            "document_id": t.document_id,
            "text": t.text,
            "terms": search_text(t.text),
            "n_tokens": count_tokens(t.text),  # what kg.search.budget counts (kg.model.TextUnit)
            "start_char": int(t.start),
            "end_char": int(t.end),
            "embedding": vector,
        }
        for i, (t, vector) in enumerate(zip(index.text_units, chunk_vectors, strict=True))
    ]
    chunk_ids = {t.id for t in index.text_units}
    rows.terms = [
        {
            "term": term,
            "df": len(postings),
            **posting_lists(postings),
            **posting_lists(postings[:HEAD_POSTINGS], "head_"),
        }
        if len(postings) > HEAD_POSTINGS
        else {"term": term, "df": len(postings), **posting_lists(postings)}
        for term, postings in chunk_postings(index.text_units).items()
    ]
    rows.entity_terms = entity_term_rows(index.entities)
    rows.terms.append(
        {
            "term": CHUNK_COUNT,
            "df": len(index.text_units),
            "tokens": sum(int(t.n_tokens) for t in index.text_units),
        }
    )
    entity_vectors, rows.embedding_dimensions, rows.embedding_count = _embeddings(
        "entity", ((e.title, e.embedding) for e in index.entities)
    )
    for i, (e, embedding) in enumerate(zip(index.entities, entity_vectors, strict=True)):
        rows.entities.setdefault(vocabulary.entity_label(e.type), []).append(
            {
                "seq": i,
                "id": e.id,
                "short_id": int(e.short_id),
                "title": e.title,
                "type": e.type,
                "description": e.description,
                "title_terms": search_text(e.title),
                "description_terms": search_text(e.description),
                "text_unit_ids": list(e.text_unit_ids),
                "degree": int(e.degree),
                "embedding": embedding,
                "link_keys": entity_keys(e.title),
            }
        )
        rows.mentions += [
            {"chunk_id": unit_id, "entity_id": e.id}
            for unit_id in dict.fromkeys(e.text_unit_ids)
            if unit_id in chunk_ids
        ]
    entity_by_title: dict[str, str] = {}
    for e in index.entities:
        entity_by_title.setdefault(e.title, e.id)  # duplicate titles: edges attach to the first
    for i, r in enumerate(index.relationships):
        for end in (r.source, r.target):
            if end not in entity_by_title:
                raise StoreError(
                    f"relationship {r.id!r} ({r.source!r} -> {r.target!r}) names {end!r}, which is not an "
                    "entity of the build"
                )
        rows.relationships.append(
            {
                "seq": i,
                "id": r.id,
                "short_id": int(r.short_id),
                "source": r.source,
                "target": r.target,
                "source_id": entity_by_title[r.source],
                "target_id": entity_by_title[r.target],
                "description": r.description,
                "weight": float(r.weight),
                "rank": int(r.rank),
                "text_unit_ids": list(r.text_unit_ids),
            }
        )
    entity_ids = {e.id for e in index.entities}
    community_ids = {int(c.id) for c in index.communities}
    for i, c in enumerate(index.communities):
        rows.communities.append(
            {
                "seq": i,
                "id": int(c.id),
                "level": int(c.level),
                "parent": int(c.parent),
                "title": c.title,
                "entity_ids": list(c.entity_ids),
                "relationship_ids": list(c.relationship_ids),
                "text_unit_ids": list(c.text_unit_ids),
            }
        )
        rows.members += [
            {"entity_id": entity_id, "community": int(c.id)}
            for entity_id in dict.fromkeys(c.entity_ids)
            if entity_id in entity_ids
        ]
        if int(c.parent) in community_ids and int(c.parent) != int(c.id):
            rows.parents.append({"id": int(c.id), "parent": int(c.parent)})
    rows.reports = [
        {
            "seq": i,
            "community": int(p.community),
            "level": int(p.level),
            "title": p.title,
            "summary": p.summary,
            "full_content": p.full_content,
            "rank": float(p.rank),
            "finding_summaries": [f.summary for f in p.findings],
            "finding_explanations": [f.explanation for f in p.findings],
        }
        for i, p in enumerate(index.reports)
    ]
    return rows


# ---------------------------------------------------------------------------------------------- records


def entity_from(r: Any, *, with_embedding: bool = False) -> Entity:
    embedding = r["embedding"] if with_embedding else None
    return Entity(
        id=r["id"],
        short_id=r["short_id"],
        title=r["title"],
        type=r["type"],
        description=r["description"],
        text_unit_ids=list(r["text_unit_ids"] or []),
        degree=r["degree"],
        embedding=list(embedding) if embedding is not None else None,
    )


def text_unit_from(r: Any, *, with_embedding: bool = False) -> TextUnit:
    embedding = r["embedding"] if with_embedding else None
    return TextUnit(
        r["id"],
        r["short_id"],
        r["document_id"],
        r["text"],
        r["n_tokens"],
        r["start_char"],
        r["end_char"],
        list(embedding) if embedding is not None else None,
    )


def relationship_from(r: Any) -> Relationship:
    return Relationship(
        id=r["id"],
        short_id=r["short_id"],
        source=r["source"],
        target=r["target"],
        description=r["description"],
        weight=r["weight"],
        text_unit_ids=list(r["text_unit_ids"] or []),
        rank=r["rank"],
    )


def report_from(r: Any) -> CommunityReport:
    findings = zip(r["finding_summaries"] or [], r["finding_explanations"] or [], strict=True)
    return CommunityReport(
        community=r["community"],
        level=r["level"],
        title=r["title"],
        summary=r["summary"],
        full_content=r["full_content"],
        rank=r["rank"],
        findings=[Finding(summary, explanation) for summary, explanation in findings],
    )


def usage_from(stored: str | None) -> dict[str, dict[str, int]]:
    return json.loads(stored) if stored else {}


COUNT_FIELDS = {
    "documents": "document_count",
    "text_units": "chunk_count",
    "entities": "entity_count",
    "relationships": "relationship_count",
    "communities": "community_count",
    "reports": "report_count",
}


async def export_build(tx: Any, namespace: str) -> GraphIndex | None:
    """The namespace's current build, read in the read transaction `tx`: a generation never changes once
    written, so the statements after NAMESPACE_STATE all see the same build."""

    async def rows(statement: str, parameters: dict[str, Any]) -> list[Any]:
        result = await tx.run(statement, parameters)
        return [record async for record in result]

    state = await rows(cypher.NAMESPACE_STATE, {"namespace": namespace})
    if not state:
        return None
    meta = state[0]
    parameters = {"namespace": namespace, "generation": meta["generation"]}
    documents = [
        Document(
            id=r["id"],
            title=r["title"],
            source=r["source"],
            text=r["text"],
            text_unit_ids=list(r["text_unit_ids"] or []),
        )
        for r in await rows(cypher.EXPORT_DOCUMENTS, parameters)
    ]
    text_units = [
        text_unit_from(r, with_embedding=True) for r in await rows(cypher.EXPORT_CHUNKS, parameters)
    ]
    entities = [entity_from(r, with_embedding=True) for r in await rows(cypher.EXPORT_ENTITIES, parameters)]
    relationships = [relationship_from(r) for r in await rows(cypher.EXPORT_RELATIONSHIPS, parameters)]
    communities = [
        Community(
            id=r["id"],
            level=r["level"],
            parent=r["parent"],
            title=r["title"],
            entity_ids=list(r["entity_ids"] or []),
            relationship_ids=list(r["relationship_ids"] or []),
            text_unit_ids=list(r["text_unit_ids"] or []),
        )
        for r in await rows(cypher.EXPORT_COMMUNITIES, parameters)
    ]
    reports = [report_from(r) for r in await rows(cypher.EXPORT_REPORTS, parameters)]
    return GraphIndex(
        documents=documents,
        text_units=text_units,
        entities=entities,
        relationships=relationships,
        communities=communities,
        reports=reports,
        built_at=meta["built_at"],
        seconds=meta["seconds"],
        extractor=meta["extractor"],
        usage=usage_from(meta["usage"]),
    )


def feedback_key(f: Feedback) -> str:
    """One vote's identity: "|" separates the parts and each part's length leads it, so no two different
    (namespace, platform, workspace, answer, user) give the same key."""
    parts = (f.namespace, f.platform, f.workspace, f.answer_id, f.user)
    return "|".join(f"{len(p)}:{p}" for p in parts)


def feedback_row(f: Feedback) -> dict[str, Any]:
    """The parameters of RECORD_FEEDBACK for one vote (but `now`, which the store stamps)."""
    return {
        "key": feedback_key(f),
        "namespace": f.namespace,
        "platform": f.platform,
        "workspace": f.workspace,
        "answer_id": f.answer_id,
        "user": f.user,
        "vote": f.vote,
        "reason": f.reason,
        "question": f.question,
        "answer": f.answer,
        "cited": list(f.cited),
        "generation": f.generation,
        "search": f.search,
        "mode": f.mode,
        "model": f.model,
    }
