"""How local search spends its budget (kg.search.budget): shares that adapt to the budget and to how much the
graph helps, Sources filled to the end (further candidates, an excerpt), and the extra read inside the build
check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kg.model import Document, GraphIndex, TextUnit
from kg.search.budget import LARGE_BUDGET, SMALL_BUDGET, graph_signal, shares
from kg.search.local import MAX_SOURCE_CANDIDATES, build_context
from kg.search.passages import RankedPassage
from kg.store.sqlite.store import SqliteStore
from tests.small_graph import small_store

PASSAGES = 400


def lantern_index(marker: str = "amber") -> GraphIndex:
    """PASSAGES passages all matching "lantern", of differing lengths (about 30 to 60 tokens), no graph."""
    units, offset = [], 0
    for i in range(PASSAGES):
        text = f"Lantern note {i} ({marker}): " + " ".join(
            f"wick{i % 7} glass{j}" for j in range(10 + i % 15)
        )
        units.append(TextUnit(f"u{i}", 1000 + i, "doc", text, len(text.split()), offset, offset + len(text)))
        offset += len(text) + 1
    document = Document("doc", "Lantern notes", "notes/lanterns.md", text_unit_ids=[u.id for u in units])
    return GraphIndex(documents=[document], text_units=units)


@pytest.fixture
async def lanterns(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "lanterns.db")
    await store.publish("default", lantern_index())
    yield store
    await store.close()


def ranked(text: list[float], graph: list[float]) -> list[RankedPassage]:
    return [RankedPassage(f"u{i}", t + g, t, g) for i, (t, g) in enumerate(zip(text, graph, strict=True))]


def test_below_a_small_budget_every_token_goes_to_passages() -> None:
    for signal in (0.0, 0.5, 1.0):
        small = shares(SMALL_BUDGET - 1, signal)
        assert small.reports == small.entities == small.relationships == 0
        assert not small.first_entity
    assert shares(SMALL_BUDGET, 1.0).first_entity


def test_shares_grow_with_the_budget_and_with_the_graph_signal() -> None:
    by_budget = [shares(b, 0.5) for b in (1000, 2000, 4000, LARGE_BUDGET, 12000)]
    assert [s.entities for s in by_budget] == sorted(s.entities for s in by_budget)
    assert by_budget[0].entities < by_budget[2].entities < by_budget[3].entities == by_budget[4].entities
    weak, strong = shares(8000, 0.0), shares(8000, 1.0)
    assert weak.entities < strong.entities and weak.relationships < strong.relationships
    assert weak.reports < strong.reports


def test_graph_signal_follows_what_the_graph_contributed() -> None:
    text_only = ranked([1.0, 0.8, 0.5], [0.0, 0.0, 0.0])
    graph_ranked = ranked([1.0, 0.0, 0.0], [0.4, 0.9, 0.7])
    assert graph_signal(text_only, linked=0) == 0.0
    assert graph_signal(text_only, linked=1) < graph_signal(graph_ranked, linked=1)
    assert graph_signal(graph_ranked, linked=0) < graph_signal(graph_ranked, linked=1) <= 1.0
    assert graph_signal([], linked=2) == 0.0


@pytest.mark.parametrize("budget", [400, 800, 3000, 8000, 12000])
async def test_the_context_uses_the_whole_budget_while_passages_remain(
    lanterns: SqliteStore, budget: int
) -> None:
    context = await build_context(lanterns, "lantern", budget=budget)
    assert 0.95 * budget <= context.tokens <= budget
    assert len({u.short_id for u in context.sources}) == len(context.sources)


async def test_further_candidates_are_read_when_the_first_read_runs_out(lanterns: SqliteStore) -> None:
    calls: list[int] = []
    search = lanterns.search_text_units

    async def counted(namespace: str, query: str, limit: int) -> Any:
        calls.append(limit)
        return await search(namespace, query, limit)

    lanterns.search_text_units = counted  # type: ignore[method-assign]
    context = await build_context(lanterns, "lantern", budget=12000)
    assert len(calls) == 1 and calls[0] > MAX_SOURCE_CANDIDATES  # the first read is find_passages
    assert len(context.sources) > MAX_SOURCE_CANDIDATES  # more passages than the first read returned
    assert all(u.document_id in context.documents for u in context.sources)  # each one's document named
    calls.clear()
    await build_context(lanterns, "lantern", budget=2000)
    assert not calls, "the first read filled a small budget: no further read"


async def test_a_passage_that_does_not_fit_is_shown_as_an_excerpt(lanterns: SqliteStore) -> None:
    index = {u.short_id: u for u in lantern_index().text_units}
    context = await build_context(lanterns, "lantern", budget=800)
    *whole, last = context.sources
    assert all(u.text == index[u.short_id].text for u in whole)
    full = index[last.short_id].text
    assert last.text != full and full.startswith(last.text)
    assert context.text.endswith(f"{last.short_id}|{last.text}")


async def test_the_extra_read_is_inside_the_build_check(lanterns: SqliteStore) -> None:
    """A publish landing between the first read and the extra one must not mix two builds: the question is
    read again, all from the new build."""
    search = lanterns.search_text_units
    calls = 0

    async def publish_before_the_extra_read(namespace: str, query: str, limit: int) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:  # the first read is find_passages: this is the extra one
            await lanterns.publish("default", lantern_index("birch"))
        return await search(namespace, query, limit)

    lanterns.search_text_units = publish_before_the_extra_read  # type: ignore[method-assign]
    context = await build_context(lanterns, "lantern", budget=12000)
    assert calls == 2, "the question was read again, with its own extra read"
    assert context.sources and all("(birch)" in u.text for u in context.sources)
    assert context.generation == await lanterns.generation("default")


async def test_small_budgets_leave_out_the_tables(tmp_path: Path) -> None:
    store = await small_store(tmp_path / "kg.db")
    try:
        small = await build_context(
            store, "How does Multi-Head Attention relate to the Transformer?", budget=400
        )
        large = await build_context(
            store, "How does Multi-Head Attention relate to the Transformer?", budget=8000
        )
    finally:
        await store.close()
    assert small.sources and not (small.entities or small.relationships or small.reports)
    assert large.entities and large.relationships
