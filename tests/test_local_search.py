"""Local search on a small graph written for these tests (tests/small_graph.py), in a real SQLite store."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kg.model import Turn
from kg.search.context import Context
from kg.search.local import build_context, find_passages
from kg.search.passages import LEAD_PASSAGES
from kg.store.sqlite.store import SqliteStore
from kg.text.tokens import count_tokens
from tests.small_graph import ENTITIES, keyword_embed, small_index, small_store

MHA = "Multi-Head Attention"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await small_store(tmp_path / "kg.db", embeddings=True)
    yield store
    await store.close()


def titles(context: Context) -> list[str]:
    return [e.title for e in context.entities]


def table_ids(context: Context, table: str) -> list[int]:
    """The ids of the rows of one rendered table, in order: what the model really reads."""
    match = re.search(rf"-----{table}-----\n[^\n]*\n((?:[^\n]+\n?)*)", context.text)
    if match is None:
        return []
    return [int(line.split("|", 1)[0]) for line in match.group(1).splitlines()]


def rows(context: Context) -> int:
    return len(context.entities) + len(context.relationships) + len(context.reports) + len(context.sources)


async def test_records_are_exactly_the_rendered_rows(store: SqliteStore) -> None:
    context = await build_context(store, f"How many heads does {MHA} use?")
    assert table_ids(context, "Entities") == [e.short_id for e in context.entities]
    assert table_ids(context, "Relationships") == [r.short_id for r in context.relationships]
    assert table_ids(context, "Reports") == [r.community for r in context.reports]
    assert table_ids(context, "Sources") == [u.short_id for u in context.sources]
    assert context.entities and context.relationships and context.reports and context.sources
    assert context.tokens == count_tokens(context.text)
    assert context.documents == {"doc-transformers": ("Transformer notes", "notes/transformers.md")}
    assert context.available() == {
        "Entities": {e.short_id for e in context.entities},
        "Relationships": {r.short_id for r in context.relationships},
        "Reports": {r.community for r in context.reports},
        "Sources": {u.short_id for u in context.sources},
    }


@pytest.mark.parametrize("question", [f"How does {MHA} relate to the Transformer?", "What is Dropout?"])
async def test_budget_is_respected_and_tables_shrink_with_it(store: SqliteStore, question: str) -> None:
    budgets = [60, 120, 250, 500, 1000, 12000]
    contexts = [await build_context(store, question, budget=b) for b in budgets]
    for budget, context in zip(budgets, contexts, strict=True):
        assert context.tokens <= budget, budget
        assert count_tokens(context.text) == context.tokens
    sizes = [rows(c) for c in contexts]
    assert sizes == sorted(sizes), sizes
    smallest, largest = contexts[0], contexts[-1]
    assert rows(smallest) >= 1, "even a tiny budget holds the best row"
    assert len(smallest.relationships) < len(largest.relationships)
    assert len(smallest.sources) < len(largest.sources)
    # a smaller budget keeps rows of the same ranking (those that fit), in the same order; a budget of a few
    # passages may put the full text's best first (kg.search.passages.leading_passages)
    for small in contexts:
        for dataset in ("entities", "relationships", "reports", "sources"):
            kept = [r["id"] for r in small.to_json()[dataset]]
            if dataset == "sources":
                kept = kept[LEAD_PASSAGES:]
            ranked = [r["id"] for r in largest.to_json()[dataset]]
            assert kept == [i for i in ranked if i in kept], dataset


async def test_budget_smaller_than_any_table_gives_an_empty_context(store: SqliteStore) -> None:
    context = await build_context(store, f"What is {MHA}?", budget=5)
    assert context.tokens <= 5 and context.empty and context.text == ""


async def test_a_table_without_rows_leaves_its_share_to_the_others(store: SqliteStore) -> None:
    # At 1,000 tokens the tables' shares are nil (kg.search.budget): no report is shown, not even its header;
    # the entity the question names keeps its row, and the passages take the rest.
    context = await build_context(store, "What is Dropout?", budget=1000)
    assert not context.reports and "-----Reports-----" not in context.text
    assert titles(context) == ["Dropout"]
    assert [u.short_id for u in context.sources][0] == 14
    assert context.tokens <= 1000


async def test_entity_named_in_the_question_comes_first(store: SqliteStore) -> None:
    # "Transformer" also says "regularised with dropout" and has far more links; the named entity wins
    context = await build_context(store, "What is Dropout?")
    assert titles(context)[0] == "Dropout"
    assert "Transformer" in titles(context)
    context = await build_context(store, "Which GPU trained it?")
    assert titles(context)[0] == "GPU"


async def test_relationships_in_network_first_then_by_links_then_weight(store: SqliteStore) -> None:
    context = await build_context(store, f"How does {MHA} relate to the Transformer?", top_k=2)
    assert titles(context) == [MHA, "Transformer"]
    order = [r.short_id for r in context.relationships]
    # 40: both ends selected. Encoder and Decoder each link to both selected entities: 43 (4.0), 44 (3.5),
    # 41 (3.0), 42 (2.0). Dropout and GPU link to one: 45 (6.0) after all of those despite its weight, 46.
    # 47 (Hydra - Greek Myth) and 48 (Decoder - Beam Search) touch no selected entity.
    assert order == [40, 43, 44, 41, 42, 45, 46]


async def test_reports_ranked_by_matches_then_rank(store: SqliteStore) -> None:
    context = await build_context(store, f"How does {MHA} relate to the Transformer?", top_k=2)
    # community 0 holds both selected entities (rank 2); 1 (rank 9) and 2 (rank 7) hold one each;
    # 3 (Greek legends, rank 10) and 4 (Decoding) hold neither
    assert [r.community for r in context.reports] == [0, 1, 2]


async def test_source_matching_the_question_and_linked_to_top_entity_comes_first(store: SqliteStore) -> None:
    context = await build_context(store, f"How many heads does {MHA} use?")
    assert titles(context)[0] == MHA
    order = [u.short_id for u in context.sources]
    # 12 is cited by five relationships (GraphRAG's order would put it first); 11 answers the question;
    # 15 (the Hydra's heads) matches "heads" but belongs to no entity near the top
    assert order[0] == 11
    assert order.index(12) < order.index(15)
    assert "eight attention heads" in context.sources[0].text


async def test_history_table_comes_first_and_resolves_a_follow_up(store: SqliteStore) -> None:
    follow_up = "and how many heads does it use?"
    alone = await build_context(store, follow_up)
    assert titles(alone)[0] != MHA  # "heads" alone points at the folk band
    assert "-----Conversation-----" not in alone.text

    history = [
        Turn("user", f"What is {MHA}?"),
        Turn("assistant", f"{MHA} computes attention several times in parallel."),
    ]
    context = await build_context(store, follow_up, history)
    assert titles(context)[0] == MHA
    assert context.text.startswith("-----Conversation-----\nrole|content\n")
    assert f"user|What is {MHA}?" in context.text
    assert f"assistant|{MHA} computes attention" in context.text
    assert context.sources[0].short_id == 11
    assert context.tokens == count_tokens(context.text) <= 12000


async def test_only_recent_history_is_shown(store: SqliteStore) -> None:
    history = [
        Turn("user" if i % 2 == 0 else "assistant", f"turn number {i} about Dropout") for i in range(20)
    ]
    context = await build_context(store, "What is Dropout?", history)
    assert "turn number 19 " in context.text and "turn number 14 " in context.text
    assert "turn number 13 " not in context.text


async def test_namespaces_are_isolated(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "kg.db")
    try:
        await store.publish("default", small_index())
        await store.publish("other", small_index(variant="OTHERNS"))
        question = f"How many heads does {MHA} use in the Transformer?"
        default = await build_context(store, question, namespace="default")
        other = await build_context(store, question, namespace="other")
        assert not default.empty and "OTHERNS" not in default.text
        texts = [e.description for e in other.entities] + [u.text for u in other.sources]
        texts += [r.description for r in other.relationships] + [r.summary for r in other.reports]
        assert texts and all("OTHERNS" in t for t in texts)
        missing = await build_context(store, question, namespace="never-built")
        assert missing.empty and missing.text == "" and missing.tokens == 0
    finally:
        await store.close()


@pytest.mark.parametrize("question", ["zebra quantum marmalade", "???", "   ", "ﬁ ½ ² Ⅻ 🤖"])
async def test_question_matching_nothing_gives_an_empty_context(store: SqliteStore, question: str) -> None:
    context = await build_context(store, question)
    assert context.empty
    assert context.text == "" and context.tokens == 0 and context.documents == {}


async def test_hostile_question_does_not_crash(store: SqliteStore) -> None:
    for question in [
        '"Dropout" AND NOT (',
        "title:Dropout*",
        "Dropout " * 3000,
        "'; DROP TABLE entities; --",
    ]:
        context = await build_context(store, question, budget=800)
        assert context.tokens <= 800


async def test_vector_search_finds_an_entity_no_word_matches(store: SqliteStore) -> None:
    question = "How do we avoid overfitting?"  # no entity, relationship or source says "overfitting"
    assert (await build_context(store, question)).empty
    context = await build_context(store, question, embed=keyword_embed)
    assert titles(context)[0] == "Dropout"
    assert context.sources[0].short_id == 14  # Dropout's own text unit


async def test_vector_and_text_rankings_are_fused(store: SqliteStore) -> None:
    question = "Which hardware does the Transformer need?"  # text: Transformer; vector: GPU (hardware)
    text_only = (await find_passages(store, "default", question, 2, None)).mapped
    fused = (await find_passages(store, "default", question, 2, keyword_embed)).mapped
    assert "GPU" not in [e.title for e in text_only]
    assert {e.title for e in fused} == {"Transformer", "GPU"}
    assert len(ENTITIES) > len(fused)  # top-k still applies after fusion


async def test_the_graph_reaches_the_entity_of_the_top_passage(store: SqliteStore) -> None:
    # No word of the question names GPU, but the passage that answers it does: the tables describe it too.
    context = await build_context(store, "Which hardware does the Transformer need?", top_k=2)
    assert titles(context) == ["Transformer", "GPU"]


async def test_sources_fill_with_further_full_text_hits_when_the_graph_has_few(store: SqliteStore) -> None:
    # One entity selected (GPU) and one top full-text hit: the further hits still fill the Sources share.
    context = await build_context(store, "Which hypotheses, GPU cards or Greek heads?", top_k=1)
    assert titles(context) == ["GPU"]
    assert {11, 13, 15, 16} <= {u.short_id for u in context.sources}
    assert context.tokens <= 12000
