"""The Cypher of local search's two reads (`GraphStore.find_passages`, `read_graph`): each one statement, so a
question costs two round trips whatever it asks for. Kept apart from kg/store/neo4j/statements.py (the store's
other statements) only for size; the same rules hold (parameters only, allow-listed labels and types, linted
by tests/test_cypher_lint.py).

Each statement resolves the namespace's published generation once and reads every part from it through
COLLECT subqueries, so its parts can never come from two builds; it returns that generation, which the
second read is pinned to ($generation: a replaced build is kept until the next publish, see store.py).
"""

from __future__ import annotations

_ENTITY = "e {.id, .short_id, .title, .type, .description, .text_unit_ids, .degree"
_CHUNK = "c {.id, .short_id, .document_id, .text, .n_tokens, .start_char, .end_char"
_RELATIONSHIP = "r {.id, .short_id, .source, .target, .description, .weight, .text_unit_ids, .rank}"
_REPORT = (
    "p {.community, .level, .title, .summary, .full_content, .rank, .finding_summaries, .finding_explanations"
)

# $entity_query and $chunk_query are built by kg.store.neo4j.fulltext.fulltext_query (user words, Lucene-escaped),
# null when the question has no word to search for; $link_queries by link_query. The entities of the first
# $seed_passages chunk hits are the passage seeds of kg.search.passages (as ENTITIES_IN_CHUNKS orders them).
PASSAGE_SEARCH = (
    """MATCH (n:Namespace {name: $namespace})
WHERE n.current_generation IS NOT NULL
WITH n, n.current_generation AS g
WITH n, g, COLLECT {
  UNWIND CASE WHEN $chunk_query IS NULL THEN [] ELSE [$chunk_query] END AS query
  CALL db.index.fulltext.queryNodes('kg_chunk_terms', query) YIELD node, score
  WHERE node.namespace = $namespace AND node.generation = g
  WITH node AS c, score
  ORDER BY score DESC, c.seq
  LIMIT $chunk_limit
  RETURN """
    + _CHUNK
    + """, score: score}
} AS chunks
RETURN g AS generation, n.embedding_dimensions AS embedding_dimensions,
n.embedding_count AS embedding_count, n.vector_index_dimensions AS vector_index_dimensions, chunks,
COLLECT {
  UNWIND CASE WHEN $entity_query IS NULL THEN [] ELSE [$entity_query] END AS query
  CALL db.index.fulltext.queryNodes('kg_entity_terms', query) YIELD node, score
  WHERE node.namespace = $namespace AND node.generation = g
  WITH node AS e, score
  ORDER BY score DESC, e.seq
  LIMIT $entity_limit
  RETURN """
    + _ENTITY
    + """, score: score}
} AS entities,
COLLECT {
  UNWIND $link_queries AS query
  CALL db.index.fulltext.queryNodes('kg_entity_link_keys', query) YIELD node
  WHERE node.namespace = $namespace AND node.generation = g
  WITH DISTINCT node AS e
  UNWIND range(0, size($keys) - 1) AS i
  WITH e, i
  WHERE $keys[i] IN e.link_keys
  WITH e, i
  ORDER BY i, e.seq
  RETURN """
    + _ENTITY
    + """, key: $keys[i]}
} AS linked,
COLLECT {
  UNWIND [hit IN chunks[..$seed_passages] | hit.id] AS id
  MATCH (c:Chunk {namespace: $namespace, generation: g, id: id})-[:MENTIONS]->(e:Entity)
  WITH e, count(DISTINCT c) AS hits
  ORDER BY hits DESC, size(e.text_unit_ids), e.seq
  LIMIT $passage_entity_limit
  RETURN """
    + _ENTITY
    + """}
} AS passage_entities
"""
)

# Pinned to the build the first read named ($generation); returns the one published now, for the build check.
GRAPH_READ = (
    """MATCH (n:Namespace {name: $namespace})
WHERE n.current_generation IS NOT NULL
WITH n, COLLECT {
  UNWIND range(0, size($ids) - 1) AS i
  MATCH (c:Chunk {namespace: $namespace, generation: $generation, id: $ids[i]})
  WITH c
  ORDER BY i
  RETURN """
    + _CHUNK
    + """}
} AS chunks
RETURN n.current_generation AS generation, chunks,
COLLECT {
  MATCH (e:Entity {namespace: $namespace, generation: $generation})
  WHERE e.title IN $titles
  MATCH (e)-[r:RELATED]-()
  WITH DISTINCT r
  ORDER BY r.weight DESC, r.rank DESC, r.short_id
  LIMIT $limit
  RETURN """
    + _RELATIONSHIP
    + """
} AS relationships,
COLLECT {
  MATCH (e:Entity {namespace: $namespace, generation: $generation})
  WHERE e.id IN $entity_ids
  MATCH (e)-[:IN_COMMUNITY]->(:Community)-[:HAS_REPORT]->(p:Report)
  WITH p, count(DISTINCT e) AS matches
  ORDER BY matches DESC, p.rank DESC, p.community
  RETURN """
    + _REPORT
    + """, matches: matches}
} AS reports,
COLLECT {
  MATCH (d:Document {namespace: $namespace, generation: $generation})
  WHERE d.id IN $document_ids + [c IN chunks | c.document_id]
  RETURN d {.id, .title, .source}
} AS documents
"""
)
