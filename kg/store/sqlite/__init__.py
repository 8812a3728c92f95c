"""The embedded SQLite graph store (the default): `store` (the `GraphStore`), `schema` (tables, full-text
indexes, opening and upgrading a file), `fulltext` (bounded FTS5 queries and BM25 re-scoring), `rows` (builds
to rows and back) and `vectors` (entity vectors searched in memory). Errors become `StoreError` in `store`,
where every statement runs.
"""
