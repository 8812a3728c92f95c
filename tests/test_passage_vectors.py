"""Passage vectors: chunks found by their embedding on both stores alike, and fused with the full text and the
graph in local search's passage ranking (kg.search.passages.fused_relevance) only when the question has a
vector."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from kg.model import TextUnit
from kg.search.local import build_context
from kg.search.passages import VECTOR_WEIGHT, fused_relevance
from kg.store.base import PassageSearch
from kg.store.sqlite.store import SqliteStore
from tests.store_contract import sample_index
from tests.test_chunk_ranking import QUESTIONS, corpus
from tests.test_store_neo4j import real_store

DIMENSIONS = 8


def with_vectors(seed: int, n: int = 60) -> object:
    """A chunk-ranking corpus whose chunks carry random float32 vectors (no ties) and entities none."""
    rng = random.Random(seed)
    index = corpus(seed, n)
    for unit in index.text_units:
        unit.embedding = [float(np.float32(rng.gauss(0, 1))) for _ in range(DIMENSIONS)]
    return index


def search(vector: Sequence[float], limit: int) -> PassageSearch:
    return PassageSearch("attention heads", [], 5, 10, 5, 5, list(vector), chunk_vector_limit=limit)


async def test_sqlite_and_neo4j_find_the_same_passages_by_vector(tmp_path: Path, neo4j_url: str) -> None:
    sqlite = SqliteStore(tmp_path / "kg.db")
    neo4j = real_store(neo4j_url)
    try:
        index = with_vectors(3)
        for store in (sqlite, neo4j):
            await store.publish("vectors", index)
            await store.publish("vectors-other", with_vectors(4, 200))  # the same ids, other vectors
        rng = random.Random(5)
        for limit in (1, 7, 60, 100):
            vector = [rng.gauss(0, 1) for _ in range(DIMENSIONS)]
            ours = await sqlite.find_passages("vectors", search(vector, limit))
            theirs = await neo4j.find_passages("vectors", search(vector, limit))
            assert len(ours.vector_chunks) == min(limit, 60)
            assert [u for u, _ in ours.vector_chunks] == [u for u, _ in theirs.vector_chunks], limit
            scores = [s for _, s in ours.vector_chunks]
            assert scores == pytest.approx([s for _, s in theirs.vector_chunks], abs=1e-6), limit
            assert scores == sorted(scores, reverse=True)
            matrix = np.array([u.embedding for u in index.text_units])
            exact = matrix @ vector / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(vector))
            assert scores[0] == pytest.approx(float(exact.max()), abs=1e-6)
            assert [u for u, _ in ours.chunks] == [u for u, _ in theirs.chunks]  # the same read
            assert ours.generation == await sqlite.generation("vectors")
            assert theirs.generation == await neo4j.generation("vectors")
        exported = await neo4j.export("vectors")
        assert exported is not None
        assert [u.embedding for u in exported.text_units] == [u.embedding for u in index.text_units]
    finally:
        await sqlite.close()
        await neo4j.close()


def test_fused_relevance_adds_the_vectors_to_the_full_text() -> None:
    a, b, c = (TextUnit(x, i, "d", x, 1) for i, x in enumerate("abc"))
    text = {"a": 1.0, "b": 0.5}
    assert fused_relevance(text, []) is text  # no vector: exactly the full text's ranking
    fused = fused_relevance(text, [(c, 0.9), (b, 0.7), (a, 0.1)])
    # Cosines scaled from the last vector hit (0) to the best (1); the sum renormalised to the best passage.
    assert fused == pytest.approx({"a": 1.0, "b": 0.5 + VECTOR_WEIGHT * 0.75, "c": VECTOR_WEIGHT})
    assert list(fused) == sorted(fused, key=lambda u: -fused[u])


async def keyword_vector(text: str) -> list[float]:
    """The question's vector: along the axis of t2 ("Positional encoding ...") in sample_index."""
    return [0.0, 1.0, 0.0, 0.0]


QUESTION = "Where in the sentence does each word sit?"  # no word of any chunk, no entity named


async def test_a_passage_only_the_vector_finds_enters_the_context(tmp_path: Path) -> None:
    index = sample_index()
    for entity in index.entities:  # the entities cannot lead there: only the chunk's own vector can
        entity.embedding = None
    store = SqliteStore(tmp_path / "kg.db")
    try:
        await store.publish("ns", index)
        without = await build_context(store, QUESTION, namespace="ns", budget=400)
        assert "t2" not in {u.id for u in without.sources}
        found = await build_context(store, QUESTION, namespace="ns", budget=400, embed=keyword_vector)
        assert found.sources[0].id == "t2"
        assert "Positional encoding injects token order" in found.text
        assert found.documents[found.sources[0].document_id][0] == "Attention Is All You Need"
    finally:
        await store.close()


async def test_without_a_question_vector_chunk_vectors_change_nothing(tmp_path: Path) -> None:
    plain, embedded = SqliteStore(tmp_path / "plain.db"), SqliteStore(tmp_path / "embedded.db")
    try:
        index = corpus(11)
        await plain.publish("ns", index)
        await embedded.publish("ns", with_vectors(11))
        for question in [*QUESTIONS, QUESTION]:
            for budget in (400, 2000, 12000):
                ours = await build_context(plain, question, namespace="ns", budget=budget)
                theirs = await build_context(embedded, question, namespace="ns", budget=budget)
                assert ours.text == theirs.text, (question, budget)
    finally:
        await plain.close()
        await embedded.close()
