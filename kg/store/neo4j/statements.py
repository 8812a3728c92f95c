"""Every Cypher statement the Neo4j store sends, as named constants.

Rules (checked by tests/test_cypher_lint.py with Neo4j's own Cypher linter, and by tests/test_store_neo4j.py):
- Values only ever travel as parameters (`$name`, declared in `PARAMETERS` of kg/store/neo4j/vocabulary.py); no
  user or document text is formatted into a statement.
- Labels and relationship types come from the allow-lists of kg/store/neo4j/vocabulary.py. Statements that differ only by label (one per
  entity type label, one per node label to clean up) are built once, at import time, from those allow-lists
  and kept in dicts named `*_BY_LABEL`.
- Every public module-level UPPER_CASE string, and every value of a `*_BY_LABEL` dict, is a statement;
  fragments are private (leading underscore).

The graph these statements read and write is pictured in kg/store/neo4j/__init__.py.
"""

from __future__ import annotations

from kg.store.neo4j.vocabulary import ENTITY_LABELS, GENERATION_KEYS

# ---------------------------------------------------------------------------------------------- schema
# Idempotent (IF NOT EXISTS). Uniqueness constraints (available in Community Edition) are on
# (namespace, generation, key); their backing indexes serve every lookup by id.

CREATE_NAMESPACE_CONSTRAINT = """
CREATE CONSTRAINT kg_namespace_name IF NOT EXISTS
FOR (n:Namespace) REQUIRE n.name IS UNIQUE
"""
CREATE_DOCUMENT_CONSTRAINT = """
CREATE CONSTRAINT kg_document_key IF NOT EXISTS
FOR (d:Document) REQUIRE (d.namespace, d.generation, d.id) IS UNIQUE
"""
CREATE_CHUNK_CONSTRAINT = """
CREATE CONSTRAINT kg_chunk_key IF NOT EXISTS
FOR (c:Chunk) REQUIRE (c.namespace, c.generation, c.id) IS UNIQUE
"""
CREATE_ENTITY_CONSTRAINT = """
CREATE CONSTRAINT kg_entity_key IF NOT EXISTS
FOR (e:Entity) REQUIRE (e.namespace, e.generation, e.id) IS UNIQUE
"""
CREATE_COMMUNITY_CONSTRAINT = """
CREATE CONSTRAINT kg_community_key IF NOT EXISTS
FOR (c:Community) REQUIRE (c.namespace, c.generation, c.id) IS UNIQUE
"""
CREATE_REPORT_CONSTRAINT = """
CREATE CONSTRAINT kg_report_key IF NOT EXISTS
FOR (p:Report) REQUIRE (p.namespace, p.generation, p.community) IS UNIQUE
"""
# Global search reads a level's communities by parent (CHILD_REPORTS): at 100k entities 35,140 db hits without
# this index, 1,974 with it.
CREATE_COMMUNITY_PARENT_INDEX = "CREATE INDEX kg_community_parent IF NOT EXISTS FOR (c:Community) ON (c.namespace, c.generation, c.parent)"
CREATE_ENTITY_TITLE_INDEX = """
CREATE INDEX kg_entity_title IF NOT EXISTS
FOR (e:Entity) ON (e.namespace, e.generation, e.title)
"""
# Over words already split and folded as the SQLite store's FTS5 tokenizer does
# (kg.store.neo4j.fulltext.search_text), so the whitespace analyzer: both stores match the same words.
CREATE_ENTITY_TEXT_INDEX = """
CREATE FULLTEXT INDEX kg_entity_terms IF NOT EXISTS
FOR (e:Entity) ON EACH [e.title_terms, e.description_terms]
OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace'}}
"""
CREATE_CHUNK_TEXT_INDEX = """
CREATE FULLTEXT INDEX kg_chunk_terms IF NOT EXISTS
FOR (c:Chunk) ON EACH [c.terms]
OPTIONS {indexConfig: {`fulltext.analyzer`: 'whitespace'}}
"""
# Each element of `link_keys` (kg.text.names.entity_keys) is one whole term: questions link entities by exact key
# through this index, not by scanning the namespace (no other index kind looks inside a list).
CREATE_ENTITY_LINK_INDEX = """
CREATE FULLTEXT INDEX kg_entity_link_keys IF NOT EXISTS
FOR (e:Entity) ON EACH [e.link_keys]
OPTIONS {indexConfig: {`fulltext.analyzer`: 'keyword'}}
"""
# A vote's key joins namespace, platform, workspace, answer and user: one vote per person and answer.
CREATE_FEEDBACK_CONSTRAINT = """
CREATE CONSTRAINT kg_feedback_key IF NOT EXISTS
FOR (f:Feedback) REQUIRE f.key IS UNIQUE
"""
CREATE_FEEDBACK_INDEX = """
CREATE INDEX kg_feedback_namespace IF NOT EXISTS
FOR (f:Feedback) ON (f.namespace, f.created_at)
"""
SCHEMA_STATEMENTS = (
    CREATE_NAMESPACE_CONSTRAINT,
    CREATE_FEEDBACK_CONSTRAINT,
    CREATE_FEEDBACK_INDEX,
    CREATE_DOCUMENT_CONSTRAINT,
    CREATE_CHUNK_CONSTRAINT,
    CREATE_ENTITY_CONSTRAINT,
    CREATE_COMMUNITY_CONSTRAINT,
    CREATE_REPORT_CONSTRAINT,
    CREATE_COMMUNITY_PARENT_INDEX,
    CREATE_ENTITY_TITLE_INDEX,
    CREATE_ENTITY_TEXT_INDEX,
    CREATE_CHUNK_TEXT_INDEX,
    CREATE_ENTITY_LINK_INDEX,
)
# Created by the first publish that has embeddings, with their dimension. One index serves every namespace;
# a namespace whose embeddings have another dimension is searched exactly instead (VECTOR_SEARCH_EXACT).
CREATE_ENTITY_VECTOR_INDEX = """
CREATE VECTOR INDEX kg_entity_embedding IF NOT EXISTS
FOR (e:Entity) ON (e.embedding)
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: 'cosine'}}
"""
ENTITY_VECTOR_INDEX_DIMENSIONS = """
SHOW INDEXES YIELD name, options
WHERE name = 'kg_entity_embedding'
RETURN options.indexConfig.`vector.dimensions` AS dimensions
"""
AWAIT_INDEXES = "CALL db.awaitIndexes($timeout_seconds)"

