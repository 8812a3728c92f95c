"""Local search's second read beyond relationships and reports: two-hop passages (kg.store.hops) and neighbour
passages by short id, on both stores, with the same rows from each (the Neo4j one is a real server, started by
the `neo4j_url` fixture)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kg.model import Entity, GraphIndex, Relationship, TextUnit
from kg.store.base import GraphRead, GraphStore
from kg.store.hops import MAX_HOP_ENTITY_PASSAGES, MAX_HOP_SEED_DEGREE
from kg.store.sqlite.store import SqliteStore
from tests.store_contract import sample_index
from tests.test_store_neo4j import real_store


@pytest.fixture(params=["sqlite", "neo4j"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[GraphStore]:
    if request.param == "sqlite":
        opened: GraphStore = SqliteStore(tmp_path / "kg.db")
    else:
        opened = real_store(request.getfixturevalue("neo4j_url"))
        for namespace in await opened.all_namespaces():
            await opened.drop_namespace(namespace)
    yield opened
    await opened.close()


async def _read(store: GraphStore, **fields: object) -> tuple[list[tuple[str, float]], list[str], dict]:
    generation = await store.generation("ns")
    assert generation is not None
    read = GraphRead(generation, [], [], 0, [], [])
    for name, value in fields.items():
        setattr(read, name, value)
    rows = await store.read_graph("ns", read)
    return [(u.id, s) for u, s in rows.hop_passages], [u.id for u in rows.neighbours], rows.documents


async def test_two_hop_passages_are_those_of_the_seeds_neighbours(store: GraphStore) -> None:
    # Vaswani's neighbours: Transformer (in t1 and t2: half a link each) and Google Brain (t3: a whole link).
    await store.publish("ns", sample_index())
    hops, _, documents = await _read(store, hop_titles=["Ashish Vaswani"], hop_limit=5)
    assert hops == [("t3", 1.0), ("t1", 0.5), ("t2", 0.5)]  # equal scores by short id
    assert set(documents) == {"d1", "d2"}  # the documents of the passages read are named
    assert (await _read(store, hop_titles=["Ashish Vaswani"], hop_limit=2))[0] == [("t3", 1.0), ("t1", 0.5)]
    excluded = await _read(store, hop_titles=["Ashish Vaswani"], hop_limit=5, hop_exclude=["t3", "t2"])
    assert excluded[0] == [("t1", 0.5)]
    # Transformer is a neighbour of both seeds (two links); the seeds' own relationship is not a hop.
    both = await _read(store, hop_titles=["Ashish Vaswani", "Google Brain"], hop_limit=5)
    assert both[0] == [("t1", 1.0), ("t2", 1.0)]
    assert (await _read(store, hop_titles=["Ashish Vaswani"], hop_limit=0))[0] == []
    assert (await _read(store, hop_titles=[], hop_limit=5))[0] == []


def _hub_index(passages: int) -> GraphIndex:
    """A seed related to a hub named in `passages` passages and to a specific entity named in one."""
    units = [TextUnit(f"u{i}", i, "d", f"passage {i}", 3) for i in range(passages)]
    entities = [
        Entity("s", 0, "Seed", "T", "", ["u0"], 2),
        Entity("h", 1, "Hub", "T", "", [u.id for u in units], 1),
        Entity("x", 2, "Specific", "T", "", [f"u{passages - 1}"], 1),
    ]
    relationships = [
        Relationship("r0", 0, "Seed", "Hub", "", 1.0, ["u0"], 2),
        Relationship("r1", 1, "Seed", "Specific", "", 1.0, ["u0"], 2),
    ]
    return GraphIndex(text_units=units, entities=entities, relationships=relationships)


async def test_a_neighbour_in_too_many_passages_is_not_a_hop(store: GraphStore) -> None:
    await store.publish("ns", _hub_index(MAX_HOP_ENTITY_PASSAGES + 1))
    hops, _, _ = await _read(store, hop_titles=["Seed"], hop_limit=5)
    assert hops == [(f"u{MAX_HOP_ENTITY_PASSAGES}", 1.0)]
    await store.publish("ns", _hub_index(MAX_HOP_ENTITY_PASSAGES))
    hops, _, _ = await _read(store, hop_titles=["Seed"], hop_limit=2)
    share = 1 / MAX_HOP_ENTITY_PASSAGES
    assert [u for u, _ in hops] == [f"u{MAX_HOP_ENTITY_PASSAGES - 1}", "u0"]
    assert [s for _, s in hops] == pytest.approx([1 + share, share], abs=1e-9)


async def test_a_seed_of_too_high_a_degree_is_no_seed(store: GraphStore) -> None:
    index = _hub_index(3)
    index.entities[0].degree = MAX_HOP_SEED_DEGREE + 1
    await store.publish("ns", index)
    assert (await _read(store, hop_titles=["Seed"], hop_limit=5))[0] == []
    index.entities[0].degree = MAX_HOP_SEED_DEGREE
    await store.publish("ns", index)
    assert [u for u, _ in (await _read(store, hop_titles=["Seed"], hop_limit=5))[0]] == ["u2", "u0", "u1"]


async def test_neighbours_are_read_by_short_id_in_the_order_asked(store: GraphStore) -> None:
    await store.publish("ns", sample_index())
    _, near, documents = await _read(store, neighbour_short_ids=[3, 99, 1, 3])
    assert near == ["t3", "t1"]  # a short id no passage has is skipped, a repeated one read once
    assert set(documents) == {"d1", "d2"}
    assert (await _read(store, neighbour_short_ids=[]))[1] == []


async def test_both_stores_score_hops_alike(tmp_path: Path, neo4j_url: str) -> None:
    """Scores that sum differently rounded fractions (thirds, sevenths) order the same on both stores."""
    units = [TextUnit(f"u{i}", i, "d", f"passage {i}", 3) for i in range(12)]
    entities = [Entity(f"s{k}", k, f"Seed {k}", "T", "", ["u0"], 3) for k in range(3)]
    entities += [
        Entity(f"n{k}", 3 + k, f"Neighbour {k}", "T", "", [f"u{(k * j) % 12}" for j in range(1, k + 2)], 1)
        for k in range(1, 8)
    ]
    relationships = [
        Relationship(f"r{k}-{s}", 10 * k + s, f"Seed {s}", f"Neighbour {k}", "", 1.0, [], 1)
        for k in range(1, 8)
        for s in range(3)
        if (k + s) % 2 == 0 or s == 0
    ]
    index = GraphIndex(text_units=units, entities=entities, relationships=relationships)
    sqlite, neo4j = SqliteStore(tmp_path / "kg.db"), real_store(neo4j_url)
    try:
        results = []
        for each in (sqlite, neo4j):
            await each.publish("ns", index)
            results.append(await _read(each, hop_titles=["Seed 0", "Seed 1", "Seed 2"], hop_limit=12))
        assert results[0][0] == results[1][0]
        assert len(results[0][0]) > 5
    finally:
        await sqlite.close()
        await neo4j.close()
