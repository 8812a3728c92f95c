"""Local search past the question's words: passages two hops away through the graph's relationships, the
passages next to the best ones once the full text has run out (the budget used, not left empty), and how
much activation counts at a tight budget. Real SQLite stores of small hand-written builds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kg.model import Document, Entity, GraphIndex, Relationship, TextUnit
from kg.search import local
from kg.search.budget import MAX_NEIGHBOURS, neighbour_short_ids
from kg.search.local import build_context
from kg.search.passages import (
    GRAPH_WEIGHT,
    HOP_DECAY,
    TIGHT_BUDGET,
    RankedPassage,
    graph_weight,
    rank_passages,
    with_hops,
)
from kg.store.sqlite.store import SqliteStore
from kg.text.tokens import count_tokens

FILLERS = 80
WORDS = "amber basil cedar delta ember fjord gravel harbor indigo juniper".split()


def _filler(i: int) -> str:
    """A passage sharing no word with the questions below (nor with the other fillers' first words)."""
    return f"Filler {WORDS[i % 10]} {WORDS[(i // 10) % 10]} plain words number {i} without meaning."


def fill_index() -> GraphIndex:
    """Ada Lovelace's passage (short id 0), FILLERS unrelated passages (1..FILLERS), and far away (short id 200)
    the passage of Charles Babbage, who is related to her but shares no word with a question about her."""
    units = [TextUnit("ada", 0, "d", "Ada Lovelace published notes on computing.", 8)]
    units += [TextUnit(f"f{i}", i, "d", _filler(i), count_tokens(_filler(i))) for i in range(1, FILLERS + 1)]
    units.append(TextUnit("babbage", 200, "d", "Charles Babbage designed a calculating machine.", 8))
    entities = [
        Entity("e-ada", 1, "Ada Lovelace", "PERSON", "A mathematician.", ["ada"], 1),
        Entity("e-babbage", 2, "Charles Babbage", "PERSON", "An engineer.", ["babbage"], 1),
    ]
    relationships = [
        Relationship("r", 1, "Ada Lovelace", "Charles Babbage", "Worked together", 1.0, ["ada"], 2)
    ]
    document = Document("d", "Notes", "notes.md", " ".join(u.text for u in units))
    document.text_unit_ids = [u.id for u in units]
    return GraphIndex(documents=[document], text_units=units, entities=entities, relationships=relationships)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "kg.db")
    await store.publish("default", fill_index())
    yield store
    await store.close()


async def test_a_passage_two_hops_away_follows_the_question_s_own(store: SqliteStore) -> None:
    context = await build_context(store, "Who collaborated with Ada Lovelace?", budget=2000)
    assert [u.id for u in context.sources[:2]] == ["ada", "babbage"]


async def test_without_two_hop_passages_the_related_one_comes_last(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "MAX_HOP_PASSAGES", 0)
    context = await build_context(store, "Who collaborated with Ada Lovelace?", budget=2000)
    ids = [u.id for u in context.sources]
    assert ids[0] == "ada" and ("babbage" not in ids or ids.index("babbage") > 10)


async def test_when_the_full_text_runs_out_the_neighbours_fill_the_budget(store: SqliteStore) -> None:
    for budget in (400, 1000):
        context = await build_context(store, "What did Ada Lovelace publish?", budget=budget)
        assert context.sources[0].id == "ada"
        shorts = [u.short_id for u in context.sources if u.id.startswith("f")]
        assert shorts[:3] == [1, 2, 3]  # nearest first
        assert context.tokens >= 0.95 * budget
        assert context.tokens <= budget
    assert set(context.documents) == {"d"}


async def test_a_question_matching_nothing_reads_no_neighbours(store: SqliteStore) -> None:
    context = await build_context(store, "zebra quokka", budget=2000)
    assert context.sources == [] and context.text == ""


def test_neighbour_short_ids_nearest_first_skipping_those_found() -> None:
    assert neighbour_short_ids([10, 20], [10, 20, 11], 1000, [100, 100]) == [
        *(9, 19, 21),
        *(8, 12, 18, 22),
        *(7, 13, 17, 23),
        *(6, 14, 16, 24),
        5,
    ]
    # twice what the room holds at the found passages' average size: (1000 - 200) / 100 * 2
    assert len(neighbour_short_ids([10, 20], [10, 20], 1000, [100, 100])) == 16
    assert neighbour_short_ids([0], [0], 350, [100]) == [1, 2, 3, 4, 5]  # no negative short id
    assert neighbour_short_ids([5], [5], 100, [100]) == []  # no room left
    assert len(neighbour_short_ids([5], [5], 10**6, [10])) == MAX_NEIGHBOURS


def test_two_hop_passages_merge_in_by_score() -> None:
    ranked = [RankedPassage(u, s, s, 0.0) for u, s in (("a", 1.0), ("b", 0.4), ("c", 0.05))]
    # one seed: a hop's score is its store score times GRAPH_WEIGHT * HOP_DECAY
    store_score = 0.2 / (GRAPH_WEIGHT * HOP_DECAY)
    merged = with_hops(ranked, [("h", store_score), ("i", 0.0)], 1)
    assert [p.id for p in merged] == ["a", "b", "h", "c", "i"]
    assert merged[2].score == pytest.approx(0.2) and merged[2].text == 0.0
    two_seeds = with_hops(ranked, [("h", store_score)], 2)  # per seed: half as strong
    assert [p.id for p in two_seeds] == ["a", "b", "h", "c"] and two_seeds[2].score == pytest.approx(0.1)


def test_at_a_tight_budget_activation_only_breaks_near_ties() -> None:
    assert graph_weight(TIGHT_BUDGET) < graph_weight(TIGHT_BUDGET + 1) == graph_weight(None) == GRAPH_WEIGHT
    text = {"a": 1.0, "b": 0.8, "c": 0.6}
    activation = {"c": 0.6}
    tight = rank_passages(text, activation, 10, weight=graph_weight(TIGHT_BUDGET))
    loose = rank_passages(text, activation, 10, weight=graph_weight(None))
    assert [p.id for p in tight] == ["a", "b", "c"]
    assert [p.id for p in loose] == ["a", "c", "b"]