# ---------------------------------------------------------------------------------------------- publish
# A build: START_BUILD allocates a generation (and returns leftovers of crashed builds to delete), CREATE_*
# write it in UNWIND batches, PUBLISH_BUILD switches readers to it in one transaction, DELETE_GENERATIONS_*
# remove what is no longer served. `cleanup_generations` lists generations being built or awaiting deletion,
# so a crash at any point is cleaned up by the next build.

START_BUILD = """
MERGE (n:Namespace {name: $namespace})
ON CREATE SET n.last_generation = 0
WITH n, coalesce(n.cleanup_generations, []) AS leftovers
SET n.last_generation = n.last_generation + 1
SET n.cleanup_generations = leftovers + [n.last_generation]
RETURN n.last_generation AS generation, leftovers
"""

CREATE_DOCUMENTS = """
UNWIND $rows AS row
CREATE (:Document {
  namespace: $namespace, generation: $generation, seq: row.seq,
  id: row.id, title: row.title, source: row.source, text: row.text, text_unit_ids: row.text_unit_ids
})
"""

CREATE_CHUNKS = """
UNWIND $rows AS row
CREATE (c:Chunk {
  namespace: $namespace, generation: $generation, seq: row.seq,
  id: row.id, short_id: row.short_id, document_id: row.document_id, text: row.text, terms: row.terms,
  n_tokens: row.n_tokens, start_char: row.start_char, end_char: row.end_char, embedding: row.embedding
})
WITH c, row
MATCH (d:Document {namespace: $namespace, generation: $generation, id: row.document_id})
CREATE (c)-[:PART_OF]->(d)
"""

