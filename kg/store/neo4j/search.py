"""Local search's reads on Neo4j: `find_passages` and `read_graph` (one statement each, in
kg.store.neo4j.search_statements), and the vector searches of entities and chunks (the entities' shared with
`search_entities_by_vector`)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from neo4j.exceptions import Neo4jError

from kg.model import TextUnit
from kg.store import chunk_ranking
from kg.store.base import (
    GraphRead,
    GraphRows,
    LinkedEntity,
    PassageHits,
    PassageSearch,
    ScoredEntity,
    ScoredReport,
    StoreError,
)
from kg.store.hops import MAX_HOP_ENTITY_PASSAGES, MAX_HOP_SEED_DEGREE, SCORE_DIGITS
from kg.store.neo4j import search_statements as search_cypher
from kg.store.neo4j import statements as cypher
from kg.store.neo4j.fulltext import (
    CHUNK_SEARCH_FIELDS,
    ENTITY_SEARCH_FIELDS,
    MAX_POSTINGS,
    MAX_TITLE_POSTINGS,
    fulltext_query,
    link_query,
)
from kg.store.neo4j.rows import batched, entity_from, relationship_from, report_from, text_unit_from
from kg.text.words import query_words, word_forms


class Neo4jStore(Protocol):
    """What these reads need of kg.store.neo4j.store.Neo4jStore (named here without importing it: it imports
    this module)."""

    async def _query(
        self, statement: str, parameters: dict[str, Any], *, action: str, write: bool = False
    ) -> list[Any]: ...

    async def generation(self, namespace: str) -> int | None: ...


log = logging.getLogger(__name__)

MAX_VECTOR_CANDIDATES = 10_000
MAX_LINK_KEYS_PER_QUERY = 1_000  # Lucene refuses a query of more than 1,024 clauses


def vector_candidates(limit: int) -> int:
    """How many neighbours to ask the shared vector index for, so that `limit` of them are likely this
    namespace's current generation (the index also holds other namespaces and the previous generation)."""
    return max(1, min(limit * 10 + 100, MAX_VECTOR_CANDIDATES))


