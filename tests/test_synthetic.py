"""The synthetic graph generator used by the benchmarks (bench/synthetic.py): deterministic and consistent."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

from bench.synthetic import generate, make_questions, question_material
from kg.model import Turn
from kg.search.local import build_context
from kg.store.sqlite.store import SqliteStore


def test_same_seed_same_graph_other_seed_other_graph() -> None:
    assert dataclasses.asdict(generate(300, 1)) == dataclasses.asdict(generate(300, 1))
    assert generate(300, 1).entities[0].title != generate(300, 2).entities[0].title


def test_graph_is_consistent_and_shaped_like_graphrag_output() -> None:
    index = generate(2000, 0, embedding_dim=16)
    entities, relationships = index.entities, index.relationships
    titles = {e.title for e in entities}
    unit_ids = {u.id for u in index.text_units}
    assert len(titles) == len(entities) == 2000
    assert len({e.id for e in entities}) == len(entities)
    assert [e.short_id for e in entities] == list(range(1, 2001))
    assert 2.5 <= len(relationships) / len(entities) <= 3.5
    assert all(r.source in titles and r.target in titles and r.source != r.target for r in relationships)
    degree = Counter(t for r in relationships for t in (r.source, r.target))
    assert all(e.degree == degree[e.title] for e in entities)
    assert max(degree.values()) > 10 * (2 * len(relationships) / len(entities))  # hubs: a heavy tail
    assert all(set(e.text_unit_ids) <= unit_ids and e.text_unit_ids for e in entities)
    assert all(set(r.text_unit_ids) <= unit_ids for r in relationships)
    assert 350 <= len(index.text_units) <= 450
    assert 250 <= sum(u.n_tokens for u in index.text_units) / len(index.text_units) <= 400
    for doc in index.documents:
        for unit_id in doc.text_unit_ids:
            unit = next(u for u in index.text_units if u.id == unit_id)
            assert doc.text[unit.start : unit.end] == unit.text
    assert {c.level for c in index.communities} == {0, 1, 2}
    ids = {c.id for c in index.communities}
    assert all(c.parent == -1 if c.level == 0 else c.parent in ids for c in index.communities)
    assert sorted(r.community for r in index.reports) == sorted(ids)
    assert all(r.title and r.summary and r.findings and 0 <= r.rank <= 10 for r in index.reports)
    assert all(e.embedding is not None and len(e.embedding) == 16 for e in entities)


def test_questions_mix_kinds_and_name_entities() -> None:
    index = generate(500, 0)
    questions = make_questions(question_material(index, 0), 100, 0)
    kinds = Counter(q.kind for q in questions)
    assert kinds == {"name": 40, "description": 30, "follow-up": 20, "no-match": 10}
    assert all(q.history for q in questions if q.kind == "follow-up")


async def test_a_synthetic_store_answers_local_search(tmp_path: Path) -> None:
    index = generate(500, 0)
    store = SqliteStore(tmp_path / "kg.db")
    try:
        await store.publish("bench", index)
        entity = index.entities[7]
        context = await build_context(store, f"Tell me about {entity.title}", namespace="bench")
        assert entity.title in [e.title for e in context.entities]
        assert context.sources and context.reports and context.relationships
        follow = await build_context(
            store, "And who are its partners?", [Turn("user", f"What is {entity.title}?")], namespace="bench"
        )
        assert entity.title in [e.title for e in follow.entities]
    finally:
        await store.close()