_CREATE_ENTITIES = """
UNWIND $rows AS row
CREATE (e:{labels} {{
  namespace: $namespace, generation: $generation, seq: row.seq,
  id: row.id, short_id: row.short_id, title: row.title, type: row.type, description: row.description,
  title_terms: row.title_terms, description_terms: row.description_terms,
  text_unit_ids: row.text_unit_ids, degree: row.degree, embedding: row.embedding, link_keys: row.link_keys
}})
"""
# Keyed by the entity type label (None: an entity whose type is not in the allow-list, labelled :Entity only).
CREATE_ENTITIES_BY_LABEL: dict[str | None, str] = {
    None: _CREATE_ENTITIES.format(labels="Entity"),
    **{label: _CREATE_ENTITIES.format(labels=f"Entity:{label}") for label in ENTITY_LABELS},
}

CREATE_MENTIONS = """
UNWIND $rows AS row
MATCH (c:Chunk {namespace: $namespace, generation: $generation, id: row.chunk_id})
MATCH (e:Entity {namespace: $namespace, generation: $generation, id: row.entity_id})
CREATE (c)-[:MENTIONS]->(e)
"""

CREATE_RELATIONSHIPS = """
UNWIND $rows AS row
MATCH (s:Entity {namespace: $namespace, generation: $generation, id: row.source_id})
MATCH (t:Entity {namespace: $namespace, generation: $generation, id: row.target_id})
CREATE (s)-[:RELATED {
  seq: row.seq, id: row.id, short_id: row.short_id, source: row.source, target: row.target,
  description: row.description, weight: row.weight, rank: row.rank, text_unit_ids: row.text_unit_ids
}]->(t)
"""

CREATE_COMMUNITIES = """
UNWIND $rows AS row
CREATE (:Community {
  namespace: $namespace, generation: $generation, seq: row.seq,
  id: row.id, level: row.level, parent: row.parent, title: row.title,
  entity_ids: row.entity_ids, relationship_ids: row.relationship_ids, text_unit_ids: row.text_unit_ids
})
"""

CREATE_COMMUNITY_MEMBERS = """
UNWIND $rows AS row
MATCH (e:Entity {namespace: $namespace, generation: $generation, id: row.entity_id})
MATCH (c:Community {namespace: $namespace, generation: $generation, id: row.community})
CREATE (e)-[:IN_COMMUNITY]->(c)
"""

CREATE_COMMUNITY_PARENTS = """
UNWIND $rows AS row
MATCH (child:Community {namespace: $namespace, generation: $generation, id: row.id})
MATCH (parent:Community {namespace: $namespace, generation: $generation, id: row.parent})
CREATE (child)-[:CHILD_OF]->(parent)
"""

CREATE_REPORTS = """
UNWIND $rows AS row
CREATE (p:Report {
  namespace: $namespace, generation: $generation, seq: row.seq,
  community: row.community, level: row.level, title: row.title, summary: row.summary,
  full_content: row.full_content, rank: row.rank,
  finding_summaries: row.finding_summaries, finding_explanations: row.finding_explanations
})
WITH p, row
MATCH (c:Community {namespace: $namespace, generation: $generation, id: row.community})
CREATE (c)-[:HAS_REPORT]->(p)
"""

