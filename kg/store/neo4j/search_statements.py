"""The Cypher of local search's two reads (`GraphStore.find_passages`, `read_graph`): each one statement, so a
question costs two round trips whatever it asks for. Kept apart from kg/store/neo4j/statements.py (the store's
other statements) only for size; the same rules hold (parameters only, allow-listed labels and types, linted
by tests/test_cypher_lint.py).

Each statement resolves the namespace's published generation once and reads every part from it through
COLLECT subqueries, so its parts can never come from two builds; it returns that generation, which the
second read is pinned to ($generation: a replaced build is kept until the next publish, see store.py).

Both take the question's strings and lists in one map parameter, $q (kg.store.neo4j.search.one_plan). Neo4j
keys its plan cache by the parameters' types, and a string's length and a list's size are part of a type (in
buckets); a map's contents are not. Planning PASSAGE_SEARCH takes about a second, so with plain parameters
each new shape of question (one more word, a longer name, no word at all) paid a second on Neo4j while the
same question took 25 ms once planned (bench/context_latency.py: the p95 of questions matching nothing was
0.9 s). Each list is looked up an item at a time (UNWIND, then an equality seek on the node's key, with an index
hint): a planner that does not know a list's size, or plans right after a publish with index statistics
sampled before it, may otherwise scan a whole index (after a republish, a plan reading every :EntityTerm of
the database made questions matching nothing take 30 ms at 100k entities, not 3; one scanning the entity
title index per title took 90 ms). Numbers and
the namespace stay plain parameters: a number's type has no size, and reading $q.x costs far more than $x, too
much for a value read per row (scoring 3,000 entities with $q.k1 took 1.6 s, not 40 ms).
"""

from __future__ import annotations

_ENTITY = "e {.id, .short_id, .title, .type, .description, .text_unit_ids, .degree"
_CHUNK = "c {.id, .short_id, .document_id, .text, .n_tokens, .start_char, .end_char"
_RELATIONSHIP = "r {.id, .short_id, .source, .target, .description, .weight, .text_unit_ids, .rank}"
_REPORT = (
    "p {.community, .level, .title, .summary, .full_content, .rank, .finding_summaries, .finding_explanations"
)

# Passage vector search, as the entities' (kg.store.neo4j.statements: CREATE_ENTITY_VECTOR_INDEX,
# VECTOR_SEARCH_INDEX, VECTOR_SEARCH_EXACT): one index over every namespace's chunks, created by the first publish
# whose chunks have embeddings; it finds candidates, an exact cosine in Cypher ranks them (the index quantizes),
# and a namespace whose chunks have another dimension, or too few of whose chunks are among the candidates, is
# searched exactly. Pinned to the build the first read named ($generation).
CREATE_CHUNK_VECTOR_INDEX = """
CREATE VECTOR INDEX kg_chunk_embedding IF NOT EXISTS
FOR (c:Chunk) ON (c.embedding)
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: 'cosine'}}
"""
CHUNK_VECTOR_INDEX_DIMENSIONS = """
SHOW INDEXES YIELD name, options
WHERE name = 'kg_chunk_embedding'
RETURN options.indexConfig.`vector.dimensions` AS dimensions
"""
_CHUNK_COSINE = (
    """WITH c, sqrt(reduce(sum = 0.0, x IN c.embedding | sum + x * x)) AS norm
WHERE norm > 0
WITH c, reduce(dot = 0.0, i IN range(0, size($vector) - 1) | dot + c.embedding[i] * $vector[i])
  / (norm * $vector_norm) AS score
ORDER BY score DESC, c.seq
LIMIT $limit
RETURN """
    + _CHUNK
    + ", score: score} AS chunk\n"
)
CHUNK_VECTOR_SEARCH_INDEX = (
    """CALL db.index.vector.queryNodes('kg_chunk_embedding', $candidates, $vector) YIELD node
WHERE node.namespace = $namespace AND node.generation = $generation
WITH node AS c
"""
    + _CHUNK_COSINE
)
CHUNK_VECTOR_SEARCH_EXACT = (
    """MATCH (c:Chunk {namespace: $namespace, generation: $generation})
WHERE c.embedding IS NOT NULL AND size(c.embedding) = size($vector)
"""
    + _CHUNK_COSINE
)

