"""Both stores rank chunks (and entities) alike (kg.store.chunk_ranking): the SQLite store in Python, the Neo4j store in Cypher,
from each build's own postings, so that other namespaces and a failed build's rows change nothing."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from kg.model import Document, GraphIndex, TextUnit
from kg.store.base import StoreError
from kg.store.chunk_ranking import MAX_TEXT_POSTINGS, Posting, chunk_postings, rank_chunks, searched_forms
from kg.store.neo4j import search as neo4j_search
from kg.store.neo4j import search_statements
from kg.store.sqlite import fulltext as sqlite_fulltext
from kg.store.sqlite.store import SqliteStore
from tests.store_contract import large_index
from tests.test_store_neo4j import fail_on, real_store

WORDS = (
    "attention model models encoder decoder layer layers head heads token tokens scale dot product".split()
)
QUESTIONS = ["attention heads", "encoder layers", "dot product attention", "models", "scale token", "decoder"]


def corpus(seed: int, n: int = 60) -> GraphIndex:
    rng = random.Random(seed)
    units = [
        TextUnit(f"c{i}", i, "d", " ".join(rng.choices(WORDS, k=rng.randint(5, 80))), rng.randint(5, 120))
        for i in range(n)
    ]
    base = large_index(n)
    return replace(
        base,
        documents=[Document("d", "Doc", "doc.txt", "", [u.id for u in units])],
        text_units=units,
        entities=[
            replace(
                e,
                title=f"{e.title} {' '.join(rng.choices(WORDS, k=rng.randint(0, 2)))}".strip(),
                description=" ".join(rng.choices(WORDS, k=rng.randint(0, 30))),
                text_unit_ids=[f"c{i}"],
            )
            for i, e in enumerate(base.entities)
        ],
        relationships=[],
    )


def test_rank_chunks_scores_the_build_alone() -> None:
    units = [
        TextUnit("a", 1, "d", "cat cat dog", 3),
        TextUnit("b", 2, "d", "cat", 1),
        TextUnit("c", 0, "d", "x", 1),
    ]
    postings = chunk_postings(units)
    assert postings["cat"] == [Posting(1, "a", 2, 3), Posting(2, "b", 1, 1)]
    frequencies = {t: len(p) for t, p in postings.items() if t in ("cat", "cats")}
    forms, windowed = searched_forms(frequencies)
    ranked = rank_chunks([["cat", "cats"]], {f: postings[f] for f in forms}, frequencies, 3, 5, windowed, 10)
    assert [i for i, _ in ranked] == ["b", "a"]  # the short chunk saying it once beats the long one


async def test_sqlite_and_neo4j_rank_chunks_alike(tmp_path: Path, neo4j_url: str, monkeypatch) -> None:
    sqlite = SqliteStore(tmp_path / "kg.db")
    neo4j = real_store(neo4j_url)
    try:
        index = corpus(7)
        for store in (sqlite, neo4j):
            await store.publish("rank", index)
        await neo4j.publish("rank-other", corpus(8, 200))  # another namespace with the same words
        # A build that fails after writing all its rows (its cleanup then deletes them).
        fail_on(neo4j, monkeypatch, search_statements.CREATE_ENTITY_TERMS)
        with pytest.raises(StoreError):
            await neo4j.publish("rank", corpus(9, 200))
        monkeypatch.undo()
        for question in QUESTIONS:
            ours = await sqlite.search_text_units("rank", question, 20)
            theirs = await neo4j.search_text_units("rank", question, 20)
            assert [u.id for u, _ in ours] == [u.id for u, _ in theirs], question
            assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-12), question
            ours = await sqlite.search_entities("rank", question, 20)
            theirs = await neo4j.search_entities("rank", question, 20)
            assert [x.entity.id for x in ours] == [x.entity.id for x in theirs], question
            assert [x.score for x in ours] == pytest.approx([x.score for x in theirs], rel=1e-12), question
    finally:
        await sqlite.close()
        await neo4j.close()


async def test_both_stores_rank_entities_alike_when_common_words_are_searched_in_titles_only(
    tmp_path: Path, neo4j_url: str, monkeypatch
) -> None:
    """Budgets small enough that a question's rarest word is searched everywhere, the next ones in titles only
    and the commonest not at all (kg.store.sqlite.fulltext.split_by_cost): the Neo4j store reads the title
    postings of the middle ones."""
    monkeypatch.setattr(sqlite_fulltext, "MAX_POSTINGS", 60)
    monkeypatch.setattr(sqlite_fulltext, "MAX_TITLE_POSTINGS", 120)
    monkeypatch.setattr(neo4j_search, "MAX_POSTINGS", 60)
    monkeypatch.setattr(neo4j_search, "MAX_TITLE_POSTINGS", 120)
    sqlite = SqliteStore(tmp_path / "kg.db")
    neo4j = real_store(neo4j_url)
    try:
        index = corpus(11, 100)
        for store in (sqlite, neo4j):
            await store.publish("titles", index)
        title_only = 0
        for question in [*QUESTIONS, "attention encoder decoder head", "token layer product scale model"]:
            ours = await sqlite.search_entities("titles", question, 20)
            theirs = await neo4j.search_entities("titles", question, 20)
            assert ours, question
            assert [x.entity.id for x in ours] == [x.entity.id for x in theirs], question
            assert [x.score for x in ours] == pytest.approx([x.score for x in theirs], rel=1e-12), question
            title_only += sum(
                1 for x in ours if not set(question.split()) & set(x.entity.description.split())
            )
        assert title_only, "no entity was found by a title-only word"
    finally:
        await sqlite.close()
        await neo4j.close()


async def test_a_build_without_entity_postings_is_searched_by_lucene(neo4j_url: str) -> None:
    """A build published before entity postings were recorded still finds its entities (Lucene ranks them)."""
    neo4j = real_store(neo4j_url)
    try:
        await neo4j.publish("unposted", corpus(12))
        ranked = await neo4j.search_entities("unposted", "encoder decoder", 10)
        await neo4j._query(
            """MATCH (t:EntityTerm {namespace: $namespace})
            REMOVE t.seqs, t.title_tfs, t.description_tfs, t.lengths, t.title_seqs, t.title_only_tfs,
              t.title_lengths""",
            {"namespace": "unposted"},
            action="forget the postings",
            write=True,
        )
        unposted = await neo4j.search_entities("unposted", "encoder decoder", 10)
        assert len(unposted) == len(ranked) == 10
        for scored in unposted:
            words = set(scored.entity.title.split()) | set(scored.entity.description.split())
            assert words & {"encoder", "decoder"}, scored.entity.title
    finally:
        await neo4j.close()


async def test_both_stores_rank_the_first_postings_of_common_words_alike(
    tmp_path: Path, neo4j_url: str
) -> None:
    """Words each in more chunks than MAX_TEXT_POSTINGS: both stores rank only each word's first postings
    (window()), read from the heads kept apart at publish (HEAD_POSTINGS)."""
    sqlite = SqliteStore(tmp_path / "kg.db")
    neo4j = real_store(neo4j_url)
    try:
        index = corpus(13, MAX_TEXT_POSTINGS + 400)
        for store in (sqlite, neo4j):
            await store.publish("common", index)
        frequencies = {t: len(p) for t, p in chunk_postings(index.text_units).items()}
        for question in ["attention heads layers tokens", "encoder decoder model scale dot product"]:
            assert searched_forms({w: frequencies[w] for w in question.split()})[1], "not windowed"
            ours = await sqlite.search_text_units("common", question, 20)
            theirs = await neo4j.search_text_units("common", question, 20)
            assert len(ours) == 20
            assert [u.id for u, _ in ours] == [u.id for u, _ in theirs], question
            assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-12), question
    finally:
        await sqlite.close()
        await neo4j.close()