# The atomic step: readers switch to `$generation` when this commits. It only succeeds for the newest build
# started for the namespace (a build superseded by a later one returns no row and is discarded). The
# generation it replaces stays until the next publish, so a read that started just before the switch never
# sees it half-deleted; the one before that (`retired`) is queued for deletion.
PUBLISH_BUILD = """
MATCH (n:Namespace {name: $namespace})
WHERE n.last_generation = $generation
WITH n, n.previous_generation AS retired
SET n.previous_generation = n.current_generation,
    n.current_generation = $generation,
    n.cleanup_generations = [g IN coalesce(n.cleanup_generations, []) WHERE g <> $generation]
      + CASE WHEN retired IS NULL THEN [] ELSE [retired] END,
    n.built_at = $built_at,
    n.seconds = $seconds,
    n.extractor = $extractor,
    n.usage = $usage,
    n.document_count = $document_count,
    n.chunk_count = $chunk_count,
    n.entity_count = $entity_count,
    n.relationship_count = $relationship_count,
    n.community_count = $community_count,
    n.report_count = $report_count,
    n.embedding_dimensions = $embedding_dimensions,
    n.embedding_count = $embedding_count,
    n.vector_index_dimensions = $vector_index_dimensions,
    n.chunk_embedding_dimensions = $chunk_embedding_dimensions,
    n.chunk_embedding_count = $chunk_embedding_count,
    n.chunk_vector_index_dimensions = $chunk_vector_index_dimensions
RETURN retired
"""

FORGET_GENERATIONS = """
MATCH (n:Namespace {name: $namespace})
SET n.cleanup_generations = [g IN coalesce(n.cleanup_generations, []) WHERE NOT g IN $generations]
"""

_DELETE_GENERATIONS = """
MATCH (x:{label})
WHERE x.namespace = $namespace AND x.generation IN $generations AND x.{key} IS NOT NULL
WITH x LIMIT $batch_size
DETACH DELETE x
RETURN count(*) AS deleted
"""
# One statement per node label; each call deletes at most $batch_size nodes (and their relationships).
DELETE_GENERATIONS_BY_LABEL: dict[str, str] = {
    label: _DELETE_GENERATIONS.format(label=label, key=key) for label, key in GENERATION_KEYS.items()
}

NAMESPACE_GENERATIONS = """
MATCH (n:Namespace {name: $namespace})
RETURN n.current_generation AS current, n.previous_generation AS previous,
       coalesce(n.cleanup_generations, []) AS cleanup
"""

DELETE_NAMESPACE = """
MATCH (n:Namespace {name: $namespace})
DELETE n
"""

ALL_NAMESPACE_NAMES = """
MATCH (n:Namespace)
RETURN n.name AS name
ORDER BY name
"""

# ---------------------------------------------------------------------------------------------- reads
# Each read is one statement that resolves the namespace's current generation itself, so it is one round trip.

_CURRENT = """
MATCH (n:Namespace {name: $namespace})
WHERE n.current_generation IS NOT NULL
"""
_ENTITY_FIELDS = """
e.id AS id, e.short_id AS short_id, e.title AS title, e.type AS type, e.description AS description,
e.text_unit_ids AS text_unit_ids, e.degree AS degree"""
_CHUNK_FIELDS = """
c.id AS id, c.short_id AS short_id, c.document_id AS document_id, c.text AS text, c.n_tokens AS n_tokens,
c.start_char AS start_char, c.end_char AS end_char"""
_RELATIONSHIP_FIELDS = """
r.id AS id, r.short_id AS short_id, r.source AS source, r.target AS target, r.description AS description,
r.weight AS weight, r.text_unit_ids AS text_unit_ids, r.rank AS rank"""
_REPORT_FIELDS = """
p.community AS community, p.level AS level, p.title AS title, p.summary AS summary,
p.full_content AS full_content, p.rank AS rank, p.finding_summaries AS finding_summaries,
p.finding_explanations AS finding_explanations"""
_NAMESPACE_FIELDS = """
n.current_generation AS generation, n.built_at AS built_at, n.seconds AS seconds, n.extractor AS extractor,
n.usage AS usage,
n.document_count AS document_count, n.chunk_count AS chunk_count, n.entity_count AS entity_count,
n.relationship_count AS relationship_count, n.community_count AS community_count,
n.report_count AS report_count, n.embedding_dimensions AS embedding_dimensions,
n.embedding_count AS embedding_count, n.vector_index_dimensions AS vector_index_dimensions,
n.chunk_embedding_dimensions AS chunk_embedding_dimensions, n.chunk_embedding_count AS chunk_embedding_count,
n.chunk_vector_index_dimensions AS chunk_vector_index_dimensions"""