# The postings of a build's chunk words (kg.store.chunk_ranking.chunk_postings), one node per word and build:
# parallel lists by short id, and a common word's first postings apart (head_*: kg.store.neo4j.rows.posting_lists).
# The word '' holds the number of chunks (df) and their total tokens.
CREATE_TERM_CONSTRAINT = """
CREATE CONSTRAINT kg_term_key IF NOT EXISTS
FOR (t:Term) REQUIRE (t.namespace, t.generation, t.term) IS UNIQUE
"""
CREATE_TERMS = """
UNWIND $rows AS row
CREATE (:Term {
  namespace: $namespace, generation: $generation, term: row.term, df: row.df, tokens: row.tokens,
  short_ids: row.short_ids, ids: row.ids, tfs: row.tfs, lengths: row.lengths, head_short_ids: row.head_short_ids,
  head_ids: row.head_ids, head_tfs: row.head_tfs, head_lengths: row.head_lengths
})
"""

# Before a publish's search is planned (kg.store.neo4j.search.prime): index statistics are sampled in the
# background, and a plan made right after a publish from the previous samples ran questions 5-8x slower for as
# long as it stayed cached (bench/context_latency.py at 10k entities: 200-250 ms, not 30).
RESAMPLE_INDEXES = "CALL db.resampleOutdatedIndexes()"

# Local search reads the chunks next to its best ones in corpus order (kg.search.local, neighbour passages).
CREATE_CHUNK_SHORT_ID_INDEX = """
CREATE INDEX kg_chunk_short_id IF NOT EXISTS
FOR (c:Chunk) ON (c.namespace, c.generation, c.short_id)
"""

# The words of a build's entities (kg.store.neo4j.rows.entity_term_rows): document frequency (title or
# description: df; title alone: title_df) as the SQLite store's entity index counts them, and postings by entity
# seq, every entity's (seqs, title_tfs, description_tfs, lengths) and those in titles (title_seqs,
# title_only_tfs, title_lengths). The word '' holds the entity count (df) and their words (tokens), and an empty
# seqs when the build has postings. Entities are read back by seq (CREATE_ENTITY_SEQ_INDEX).
CREATE_ENTITY_TERM_CONSTRAINT = """
CREATE CONSTRAINT kg_entity_term_key IF NOT EXISTS
FOR (t:EntityTerm) REQUIRE (t.namespace, t.generation, t.term) IS UNIQUE
"""
CREATE_ENTITY_TERMS = """
UNWIND $rows AS row
CREATE (:EntityTerm {
  namespace: $namespace, generation: $generation, term: row.term, df: row.df, title_df: row.title_df,
  tokens: row.tokens, seqs: row.seqs, title_tfs: row.title_tfs, description_tfs: row.description_tfs,
  lengths: row.lengths, title_seqs: row.title_seqs, title_only_tfs: row.title_only_tfs,
  title_lengths: row.title_lengths
})
"""
CREATE_ENTITY_SEQ_INDEX = """
CREATE INDEX kg_entity_seq IF NOT EXISTS
FOR (e:Entity) ON (e.namespace, e.generation, e.seq)
"""
# Created with kg.store.neo4j.statements.SCHEMA_STATEMENTS.
SCHEMA_STATEMENTS = (
    CREATE_TERM_CONSTRAINT,
    CREATE_ENTITY_TERM_CONSTRAINT,
    CREATE_CHUNK_SHORT_ID_INDEX,
    CREATE_ENTITY_SEQ_INDEX,
)

