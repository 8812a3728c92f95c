"""The Neo4j store.

- `TestNeo4jStoreContract` runs the same contract suite as SQLite against a real Neo4j: the server the tests
  start themselves (the `neo4j_url` fixture, tests/neo4j_launcher.py), or KG_TEST_NEO4J_URL when set (Aura,
  deploy/docker-compose.yml). The database is wiped of kgbot namespaces before each test.
- The real `neo4j` driver against a scripted Bolt server (tests/fake_bolt.py) covers what a healthy server
  cannot show: unreachable servers, wrong credentials, old versions, timeouts and driver errors.
"""

from __future__ import annotations

import os
import re
import socket
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from neo4j.exceptions import ServiceUnavailable

from kg.model import Community, CommunityReport, Entity, Finding, GraphIndex, Relationship, TextUnit
from kg.store import open_store
from kg.store.base import StoreError
from kg.store.neo4j import search_statements, vocabulary
from kg.store.neo4j import statements as cypher
from kg.store.neo4j.errors import check_server_version, redact_url, server_version, split_url, store_error
from kg.store.neo4j.fulltext import (
    CHUNK_SEARCH_FIELDS,
    ENTITY_SEARCH_FIELDS,
    escape_lucene,
    fulltext_query,
    link_query,
    search_terms,
    search_text,
)
from kg.store.neo4j.rows import BATCH_SIZE, batched, build_rows
from kg.store.neo4j.search import MAX_VECTOR_CANDIDATES, vector_candidates
from kg.store.neo4j.store import Neo4jStore
from tests.fake_bolt import Failure, FakeBolt, Rows
from tests.store_contract import StoreContract, large_index, sample_index

FAST = {"connection_timeout": 2.0, "max_transaction_retry_time": 0.5}


def real_store(url: str, **options: Any) -> Neo4jStore:
    return Neo4jStore(
        url,
        username=os.environ.get("NEO4J_USERNAME", "neo4j"),
        password=os.environ.get("NEO4J_PASSWORD", ""),
        database=os.environ.get("NEO4J_DATABASE", "neo4j"),
        **options,
    )


