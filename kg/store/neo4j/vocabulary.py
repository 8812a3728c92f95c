"""The names the Cypher of kg/store/neo4j/statements.py may use: node labels, relationship types, the extra
label of each entity type, and every parameter with an example value.

Kept apart from the statements so that the allow-lists the linter and the tests check against read as one
short list; the statements are built from them at import time.
"""

from __future__ import annotations

NODE_LABELS = (
    "Namespace",
    "Document",
    "Chunk",
    "Entity",
    "Community",
    "Report",
    "Feedback",
    "DeliveredEvent",
    "Term",
    "EntityTerm",
)
RELATIONSHIP_TYPES = ("PART_OF", "MENTIONS", "RELATED", "IN_COMMUNITY", "CHILD_OF", "HAS_REPORT")

# Entity type (as extracted, upper case) -> the extra label its node gets. Other types get only :Entity.
_ENTITY_TYPE_LABELS = {
    "PERSON": "Person",
    "ORGANIZATION": "Organization",
    "ORGANISATION": "Organization",
    "GEO": "Location",
    "LOCATION": "Location",
    "PLACE": "Location",
    "EVENT": "Event",
    "TECHNOLOGY": "Technology",
    "PRODUCT": "Product",
    "CONCEPT": "Concept",
}
ENTITY_LABELS = tuple(sorted(set(_ENTITY_TYPE_LABELS.values())))

# The key property of each node label that belongs to a generation (what its uniqueness constraint is on).
GENERATION_KEYS = {
    "Document": "id",
    "Chunk": "id",
    "Entity": "id",
    "Community": "id",
    "Report": "community",
    "Term": "term",
    "EntityTerm": "term",
}


def entity_label(entity_type: str) -> str | None:
    """The extra node label of an entity type, or None when the type is not in the allow-list."""
    return _ENTITY_TYPE_LABELS.get(entity_type.strip().upper())


# Every parameter a statement may use, with an example value (the linter checks statements against these names).
PARAMETERS: dict[str, object] = {
    "namespace": "default",
    "generation": 2,
    "generations": [1, 3],
    "rows": [{"id": "e1"}],
    "batch_size": 1000,
    "timeout_seconds": 120,
    "dimensions": 1536,
    "query": "attention OR title:(attention)^10",
    "vector": [0.1, 0.2],
    "vector_norm": 0.2236,
    "candidates": 100,
    "limit": 10,
    "top": 50,
    "titles": ["Transformer"],
    "ids": ["t1"],
    "entity_ids": ["e1"],
    "keys": ["transformer", "ADHD"],
    "queries": ['"transformer" OR "ADHD"'],
    "parents": [-1, 0],
    "communities": [0, 1],
    "entity_query": "title_terms:(attention)^10 OR description_terms:(attention)",
    "chunk_query": "terms:(attention)",
    "link_queries": ['"attention"'],
    "entity_limit": 20,
    "chunk_limit": 60,
    "seed_passages": 5,
    "passage_entity_limit": 100,
    "forms": ["attention", "attentions"],
    "groups": [["attention", "attentions"]],
    "budget": 1000,
    "window": 250,
    "k1": 1.2,
    "k1_plus_1": 2.2,
    "b": 0.75,
    "one_minus_b": 0.25,
    "entity_budget": 2000,
    "title_budget": 10000,
    "title_weight": 10.0,
    "document_ids": ["d1"],
    "hop_titles": ["Transformer"],
    "hop_limit": 20,
    "hop_exclude": ["t1"],
    "hop_seed_degree": 100,
    "hop_entity_passages": 200,
    "score_digits": 9,
    "short_ids": [1, 2],
    "built_at": "2024-05-01T12:00:00+00:00",
    "seconds": 12.5,
    "extractor": "nlp",
    "usage": '{"extract": {"calls": 3, "prompt_tokens": 900, "completion_tokens": 120}}',
    "document_count": 2,
    "chunk_count": 3,
    "entity_count": 5,
    "relationship_count": 5,
    "community_count": 3,
    "report_count": 3,
    "embedding_dimensions": 1536,
    "embedding_count": 5,
    "vector_index_dimensions": 1536,
    "chunk_embedding_dimensions": 1536,
    "chunk_embedding_count": 3,
    "chunk_vector_index_dimensions": 1536,
    "key": "default|slack|T1|a1|U1",
    "claim": "3f2a9c",
    "expires": 1714565700.0,
    "clock": 1714564800.0,
    "platform": "slack",
    "workspace": "T1",
    "answer_id": "a1",
    "user": "U1",
    "vote": "down",
    "reason": "wrong source",
    "question": "What is attention?",
    "answer": "Attention weighs tokens.",
    "cited": ["Sources:1"],
    "search": "local",
    "mode": "llm",
    "model": "gpt-4o-mini",
    "now": "2024-05-01T12:00:00+00:00",
    # local search's reads take their values in one map (kg/store/neo4j/search_statements.py says why)
    "q": {"forms": ["attention"], "keys": ["attention"], "ids": ["t1"], "entity_query": "attention"},
}
