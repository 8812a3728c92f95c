"""The contract every `GraphStore` keeps, as a reusable test class.

A backend's test module subclasses `StoreContract` (with a name starting with `Test`) and provides a `store`
fixture yielding an empty, open store; every test here then runs against that backend.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from kg.model import (
    Community,
    CommunityReport,
    Document,
    Entity,
    Feedback,
    Finding,
    GraphIndex,
    Relationship,
    TextUnit,
)
from kg.store.base import GraphStore, PassageSearch, StoreError
from kg.text.tokens import count_tokens

HOSTILE_QUERIES = [
    "",
    "   ",
    "?!",
    'what is "multi-head attention?',
    "attention AND OR NOT NEAR(",
    "NEAR(attention transformer, 2)",
    "attention*",
    "* ^ - + : { } ( ) [ ]",
    "title:attention",
    "{title description}: attention",
    "((attention)",
    "'; DROP TABLE entities; --",
    "\\\" \\' \\\\",
    "attention 🤖🧠 transformer ✨",
    "_ __ _attention_",
    "ﬁ ½ ² Ⅻ",
    "\x00 attention \x1f",
    "attention " * 500,
    "x" * 5000,
    " ".join(f"word{i}" for i in range(1000)),
]


def sample_index(*, variant: str = "", embeddings: bool = True) -> GraphIndex:
    """A small, fully-populated build: 2 documents, 3 text units, 5 entities, 5 relationships, 3 communities.

    `variant` is appended to descriptions and texts, so two namespaces can hold the same titles and ids with
    distinguishable content. Embeddings are exactly representable as float32.
    """
    suffix = f" {variant}" if variant else ""
    documents = [
        Document(
            id="d1", title="Attention Is All You Need", source="papers/attention.pdf", text="paper" + suffix
        ),
        Document(id="d2", title="Team Notes", source="notes/team.md", text="notes" + suffix),
    ]
    documents[0].text_unit_ids = ["t1", "t2"]
    documents[1].text_unit_ids = ["t3"]
    texts = [
        ("t1", 1, "d1", "The Transformer relies on multi-head attention." + suffix, 0, 48),
        ("t2", 2, "d1", "Positional encoding injects token order into the model." + suffix, 48, 103),
        ("t3", 3, "d2", "Google Brain evaluated translation with BLEU." + suffix, 0, 45),
    ]
    text_units = [TextUnit(i, n, d, t, count_tokens(t), a, b) for i, n, d, t, a, b in texts]
    if embeddings:
        for unit, vector in zip(
            text_units, ([1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]), strict=True
        ):
            unit.embedding = vector
    vectors = {
        "Multi-Head Attention": [1.0, 0.0, 0.0, 0.0],
        "Transformer": [0.75, 0.5, 0.0, 0.0],
        "Ashish Vaswani": [0.0, 0.0, 1.0, 0.0],
        "Google Brain": [0.0, 0.0, 0.5, 0.5],
        "BLEU": [0.0, 0.0, 0.0, -1.0],
    }
    rows = [
        (
            "e1",
            "Multi-Head Attention",
            "CONCEPT",
            "Runs several projections in parallel over queries and keys.",
            2,
        ),
        ("e2", "Transformer", "MODEL", "A sequence model built from attention layers without recurrence.", 4),
        ("e3", "Ashish Vaswani", "PERSON", "First author of the paper.", 2),
        ("e4", "Google Brain", "ORGANIZATION", "Research team where the model was developed.", 2),
        ("e5", "BLEU", "METRIC", "Translation quality score.", 1),
    ]
    entities = [
        Entity(
            id=eid,
            short_id=i,
            title=title,
            type=etype,
            description=description + suffix,
            text_unit_ids=["t1", "t2"] if i < 2 else ["t3"],
            degree=degree,
            embedding=vectors[title] if embeddings else None,
        )
        for i, (eid, title, etype, description, degree) in enumerate(rows)
    ]
    relationships = [
        Relationship(
            "r0", 0, "Ashish Vaswani", "Transformer", "Vaswani proposed it" + suffix, 2.0, ["t1"], 5
        ),
        Relationship("r1", 1, "Transformer", "Multi-Head Attention", "It uses it" + suffix, 3.0, ["t1"], 6),
        Relationship("r2", 2, "Google Brain", "Transformer", "Developed there" + suffix, 1.0, ["t3"], 4),
        Relationship("r3", 3, "Transformer", "BLEU", "Evaluated with" + suffix, 1.0, ["t3"], 7),
        Relationship("r4", 4, "Google Brain", "Ashish Vaswani", "Employer" + suffix, 0.5, ["t3"], 3),
    ]
    communities = [
        Community(0, 0, -1, "Architecture", ["e1", "e2", "e5"], ["r1", "r3"], ["t1", "t2", "t3"]),
        Community(1, 0, -1, "People", ["e3", "e4"], ["r4"], ["t3"]),
        Community(2, 1, 0, "Attention core", ["e1", "e2"], ["r1"], ["t1"]),
    ]
    reports = [
        CommunityReport(
            0,
            0,
            "Transformer architecture",
            "How the model is built" + suffix,
            "# Transformer architecture\n\nFull text.",
            7.5,
            [Finding("Attention only", "No recurrence."), Finding("Evaluated with BLEU", "Scores improved.")],
        ),
        CommunityReport(1, 0, "People", "Who built it" + suffix, "# People", 9.5, []),
        CommunityReport(
            2, 1, "Attention core", "The attention block" + suffix, "# Core", 9.0, [Finding("A", "B")]
        ),
    ]
    return GraphIndex(
        documents=documents,
        text_units=text_units,
        entities=entities,
        relationships=relationships,
        communities=communities,
        reports=reports,
        built_at="2024-05-01T12:00:00+00:00",
        seconds=12.5,
        extractor="nlp",
    )


def large_index(n_entities: int, *, prefix: str = "Node") -> GraphIndex:
    """A bigger build for concurrency tests: a ring of entities, each with one text unit."""
    texts = [f"chunk {i} about {prefix} {i}" for i in range(n_entities)]
    text_units = [TextUnit(f"lt{i}", i, "ld", t, count_tokens(t)) for i, t in enumerate(texts)]
    entities = [
        Entity(f"le{i}", i, f"{prefix} {i}", "THING", f"common node number {i}", [f"lt{i}"], 2, None)
        for i in range(n_entities)
    ]
    relationships = [
        Relationship(
            f"lr{i}", i, f"{prefix} {i}", f"{prefix} {(i + 1) % n_entities}", "next", 1.0, [f"lt{i}"], 4
        )
        for i in range(n_entities)
    ]
    return GraphIndex(
        documents=[Document("ld", "Large", "large.txt", "", [t.id for t in text_units])],
        text_units=text_units,
        entities=entities,
        relationships=relationships,
        communities=[Community(0, 0, -1, "All", [e.id for e in entities])],
        reports=[CommunityReport(0, 0, "All", "Everything", "# All", 1.0)],
        built_at="2024-06-01T00:00:00+00:00",
        seconds=1.0,
        extractor="nlp",
    )


def unstorable_index(base: GraphIndex) -> GraphIndex:
    """`base` plus records that cannot be stored at the end of the relationships: publishing it must fail
    part-way, after earlier records were written."""
    index = replace(base, relationships=list(base.relationships), entities=list(base.entities))
    bad = Relationship("bad", 999, "Transformer", "BLEU", "unstorable", weight=object(), rank=1)  # type: ignore[arg-type]
    index.relationships.append(bad)
    return index


class StoreContract:
    """Backend-independent tests; subclasses provide the `store` fixture."""

    @pytest.fixture
    def store(self) -> GraphStore:  # pragma: no cover - overridden by each backend
        raise NotImplementedError

    # ------------------------------------------------------------------ round trip and stats

    async def test_export_round_trips_every_field(self, store: GraphStore) -> None:
        index = sample_index()
        # Token counts come back as kgbot counts the text, whatever the build brought (another tokenizer's).
        await store.publish(
            "ns", replace(index, text_units=[replace(u, n_tokens=99) for u in index.text_units])
        )
        exported = await store.export("ns")
        assert exported is not None
        for name in ("documents", "text_units", "entities", "relationships", "communities", "reports"):
            assert getattr(exported, name) == getattr(index, name), name
        assert exported.reports[0].findings == index.reports[0].findings
        assert exported.entities[1].embedding == [0.75, 0.5, 0.0, 0.0]
        assert [u.embedding for u in exported.text_units] == [u.embedding for u in index.text_units]
        assert exported.text_units[2].embedding == [0.0, 0.0, 0.5, 0.5]
        assert (exported.built_at, exported.seconds, exported.extractor) == (
            index.built_at,
            index.seconds,
            index.extractor,
        )
        assert exported == index

    async def test_export_without_embeddings_keeps_none(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index(embeddings=False))
        exported = await store.export("ns")
        assert exported is not None
        assert all(e.embedding is None for e in exported.entities)
        assert all(u.embedding is None for u in exported.text_units)

    async def test_unknown_namespace_reads_are_empty(self, store: GraphStore) -> None:
        await store.publish("known", sample_index())
        assert await store.stats("nope") is None
        assert await store.export("nope") is None
        assert await store.search_entities("nope", "attention", 10) == []
        assert await store.search_entities_by_vector("nope", [1.0, 0.0, 0.0, 0.0], 10) == []
        assert await store.search_text_units("nope", "attention", 10) == []
        assert await store.get_entities("nope", ["Transformer"]) == []
        assert await store.relationships_of("nope", ["Transformer"], 10) == []
        assert await store.reports_for("nope", ["e1"]) == []
        assert await store.get_text_units("nope", ["t1"]) == []
        assert await store.document_titles("nope", ["d1"]) == {}

    async def test_stats(self, store: GraphStore) -> None:
        assert await store.stats("ns") is None
        await store.publish("ns", sample_index())
        stats = await store.stats("ns", top=3)
        assert stats is not None
        assert stats.counts == {
            "documents": 2,
            "text_units": 3,
            "entities": 5,
            "relationships": 5,
            "communities": 3,
            "reports": 3,
        }
        assert stats.top_entities[0] == {"title": "Transformer", "type": "MODEL", "degree": 4}
        assert len(stats.top_entities) == 3
        assert [e["degree"] for e in stats.top_entities] == [4, 2, 2]
        assert (stats.built_at, stats.seconds, stats.extractor) == ("2024-05-01T12:00:00+00:00", 12.5, "nlp")

    async def test_namespaces_lists_published(self, store: GraphStore) -> None:
        assert await store.namespaces() == []
        await store.publish("beta", sample_index())
        await store.publish("alpha", sample_index())
        assert sorted(await store.namespaces()) == ["alpha", "beta"]

    # ------------------------------------------------------------------ full-text search

    async def test_title_match_ranks_above_description_match(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        results = await store.search_entities("ns", "attention", 10)
        titles = [r.entity.title for r in results]
        assert titles[:2] == ["Multi-Head Attention", "Transformer"]
        assert results[0].score > results[1].score > 0
        found = results[0].entity
        assert found.id == "e1" and found.type == "CONCEPT" and found.text_unit_ids == ["t1", "t2"]

    async def test_search_takes_a_natural_question(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        results = await store.search_entities("ns", "What is multi-head attention?", 10)
        assert results[0].entity.title == "Multi-Head Attention"
        assert [r.entity.title for r in await store.search_entities("ns", "who is VASWANI", 10)] == [
            "Ashish Vaswani"
        ]

    async def test_search_limit(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        assert len(await store.search_entities("ns", "attention transformer model bleu", 1)) == 1
        assert await store.search_entities("ns", "attention", 0) == []

    async def test_search_without_match_is_empty(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        assert await store.search_entities("ns", "zebra", 10) == []
        assert await store.search_entities("ns", "", 10) == []

    async def test_search_text_units(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        results = await store.search_text_units("ns", "positional encoding?", 5)
        assert [unit.id for unit, _ in results][:1] == ["t2"]
        unit, score = results[0]
        assert score > 0
        assert unit == sample_index().text_units[1]

    @pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
    async def test_hostile_queries_never_raise(self, store: GraphStore, query: str) -> None:
        await store.publish("ns", sample_index())
        entities = await store.search_entities("ns", query, 5)
        units = await store.search_text_units("ns", query, 5)
        assert isinstance(entities, list) and isinstance(units, list)
        if not any(ch.isalnum() for ch in query):
            assert entities == [] and units == []

    async def test_hostile_query_still_finds_its_words(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        results = await store.search_entities("ns", 'NEAR("attention" AND (bleu*', 10)
        assert {"Multi-Head Attention", "BLEU"} <= {r.entity.title for r in results}

    # ------------------------------------------------------------------ vectors

    async def test_vector_search_nearest_first(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        results = await store.search_entities_by_vector("ns", [1.0, 0.25, 0.0, 0.0], 3)
        assert [r.entity.title for r in results][:2] == ["Multi-Head Attention", "Transformer"]
        assert len(results) == 3
        assert results[0].score == pytest.approx(1 / (1.0625**0.5), rel=1e-5)
        assert results[0].score > results[1].score >= results[2].score
        far = await store.search_entities_by_vector("ns", [0.0, 0.0, 0.0, 1.0], 5)
        assert far[0].entity.title == "Google Brain"
        assert far[-1].entity.title == "BLEU"

    async def test_vector_search_without_embeddings_is_empty(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index(embeddings=False))
        assert await store.search_entities_by_vector("ns", [1.0, 0.0, 0.0, 0.0], 5) == []

    async def test_vector_search_sees_republished_embeddings(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        first = await store.search_entities_by_vector("ns", [0.0, 0.0, 1.0, 0.0], 1)
        assert first[0].entity.title == "Ashish Vaswani"
        moved = sample_index()
        moved.entities[4].embedding = [0.0, 0.0, 1.0, 0.0]
        moved.entities[2].embedding = [0.0, 1.0, 0.0, 0.0]
        await store.publish("ns", moved)
        again = await store.search_entities_by_vector("ns", [0.0, 0.0, 1.0, 0.0], 1)
        assert again[0].entity.title == "BLEU"

    async def test_find_passages_finds_chunks_by_vector_nearest_first(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        search = PassageSearch("nothing matches", [], 5, 5, 5, 5, [0.25, 1.0, 0.0, 0.0], chunk_vector_limit=2)
        hits = await store.find_passages("ns", search)
        assert [(u.id, u.text) for u, _ in hits.vector_chunks] == [
            ("t2", "Positional encoding injects token order into the model."),
            ("t1", "The Transformer relies on multi-head attention."),
        ]
        assert [s for _, s in hits.vector_chunks] == pytest.approx([1 / 1.0625**0.5, 0.25 / 1.0625**0.5])
        assert hits.chunks == [] and hits.generation == await store.generation("ns")
        everything = await store.find_passages(
            "ns", replace(search, vector=[0.0, 0.0, 0.0, 1.0], chunk_vector_limit=9)
        )
        assert [u.id for u, _ in everything.vector_chunks][0] == "t3" and len(everything.vector_chunks) == 3

    async def test_find_passages_without_chunk_vectors_or_limit_finds_none_by_vector(
        self, store: GraphStore
    ) -> None:
        search = PassageSearch("attention", [], 5, 5, 5, 5, [1.0, 0.0, 0.0, 0.0], chunk_vector_limit=3)
        await store.publish("ns", sample_index())
        assert (await store.find_passages("ns", replace(search, chunk_vector_limit=0))).vector_chunks == []
        assert (await store.find_passages("ns", replace(search, vector=None))).vector_chunks == []
        await store.publish("ns", sample_index(embeddings=False))
        hits = await store.find_passages("ns", search)
        assert hits.vector_chunks == [] and [u.id for u, _ in hits.chunks] == ["t1"]

    async def test_chunk_vectors_follow_the_republished_build(self, store: GraphStore) -> None:
        search = PassageSearch("", [], 5, 5, 5, 5, [0.0, 0.0, 0.0, 1.0], chunk_vector_limit=1)
        await store.publish("ns", sample_index())
        assert [u.id for u, _ in (await store.find_passages("ns", search)).vector_chunks] == ["t3"]
        moved = sample_index(variant="moved")
        moved.text_units[0].embedding = [0.0, 0.0, 0.0, 2.0]
        await store.publish("ns", moved)
        [(unit, score)] = (await store.find_passages("ns", search)).vector_chunks
        assert (unit.id, unit.text.endswith("moved"), score) == ("t1", True, pytest.approx(1.0))
        assert unit.embedding is None  # a question's reads leave vectors out

    # ------------------------------------------------------------------ neighbourhood reads

    async def test_get_entities_by_title(self, store: GraphStore) -> None:
        index = sample_index()
        await store.publish("ns", index)
        found = await store.get_entities("ns", ["BLEU", "Nobody", "Transformer"])
        assert [e.title for e in found] == ["BLEU", "Transformer"]
        assert found[1] == replace(index.entities[1], embedding=None) or found[1] == index.entities[1]
        assert await store.get_entities("ns", []) == []

    async def test_hostile_link_keys_never_raise(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        for key in [*HOSTILE_QUERIES, 'say "hi"', "a\\b", "MHA OR transformer", "transformer^10"]:
            assert await store.link_entities("ns", [key]) == [], key

    async def test_link_entities_by_title_alias_and_acronym(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        linked = await store.link_entities("ns", ["transformer", "MHA", "nobody", "bleu", "mha"])
        assert [(x.key, x.entity.title) for x in linked] == [
            ("transformer", "Transformer"),
            ("MHA", "Multi-Head Attention"),
            ("bleu", "BLEU"),
        ]
        assert linked[0].entity == replace(sample_index().entities[1], embedding=None)
        assert await store.link_entities("ns", []) == []
        assert await store.link_entities("other", ["transformer"]) == []

    async def test_entities_in_text_units_most_mentioned_then_most_specific(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        both = await store.entities_in_text_units("ns", ["t1", "t2", "missing"], 10)
        assert [e.title for e in both] == ["Multi-Head Attention", "Transformer"]
        mixed = await store.entities_in_text_units("ns", ["t1", "t3"], 10)
        assert [e.title for e in mixed] == [
            "Ashish Vaswani",  # each is mentioned once; those in one text unit only come first
            "Google Brain",
            "BLEU",
            "Multi-Head Attention",
            "Transformer",
        ]
        assert mixed[0].text_unit_ids == ["t3"]
        assert [e.title for e in await store.entities_in_text_units("ns", ["t1", "t3"], 2)] == [
            "Ashish Vaswani",
            "Google Brain",
        ]
        assert await store.entities_in_text_units("ns", [], 10) == []
        assert await store.entities_in_text_units("ns", ["t1"], 0) == []

    async def test_relationships_of_orders_by_weight_then_rank(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        related = await store.relationships_of("ns", ["Transformer"], 10)
        assert [r.id for r in related] == ["r1", "r0", "r3", "r2"]
        assert related[0] == sample_index().relationships[1]
        assert [r.id for r in await store.relationships_of("ns", ["Transformer"], 2)] == ["r1", "r0"]

    async def test_relationships_of_several_titles_once_each(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        related = await store.relationships_of("ns", ["Google Brain", "Ashish Vaswani", "Google Brain"], 10)
        assert [r.id for r in related] == ["r0", "r2", "r4"]
        assert await store.relationships_of("ns", ["Nobody"], 10) == []
        assert await store.relationships_of("ns", [], 10) == []

    async def test_reports_for_counts_matches(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        scored = await store.reports_for("ns", ["e1", "e2", "e3"])
        assert [(s.report.community, s.matches) for s in scored] == [(2, 2), (0, 2), (1, 1)]
        assert scored[1].report == sample_index().reports[0]
        assert scored[1].report.findings[1].explanation == "Scores improved."
        only = await store.reports_for("ns", ["e5", "e5", "nope"])
        assert [(s.report.community, s.matches) for s in only] == [(0, 1)]
        assert await store.reports_for("ns", []) == []

    async def test_child_reports_walk_the_hierarchy_from_the_roots(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        roots = await store.child_reports("ns", [-1])
        assert [(c.parent, c.report.community) for c in roots] == [(-1, 1), (-1, 0)]  # highest rank first
        assert roots[1].report == sample_index().reports[0]
        children = await store.child_reports("ns", [0, 1, 0])
        assert [(c.parent, c.report.community) for c in children] == [(0, 2)]
        assert children[0].report.findings[0].explanation == "B"
        assert await store.child_reports("ns", [2]) == []
        assert await store.child_reports("ns", []) == []
        assert await store.child_reports("nope", [-1]) == []

    async def test_community_text_units(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        assert await store.community_text_units("ns", [0, 2, 99, 0]) == {0: ["t1", "t2", "t3"], 2: ["t1"]}
        assert await store.community_text_units("ns", []) == {}
        assert await store.community_text_units("nope", [0]) == {}

    async def test_community_entities_most_connected_first(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        found = await store.community_entities("ns", [0, 1, 99, 0], 2)
        assert {c: [e.title for e in members] for c, members in found.items()} == {
            0: ["Transformer", "Multi-Head Attention"],  # degree 4, then 2 (BLEU, degree 1, is cut)
            1: ["Ashish Vaswani", "Google Brain"],  # equal degrees: by title
        }
        assert found[0][0].type == "MODEL" and found[0][0].text_unit_ids == ["t1", "t2"]
        assert await store.community_entities("ns", [], 5) == {}
        assert await store.community_entities("nope", [0], 5) == {}

    async def test_get_text_units_in_asked_order(self, store: GraphStore) -> None:
        index = sample_index()
        await store.publish("ns", index)
        units = await store.get_text_units("ns", ["t3", "missing", "t1"])
        assert units == [index.text_units[2], index.text_units[0]]
        assert await store.get_text_units("ns", []) == []

    async def test_document_titles(self, store: GraphStore) -> None:
        await store.publish("ns", sample_index())
        titles = await store.document_titles("ns", ["d2", "d1", "nope"])
        assert titles == {
            "d1": ("Attention Is All You Need", "papers/attention.pdf"),
            "d2": ("Team Notes", "notes/team.md"),
        }

    async def test_many_ids_in_one_call(self, store: GraphStore) -> None:
        await store.publish("ns", large_index(3000))
        titles = [f"Node {i}" for i in range(2500)]
        assert len(await store.get_entities("ns", titles)) == 2500
        assert len(await store.relationships_of("ns", titles, 10_000)) == 2501  # Node 2999 -> Node 0 too
        assert len(await store.get_text_units("ns", [f"lt{i}" for i in range(2000)])) == 2000
        assert len(await store.entities_in_text_units("ns", [f"lt{i}" for i in range(2000)], 5000)) == 2000
        linked = await store.link_entities("ns", [f"node {i}" for i in range(2500)])
        assert len(linked) == 2500
        scored = await store.reports_for("ns", [f"le{i}" for i in range(1500)])
        assert [s.matches for s in scored] == [1500]

    # ------------------------------------------------------------------ namespaces

    async def test_namespaces_are_isolated(self, store: GraphStore) -> None:
        await store.publish("alpha", sample_index(variant="alphaonly"))
        await store.publish("beta", sample_index(variant="betaonly"))
        assert await store.search_entities("alpha", "betaonly", 10) == []
        assert await store.search_text_units("alpha", "betaonly", 10) == []
        hits = await store.search_entities("beta", "betaonly", 10)
        assert len(hits) == 5 and all(h.entity.description.endswith("betaonly") for h in hits)
        for scored in await store.search_entities("alpha", "attention", 10):
            assert scored.entity.description.endswith("alphaonly")
        entities = await store.get_entities("alpha", ["Transformer"])
        assert [e.description.endswith("alphaonly") for e in entities] == [True]
        related = await store.relationships_of("beta", ["Transformer"], 10)
        assert len(related) == 4 and all(r.description.endswith("betaonly") for r in related)
        assert [s.report.summary.endswith("alphaonly") for s in await store.reports_for("alpha", ["e3"])] == [
            True
        ]
        units = await store.get_text_units("beta", ["t1"])
        assert [u.text.endswith("betaonly") for u in units] == [True]
        vectors = await store.search_entities_by_vector("beta", [1.0, 0.0, 0.0, 0.0], 10)
        assert len(vectors) == 5 and all(v.entity.description.endswith("betaonly") for v in vectors)

    async def test_republishing_one_namespace_leaves_the_other(self, store: GraphStore) -> None:
        beta = sample_index(variant="betaonly")
        await store.publish("alpha", sample_index(variant="alphaonly"))
        await store.publish("beta", beta)
        smaller = sample_index(variant="again")
        smaller.entities = smaller.entities[:2]
        kept = {e.title for e in smaller.entities}
        smaller.relationships = [r for r in smaller.relationships if {r.source, r.target} <= kept]
        await store.publish("alpha", smaller)
        assert await store.export("beta") == beta
        stats = await store.stats("alpha")
        assert stats is not None and stats.counts["entities"] == 2
        assert len(await store.search_entities("alpha", "again", 10)) == 2
        assert await store.search_entities("alpha", "alphaonly", 10) == []
        assert len(await store.search_entities_by_vector("alpha", [1.0, 0.0, 0.0, 0.0], 10)) == 2

    # ------------------------------------------------------------------ atomic publish

    async def test_failed_publish_keeps_the_old_index(self, store: GraphStore) -> None:
        old = sample_index()
        await store.publish("ns", old)
        before = await store.stats("ns")
        with pytest.raises(StoreError):
            await store.publish("ns", unstorable_index(sample_index(variant="newer")))
        assert await store.stats("ns") == before
        assert await store.export("ns") == old
        assert [r.entity.title for r in await store.search_entities("ns", "attention", 2)] == [
            "Multi-Head Attention",
            "Transformer",
        ]
        assert await store.search_entities("ns", "newer", 10) == []
        assert len(await store.relationships_of("ns", ["Transformer"], 10)) == 4
        assert (await store.search_entities_by_vector("ns", [1.0, 0.0, 0.0, 0.0], 1))[0].entity.title == (
            "Multi-Head Attention"
        )

    async def test_failed_first_publish_leaves_no_namespace(self, store: GraphStore) -> None:
        with pytest.raises(StoreError):
            await store.publish("fresh", unstorable_index(sample_index()))
        assert await store.stats("fresh") is None
        assert "fresh" not in await store.namespaces()
        assert await store.search_entities("fresh", "attention", 10) == []

    async def test_store_is_usable_after_failed_publish(self, store: GraphStore) -> None:
        with pytest.raises(StoreError):
            await store.publish("ns", unstorable_index(sample_index()))
        await store.publish("ns", sample_index())
        assert await store.export("ns") == sample_index()

    async def test_readers_see_old_or_new_never_partial(self, store: GraphStore) -> None:
        old = sample_index()
        await store.publish("ns", old)
        size = 10_000
        new = large_index(size)
        probe = [e.title for e in old.entities] + [f"Node {i}" for i in range(0, size, 10)]
        publishing = asyncio.create_task(store.publish("ns", new))
        seen_during: list[int] = []
        while not publishing.done():
            count = len(await store.get_entities("ns", probe))
            related = len(await store.relationships_of("ns", ["Transformer", "Node 5"], 100))
            stats = await store.stats("ns")
            assert count in {5, size // 10}
            assert related in {4, 2}
            assert stats is not None and stats.counts["entities"] in {5, size}
            exported = await store.export("ns")
            assert exported is not None
            sizes = (len(exported.entities), len(exported.relationships), len(exported.text_units))
            assert sizes in {(5, 5, 3), (size, size, size)}
            if not publishing.done():
                seen_during.append(count)
        await publishing
        assert seen_during, "the publish finished before any read ran; make the index larger"
        assert seen_during[0] == len(old.entities)
        assert len(await store.get_entities("ns", probe)) == size // 10
        stats = await store.stats("ns")
        assert stats is not None and stats.counts["entities"] == size

    async def test_feedback_counts_once_a_changed_vote_replaces_and_namespaces_stay_apart(
        self, store: GraphStore
    ) -> None:
        await store.publish("ns", sample_index())
        await store.publish("other", sample_index())
        vote = Feedback(
            namespace="ns",
            platform="slack",
            workspace="T1",
            answer_id="a1",
            user="U1",
            vote="down",
            question="What is attention?",
            answer="Attention weighs tokens [Data: Sources (1)].",
            cited=["Sources:1", "Entities:2"],
            generation=await store.generation("ns"),
            search="local",
            mode="llm",
            model="gpt-test",
        )
        assert await store.record_feedback(vote) is True
        assert await store.record_feedback(vote) is False  # a double click or a redelivery
        assert await store.set_feedback_reason(replace(vote, reason="wrong source")) is True
        [kept] = await store.feedback("ns")
        assert (kept.vote, kept.reason, kept.cited, kept.model) == (
            "down",
            "wrong source",
            vote.cited,
            "gpt-test",
        )
        assert kept.generation == vote.generation and kept.question == vote.question and kept.created_at
        assert await store.record_feedback(vote) is False  # the same vote again keeps its reason
        assert (await store.feedback("ns"))[0].reason == "wrong source"
        assert await store.record_feedback(replace(vote, vote="up")) is True  # a changed vote replaces
        [changed] = await store.feedback("ns")
        assert (changed.vote, changed.reason) == ("up", "")
        # Another person, another workspace and another namespace are other rows; nothing crosses namespaces.
        await store.record_feedback(replace(vote, user="U2"))
        await store.record_feedback(replace(vote, workspace="T2"))
        await store.record_feedback(replace(vote, namespace="other"))
        assert len(await store.feedback("ns")) == 3 and len(await store.feedback("other")) == 1
        assert await store.set_feedback_reason(replace(vote, answer_id="nope", reason="x")) is False
        await store.publish("ns", sample_index(variant="b"))  # republishing keeps the votes
        assert len(await store.feedback("ns")) == 3
