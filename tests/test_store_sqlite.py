"""The store contract against SqliteStore, plus what is specific to the SQLite backend."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kg.model import Feedback, TextUnit
from kg.store import open_store
from kg.store.base import PassageSearch, StoreError
from kg.store.sqlite.fulltext import cheapest_terms, match_expression, okapi_rescored, split_by_cost
from kg.store.sqlite.schema import SCHEMA_VERSION
from kg.store.sqlite.store import SqliteStore
from kg.text.bm25 import idf, term_score
from kg.text.tokens import count_tokens
from kg.text.words import MAX_QUERY_WORDS, query_words, word_forms
from tests.store_contract import StoreContract, large_index, sample_index


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "kg.db")
    yield store
    await store.close()


class TestSqliteStoreContract(StoreContract):
    @pytest.fixture
    async def store(self, sqlite_store: SqliteStore) -> SqliteStore:
        return sqlite_store


# ---------------------------------------------------------------------- open_store


def test_open_store_relative_url_creates_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///deep/er/kg.db")
    assert isinstance(store, SqliteStore)
    assert (tmp_path / "deep" / "er" / "kg.db").is_file()
    assert store.path == Path("deep/er/kg.db")


async def test_open_store_absolute_url(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'abs' / 'kg.db'}")
    assert isinstance(store, SqliteStore)
    assert store.path == tmp_path / "abs" / "kg.db"
    await store.publish("ns", sample_index())
    assert await store.namespaces() == ["ns"]
    await store.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://user:secret@host/db", "unsupported store URL scheme 'postgres'"),
        ("kg.db", "has no scheme"),
        ("sqlite://:memory:", "names a file"),
        ("sqlite:///", "names a file"),
    ],
)
def test_open_store_rejects_bad_urls(url: str, expected: str) -> None:
    with pytest.raises(StoreError, match=expected.replace("+", r"\+")) as raised:
        open_store(url)
    assert "secret" not in str(raised.value)
    assert "\n" not in str(raised.value)


# ---------------------------------------------------------------------- opening files


def test_not_a_database_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("just some text, long enough to not be a database header at all " * 20)
    with pytest.raises(StoreError, match="not a usable kgbot store"):
        SqliteStore(path)


def test_foreign_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    conn.close()
    with pytest.raises(StoreError, match="not a kgbot store"):
        SqliteStore(path)


def test_directory_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory"):
        SqliteStore(tmp_path)


def test_missing_parent_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        SqliteStore(tmp_path / "missing" / "kg.db")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    SqliteStore(path)._read_conn.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer kgbot"):
        SqliteStore(path)


async def test_a_schema_2_store_gains_the_graph_tables_and_links_after_republishing(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    store = SqliteStore(path)
    await store.publish("ns", sample_index())
    await store.close()
    with sqlite3.connect(path) as conn:  # what a store written before entity linking looks like
        conn.execute("DROP TABLE entity_keys")
        conn.execute("DROP TABLE text_unit_entities")
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    store = SqliteStore(path)
    try:
        assert await store.link_entities("ns", ["transformer"]) == []  # no keys until the next publish
        assert [u.id for u, _ in await store.search_text_units("ns", "attention", 5)] == ["t1"]
        await store.publish("ns", sample_index())
        assert [x.entity.title for x in await store.link_entities("ns", ["transformer"])] == ["Transformer"]
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


async def test_a_schema_3_store_gains_the_feedback_table_and_keeps_its_index(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    store = SqliteStore(path)
    await store.publish("ns", sample_index())
    await store.close()
    with sqlite3.connect(path) as conn:  # what a store written before feedback looks like
        conn.execute("DROP TABLE feedback")
        conn.execute("PRAGMA user_version = 3")
    conn.close()
    store = SqliteStore(path)
    try:
        assert await store.feedback("ns") == []
        vote = Feedback("ns", "slack", "T1", "a1", "U1", "up", question="q?")
        assert await store.record_feedback(vote) is True
        assert [f.vote for f in await store.feedback("ns")] == ["up"]
        assert [e.title for e in await store.get_entities("ns", ["Transformer"])] == ["Transformer"]
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


async def test_a_schema_5_store_gains_the_short_id_index(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    store = SqliteStore(path)
    await store.publish("ns", sample_index())
    await store.close()
    with sqlite3.connect(path) as conn:  # what a store written before neighbour passages looks like
        conn.execute("DROP INDEX text_units_by_short_id")
        conn.execute("PRAGMA user_version = 5")
    conn.close()
    SqliteStore(path)._read_conn.close()
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM text_units WHERE ns = 1 AND short_id = 0"
        ).fetchall()
        assert "text_units_by_short_id" in str(plan)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


async def test_a_schema_6_store_recounts_its_passages_tokens(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    store = SqliteStore(path)
    await store.publish("ns", sample_index())
    await store.close()
    with sqlite3.connect(path) as conn:  # a GraphRAG import of an older kgbot: its tokenizer's counts
        conn.execute("UPDATE text_units SET n_tokens = n_tokens + 7")
        conn.execute("PRAGMA user_version = 6")
    conn.close()
    reopened = SqliteStore(path)
    units = await reopened.get_text_units("ns", [u.id for u in sample_index().text_units])
    assert [u.n_tokens for u in units] == [count_tokens(u.text) for u in units]
    await reopened.close()


async def test_a_schema_7_store_gains_chunk_vectors_after_republishing(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    store = SqliteStore(path)
    await store.publish("ns", sample_index())
    await store.close()
    with sqlite3.connect(path) as conn:  # what a store written before passage vectors looks like
        conn.execute("DROP TABLE text_unit_vectors")
        conn.execute("PRAGMA user_version = 7")
    conn.close()
    search = PassageSearch("attention", [], 5, 5, 5, 5, [0.0, 1.0, 0.0, 0.0], chunk_vector_limit=2)
    store = SqliteStore(path)
    try:
        exported = await store.export("ns")
        assert exported is not None and all(u.embedding is None for u in exported.text_units)
        hits = await store.find_passages("ns", search)  # no chunk vectors until the next publish
        assert hits.vector_chunks == [] and [u.id for u, _ in hits.chunks] == ["t1"]
        assert [h.entity.title for h in hits.vector_entities][:1] == ["Transformer"]
        await store.publish("ns", sample_index())
        assert [u.id for u, _ in (await store.find_passages("ns", search)).vector_chunks] == ["t2", "t1"]
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 8
    conn.close()


async def test_file_is_wal_and_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    store = SqliteStore(path)
    await store.publish("ns", sample_index())
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    reopened = SqliteStore(path)
    assert await reopened.export("ns") == sample_index()
    await reopened.close()


async def test_closed_store_raises(sqlite_store: SqliteStore) -> None:
    await sqlite_store.close()
    with pytest.raises(StoreError, match="closed"):
        await sqlite_store.search_entities("ns", "attention", 5)
    with pytest.raises(StoreError, match="closed"):
        await sqlite_store.publish("ns", sample_index())
    await sqlite_store.close()  # idempotent


# ---------------------------------------------------------------------- publish internals


async def test_failure_after_deletes_and_inserts_rolls_back(
    sqlite_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = sample_index()
    await sqlite_store.publish("ns", old)

    def explode(*_args: object) -> None:
        raise RuntimeError("disk on fire")

    # Reports are written last: by then every other table of the namespace was deleted and re-inserted.
    monkeypatch.setattr("kg.store.sqlite.rows._insert_reports", explode)
    with pytest.raises(StoreError, match="disk on fire"):
        await sqlite_store.publish("ns", sample_index(variant="newer"))
    monkeypatch.undo()
    assert await sqlite_store.export("ns") == old
    assert await sqlite_store.search_entities("ns", "newer", 10) == []
    assert len(await sqlite_store.search_text_units("ns", "positional", 10)) == 1


async def test_duplicate_ids_fail_the_publish(sqlite_store: SqliteStore) -> None:
    await sqlite_store.publish("ns", sample_index())
    index = sample_index(variant="dup")
    index.relationships.append(index.relationships[0])
    with pytest.raises(StoreError, match="previous index is still served"):
        await sqlite_store.publish("ns", index)
    assert await sqlite_store.export("ns") == sample_index()


async def test_mixed_embedding_dimensions_fail_the_publish(sqlite_store: SqliteStore) -> None:
    index = sample_index()
    index.entities[3].embedding = [1.0, 2.0]
    with pytest.raises(StoreError, match="different dimensions"):
        await sqlite_store.publish("ns", index)


async def test_query_vector_of_wrong_dimension(sqlite_store: SqliteStore) -> None:
    await sqlite_store.publish("ns", sample_index())
    with pytest.raises(StoreError, match="dimensions"):
        await sqlite_store.search_entities_by_vector("ns", [1.0, 0.0], 3)
    assert await sqlite_store.search_entities_by_vector("ns", [0.0, 0.0, 0.0, 0.0], 3) == []


async def test_publish_by_another_connection_invalidates_vector_cache(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    reader, writer = SqliteStore(path), SqliteStore(path)
    await writer.publish("ns", sample_index())
    assert (await reader.search_entities_by_vector("ns", [0.0, 0.0, 1.0, 0.0], 1))[
        0
    ].entity.title == "Ashish Vaswani"
    moved = sample_index()
    moved.entities[2].embedding = [0.0, 1.0, 0.0, 0.0]
    await writer.publish("ns", moved)
    assert (await reader.search_entities_by_vector("ns", [0.0, 0.0, 1.0, 0.0], 1))[
        0
    ].entity.title == "Google Brain"
    await reader.close()
    await writer.close()


async def test_republishing_many_times_keeps_fts_consistent(sqlite_store: SqliteStore) -> None:
    for round_ in range(5):
        await sqlite_store.publish("ns", sample_index(variant=f"round{round_}"))
        await sqlite_store.publish("other", sample_index(variant=f"other{round_}"))
    assert len(await sqlite_store.search_entities("ns", "round4", 10)) == 5
    assert await sqlite_store.search_entities("ns", "round3", 10) == []
    assert await sqlite_store.search_entities("ns", "other4", 10) == []
    with sqlite3.connect(sqlite_store.path) as conn:
        fts_tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'"
            )
        ]
        assert sorted(fts_tables) == [
            "entities_fts_1",
            "entities_fts_2",
            "text_units_fts_1",
            "text_units_fts_2",
        ]
        for table in fts_tables:
            conn.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
        assert conn.execute("SELECT count(*) FROM entities").fetchone()[0] == 10
        ns_id = conn.execute("SELECT id FROM namespaces WHERE name = 'ns'").fetchone()[0]
        for word, expected in (("round4", 5), ("round3", 0), ("other4", 0)):
            sql = f"SELECT count(*) FROM entities_fts_{ns_id} WHERE entities_fts_{ns_id} MATCH ?"
            assert conn.execute(sql, (word,)).fetchone()[0] == expected
    conn.close()


# ---------------------------------------------------------------------- reads are set-at-a-time


async def test_each_read_is_one_or_two_statements(sqlite_store: SqliteStore) -> None:
    await sqlite_store.publish("ns", large_index(3000))
    await sqlite_store.search_entities("ns", "node", 1)  # resolves and caches the namespace id
    statements: list[str] = []
    # FTS5's own lookups inside one MATCH ("-- ..." and statements on 'main'.x) are not round trips.
    sqlite_store._read_conn.set_trace_callback(
        lambda sql: sql.startswith("--") or "'main'." in sql or statements.append(sql)
    )
    titles = [f"Node {i}" for i in range(2000)]
    calls = {  # name: (call, statements it may take)
        "get_entities": (lambda: sqlite_store.get_entities("ns", titles), 1),
        "relationships_of": (lambda: sqlite_store.relationships_of("ns", titles, 50), 1),
        "reports_for": (lambda: sqlite_store.reports_for("ns", [f"le{i}" for i in range(2000)]), 1),
        "get_text_units": (lambda: sqlite_store.get_text_units("ns", [f"lt{i}" for i in range(2000)]), 1),
        "document_titles": (lambda: sqlite_store.document_titles("ns", ["ld"] * 2000), 1),
        "search_entities": (lambda: sqlite_store.search_entities("ns", "common node", 10), 2),
        "search_text_units": (
            lambda: sqlite_store.search_text_units("ns", "chunk", 10),
            3,
        ),  # stats, postings, rows
        "link_entities": (lambda: sqlite_store.link_entities("ns", ["node 1", "node 2"]), 1),
        "entities_in_text_units": (
            lambda: sqlite_store.entities_in_text_units("ns", [f"lt{i}" for i in range(2000)], 50),
            1,
        ),
    }
    for name, (call, expected) in calls.items():
        statements.clear()
        assert await call(), name
        assert len(statements) == expected, (name, statements)
    statements.clear()
    await sqlite_store.stats("ns")
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2


async def test_reads_use_indexes_not_scans(sqlite_store: SqliteStore) -> None:
    await sqlite_store.publish("ns", sample_index())
    conn = sqlite_store._read_conn
    queries = {
        "get_entities": (
            "SELECT e.id FROM json_each(?) AS j JOIN entities AS e ON e.ns = ? AND e.title = j.value",
            ("[]", 1),
        ),
        "top_entities": ("SELECT title FROM entities WHERE ns = ? ORDER BY degree DESC, pk LIMIT 5", (1,)),
        "relationships_by_target": (
            "SELECT x.pk FROM json_each(?) AS j JOIN relationships AS x ON x.ns = ? AND x.target = j.value",
            ("[]", 1),
        ),
        "reports_for": (
            "SELECT c.community FROM json_each(?) AS j JOIN community_entities AS c"
            " ON c.ns = ? AND c.entity_id = j.value",
            ("[]", 1),
        ),
        "link_entities": (
            "SELECT k.entity_pk FROM json_each(?) AS j CROSS JOIN entity_keys AS k ON k.ns = ? AND k.key = j.value",
            ("[]", 1),
        ),
        "entities_in_text_units": (
            "SELECT m.entity_pk FROM json_each(?) AS j"
            " CROSS JOIN text_unit_entities AS m ON m.ns = ? AND m.text_unit_id = j.value",
            ("[]", 1),
        ),
    }
    for name, (sql, params) in queries.items():
        plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan or "PRIMARY KEY" in plan, (name, plan)
        assert "TEMP B-TREE" not in plan, (name, plan)


# ---------------------------------------------------------------------- FTS expressions


def test_query_words_drop_syntax_and_stopwords() -> None:
    assert query_words('What is "multi-head" attention? AND NEAR(x* café_Ünïcode') == [
        "multi",
        "head",
        "attention",
        "near",
        "x",
        "cafe",
        "unicode",
    ]
    assert query_words("The Who") == ["the", "who"]  # only stopwords: keep them
    assert query_words("?? !! 🤖 _ --") == []
    assert len(query_words(" ".join(f"w{i}" for i in range(500)))) == MAX_QUERY_WORDS


def test_word_forms() -> None:
    assert word_forms("transformers") == ["transformers", "transformer"]
    assert word_forms("transformer") == ["transformer", "transformers"]
    assert word_forms("queries") == ["queries", "query"]
    assert word_forms("query") == ["query", "queries"]
    assert word_forms("process") == ["process", "processes"]
    assert word_forms("gpt4") == ["gpt4"]


def test_split_by_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kg.store.sqlite.fulltext.MAX_POSTINGS", 100)
    monkeypatch.setattr("kg.store.sqlite.fulltext.MAX_TITLE_POSTINGS", 1000)
    frequencies = [("common", 90), ("rare", 2), ("mid", 20), ("gone", 0), ("other", 70), ("most", 950)]
    assert split_by_cost(frequencies) == (["rare", "mid", "other"], ["common"])
    assert split_by_cost([("huge", 900)]) == ([], ["huge"])
    assert split_by_cost([("huge", 900), ("everywhere", 1001)]) == ([], ["huge"])
    assert split_by_cost([]) == ([], [])


def test_match_expression_quotes_every_term() -> None:
    assert match_expression(["multi", 'a"b']) == '"multi" OR "a""b"'
    assert match_expression(["x"], ["common", "words"]) == '"x" OR title : ("common" OR "words")'
    assert match_expression([], ["common"]) == 'title : ("common")'
    assert match_expression([]) is None


async def test_common_words_beyond_the_budget_only_match_titles(
    sqlite_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = large_index(50)
    index.entities[3].title = "Common Ground"
    await sqlite_store.publish("ns", index)
    monkeypatch.setattr("kg.store.sqlite.fulltext.MAX_POSTINGS", 10)
    # "common" is in all 50 descriptions and one title, "17" in one description and one title.
    hits = await sqlite_store.search_entities("ns", "common 17", 10)
    assert [h.entity.title for h in hits] == ["Node 17", "Common Ground"]
    monkeypatch.setattr("kg.store.sqlite.fulltext.MAX_POSTINGS", 1000)
    assert len(await sqlite_store.search_entities("ns", "common 17", 100)) == 50


async def test_plural_and_singular_find_each_other(sqlite_store: SqliteStore) -> None:
    await sqlite_store.publish("ns", sample_index())
    assert (await sqlite_store.search_entities("ns", "transformers", 1))[0].entity.title == "Transformer"
    hits = await sqlite_store.search_entities("ns", "projection", 5)
    assert [h.entity.title for h in hits] == ["Multi-Head Attention"]


async def test_namespace_published_after_reads_began(sqlite_store: SqliteStore) -> None:
    await sqlite_store.publish("first", sample_index())
    assert await sqlite_store.search_entities("first", "attention", 1)
    assert await sqlite_store.search_entities("second", "attention", 1) == []
    await sqlite_store.publish("second", sample_index(variant="later"))  # creates its full-text tables
    hits = await sqlite_store.search_entities("second", "later", 10)
    assert len(hits) == 5
    assert len(await sqlite_store.search_text_units("second", "later", 10)) == 3


async def test_publish_leaves_the_vector_cache_warm(
    sqlite_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sqlite_store.publish("ns", sample_index())

    def no_loading(*_args: object) -> None:
        raise AssertionError("the matrix should be cached by publish")

    monkeypatch.setattr("kg.store.sqlite.vectors.load_vectors", no_loading)
    hits = await sqlite_store.search_entities_by_vector("ns", [1.0, 0.0, 0.0, 0.0], 1)
    assert hits[0].entity.title == "Multi-Head Attention"


async def test_export_reads_one_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "kg.db"
    store, other = SqliteStore(path), SqliteStore(path)
    await store.publish("ns", sample_index())
    fired: list[str] = []

    def publish_midway(sql: str) -> None:  # runs in the reader thread, between export's statements
        if not fired and "FROM documents" in sql:
            fired.append(sql)
            other._publish("ns", sample_index(variant="newer"))

    store._read_conn.set_trace_callback(publish_midway)
    exported = await store.export("ns")
    store._read_conn.set_trace_callback(None)
    assert fired
    assert exported == sample_index()
    assert await store.export("ns") == sample_index(variant="newer")
    await store.close()
    await other.close()


# ---------------------------------------------------------------------- chunk search cost


def test_cheapest_terms() -> None:
    frequencies = [("common", 90), ("rare", 2), ("mid", 20), ("gone", 0)]
    assert cheapest_terms(frequencies, 30) == ["rare", "mid"]
    assert cheapest_terms(frequencies, 1) == []
    assert cheapest_terms([], 10) == []


def test_rescoring_weighs_a_word_by_its_own_idf() -> None:
    # "trials" (asked) is in 1 chunk of 100, its singular in 90: the group keeps the rare word's weight, and
    # falls back to the commonest form's only when the word asked is in no chunk
    unit = TextUnit(id="a", short_id=1, document_id="d", text="trial trials design", n_tokens=3)
    [(_, score)] = okapi_rescored([(unit, 1.0)], [["trials", "trial"]], {"trials": 1, "trial": 90}, 100, 3.0)
    assert score == pytest.approx(term_score(idf(100, 1), 2, 3, 3.0))
    [(_, score)] = okapi_rescored([(unit, 1.0)], [["trials", "trial"]], {"trial": 90}, 100, 3.0)
    assert score == pytest.approx(term_score(idf(100, 90), 2, 3, 3.0))


async def test_chunk_search_leaves_out_words_beyond_the_budget(
    sqlite_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sqlite_store.publish("ns", large_index(50))  # chunk i: "chunk {i} about Node {i}"
    monkeypatch.setattr("kg.store.chunk_ranking.MAX_TEXT_POSTINGS", 40)
    # "chunk" is in all 50 chunks, "17" in one: only "17" is searched.
    assert [u.id for u, _ in await sqlite_store.search_text_units("ns", "chunk 17", 10)] == ["lt17"]
    # Only common words: the first 40 / 4 chunks holding them are ranked.
    hits = await sqlite_store.search_text_units("ns", "chunk", 50)
    assert sorted(u.short_id for u, _ in hits) == list(range(10))
    assert await sqlite_store.search_text_units("ns", "absent", 10) == []
    monkeypatch.setattr("kg.store.chunk_ranking.MAX_TEXT_POSTINGS", 1000)
    assert len(await sqlite_store.search_text_units("ns", "chunk 17", 100)) == 50


async def test_a_search_of_common_words_reads_only_their_first_postings(
    sqlite_store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("kg.store.sqlite.rows", "kg.store.sqlite.fulltext"):
        monkeypatch.setattr(f"{module}.HEAD_POSTINGS", 20)
    await sqlite_store.publish("ns", large_index(50))
    monkeypatch.setattr("kg.store.chunk_ranking.MAX_TEXT_POSTINGS", 40)
    head = sqlite_store._read_conn.execute(
        "SELECT head FROM text_unit_postings WHERE term = 'chunk'"
    ).fetchone()
    assert len(json.loads(head[0])) == 20
    with sqlite3.connect(sqlite_store.path) as conn:  # the whole list emptied: only the head can answer
        conn.execute("UPDATE text_unit_postings SET postings = '[]' WHERE term = 'chunk'")
    hits = await sqlite_store.search_text_units("ns", "chunk", 50)
    assert sorted(u.short_id for u, _ in hits) == list(range(10))  # as from all the postings


async def test_chunk_search_of_a_store_made_before_word_frequencies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "kg.db")
    await store.publish("ns", large_index(50))
    await store.close()
    conn = sqlite3.connect(tmp_path / "kg.db")
    conn.execute("DROP TABLE text_unit_terms")
    conn.commit()
    conn.close()
    monkeypatch.setattr("kg.store.sqlite.store.MAX_TEXT_POSTINGS", 10)
    monkeypatch.setattr("kg.store.chunk_ranking.MAX_TEXT_POSTINGS", 10)
    store = SqliteStore(tmp_path / "kg.db")
    try:  # unbounded, as before; the next publish records the frequencies
        assert len(await store.search_text_units("ns", "chunk 17", 100)) == 50
        await store.publish("ns", large_index(50))
        assert len(await store.search_text_units("ns", "chunk 17", 100)) == 1
    finally:
        await store.close()