PUBLISHED_NAMESPACES = """
MATCH (n:Namespace)
WHERE n.current_generation IS NOT NULL
RETURN n.name AS name
ORDER BY name
"""

NAMESPACE_STATE = _CURRENT + "RETURN" + _NAMESPACE_FIELDS

STATS = (
    _CURRENT
    + "RETURN"
    + _NAMESPACE_FIELDS
    + """,
COLLECT {
  MATCH (e:Entity {namespace: $namespace, generation: n.current_generation})
  WITH e ORDER BY e.degree DESC, e.seq
  LIMIT $top
  RETURN {title: e.title, type: e.type, degree: e.degree}
} AS top_entities
"""
)

# $query is built by kg.store.neo4j.fulltext.fulltext_query: user words, Lucene-escaped.
SEARCH_ENTITIES = (
    _CURRENT
    + """CALL db.index.fulltext.queryNodes('kg_entity_terms', $query) YIELD node, score
WHERE node.namespace = $namespace AND node.generation = n.current_generation
WITH node AS e, score
ORDER BY score DESC, e.seq
LIMIT $limit
RETURN"""
    + _ENTITY_FIELDS
    + ", score\n"
)

# Exact cosine of `e.embedding` with $vector (whose norm is $vector_norm), written in Cypher so it works on every
# Neo4j 5. The vector index's own score is not used: since 5.23 the index quantizes vectors by default, and its
# scores are off by up to ~0.2 in few dimensions; it finds the candidates, this ranks them.
_EXACT_COSINE = """WITH e, sqrt(reduce(sum = 0.0, x IN e.embedding | sum + x * x)) AS norm
WHERE norm > 0
WITH e, reduce(dot = 0.0, i IN range(0, size($vector) - 1) | dot + e.embedding[i] * $vector[i])
  / (norm * $vector_norm) AS score
ORDER BY score DESC, e.seq
LIMIT $limit
RETURN"""

# The index holds every namespace and generation: ask it for $candidates neighbours, keep this generation's.
VECTOR_SEARCH_INDEX = (
    """CALL db.index.vector.queryNodes('kg_entity_embedding', $candidates, $vector) YIELD node
WHERE node.namespace = $namespace AND node.generation = $generation
WITH node AS e
"""
    + _EXACT_COSINE
    + _ENTITY_FIELDS
    + ", score\n"
)

# Exact search over the generation's entities, for when the index cannot serve it (another dimension, or too
# few of its neighbours belong to this namespace).
VECTOR_SEARCH_EXACT = (
    """MATCH (e:Entity {namespace: $namespace, generation: $generation})
WHERE e.embedding IS NOT NULL AND size(e.embedding) = size($vector)
"""
    + _EXACT_COSINE
    + _ENTITY_FIELDS
    + ", score\n"
)

GET_ENTITIES = (
    _CURRENT
    + """UNWIND range(0, size($titles) - 1) AS i
MATCH (e:Entity {namespace: $namespace, generation: n.current_generation, title: $titles[i]})
WITH e ORDER BY i, e.seq
RETURN"""
    + _ENTITY_FIELDS
    + "\n"
)

# Entity linking (kg.text.names): entities whose title or alias has one of $keys, in the order of $keys.
LINK_ENTITIES = (
    _CURRENT
    + """UNWIND $queries AS query
CALL db.index.fulltext.queryNodes('kg_entity_link_keys', query) YIELD node
WHERE node.namespace = $namespace AND node.generation = n.current_generation
WITH DISTINCT node AS e
UNWIND range(0, size($keys) - 1) AS i
WITH e, i
WHERE $keys[i] IN e.link_keys
WITH e, i, $keys[i] AS key
ORDER BY i, e.seq
RETURN"""
    + _ENTITY_FIELDS
    + ", key\n"
)

