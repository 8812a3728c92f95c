"""The Cypher of local search's two reads (`GraphStore.find_passages`, `read_graph`): each one statement, so a
question costs two round trips whatever it asks for. Kept apart from kg/store/neo4j/statements.py (the store's
other statements) only for size; the same rules hold (parameters only, allow-listed labels and types, linted
by tests/test_cypher_lint.py).

Each statement resolves the namespace's published generation once and reads every part from it through
COLLECT subqueries, so its parts can never come from two builds; it returns that generation, which the
second read is pinned to ($q.generation: a replaced build is kept until the next publish, see store.py).

Both take their values in one map parameter, $q. Neo4j keys its plan cache by the parameters' types, and a
string's length and a list's size are part of a type (in buckets); a map's contents are not. Planning
PASSAGE_SEARCH takes about a second, so with plain parameters each new shape of question (one more word, a
longer name, no word at all) paid a second on Neo4j while the same question took 25 ms once planned
(bench/context_latency.py: the p95 of questions matching nothing was 0.9 s). With $q each statement is planned
once per plan-cache lifetime.
"""

from __future__ import annotations

_ENTITY = "e {.id, .short_id, .title, .type, .description, .text_unit_ids, .degree"
_CHUNK = "c {.id, .short_id, .document_id, .text, .n_tokens, .start_char, .end_char"
_RELATIONSHIP = "r {.id, .short_id, .source, .target, .description, .weight, .text_unit_ids, .rank}"
_REPORT = (
    "p {.community, .level, .title, .summary, .full_content, .rank, .finding_summaries, .finding_explanations"
)

# The postings of a build's chunk words (kg.store.chunk_ranking.chunk_postings), one node per word and build:
# parallel lists by short id. The word '' holds the number of chunks (df) and their total tokens.
CREATE_TERM_CONSTRAINT = """
CREATE CONSTRAINT kg_term_key IF NOT EXISTS
FOR (t:Term) REQUIRE (t.namespace, t.generation, t.term) IS UNIQUE
"""
CREATE_TERMS = """
UNWIND $rows AS row
CREATE (:Term {
  namespace: $namespace, generation: $generation, term: row.term, df: row.df, tokens: row.tokens,
  short_ids: row.short_ids, ids: row.ids, tfs: row.tfs, lengths: row.lengths
})
"""

# Local search reads the chunks next to its best ones in corpus order (kg.search.local, neighbour passages).
CREATE_CHUNK_SHORT_ID_INDEX = """
CREATE INDEX kg_chunk_short_id IF NOT EXISTS
FOR (c:Chunk) ON (c.namespace, c.generation, c.short_id)
"""

# The document frequency of each word of a build's entities (title or description: df; title alone: title_df),
# as the SQLite store's entity index counts them. The word '' holds the entity count (df) and their words (tokens).
CREATE_ENTITY_TERM_CONSTRAINT = """
CREATE CONSTRAINT kg_entity_term_key IF NOT EXISTS
FOR (t:EntityTerm) REQUIRE (t.namespace, t.generation, t.term) IS UNIQUE
"""
CREATE_ENTITY_TERMS = """
UNWIND $rows AS row
CREATE (:EntityTerm {
  namespace: $namespace, generation: $generation, term: row.term, df: row.df, title_df: row.title_df,
  tokens: row.tokens
})
"""