# $q.entity_query is built by kg.store.neo4j.fulltext.fulltext_query (user words, Lucene-escaped), null when the
# question has no word to search for; $q.link_queries by link_query. Chunks are ranked as
# kg.store.chunk_ranking.rank_chunks ranks them, step by step, from the build's own postings ($q.forms: the forms
# of the query words, $q.groups: the forms of each word, $budget: MAX_TEXT_POSTINGS, $window: window(),
# $k1...: BM25_PARAMETERS); $q.chunk_query (Lucene) serves only a build published before postings were
# recorded. Entities are ranked as FTS5 ranks them in the SQLite store, from the build's entity postings: the
# rarest words everywhere while their postings total at most $entity_budget, the commoner ones in titles only
# while they total at most $title_budget (kg.store.sqlite.fulltext.split_by_cost), each posting a row scored on
# its own and the rows summed by entity in the words' order (Okapi BM25, a title hit weighing $title_weight).
# Reading each candidate's words instead (Lucene's hits re-scored on their text) took 12 ms of server time a
# question at 10k entities, the postings 5 (the p95 28 ms and 12). $q.entity_query (Lucene's own ranking)
# serves only a build published before entity postings were recorded. The entities of the first
# $seed_passages chunks are the passage seeds of kg.search.passages (as ENTITIES_IN_CHUNKS orders them).
PASSAGE_SEARCH = (
    """MATCH (n:Namespace {name: $namespace})
WHERE n.current_generation IS NOT NULL
WITH n, n.current_generation AS g
OPTIONAL MATCH (s:Term {namespace: $namespace, generation: g, term: ''})
WITH n, g, s, COLLECT {
  UNWIND $q.forms AS form
  MATCH (t:Term {namespace: $namespace, generation: g, term: form})
  USING INDEX t:Term(namespace, generation, term)
  WHERE form <> ''
  WITH t
  ORDER BY t.df, t.term
  RETURN {term: t.term, df: t.df}
} AS found
WITH n, g, s, found, reduce(acc = {total: 0, terms: []}, t IN found |
  CASE WHEN acc.total < 0 OR acc.total + t.df > $budget THEN {total: -1, terms: acc.terms}
  ELSE {total: acc.total + t.df, terms: acc.terms + t.term} END).terms AS cheapest
WITH n, g, s, found, size(cheapest) = 0 AS windowed,
  CASE WHEN s IS NULL THEN [] WHEN size(cheapest) = 0 THEN [t IN found | t.term] ELSE cheapest END AS searched
WITH n, g, s, windowed, searched,
  [grp IN [grp IN $q.groups | [f IN grp WHERE f IN searched]] WHERE size(grp) > 0 |
    {forms: grp, df: reduce(m = 0, t IN found | CASE WHEN t.term IN grp AND t.df > m THEN t.df ELSE m END)}
  ] AS groups,
  CASE WHEN s IS NULL OR s.df = 0 THEN 1.0
    WHEN toFloat(s.tokens) / s.df < 1.0 THEN 1.0 ELSE toFloat(s.tokens) / s.df END AS mean
WITH n, g, s, windowed, searched, mean,
  [w IN groups | {forms: w.forms, weight: log(1 + (s.df - w.df + 0.5) / (w.df + 0.5))}] AS weights
WITH n, g, s, windowed, searched, mean, weights, COLLECT {
  UNWIND CASE WHEN $q.chunk_query IS NULL OR s IS NOT NULL THEN [] ELSE [$q.chunk_query] END AS query
  CALL db.index.fulltext.queryNodes('kg_chunk_terms', query) YIELD node, score
  WHERE node.namespace = $namespace AND node.generation = g
  WITH node AS c, score
  ORDER BY score DESC, c.seq
  LIMIT $chunk_limit
  RETURN """
    + _CHUNK
    + """, score: score}
} AS lucene_chunks, COLLECT {
  UNWIND searched AS form
  MATCH (t:Term {namespace: $namespace, generation: g, term: form})
  USING INDEX t:Term(namespace, generation, term)
  WITH t, windowed AND size(coalesce(t.head_ids, [])) >= $window AS head
  WITH t.term AS term, CASE WHEN head THEN t.head_ids ELSE t.ids END AS ids,
    CASE WHEN head THEN t.head_short_ids ELSE t.short_ids END AS short_ids,
    CASE WHEN head THEN t.head_tfs ELSE t.tfs END AS tfs, CASE WHEN head THEN t.head_lengths ELSE t.lengths END AS lengths
  UNWIND range(0, CASE WHEN windowed AND size(ids) > $window THEN $window ELSE size(ids) END - 1) AS i
  WITH ids[i] AS id, short_ids[i] AS short_id, lengths[i] AS length, collect([term, tfs[i]]) AS tfs
  ORDER BY short_id
  WITH collect({id: id, short_id: short_id, length: length, tfs: tfs}) AS candidates
  UNWIND candidates[..CASE WHEN windowed THEN $window ELSE size(candidates) END] AS x
  WITH x, [w IN weights |
    [w.weight, reduce(f = 0, p IN x.tfs | f + CASE WHEN p[0] IN w.forms THEN p[1] ELSE 0 END)]] AS counts
  WITH x, reduce(total = 0.0, w IN counts | total + CASE WHEN w[1] = 0 THEN 0.0
    ELSE w[0] * w[1] * $k1_plus_1 / (w[1] + $k1 * ($one_minus_b + $b * x.length / mean)) END) AS score
  ORDER BY score DESC, x.short_id
  LIMIT $chunk_limit
  MATCH (c:Chunk {namespace: $namespace, generation: g, id: x.id})
  USING INDEX c:Chunk(namespace, generation, id)
  RETURN """
    + _CHUNK
    + """, score: score}
} AS ranked_chunks
WITH n, g, lucene_chunks + ranked_chunks AS chunks
OPTIONAL MATCH (es:EntityTerm {namespace: $namespace, generation: g, term: ''})
WITH n, g, chunks, es, reduce(acc = {total: 0, title_total: 0, everywhere: [], titles: []}, t IN COLLECT {
  UNWIND $q.forms AS form
  MATCH (t:EntityTerm {namespace: $namespace, generation: g, term: form})
  USING INDEX t:EntityTerm(namespace, generation, term)
  WHERE form <> ''
  WITH t
  ORDER BY t.df, t.term
  RETURN {term: t.term, df: t.df, title_df: t.title_df}
} |
  CASE WHEN acc.total + t.df <= $entity_budget THEN {total: acc.total + t.df, title_total: acc.title_total,
    everywhere: acc.everywhere + [t], titles: acc.titles}
  WHEN acc.title_total + t.df <= $title_budget THEN {total: acc.total, title_total: acc.title_total + t.df,
    everywhere: acc.everywhere, titles: acc.titles + [t]}
  ELSE acc END) AS split
WITH n, g, chunks, es,
  CASE WHEN es.seqs IS NULL THEN [] ELSE [t IN split.everywhere | {term: t.term, title_only: false, hits: t.df}]
    + [t IN split.titles | {term: t.term, title_only: true, hits: t.title_df}] END AS phrases,
  CASE WHEN es IS NULL OR es.df = 0 THEN 1.0 ELSE toFloat(es.tokens) / toFloat(es.df) END AS average
WITH n, g, chunks, es, average, [p IN phrases | {term: p.term, title_only: p.title_only,
  idf: CASE WHEN log((es.df - p.hits + 0.5) / (p.hits + 0.5)) <= 0.0 THEN 1e-6
    ELSE log((es.df - p.hits + 0.5) / (p.hits + 0.5)) END}] AS weights
WITH n, g, chunks, es, COLLECT {
  UNWIND weights AS w
  MATCH (t:EntityTerm {namespace: $namespace, generation: g, term: w.term})
  USING INDEX t:EntityTerm(namespace, generation, term)
  WITH w, CASE WHEN w.title_only THEN t.title_seqs ELSE t.seqs END AS seqs,
    CASE WHEN w.title_only THEN t.title_lengths ELSE t.lengths END AS lengths,
    CASE WHEN w.title_only THEN t.title_only_tfs ELSE t.title_tfs END AS title_tfs,
    CASE WHEN w.title_only THEN [] ELSE t.description_tfs END AS description_tfs
  UNWIND range(0, size(seqs) - 1) AS i
  WITH w, seqs[i] AS seq, toFloat(lengths[i]) AS words, CASE WHEN w.title_only THEN $title_weight * title_tfs[i] + 0.0
    ELSE $title_weight * title_tfs[i] + toFloat(description_tfs[i]) END AS tf
  WITH seq, sum(w.idf * ((tf * $k1_plus_1) / (tf + $k1 * ($one_minus_b + $b * words / average)))) AS score
  ORDER BY score DESC, seq
  LIMIT $entity_limit
  MATCH (e:Entity {namespace: $namespace, generation: g, seq: seq})
  USING INDEX e:Entity(namespace, generation, seq)
  RETURN """
    + _ENTITY
    + """, score: score}
} AS ranked_entities
RETURN g AS generation, n.embedding_dimensions AS embedding_dimensions,
n.embedding_count AS embedding_count, n.vector_index_dimensions AS vector_index_dimensions,
n.chunk_embedding_dimensions AS chunk_embedding_dimensions, n.chunk_embedding_count AS chunk_embedding_count,
n.chunk_vector_index_dimensions AS chunk_vector_index_dimensions, chunks,
COLLECT {
  UNWIND CASE WHEN es.seqs IS NULL AND $q.entity_query IS NOT NULL THEN [$q.entity_query] ELSE [] END AS query
  CALL db.index.fulltext.queryNodes('kg_entity_terms', query) YIELD node, score
  WHERE node.namespace = $namespace AND node.generation = g
  WITH node AS e, score
  ORDER BY score DESC, e.seq
  LIMIT $entity_limit
  RETURN """
    + _ENTITY
    + """, score: score}
} + ranked_entities AS entities,
COLLECT {
  UNWIND $q.link_queries AS query
  CALL db.index.fulltext.queryNodes('kg_entity_link_keys', query) YIELD node
  WHERE node.namespace = $namespace AND node.generation = g
  WITH DISTINCT node AS e
  UNWIND range(0, size($q.keys) - 1) AS i
  WITH e, i
  WHERE $q.keys[i] IN e.link_keys
  WITH e, i
  ORDER BY i, e.seq
  RETURN """
    + _ENTITY
    + """, key: $q.keys[i]}
} AS linked,
COLLECT {
  UNWIND [hit IN chunks[..$seed_passages] | hit.id] AS id
  MATCH (c:Chunk {namespace: $namespace, generation: g, id: id})-[:MENTIONS]->(e:Entity)
  USING INDEX c:Chunk(namespace, generation, id)
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
# hops: the two-hop passages of kg.store.hops, scored as kg/store/sqlite/passages.py scores them ($q.hop_titles:
# the seeds, $hop_seed_degree: MAX_HOP_SEED_DEGREE, $hop_entity_passages: MAX_HOP_ENTITY_PASSAGES,
# $score_digits: SCORE_DIGITS); neighbours: the chunks of the short ids $q.short_ids, in that order.
GRAPH_READ = (
    """MATCH (n:Namespace {name: $namespace})
WHERE n.current_generation IS NOT NULL
WITH n, COLLECT {
  UNWIND range(0, size($q.ids) - 1) AS i
  MATCH (c:Chunk {namespace: $namespace, generation: $generation, id: $q.ids[i]})
  USING INDEX c:Chunk(namespace, generation, id)
  WITH c
  ORDER BY i
  RETURN """
    + _CHUNK
    + """}
} AS chunks, COLLECT {
  WITH $q.hop_titles AS seeds, $q.hop_exclude AS exclude
  UNWIND seeds AS title
  MATCH (s:Entity {namespace: $namespace, generation: $generation, title: title})
  USING INDEX s:Entity(namespace, generation, title)
  WHERE $hop_limit > 0 AND s.degree <= $hop_seed_degree
  MATCH (s)-[:RELATED]-(e:Entity)
  WHERE NOT e.title IN seeds
  WITH e, exclude, count(DISTINCT s.title) AS links
  WHERE size(e.text_unit_ids) <= $hop_entity_passages
  UNWIND e.text_unit_ids AS id
  WITH e, exclude, links, collect(DISTINCT id) AS units
  UNWIND units AS id
  WITH id, exclude, sum(toFloat(links) / size(units)) AS score
  WHERE NOT id IN exclude
  MATCH (c:Chunk {namespace: $namespace, generation: $generation, id: id})
  USING INDEX c:Chunk(namespace, generation, id)
  WITH c, round(score, $score_digits) AS score
  ORDER BY score DESC, c.short_id
  LIMIT $hop_limit
  RETURN """
    + _CHUNK
    + """, score: score}
} AS hops, COLLECT {
  UNWIND range(0, size($q.short_ids) - 1) AS i
  MATCH (c:Chunk {namespace: $namespace, generation: $generation, short_id: $q.short_ids[i]})
  USING INDEX c:Chunk(namespace, generation, short_id)
  WITH c
  ORDER BY i
  RETURN """
    + _CHUNK
    + """}
} AS neighbours
RETURN n.current_generation AS generation, chunks, hops, neighbours,
COLLECT {
  UNWIND $q.titles AS title
  MATCH (e:Entity {namespace: $namespace, generation: $generation, title: title})
  USING INDEX e:Entity(namespace, generation, title)
  MATCH (e)-[r:RELATED]-()
  WITH DISTINCT r
  ORDER BY r.weight DESC, r.rank DESC, r.short_id
  LIMIT $limit
  RETURN """
    + _RELATIONSHIP
    + """
} AS relationships,
COLLECT {
  UNWIND $q.entity_ids AS id
  MATCH (e:Entity {namespace: $namespace, generation: $generation, id: id})
  USING INDEX e:Entity(namespace, generation, id)
  MATCH (e)-[:IN_COMMUNITY]->(:Community)-[:HAS_REPORT]->(p:Report)
  WITH p, count(DISTINCT e) AS matches
  ORDER BY matches DESC, p.rank DESC, p.community
  RETURN """
    + _REPORT
    + """, matches: matches}
} AS reports,
COLLECT {
  UNWIND $q.document_ids + [c IN chunks + hops + neighbours | c.document_id] AS id
  WITH DISTINCT id
  MATCH (d:Document {namespace: $namespace, generation: $generation, id: id})
  USING INDEX d:Document(namespace, generation, id)
  RETURN d {.id, .title, .source}
} AS documents
"""
)