# The passage -> entity half of the passage-entity graph: entities the chunks mention, the most mentioned
# first, then the most specific (fewest chunks overall).
ENTITIES_IN_CHUNKS = (
    _CURRENT
    + """MATCH (c:Chunk {namespace: $namespace, generation: n.current_generation})
WHERE c.id IN $ids
MATCH (c)-[:MENTIONS]->(e:Entity)
WITH e, count(DISTINCT c) AS hits
ORDER BY hits DESC, size(e.text_unit_ids), e.seq
LIMIT $limit
RETURN"""
    + _ENTITY_FIELDS
    + "\n"
)

RELATIONSHIPS_OF = (
    _CURRENT
    + """MATCH (e:Entity {namespace: $namespace, generation: n.current_generation})
WHERE e.title IN $titles
MATCH (e)-[r:RELATED]-()
WITH DISTINCT r
ORDER BY r.weight DESC, r.rank DESC, r.short_id
LIMIT $limit
RETURN"""
    + _RELATIONSHIP_FIELDS
    + "\n"
)

REPORTS_FOR = (
    _CURRENT
    + """MATCH (e:Entity {namespace: $namespace, generation: n.current_generation})
WHERE e.id IN $entity_ids
MATCH (e)-[:IN_COMMUNITY]->(:Community)-[:HAS_REPORT]->(p:Report)
WITH p, count(DISTINCT e) AS matches
ORDER BY matches DESC, p.rank DESC, p.community
RETURN"""
    + _REPORT_FIELDS
    + ", matches\n"
)

# Global search walks the community hierarchy from the roots (parent -1) down through relevant reports only.
CHILD_REPORTS = (
    _CURRENT
    + """MATCH (c:Community {namespace: $namespace, generation: n.current_generation})
WHERE c.parent IN $parents
MATCH (c)-[:HAS_REPORT]->(p:Report)
WITH c, p
ORDER BY p.rank DESC, p.community
RETURN c.parent AS parent,"""
    + _REPORT_FIELDS
    + "\n"
)

COMMUNITY_TEXT_UNITS = (
    _CURRENT
    + """MATCH (c:Community {namespace: $namespace, generation: n.current_generation})
WHERE c.id IN $communities
RETURN c.id AS id, c.text_unit_ids AS text_unit_ids
"""
)

# The most connected entities of each community a picture of a global answer draws.
COMMUNITY_ENTITIES = (
    _CURRENT
    + """MATCH (e:Entity {namespace: $namespace, generation: n.current_generation})-[:IN_COMMUNITY]->(c:Community)
WHERE c.id IN $communities
WITH c.id AS community, e ORDER BY e.degree DESC, e.title
WITH community, collect(e)[..$limit] AS members
UNWIND members AS e
RETURN community,"""
    + _ENTITY_FIELDS
    + "\n"
)

GET_CHUNKS = (
    _CURRENT
    + """UNWIND range(0, size($ids) - 1) AS i
MATCH (c:Chunk {namespace: $namespace, generation: n.current_generation, id: $ids[i]})
WITH c ORDER BY i
RETURN"""
    + _CHUNK_FIELDS
    + "\n"
)

DOCUMENT_TITLES = (
    _CURRENT
    + """MATCH (d:Document {namespace: $namespace, generation: n.current_generation})
WHERE d.id IN $ids
RETURN d.id AS id, d.title AS title, d.source AS source
"""
)

# ---------------------------------------------------------------------------------------------- export
# Run in one read transaction after NAMESPACE_STATE, with its generation: a generation never changes once
# written, so the six reads see one build.

EXPORT_DOCUMENTS = """
MATCH (d:Document {namespace: $namespace, generation: $generation})
RETURN d.id AS id, d.title AS title, d.source AS source, d.text AS text, d.text_unit_ids AS text_unit_ids
ORDER BY d.seq
"""

EXPORT_CHUNKS = (
    """MATCH (c:Chunk {namespace: $namespace, generation: $generation})
WITH c ORDER BY c.seq
RETURN"""
    + _CHUNK_FIELDS
    + ", c.embedding AS embedding\n"
)

EXPORT_ENTITIES = (
    """MATCH (e:Entity {namespace: $namespace, generation: $generation})
WITH e ORDER BY e.seq
RETURN"""
    + _ENTITY_FIELDS
    + ", e.embedding AS embedding\n"
)