def record_statements(store: Neo4jStore, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """From now on, every statement the store sends (and its parameters), in order."""
    sent: list[tuple[str, dict[str, Any]]] = []
    query = store._query

    async def recording(statement: str, parameters: dict[str, Any], **kwargs: Any) -> Any:
        sent.append((statement, parameters))
        return await query(statement, parameters, **kwargs)

    monkeypatch.setattr(store, "_query", recording)
    return sent


def fail_on(store: Neo4jStore, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    """Make the server refuse one statement of the store's, as it would a statement it cannot run."""
    query = store._query

    async def refusing(statement: str, parameters: dict[str, Any], **kwargs: Any) -> Any:
        if statement == failing:
            statement = "RETURN 1/0 AS scripted_failure"
        return await query(statement, parameters, **kwargs)

    monkeypatch.setattr(store, "_query", refusing)


async def generation_sizes(store: Neo4jStore, namespace: str) -> dict[int, int]:
    """How many nodes each generation of `namespace` has in the database."""
    records = await store._query(
        "MATCH (x {namespace: $namespace}) WHERE x.generation IS NOT NULL "
        "RETURN x.generation AS generation, count(*) AS nodes",
        {"namespace": namespace},
        action="test",
    )
    return {r["generation"]: r["nodes"] for r in records}


# ---------------------------------------------------------------------------------------------- contract


class TestNeo4jStoreContract(StoreContract):
    @pytest.fixture
    async def store(self, neo4j_url: str) -> AsyncIterator[Neo4jStore]:
        store = real_store(neo4j_url)
        for namespace in await store.all_namespaces():
            await store.drop_namespace(namespace)
        yield store
        await store.close()

    async def test_generations_kept_and_cleaned(self, store: Neo4jStore) -> None:
        for variant in ("one", "two", "three"):
            await store.publish("ns", sample_index(variant=variant))
        state = await store._query(cypher.NAMESPACE_GENERATIONS, {"namespace": "ns"}, action="test")
        assert (state[0]["current"], state[0]["previous"], state[0]["cleanup"]) == (3, 2, [])
        assert [
            h.entity.description.endswith("three") for h in await store.search_entities("ns", "bleu", 5)
        ] == [True]

    async def test_a_publish_plans_the_search_for_the_first_question(
        self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sent = record_statements(store, monkeypatch)
        await store.publish("ns", sample_index())
        searches = [
            p for s, p in sent if s in (search_statements.PASSAGE_SEARCH, search_statements.GRAPH_READ)
        ]
        assert [p["namespace"] for p in searches] == ["ns", "ns"]
        assert searches[1]["generation"] == (await store.generation("ns"))

    async def test_a_publish_stands_when_planning_the_search_fails(
        self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fail_on(store, monkeypatch, search_statements.PASSAGE_SEARCH)
        await store.publish("ns", sample_index())
        monkeypatch.undo()
        assert await store.generation("ns") is not None
        assert [h.entity.title for h in await store.search_entities("ns", "bleu", 5)]

    async def test_crashed_build_is_cleaned_by_the_next(
        self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await store.publish("ns", sample_index())

        query = store._query

        async def lost_at_publish(statement: str, *args: Any, **kwargs: Any) -> Any:
            if statement == cypher.PUBLISH_BUILD:
                raise StoreError("the connection to Neo4j was lost")
            return await query(statement, *args, **kwargs)

        async def lost(*_args: object) -> None:
            raise StoreError("the connection to Neo4j was lost")

        # Every batch is written, then the connection is lost before the switch: the build cannot clean up
        # after itself either (as when the process dies).
        monkeypatch.setattr(store, "_query", lost_at_publish)
        monkeypatch.setattr(store, "_delete_generations", lost)
        with pytest.raises(StoreError):
            await store.publish("ns", sample_index(variant="doomed"))
        assert await store.search_entities("ns", "doomed", 10) == []
        monkeypatch.undo()
        state = await store._query(cypher.NAMESPACE_GENERATIONS, {"namespace": "ns"}, action="test")
        assert state[0]["cleanup"] == [2]
        await store.publish("ns", sample_index(variant="next"))
        state = await store._query(cypher.NAMESPACE_GENERATIONS, {"namespace": "ns"}, action="test")
        assert (state[0]["current"], state[0]["cleanup"]) == (3, [])
        assert await store.search_entities("ns", "doomed", 10) == []

    async def test_schema_creation_is_idempotent(self, store: Neo4jStore, neo4j_url: str) -> None:
        await store.publish("ns", sample_index())
        again = real_store(neo4j_url)
        await again.publish("other", sample_index())
        assert sorted(await again.namespaces()) == ["ns", "other"]
        await again.close()

    # ------------------------------------------------------------------ the statements sent to the server

    async def test_publish_writes_in_unwind_batches(
        self, neo4j_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        index = large_index(2500)
        store = real_store(neo4j_url, batch_size=1000)
        sent = record_statements(store, monkeypatch)
        await store.publish("ns", index)
        assert await store.export("ns") == index
        await store.close()
        names = statement_names()
        writes = [(names[q], p) for q, p in sent if "rows" in p]
        assert Counter(name for name, _ in writes) == {
            "CREATE_DOCUMENTS": 1,
            "CREATE_CHUNKS": 3,
            "CREATE_ENTITIES_BY_LABEL[None]": 3,
            "CREATE_MENTIONS": 3,
            "CREATE_RELATIONSHIPS": 3,
            "CREATE_COMMUNITIES": 1,
            "CREATE_COMMUNITY_MEMBERS": 3,
            "CREATE_REPORTS": 1,
            "CREATE_TERMS": 3,  # the chunks' words, one node each
            "CREATE_ENTITY_TERMS": 3,  # the entities' words, one node each
        }
        assert all(1 <= len(p["rows"]) <= 1000 and p["namespace"] == "ns" for _, p in writes)
        published = [names[q] for q, _ in sent].index("PUBLISH_BUILD")
        assert published > max(i for i, (q, p) in enumerate(sent) if "rows" in p)

    async def test_schema_is_created_once_per_store(
        self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sent = record_statements(store, monkeypatch)
        await store.publish("ns", sample_index())
        await store.publish("other", sample_index())
        calls = Counter(q for q, _ in sent)
        for statement in (
            *cypher.SCHEMA_STATEMENTS,
            cypher.CREATE_ENTITY_VECTOR_INDEX,
            search_statements.CREATE_CHUNK_VECTOR_INDEX,
        ):
            assert calls[statement] <= 1
        indexes = await store._query(
            "SHOW INDEXES YIELD name, type, options RETURN name, type, options", {}, action="test"
        )
        by_name = {r["name"]: r for r in indexes}
        assert by_name["kg_entity_embedding"]["type"] == "VECTOR"
        assert by_name["kg_entity_embedding"]["options"]["indexConfig"]["vector.dimensions"] == 4
        assert by_name["kg_chunk_embedding"]["type"] == "VECTOR"
        assert by_name["kg_chunk_embedding"]["options"]["indexConfig"]["vector.dimensions"] == 4
        assert {r["type"] for r in indexes} >= {"FULLTEXT", "RANGE", "VECTOR"}
        constraints = await store._query("SHOW CONSTRAINTS YIELD name RETURN name", {}, action="test")
        assert len(constraints) >= 3

    async def test_failed_write_deletes_its_own_generation(
        self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await store.publish("ns", sample_index())
        sizes = await generation_sizes(store, "ns")
        fail_on(store, monkeypatch, cypher.CREATE_RELATIONSHIPS)
        with pytest.raises(StoreError, match="previous index is still served"):
            await store.publish("ns", sample_index(variant="failed"))
        monkeypatch.undo()
        state = await store._query(cypher.NAMESPACE_GENERATIONS, {"namespace": "ns"}, action="test")
        assert (state[0]["current"], state[0]["cleanup"]) == (1, [])
        assert await generation_sizes(store, "ns") == sizes == {1: sizes[1]}
        assert await store.export("ns") == sample_index()

    async def test_a_build_superseded_by_a_newer_one_is_not_published(
        self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await store.publish("ns", sample_index())
        query = store._query

        async def newer_build_starts(statement: str, parameters: dict[str, Any], **kwargs: Any) -> Any:
            if (
                statement == cypher.PUBLISH_BUILD
            ):  # another process starts a build of ns just before our switch
                await query(cypher.START_BUILD, {"namespace": "ns"}, action="test", write=True)
            return await query(statement, parameters, **kwargs)

        monkeypatch.setattr(store, "_query", newer_build_starts)
        with pytest.raises(StoreError, match="newer publish"):
            await store.publish("ns", sample_index(variant="superseded"))
        monkeypatch.undo()
        assert await store.export("ns") == sample_index()
        assert set(await generation_sizes(store, "ns")) == {1}

    async def test_invalid_builds_fail_before_writing(
        self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        dangling = sample_index()
        dangling.relationships.append(Relationship("r9", 9, "Transformer", "Nobody", "?", 1.0))
        mixed = sample_index()
        mixed.entities[3].embedding = [1.0, 2.0]
        duplicate = sample_index()
        duplicate.entities.append(duplicate.entities[0])
        sent = record_statements(store, monkeypatch)
        for index, expected in (
            (dangling, "names 'Nobody', which is not an entity"),
            (mixed, "different dimensions"),
            (duplicate, "two entities with the id 'e1'"),
        ):
            with pytest.raises(StoreError, match=expected):
                await store.publish("ns", index)
        assert sent == []
        assert await store.namespaces() == []

    async def test_each_read_is_one_statement_whatever_the_number_of_ids(
        self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await store.publish("ns", sample_index())
        ids = [f"id{i}" for i in range(2000)] + ["Transformer", "t1", "d1"]
        reads = {
            "get_entities": lambda: store.get_entities("ns", ids),
            "relationships_of": lambda: store.relationships_of("ns", ids, 50),
            "reports_for": lambda: store.reports_for("ns", ids),
            "get_text_units": lambda: store.get_text_units("ns", ids),
            "link_entities": lambda: store.link_entities("ns", ids + ["transformer", "MHA"]),
            "entities_in_text_units": lambda: store.entities_in_text_units("ns", ids, 50),
            "document_titles": lambda: store.document_titles("ns", ids),
            "search_entities": lambda: store.search_entities("ns", 'NEAR("attention" AND (bleu* 🤖', 10),
            "search_text_units": lambda: store.search_text_units("ns", "positional encoding?", 10),
            "stats": lambda: store.stats("ns"),
            "namespaces": lambda: store.namespaces(),
        }
        sent = record_statements(store, monkeypatch)
        found = {}
        for name, read in reads.items():
            before = len(sent)
            found[name] = await read()
            assert len(sent) - before == 1, name
        assert [e.title for e in found["get_entities"]] == ["Transformer"]
        assert [u.id for u in found["get_text_units"]] == ["t1"]
        assert [x.entity.title for x in found["link_entities"]] == ["Transformer", "Multi-Head Attention"]
        assert [e.title for e in found["entities_in_text_units"]] == ["Multi-Head Attention", "Transformer"]
        assert {e.entity.title for e in found["search_entities"]} >= {"Multi-Head Attention", "BLEU"}
        assert [unit.id for unit, _ in found["search_text_units"]][:1] == ["t2"]

    async def test_empty_reads_send_nothing(self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch) -> None:
        await store.publish("ns", sample_index())
        sent = record_statements(store, monkeypatch)
        assert await store.search_entities("ns", "?! ** ()", 10) == []
        assert await store.search_entities("ns", "attention", 0) == []
        assert await store.search_text_units("ns", "", 10) == []
        assert await store.get_entities("ns", []) == []
        assert await store.relationships_of("ns", ["x"], 0) == []
        assert await store.reports_for("ns", []) == []
        assert await store.link_entities("ns", []) == []
        assert await store.entities_in_text_units("ns", ["t1"], 0) == []
        assert await store.search_entities_by_vector("ns", [0.0, 0.0], 5) == []
        assert sent == []

    async def test_vector_search_uses_the_index_or_searches_exactly(
        self, store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        await store.publish("four", sample_index())  # creates the shared vector index with 4 dimensions
        three = sample_index(embeddings=False)
        for entity, vector in zip(
            three.entities, ([1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1]), strict=True
        ):
            entity.embedding = [float(x) for x in vector]
        await store.publish("three", three)
        sent = record_statements(store, monkeypatch)
        nearest_four = await store.search_entities_by_vector("four", [0.0, 0.0, 0.2, 1.0], 2)
        nearest_three = await store.search_entities_by_vector("three", [0.0, 0.9, 1.0], 2)
        with pytest.raises(StoreError, match="has 2 dimensions but the index of 'four' has 4"):
            await store.search_entities_by_vector("four", [1.0, 0.0], 3)
        names = [statement_names()[q] for q, _ in sent]
        assert names == [
            "NAMESPACE_STATE",
            "VECTOR_SEARCH_INDEX",
            "NAMESPACE_STATE",
            "VECTOR_SEARCH_EXACT",  # "three" has another dimension than the shared index
            "NAMESPACE_STATE",
        ]
        assert [r.entity.title for r in nearest_four] == ["Google Brain", "Ashish Vaswani"]
        assert nearest_four[0].score == pytest.approx(0.6 / (1.04**0.5 * 0.5**0.5), rel=1e-6)
        assert [r.entity.title for r in nearest_three] == [three.entities[4].title, three.entities[2].title]


# ---------------------------------------------------------------------------------------------- open_store


@pytest.mark.parametrize(
    "url",
    [
        "neo4j://localhost:7687",
        "neo4j+s://db.example.com",
        "neo4j+ssc://db.example.com:7687",
        "bolt://localhost:7687",
        "bolt+s://db.example.com:7687",
        "NEO4J://localhost",
    ],
)
async def test_open_store_neo4j_urls_do_not_connect(url: str) -> None:
    store = open_store(url, neo4j_username="kg", neo4j_password="secret", neo4j_database="graph")
    assert isinstance(store, Neo4jStore)
    assert store.database == "graph"
    assert "secret" not in store.server
    await store.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("neo4j://", "names a server"),
        ("bolt://user:secret@", "names a server"),
        ("bolt://user:secret@localhost:7687?policy=x", "KG_STORE_URL"),
    ],
)
def test_open_store_rejects_unusable_neo4j_urls(url: str, expected: str) -> None:
    with pytest.raises(StoreError, match=expected) as raised:
        open_store(url)
    assert "secret" not in str(raised.value)


async def test_open_store_takes_the_password_from_settings_or_the_url() -> None:
    from pydantic import SecretStr

    async with FakeBolt() as server:
        store = open_store(server.url, neo4j_username="kg", neo4j_password=SecretStr("from-settings"), **FAST)
        await store.namespaces()
        await store.close()
        host = server.url.removeprefix("bolt://")
        store = open_store(f"bolt://url%40user:p%40ss@{host}", neo4j_password="ignored", **FAST)
        await store.namespaces()
        await store.close()
    assert [(logon["principal"], logon["credentials"]) for logon in server.logons] == [
        ("kg", "from-settings"),
        ("url@user", "p@ss"),
    ]


# ---------------------------------------------------------------------------------------------- errors


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_server_names_kg_store_url() -> None:
    store = Neo4jStore(f"bolt://user:secret@127.0.0.1:{closed_port()}", password="pw", **FAST)
    with pytest.raises(StoreError, match="cannot reach Neo4j at bolt://127.0.0.1:.*KG_STORE_URL") as raised:
        await store.search_entities("ns", "attention", 5)
    assert "secret" not in str(raised.value)
    with pytest.raises(StoreError, match="previous index is still served: cannot reach.*KG_STORE_URL"):
        await store.publish("ns", sample_index())
    await store.close()


async def test_wrong_password_names_the_credential_settings() -> None:
    refused = Failure(
        "Neo.ClientError.Security.Unauthorized", "The client is unauthorized due to authentication failure."
    )
    async with FakeBolt(login_failure=refused) as server:
        store = Neo4jStore(server.url, username="kg", password="hunter2", **FAST)
        with pytest.raises(
            StoreError, match="rejected the login: check NEO4J_USERNAME and NEO4J_PASSWORD"
        ) as raised:
            await store.stats("ns")
        assert "hunter2" not in str(raised.value)
        with pytest.raises(StoreError, match="NEO4J_PASSWORD"):
            await store.publish("ns", sample_index())
        await store.close()


async def test_a_read_is_retried_after_a_transient_error_and_not_after_another() -> None:
    # Reads are auto-commit transactions (kg.store.neo4j.reads), retried as a managed transaction would be.
    failures = {"transient": 2, "client": 0}

    def respond(query: str, parameters: dict[str, Any]) -> Rows | Failure:
        if query == cypher.ALL_NAMESPACE_NAMES and failures["transient"]:
            failures["transient"] -= 1
            return Failure("Neo.TransientError.General.DatabaseUnavailable", "briefly unavailable")
        if query == cypher.ALL_NAMESPACE_NAMES and failures["client"]:
            failures["client"] -= 1
            return Failure("Neo.ClientError.Statement.ArgumentError", "a bad statement")
        return Rows(["name"], [["ns"]])

    async with FakeBolt(respond=respond) as server:
        store = Neo4jStore(server.url, **FAST)
        assert await store.all_namespaces() == ["ns"]  # after two transient failures
        assert server.queries().count(cypher.ALL_NAMESPACE_NAMES) == 3
        failures["client"] = 1
        with pytest.raises(StoreError, match="a bad statement"):
            await store.all_namespaces()
        assert server.queries().count(cypher.ALL_NAMESPACE_NAMES) == 4  # not retried
        await store.close()


async def test_missing_database_names_neo4j_database() -> None:
    async with FakeBolt(databases=("neo4j",)) as server:
        store = Neo4jStore(server.url, database="knowledge", **FAST)
        with pytest.raises(StoreError, match="no database 'knowledge': set NEO4J_DATABASE"):
            await store.get_entities("ns", ["Transformer"])
        await store.close()


async def test_too_old_server_is_refused_before_any_query() -> None:
    async with FakeBolt(agent="Neo4j/4.4.30") as server:
        store = Neo4jStore(server.url, **FAST)
        with pytest.raises(
            StoreError, match=r"is Neo4j/4.4.30; kgbot needs Neo4j 5.15 or later.*KG_STORE_URL"
        ):
            await store.namespaces()
        assert server.runs == []
        await store.close()


async def test_server_without_vector_indexes_names_the_embedding_setting() -> None:
    def respond(query: str, parameters: dict[str, Any]) -> Rows | Failure:
        if query == cypher.CREATE_ENTITY_VECTOR_INDEX:
            return Failure("Neo.ClientError.Statement.SyntaxError", "Invalid input 'VECTOR'")
        return Rows()

    async with FakeBolt(respond=respond) as server:
        store = Neo4jStore(server.url, **FAST)
        with pytest.raises(StoreError, match="cannot create a vector index.*KG_EMBEDDING_MODEL"):
            await store.publish("ns", sample_index())
        assert cypher.START_BUILD not in server.queries()  # failed before anything was written
        await store.close()


async def test_closed_store_raises() -> None:
    store = Neo4jStore("bolt://127.0.0.1:1", **FAST)
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.namespaces()
    with pytest.raises(StoreError, match="closed"):
        await store.publish("ns", sample_index())
    await store.close()  # idempotent


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ServiceUnavailable("Couldn't connect"), "cannot reach Neo4j at neo4j://db:7687: .*KG_STORE_URL"),
        (ConnectionRefusedError(111, "refused"), "KG_STORE_URL"),
        (TimeoutError(), "did not finish in time while trying to read entities"),
        (RuntimeError("boom"), "could not read entities in Neo4j: boom"),
        (StoreError("as is"), "^as is$"),
    ],
)
def test_store_error_mapping(error: BaseException, expected: str) -> None:
    mapped = store_error(error, server="neo4j://db:7687", database="neo4j", action="read entities")
    assert isinstance(mapped, StoreError)
    assert re.search(expected, str(mapped)), str(mapped)


# ---------------------------------------------------------------------------------------------- statements sent


def scripted(
    *,
    generation: int = 7,
    leftovers: tuple[int, ...] = (),
    retired: int | None = None,
    published: bool = True,
    fail_on: str | None = None,
    vector_index_dimensions: int | None = 4,
    state: dict[str, Any] | None = None,
) -> Any:
    def respond(query: str, parameters: dict[str, Any]) -> Rows | Failure:
        if query == fail_on:
            return Failure("Neo.ClientError.Statement.ArgumentError", "scripted failure")
        if query == cypher.START_BUILD:
            return Rows(["generation", "leftovers"], [[generation, list(leftovers)]])
        if query == cypher.PUBLISH_BUILD:
            return Rows(["retired"], [[retired]] if published else [])
        if query in cypher.DELETE_GENERATIONS_BY_LABEL.values():
            return Rows(["deleted"], [[0]])
        if query in (cypher.ENTITY_VECTOR_INDEX_DIMENSIONS, search_statements.CHUNK_VECTOR_INDEX_DIMENSIONS):
            return Rows(["dimensions"], [[vector_index_dimensions]])
        if query == cypher.NAMESPACE_STATE and state is not None:
            return Rows(list(state), [list(state.values())])
        return Rows()

    return respond


def statement_names() -> dict[str, str]:
    names = {}
    for name, value in [*vars(cypher).items(), *vars(search_statements).items()]:
        if name.isupper() and not name.startswith("_"):
            if isinstance(value, str):
                names[value] = name
            elif name.endswith("_BY_LABEL"):
                names.update({v: f"{name}[{k}]" for k, v in value.items() if isinstance(v, str)})
    return names


def assert_only_module_statements(server: FakeBolt) -> None:
    """Every statement sent is a constant of kg.store.neo4j.statements, verbatim: nothing was formatted into it."""
    known = statement_names()
    assert [q for q in server.queries() if q not in known] == []


async def test_every_transaction_carries_a_server_side_timeout() -> None:
    """What a healthy server cannot show: the timeout each transaction asks the server for."""
    async with FakeBolt(respond=scripted()) as server:
        store = Neo4jStore(server.url, **FAST)
        await store.publish("ns", sample_index())
        await store.search_entities("ns", "attention", 5)
        await store.get_text_units("ns", ["t1"])
        await store.close()
    assert_only_module_statements(server)
    assert len(server.begins) == len(server.runs) > 10
    assert all(begin.get("tx_timeout", 0) > 0 for begin in server.begins)
    assert {begin["mode"] for begin in server.begins if "mode" in begin} == {"r"}


# ---------------------------------------------------------------------------------------------- pure helpers


def test_batched() -> None:
    rows = list(range(2500))
    assert [len(b) for b in batched(rows, 1000)] == [1000, 1000, 500]
    assert [list(b) for b in batched(rows[:3], 1)] == [[0], [1], [2]]
    assert list(batched([], 1000)) == []
    assert [len(b) for b in batched(list(range(BATCH_SIZE)))] == [BATCH_SIZE]
    with pytest.raises(ValueError):
        list(batched(rows, 0))


def test_escape_lucene() -> None:
    assert escape_lucene('a+b-c&&d||e!(f){g}[h]^"i"~j*k?l:m\\n/o') == (
        'a\\+b\\-c\\&\\&d\\|\\|e\\!\\(f\\)\\{g\\}\\[h\\]\\^\\"i\\"\\~j\\*k\\?l\\:m\\\\n\\/o'
    )
    assert escape_lucene("cats AND dogs OR NOT mice TO") == "cats and dogs or not mice to"
    assert escape_lucene("ANDROID ORBIT") == "ANDROID ORBIT"  # only whole words are operators
    assert escape_lucene("title:x") == "title\\:x"
    assert escape_lucene("") == ""


def test_fulltext_query_quotes_user_text() -> None:
    assert fulltext_query("What is multi-head attention?", CHUNK_SEARCH_FIELDS) == (
        "terms:(multi OR multis OR head OR heads OR attention OR attentions)"
    )
    assert fulltext_query("transformers", ENTITY_SEARCH_FIELDS) == (
        "title_terms:(transformers OR transformer)^10 OR description_terms:(transformers OR transformer)"
    )
    for hostile in ("", "   ", "?!", "* ^ - + : { } ( ) [ ]", "\x00 \x1f", "x" * 5000):
        assert fulltext_query(hostile, CHUNK_SEARCH_FIELDS) is None, hostile
    assert fulltext_query('title:attention AND NEAR("x* OR y)', {"title_terms": 10}) == (
        "title_terms:(title OR titles OR attention OR attentions OR near OR nears OR x OR y)^10"
    )
    assert len(search_terms(" ".join(f"w{i}" for i in range(1000)))) <= 64 * 3


def test_fulltext_query_escapes_every_term(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kg.store.neo4j.fulltext.search_terms", lambda text: ["a:b", "AND", "c*"])
    assert (
        fulltext_query("ignored", {"title_terms": 10, "description_terms": 1})
        == "title_terms:(a\\:b OR and OR c\\*)^10 OR description_terms:(a\\:b OR and OR c\\*)"
    )


def test_search_terms_fold_diacritics_like_the_index() -> None:
    assert search_terms("Café Ünïcode") == ["cafe", "cafes", "unicode", "unicodes"]
    assert search_text("Scrooge's Café, ÜNÏCODE_2") == "scrooge s cafe unicode 2"


def test_link_query_quotes_each_key_whole() -> None:
    assert link_query(["kiss and tell", "ADHD"]) == '"kiss and tell" OR "ADHD"'
    assert link_query(['say "hi"', "a\\b", "c*:(d)"]) == '"say \\"hi\\"" OR "a\\\\b" OR "c*:(d)"'


def test_vector_candidates() -> None:
    assert vector_candidates(10) == 200
    assert vector_candidates(1) == 110
    assert vector_candidates(10**6) == MAX_VECTOR_CANDIDATES


def test_split_and_redact_urls() -> None:
    assert split_url("neo4j://localhost:7687") == ("neo4j://localhost:7687", None, None)
    assert split_url("neo4j+s://kg:s%3Acret@db.example.com:7687?policy=eu") == (
        "neo4j+s://db.example.com:7687?policy=eu",
        "kg",
        "s:cret",
    )
    assert split_url("bolt://[::1]:7687") == ("bolt://[::1]:7687", None, None)
    assert split_url("bolt://u:p@[::1]:7687")[0] == "bolt://[::1]:7687"
    assert redact_url("neo4j+s://kg:secret@db.example.com:7687?token=x") == "neo4j+s://db.example.com:7687"
    assert redact_url("bolt://localhost") == "bolt://localhost"
    assert "secret" not in redact_url("bolt://kg:secret@host:notaport")


def test_server_version() -> None:
    assert server_version("Neo4j/5.26.0") == (5, 26)
    assert server_version("Neo4j/2025.01.0") == (2025, 1)
    assert server_version("Neo4j/5.27-aura") == (5, 27)
    assert server_version("") is None and server_version(None) is None
    check_server_version("Neo4j/5.15.0", "bolt://x")
    check_server_version("Neo4j/2025.06.0", "bolt://x")
    check_server_version("Memgraph", "bolt://x")  # unknown: let the queries decide
    with pytest.raises(StoreError, match="needs Neo4j 5.15"):
        check_server_version("Neo4j/5.14.0", "bolt://x")


def test_entity_labels_come_from_the_allow_list() -> None:
    assert vocabulary.entity_label("PERSON") == "Person"
    assert vocabulary.entity_label(" organization ") == "Organization"
    assert vocabulary.entity_label("GEO") == "Location"
    assert vocabulary.entity_label("MODEL") is None
    assert vocabulary.entity_label("Person`) DETACH DELETE (x") is None
    assert set(cypher.CREATE_ENTITIES_BY_LABEL) == {None, *vocabulary.ENTITY_LABELS}


def test_statements_use_only_allowed_labels_and_types() -> None:
    allowed_labels = set(vocabulary.NODE_LABELS) | set(vocabulary.ENTITY_LABELS)
    statements = statement_names()
    assert len(statements) >= 40
    for statement, name in statements.items():
        labels = set(re.findall(r"\(\w*((?::\w+)+)", statement))
        for group in labels:
            assert set(group.strip(":").split(":")) <= allowed_labels, (name, group)
        types = set(re.findall(r"\[\w*:(\w+)", statement))
        assert types <= set(vocabulary.RELATIONSHIP_TYPES), (name, types)
        assert "{labels}" not in statement and "{label}" not in statement, name
        parameters = set(re.findall(r"\$(?:q\.)?(\w+)", statement))  # $q holds local search's values
        assert parameters <= set(vocabulary.PARAMETERS), (name, parameters - set(vocabulary.PARAMETERS))


def test_every_query_filters_by_namespace() -> None:
    exempt = {
        "PUBLISHED_NAMESPACES",
        "ALL_NAMESPACE_NAMES",
        "AWAIT_INDEXES",
        "ENTITY_VECTOR_INDEX_DIMENSIONS",
        "CHUNK_VECTOR_INDEX_DIMENSIONS",
        "CLAIM_DELIVERY",  # delivered chat events belong to no namespace (kg.store.deliveries)
        "PURGE_DELIVERIES",
        "RESAMPLE_INDEXES",  # statistics of the whole database, before planning (kg.store.neo4j.search.prime)
    }
    for statement, name in statement_names().items():
        if statement.lstrip().startswith("CREATE") and "INDEX" in statement or "CONSTRAINT" in statement:
            continue
        if name in exempt:
            continue
        assert "$namespace" in statement or "$q.namespace" in statement, name


def test_build_rows() -> None:
    index = sample_index()
    index.entities[0].type = "person"
    index.entities[1].text_unit_ids = ["t1", "t1", "missing"]
    index.communities.append(Community(3, 1, 99, "Orphan", ["e1", "ghost"]))
    index.reports.append(CommunityReport(3, 1, "Orphan", "s", "# O", 1.0, [Finding("f", "e")]))
    rows = build_rows(index)
    assert [r["title"] for r in rows.entities["Person"]] == ["Multi-Head Attention", "Ashish Vaswani"]
    assert [r["title"] for r in rows.entities["Organization"]] == ["Google Brain"]
    assert [r["seq"] for r in rows.entities[None]] == [1, 4]  # MODEL and METRIC are not in the allow-list
    assert {"chunk_id": "t1", "entity_id": "e2"} in rows.mentions
    assert [m for m in rows.mentions if m["entity_id"] == "e2"] == [{"chunk_id": "t1", "entity_id": "e2"}]
    assert rows.relationships[0]["source_id"] == "e3" and rows.relationships[0]["target_id"] == "e2"
    assert {"entity_id": "ghost", "community": 3} not in rows.members
    assert rows.parents == [{"id": 2, "parent": 0}]  # parent -1 (top level) and 99 (unknown) have no edge
    assert rows.reports[-1]["finding_summaries"] == ["f"] and rows.reports[-1]["finding_explanations"] == [
        "e"
    ]
    assert (rows.embedding_dimensions, rows.embedding_count) == (4, 5)
    assert [statement for statement, _ in rows.writes()][0] == cypher.CREATE_DOCUMENTS
    assert build_rows(sample_index(embeddings=False)).embedding_dimensions is None


def test_build_rows_rejects_unstorable_builds() -> None:
    duplicate_titles = sample_index()
    duplicate_titles.entities.append(Entity("e9", 9, "Transformer", "MODEL", "again"))
    rows = build_rows(duplicate_titles)
    assert rows.relationships[0]["target_id"] == "e2"  # the first entity with the title
    bad = GraphIndex(text_units=[TextUnit("t", 1, "d", "x", 1), TextUnit("t", 2, "d", "y", 1)])
    with pytest.raises(StoreError, match="two text units with the id 't'"):
        build_rows(bad)
    not_flat = sample_index()
    not_flat.entities[0].embedding = [[1.0], [2.0]]  # type: ignore[list-item]
    with pytest.raises(StoreError, match="not a flat vector"):
        build_rows(not_flat)
