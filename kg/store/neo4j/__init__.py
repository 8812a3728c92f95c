"""The Neo4j graph store (production): `store` (the `GraphStore`), `statements` (every Cypher statement, and
the only place Cypher is written), `fulltext` (queries matching the SQLite store's), `rows` (builds to statement
rows, records to model objects), `reads` (auto-commit reads, retried as the driver retries) and `errors`
(driver errors to messages naming the setting to fix).

The graph, as it reads in Neo4j Browser (every node also carries `namespace`, `generation` and `seq`):

    (:Namespace {name, current_generation, built_at, usage (JSON), counts...})
    (:Chunk)-[:PART_OF]->(:Document)
    (:Chunk)-[:MENTIONS]->(:Entity:Person)            type label from the allow-list; `type` always kept
    (:Entity)-[:RELATED {description, weight, rank}]->(:Entity)
    (:Entity)-[:IN_COMMUNITY]->(:Community {level})-[:CHILD_OF]->(:Community)
    (:Community)-[:HAS_REPORT]->(:Report {title, summary, rank})
    (:DeliveredEvent {key, claim, expires})            chat events answered (`deliveries`); no namespace

A build is written as a new generation of nodes; readers only ever see the namespace's `current_generation`,
which a publish switches in one transaction.
"""