# $q.entity_query is built by kg.store.neo4j.fulltext.fulltext_query (user words, Lucene-escaped), null when the
# question has no word to search for; $q.link_queries by link_query. Chunks are ranked as
# kg.store.chunk_ranking.rank_chunks ranks them, step by step, from the build's own postings ($q.forms: the forms
# of the query words, $q.groups: the forms of each word, $q.budget: MAX_TEXT_POSTINGS, $q.window: window(),
# $q.k1...: BM25_PARAMETERS); $q.chunk_query (Lucene) serves only a build published before postings were
# recorded. The entities of the first $q.seed_passages chunks are the passage seeds of kg.search.passages (as
# ENTITIES_IN_CHUNKS orders them).
PASSAGE_SEARCH = (
    """MATCH (n:Namespace {name: $q.namespace})
WHERE n.current_generation IS NOT NULL
WITH n, n.current_generation AS g
OPTIONAL MATCH (s:Term {namespace: $q.namespace, generation: g, term: ''})
WITH n, g, s, COLLECT {
  MATCH (t:Term {namespace: $q.namespace, generation: g})
  WHERE t.term IN $q.forms AND t.term <> ''
  WITH t
  ORDER BY t.df, t.term
  RETURN {term: t.term, df: t.df}
} AS found
WITH n, g, s, found, reduce(acc = {total: 0, terms: []}, t IN found |
  CASE WHEN acc.total < 0 OR acc.total + t.df > $q.budget THEN {total: -1, terms: acc.terms}
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
  WHERE node.namespace = $q.namespace AND node.generation = g
  WITH node AS c, score
  ORDER BY score DESC, c.seq
  LIMIT $q.chunk_limit
  RETURN """
    + _CHUNK
    + """, score: score}
} AS lucene_chunks, COLLECT {
  MATCH (t:Term {namespace: $q.namespace, generation: g})
  WHERE t.term IN searched
  UNWIND range(0, CASE WHEN windowed AND size(t.ids) > $q.window THEN $q.window ELSE size(t.ids) END - 1) AS i
  WITH t.ids[i] AS id, t.short_ids[i] AS short_id, t.lengths[i] AS length, collect([t.term, t.tfs[i]]) AS tfs
  ORDER BY short_id
  WITH collect({id: id, short_id: short_id, length: length, tfs: tfs}) AS candidates
  UNWIND candidates[..CASE WHEN windowed THEN $q.window ELSE size(candidates) END] AS x
  WITH x, [w IN weights |
    [w.weight, reduce(f = 0, p IN x.tfs | f + CASE WHEN p[0] IN w.forms THEN p[1] ELSE 0 END)]] AS counts
  WITH x, reduce(total = 0.0, w IN counts | total + CASE WHEN w[1] = 0 THEN 0.0
    ELSE w[0] * w[1] * $q.k1_plus_1 / (w[1] + $q.k1 * ($q.one_minus_b + $q.b * x.length / mean)) END) AS score
  ORDER BY score DESC, x.short_id
  LIMIT $q.chunk_limit
  MATCH (c:Chunk {namespace: $q.namespace, generation: g, id: x.id})
  RETURN """
    + _CHUNK
    + """, score: score}
} AS ranked_chunks
WITH n, g, lucene_chunks + ranked_chunks AS chunks
OPTIONAL MATCH (es:EntityTerm {namespace: $q.namespace, generation: g, term: ''})
WITH n, g, chunks, es, reduce(acc = {total: 0, title_total: 0, everywhere: [], titles: []}, t IN COLLECT {
  MATCH (t:EntityTerm {namespace: $q.namespace, generation: g})
  WHERE t.term IN $q.forms AND t.term <> ''
  WITH t
  ORDER BY t.df, t.term
  RETURN {term: t.term, df: t.df, title_df: t.title_df}
} |
  CASE WHEN acc.total + t.df <= $q.entity_budget THEN {total: acc.total + t.df, title_total: acc.title_total,
    everywhere: acc.everywhere + [t], titles: acc.titles}
  WHEN acc.title_total + t.df <= $q.title_budget THEN {total: acc.total, title_total: acc.title_total + t.df,
    everywhere: acc.everywhere, titles: acc.titles + [t]}
  ELSE acc END) AS split
WITH n, g, chunks, es, split,
  reduce(q = '', t IN split.everywhere | q + CASE WHEN q = '' THEN '' ELSE ' OR ' END + $q.escaped[t.term]) AS anywhere,
  reduce(q = '', t IN split.titles | q + CASE WHEN q = '' THEN '' ELSE ' OR ' END + $q.escaped[t.term]) AS in_titles
WITH n, g, chunks, es,
  [t IN split.everywhere | {term: t.term, title_only: false, hits: t.df}]
  + [t IN split.titles | {term: t.term, title_only: true, hits: t.title_df}] AS phrases,
  CASE WHEN es IS NULL THEN null
    WHEN anywhere = '' AND in_titles = '' THEN null
    WHEN in_titles = '' THEN 'title_terms:(' + anywhere + ') OR description_terms:(' + anywhere + ')'
    WHEN anywhere = '' THEN 'title_terms:(' + in_titles + ')'
    ELSE 'title_terms:(' + anywhere + ') OR description_terms:(' + anywhere + ') OR title_terms:(' + in_titles + ')'
  END AS entity_search,
  CASE WHEN es IS NULL OR es.df = 0 THEN 1.0 ELSE toFloat(es.tokens) / toFloat(es.df) END AS average
WITH n, g, chunks, es, entity_search, average, [p IN phrases | {term: p.term, title_only: p.title_only,
  idf: CASE WHEN log((es.df - p.hits + 0.5) / (p.hits + 0.5)) <= 0.0 THEN 1e-6
    ELSE log((es.df - p.hits + 0.5) / (p.hits + 0.5)) END}] AS weights
RETURN g AS generation, n.embedding_dimensions AS embedding_dimensions,
n.embedding_count AS embedding_count, n.vector_index_dimensions AS vector_index_dimensions, chunks,
COLLECT {
  UNWIND CASE WHEN es IS NULL AND $q.entity_query IS NOT NULL THEN [$q.entity_query] ELSE [] END AS query
  CALL db.index.fulltext.queryNodes('kg_entity_terms', query) YIELD node, score
  WHERE node.namespace = $q.namespace AND node.generation = g
  WITH node AS e, score
  ORDER BY score DESC, e.seq
  LIMIT $q.entity_limit
  RETURN """
    + _ENTITY
    + """, score: score}
} + COLLECT {
  UNWIND CASE WHEN entity_search IS NULL THEN [] ELSE [entity_search] END AS query
  CALL db.index.fulltext.queryNodes('kg_entity_terms', query) YIELD node
  WHERE node.namespace = $q.namespace AND node.generation = g
  WITH node AS e,
    CASE WHEN node.title_terms = '' THEN [] ELSE split(node.title_terms, ' ') END AS title,
    CASE WHEN node.description_terms = '' THEN [] ELSE split(node.description_terms, ' ') END AS description
  WITH e, toFloat(size(title) + size(description)) AS words, [w IN weights | [w.idf,
    $q.title_weight * size([x IN title WHERE x = w.term])
    + CASE WHEN w.title_only THEN 0.0 ELSE toFloat(size([x IN description WHERE x = w.term])) END]] AS counts
  WITH e, reduce(total = 0.0, w IN counts | total + w[0] * ((w[1] * $q.k1_plus_1)
    / (w[1] + $q.k1 * ($q.one_minus_b + $q.b * words / average)))) AS score
  ORDER BY score DESC, e.seq
  LIMIT $q.entity_limit
  RETURN """
    + _ENTITY
    + """, score: score}
} AS entities,
COLLECT {
  UNWIND $q.link_queries AS query
  CALL db.index.fulltext.queryNodes('kg_entity_link_keys', query) YIELD node
  WHERE node.namespace = $q.namespace AND node.generation = g
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
  UNWIND [hit IN chunks[..$q.seed_passages] | hit.id] AS id
  MATCH (c:Chunk {namespace: $q.namespace, generation: g, id: id})-[:MENTIONS]->(e:Entity)
  WITH e, count(DISTINCT c) AS hits
  ORDER BY hits DESC, size(e.text_unit_ids), e.seq
  LIMIT $q.passage_entity_limit
  RETURN """
    + _ENTITY
    + """}
} AS passage_entities
"""
)