def one_plan(parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a local-search statement as it takes them (kg.store.neo4j.search_statements says why):
    numbers and the namespace as they are, the question's strings and lists in the map `q`."""
    plain = {
        k: v
        for k, v in parameters.items()
        if k == "namespace" or (isinstance(v, int | float) and not isinstance(v, bool))
    }
    return {**plain, "q": {k: v for k, v in parameters.items() if k not in plain}}


def link_queries(keys: Sequence[str]) -> list[str]:
    return [link_query(batch) for batch in batched(list(keys), MAX_LINK_KEYS_PER_QUERY)]


def searchable(vector: Sequence[float], limit: int) -> bool:
    """Whether a vector search can find anything: a positive limit and a finite, non-zero query."""
    norm = math.sqrt(sum(float(x) * float(x) for x in vector))
    return limit > 0 and norm > 0.0 and math.isfinite(norm)


@dataclass(frozen=True)
class VectorKind:
    """What the vector search of entities or chunks needs: its statements, and the fields of a namespace's
    state (NAMESPACE_STATE, PASSAGE_SEARCH) saying how its build's vectors of this kind were stored."""

    name: str  # for messages
    index_search: str  # over the shared vector index
    exact_search: str  # over the build's nodes
    dimensions: str  # the state field: the dimension of the build's vectors (None: it has none)
    count: str  # ... how many it has
    index_dimensions: str  # ... the dimension of the shared vector index when the build was published


ENTITY_VECTORS = VectorKind(
    "entity",
    cypher.VECTOR_SEARCH_INDEX,
    cypher.VECTOR_SEARCH_EXACT,
    "embedding_dimensions",
    "embedding_count",
    "vector_index_dimensions",
)
CHUNK_VECTORS = VectorKind(
    "chunk",
    search_cypher.CHUNK_VECTOR_SEARCH_INDEX,
    search_cypher.CHUNK_VECTOR_SEARCH_EXACT,
    "chunk_embedding_dimensions",
    "chunk_embedding_count",
    "chunk_vector_index_dimensions",
)


async def nearest(
    store: Neo4jStore, kind: VectorKind, namespace: str, state: Any, vector: Sequence[float], limit: int
) -> list[Any]:
    """The records of the `limit` nodes of `kind` nearest to `vector` in the build `state` describes (a
    NAMESPACE_STATE record or alike), with their exact cosine `score`, best first."""
    query = [float(x) for x in vector]
    if not searchable(query, limit):
        return []
    norm = math.sqrt(sum(x * x for x in query))
    if state is None or not state[kind.dimensions]:
        return []
    if state[kind.dimensions] != len(query):
        raise StoreError(
            f"the query embedding has {len(query)} dimensions but the index of {namespace!r} has "
            f"{state[kind.dimensions]}: reindex with the current embedding model"
        )
    parameters = {
        "namespace": namespace,
        "generation": state["generation"],
        "vector": query,
        "vector_norm": norm,
        "limit": int(limit),
    }
    action = f"search {kind.name} embeddings"
    wanted = min(int(limit), state[kind.count] or 0)
    if state[kind.index_dimensions] == len(query):
        try:
            records = await store._query(
                kind.index_search, {**parameters, "candidates": vector_candidates(limit)}, action=action
            )
        except StoreError as exc:
            if not isinstance(exc.__cause__, Neo4jError):
                raise
            log.warning(
                "the %s vector index could not serve %r, searching exactly: %s", kind.name, namespace, exc
            )
        else:
            if len(records) >= wanted:
                return records
    return await store._query(kind.exact_search, parameters, action=action)


async def vector_search(
    store: Neo4jStore, namespace: str, state: Any, vector: Sequence[float], limit: int
) -> list[ScoredEntity]:
    """Entities nearest to `vector` in the build `state` describes."""
    records = await nearest(store, ENTITY_VECTORS, namespace, state, vector, limit)
    return [ScoredEntity(entity_from(r), float(r["score"])) for r in records]


async def chunk_vector_search(
    store: Neo4jStore, namespace: str, state: Any, vector: Sequence[float], limit: int
) -> list[tuple[TextUnit, float]]:
    """Chunks nearest to `vector` in the build `state` describes."""
    records = await nearest(store, CHUNK_VECTORS, namespace, state, vector, limit)
    return [(text_unit_from(r["chunk"]), float(r["chunk"]["score"])) for r in records]


async def find_passages(store: Neo4jStore, namespace: str, search: PassageSearch) -> PassageHits:
    """One statement; then, pinned to the build the first read, the vector searches of entities and chunks
    (concurrently: one round trip's wait), only when the question has a vector."""
    keys = list(dict.fromkeys(search.link_keys))
    words = query_words(search.query)
    forms = list(dict.fromkeys(form for word in words for form in word_forms(word)))
    parameters = {
        "namespace": namespace,
        "forms": forms,
        "entity_budget": MAX_POSTINGS,
        "title_budget": MAX_TITLE_POSTINGS,
        "title_weight": float(ENTITY_SEARCH_FIELDS["title_terms"]),
        "groups": chunk_ranking.query_groups(words),
        "budget": chunk_ranking.MAX_TEXT_POSTINGS,
        "window": chunk_ranking.window(),
        **chunk_ranking.BM25_PARAMETERS,
        "entity_query": fulltext_query(search.query, ENTITY_SEARCH_FIELDS),
        "chunk_query": fulltext_query(search.query, CHUNK_SEARCH_FIELDS),
        "keys": keys,
        "link_queries": link_queries(keys),
        "entity_limit": max(int(search.entity_limit), 0),
        "chunk_limit": max(int(search.chunk_limit), 0),
        "seed_passages": max(int(search.seed_passages), 0),
        "passage_entity_limit": max(int(search.passage_entity_limit), 0),
    }
    try:
        records = await store._query(
            search_cypher.PASSAGE_SEARCH, one_plan(parameters), action="search the knowledge graph"
        )
    except StoreError as exc:
        # A database where nothing was ever published has no full-text indexes yet.
        if isinstance(exc.__cause__, Neo4jError) and await store.generation(namespace) is None:
            return PassageHits(None)
        raise
    if not records:
        return PassageHits(None)
    r = records[0]
    vector_entities: list[ScoredEntity] = []
    vector_chunks: list[tuple[TextUnit, float]] = []
    if search.vector is not None:
        vector_entities, vector_chunks = await asyncio.gather(
            vector_search(store, namespace, r, search.vector, search.entity_limit),
            chunk_vector_search(store, namespace, r, search.vector, search.chunk_vector_limit),
        )
    return PassageHits(
        r["generation"],
        entities=[ScoredEntity(entity_from(e), float(e["score"])) for e in r["entities"]],
        vector_entities=vector_entities,
        chunks=[(text_unit_from(c), float(c["score"])) for c in r["chunks"]],
        vector_chunks=vector_chunks,
        linked=[LinkedEntity(e["key"], entity_from(e)) for e in r["linked"]],
        passage_entities=[entity_from(e) for e in r["passage_entities"]],
    )


async def read_graph(store: Neo4jStore, namespace: str, read: GraphRead) -> GraphRows:
    parameters = {
        "namespace": namespace,
        "generation": read.generation,
        "titles": list(dict.fromkeys(read.titles)),
        "entity_ids": list(dict.fromkeys(read.entity_ids)),
        "limit": max(int(read.relationship_limit), 0),
        "ids": list(dict.fromkeys(read.text_unit_ids)),
        "document_ids": list(dict.fromkeys(read.document_ids)),
        "hop_titles": list(dict.fromkeys(read.hop_titles)),
        "hop_limit": max(int(read.hop_limit), 0),
        "hop_exclude": list(dict.fromkeys(read.hop_exclude)),
        "hop_seed_degree": MAX_HOP_SEED_DEGREE,
        "hop_entity_passages": MAX_HOP_ENTITY_PASSAGES,
        "score_digits": SCORE_DIGITS,
        "short_ids": [int(x) for x in dict.fromkeys(read.neighbour_short_ids)],
    }
    records = await store._query(
        search_cypher.GRAPH_READ, one_plan(parameters), action="read the knowledge graph"
    )
    if not records:
        return GraphRows(None)
    r = records[0]
    if r["generation"] != read.generation:
        return GraphRows(r["generation"])
    return GraphRows(
        r["generation"],
        relationships=[relationship_from(x) for x in r["relationships"]],
        reports=[ScoredReport(report_from(x), x["matches"]) for x in r["reports"]],
        text_units=[text_unit_from(x) for x in r["chunks"]],
        hop_passages=[(text_unit_from(x), float(x["score"])) for x in r["hops"]],
        neighbours=[text_unit_from(x) for x in r["neighbours"]],
        documents={d["id"]: (d["title"], d["source"]) for d in r["documents"]},
    )


async def prime(store: Neo4jStore, namespace: str) -> None:
    """Plan local search's two statements against a newly published build, so that the first question after a
    publish does not wait for it: Neo4j replans them when a publish changed its statistics, about a second each
    (kg.store.neo4j.search_statements). One shape of parameters plans every question, so one read does it, once
    the indexes' statistics describe the new build (RESAMPLE_INDEXES)."""
    try:
        await store._query(search_cypher.RESAMPLE_INDEXES, {}, action="sample the indexes")
        hits = await find_passages(store, namespace, PassageSearch("kgbot", ["kgbot"], 1, 1, 1, 1))
        if hits.generation is not None:
            await read_graph(
                store, namespace, GraphRead(hits.generation, ["kgbot"], ["kgbot"], 1, ["kgbot"], ["kgbot"])
            )
    except StoreError as exc:  # the build is published; only the first question's speed is at stake
        log.warning("could not prepare the search of %r after publishing it: %s", namespace, exc)