EXPORT_RELATIONSHIPS = (
    """MATCH (:Entity {namespace: $namespace, generation: $generation})-[r:RELATED]->()
WITH r ORDER BY r.seq
RETURN"""
    + _RELATIONSHIP_FIELDS
    + "\n"
)

EXPORT_COMMUNITIES = """
MATCH (c:Community {namespace: $namespace, generation: $generation})
RETURN c.id AS id, c.level AS level, c.parent AS parent, c.title AS title, c.entity_ids AS entity_ids,
       c.relationship_ids AS relationship_ids, c.text_unit_ids AS text_unit_ids
ORDER BY c.seq
"""

EXPORT_REPORTS = (
    """MATCH (p:Report {namespace: $namespace, generation: $generation})
WITH p ORDER BY p.seq
RETURN"""
    + _REPORT_FIELDS
    + "\n"
)

# ---------------------------------------------------------------------------------------------- feedback
# Votes on answers: one :Feedback node per person and answer, outside every generation (a republish keeps them).

# Returns the vote the node had before (null for a new one); the same vote again changes nothing.
RECORD_FEEDBACK = """
MERGE (f:Feedback {key: $key})
ON CREATE SET f.namespace = $namespace, f.platform = $platform, f.workspace = $workspace,
              f.answer_id = $answer_id, f.user = $user, f.question = $question, f.answer = $answer,
              f.cited = $cited, f.generation = $generation, f.search = $search, f.mode = $mode,
              f.model = $model, f.created_at = $now
WITH f, f.vote AS previous
SET f.reason = CASE WHEN previous = $vote THEN f.reason ELSE $reason END,
    f.updated_at = CASE WHEN previous = $vote THEN f.updated_at ELSE $now END,
    f.vote = $vote
RETURN previous
"""
SET_FEEDBACK_REASON = """
MATCH (f:Feedback {key: $key})
WHERE f.namespace = $namespace
SET f.reason = $reason, f.updated_at = $now
RETURN count(f) AS updated
"""
DELETE_NAMESPACE_FEEDBACK = """
MATCH (f:Feedback)
WHERE f.namespace = $namespace
DETACH DELETE f
"""
FEEDBACK_OF_NAMESPACE = """
MATCH (f:Feedback)
WHERE f.namespace = $namespace
RETURN f.platform AS platform, f.workspace AS workspace, f.answer_id AS answer_id, f.user AS user,
       f.vote AS vote, f.reason AS reason, f.question AS question, f.answer AS answer, f.cited AS cited,
       f.generation AS generation, f.search AS search, f.mode AS mode, f.model AS model,
       f.created_at AS created_at, f.updated_at AS updated_at
ORDER BY created_at, answer_id, user
"""

# ------------------------------------------------------------------------------------- delivered events
# kg.store.deliveries: one :DeliveredEvent per chat event answered; MERGE on the unique key makes a claim atomic.
CREATE_DELIVERY_CONSTRAINT = """
CREATE CONSTRAINT kg_delivery_key IF NOT EXISTS FOR (d:DeliveredEvent) REQUIRE d.key IS UNIQUE
"""
CREATE_DELIVERY_INDEX = "CREATE INDEX kg_delivery_expiry IF NOT EXISTS FOR (d:DeliveredEvent) ON (d.expires)"
# The claim token is written by the one claim that creates the record, or renews an expired one.
CLAIM_DELIVERY = """
MERGE (d:DeliveredEvent {key: $key})
ON CREATE SET d.claim = $claim, d.expires = $expires
ON MATCH SET d.claim = CASE WHEN d.expires <= $clock THEN $claim ELSE d.claim END,
             d.expires = CASE WHEN d.expires <= $clock THEN $expires ELSE d.expires END
RETURN d.claim = $claim AS claimed
"""
PURGE_DELIVERIES = "MATCH (d:DeliveredEvent) WHERE d.expires <= $clock WITH d LIMIT $limit DELETE d"