# Pinned to the build the first read named ($q.generation); returns the one published now, for the build check.
# hops: the two-hop passages of kg.store.hops, scored as kg/store/sqlite/passages.py scores them ($q.hop_titles:
# the seeds, $q.hop_seed_degree: MAX_HOP_SEED_DEGREE, $q.hop_entity_passages: MAX_HOP_ENTITY_PASSAGES,
# $q.score_digits: SCORE_DIGITS); neighbours: the chunks of the short ids $q.short_ids, in that order.
GRAPH_READ = (
    """MATCH (n:Namespace {name: $q.namespace})
WHERE n.current_generation IS NOT NULL
WITH n, COLLECT {
  UNWIND range(0, size($q.ids) - 1) AS i
  MATCH (c:Chunk {namespace: $q.namespace, generation: $q.generation, id: $q.ids[i]})
  WITH c
  ORDER BY i
  RETURN """
    + _CHUNK
    + """}
} AS chunks, COLLECT {
  MATCH (s:Entity {namespace: $q.namespace, generation: $q.generation})
  WHERE $q.hop_limit > 0 AND s.title IN $q.hop_titles AND s.degree <= $q.hop_seed_degree
  MATCH (s)-[:RELATED]-(e:Entity)
  WHERE NOT e.title IN $q.hop_titles
  WITH e, count(DISTINCT s.title) AS links
  WHERE size(e.text_unit_ids) <= $q.hop_entity_passages
  UNWIND e.text_unit_ids AS id
  WITH e, links, collect(DISTINCT id) AS units
  UNWIND units AS id
  WITH id, sum(toFloat(links) / size(units)) AS score
  WHERE NOT id IN $q.hop_exclude
  MATCH (c:Chunk {namespace: $q.namespace, generation: $q.generation, id: id})
  WITH c, round(score, $q.score_digits) AS score
  ORDER BY score DESC, c.short_id
  LIMIT $q.hop_limit
  RETURN """
    + _CHUNK
    + """, score: score}
} AS hops, COLLECT {
  UNWIND range(0, size($q.short_ids) - 1) AS i
  MATCH (c:Chunk {namespace: $q.namespace, generation: $q.generation, short_id: $q.short_ids[i]})
  WITH c
  ORDER BY i
  RETURN """
    + _CHUNK
    + """}
} AS neighbours
RETURN n.current_generation AS generation, chunks, hops, neighbours,
COLLECT {
  MATCH (e:Entity {namespace: $q.namespace, generation: $q.generation})
  WHERE e.title IN $q.titles
  MATCH (e)-[r:RELATED]-()
  WITH DISTINCT r
  ORDER BY r.weight DESC, r.rank DESC, r.short_id
  LIMIT $q.limit
  RETURN """
    + _RELATIONSHIP
    + """
} AS relationships,
COLLECT {
  MATCH (e:Entity {namespace: $q.namespace, generation: $q.generation})
  WHERE e.id IN $q.entity_ids
  MATCH (e)-[:IN_COMMUNITY]->(:Community)-[:HAS_REPORT]->(p:Report)
  WITH p, count(DISTINCT e) AS matches
  ORDER BY matches DESC, p.rank DESC, p.community
  RETURN """
    + _REPORT
    + """, matches: matches}
} AS reports,
COLLECT {
  MATCH (d:Document {namespace: $q.namespace, generation: $q.generation})
  WHERE d.id IN $q.document_ids + [c IN chunks + hops + neighbours | c.document_id]
  RETURN d {.id, .title, .source}
} AS documents
"""
)
