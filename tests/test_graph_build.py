"""Merge, communities and extractive reports on hand-made per-chunk extractions."""

from __future__ import annotations

from kg.index.communities import detect_communities
from kg.index.extract.base import ChunkExtraction, ExtractedEntity, ExtractedRelationship
from kg.index.merge import extractive_summary, merge_extractions
from kg.index.reports import extractive_reports
from kg.model import Entity, Relationship, TextUnit


def _unit(i: int, text: str = "") -> TextUnit:
    return TextUnit(id=f"u{i}", short_id=i, document_id="d", text=text, n_tokens=1)


def _ent(title: str, typ: str = "CONCEPT", desc: str = "") -> ExtractedEntity:
    return ExtractedEntity(title=title, type=typ, description=desc or f"{title} is mentioned here.")


def _rel(a: str, b: str, desc: str = "", w: float = 1.0) -> ExtractedRelationship:
    return ExtractedRelationship(source=a, target=b, description=desc or f"{a} works with {b}.", weight=w)


def test_merge_joins_title_variants_and_sums_weights() -> None:
    units = [_unit(1), _unit(2)]
    exts = [
        ChunkExtraction(
            entities=[_ent("Multi-Head Attention"), _ent("Transformer", "TECHNOLOGY")],
            relationships=[
                _rel("Multi-Head Attention", "Transformer", "The Transformer uses multi-head attention.")
            ],
        ),
        ChunkExtraction(
            entities=[_ent("multi-head attention"), _ent("Transformer", "TECHNOLOGY")],
            relationships=[
                _rel("transformer", "multi-head attention", "Multi-head attention runs in parallel.", 2)
            ],
        ),
    ]
    entities, rels = merge_extractions(units, exts)
    titles = sorted(e.title.lower() for e in entities)
    assert titles == ["multi-head attention", "transformer"]
    assert len(rels) == 1
    rel = rels[0]
    assert rel.weight == 3
    assert rel.text_unit_ids == ["u1", "u2"]
    assert "parallel" in rel.description and "uses multi-head" in rel.description
    by_title = {e.title.lower(): e for e in entities}
    assert by_title["transformer"].type == "TECHNOLOGY"
    assert by_title["transformer"].degree == 1
    assert rel.rank == 2
    assert sorted(e.short_id for e in entities) == [1, 2]


def test_merge_is_deterministic_in_ids() -> None:
    units = [_unit(1)]
    exts = [ChunkExtraction(entities=[_ent("Alpha"), _ent("Beta")], relationships=[_rel("Alpha", "Beta")])]
    first, _ = merge_extractions(units, exts)
    second, _ = merge_extractions(units, exts)
    assert [e.id for e in first] == [e.id for e in second]


def test_merge_prunes_isolated_single_chunk_entities_only() -> None:
    units = [_unit(1), _unit(2)]
    exts = [
        ChunkExtraction(
            entities=[
                _ent("Lonely", "NAME"),
                _ent("Recurring"),
                _ent("Ada Byron", "PERSON"),
                _ent("Bletchley", "GEO"),
                _ent("odd phrase"),
                _ent("other phrase"),
            ],
            relationships=[_rel("Ada Byron", "Bletchley"), _rel("odd phrase", "other phrase")],
        ),
        ChunkExtraction(entities=[_ent("Recurring")]),
    ]
    entities, rels = merge_extractions(units, exts)
    titles = {e.title for e in entities}
    assert "Lonely" not in titles  # one chunk, no connection
    assert not {"odd phrase", "other phrase"} & titles  # one-off key phrases with a single link
    assert {"Recurring", "Ada Byron", "Bletchley"} <= titles
    assert [(r.source, r.target) for r in rels] == [("Ada Byron", "Bletchley")]
    kept, _ = merge_extractions(units, exts, prune_isolated=False)
    assert {"Lonely", "odd phrase"} <= {e.title for e in kept}


def test_extractive_summary_prefers_definitions_and_drops_duplicates() -> None:
    descs = [
        "We ran many things in parallel.",
        "Attention is a function mapping a query and key-value pairs to an output.",
        "Attention is a function mapping a query and key-value pairs to an output.",
        "Results were good.",
    ]
    best = extractive_summary("Attention", descs, max_sentences=1)
    assert best == "Attention is a function mapping a query and key-value pairs to an output."
    two = extractive_summary("Attention", descs, max_sentences=2)
    assert two.count("Attention is a function") == 1
    assert two.endswith("Results were good.")  # the definition, then the next best in document order


def _graph(n_clusters: int, size: int) -> tuple[list[Entity], list[Relationship]]:
    entities = [
        Entity(
            id=f"e{c}_{i}",
            short_id=c * size + i + 1,
            title=f"N{c}_{i}",
            type="CONCEPT",
            description="d",
            degree=0,
        )
        for c in range(n_clusters)
        for i in range(size)
    ]
    rels: list[Relationship] = []
    for c in range(n_clusters):
        for i in range(size):
            for j in range(i + 1, size):
                rels.append(
                    Relationship(
                        id=f"r{len(rels)}",
                        short_id=len(rels) + 1,
                        source=f"N{c}_{i}",
                        target=f"N{c}_{j}",
                        description="x",
                        weight=5,
                        text_unit_ids=[f"u{c}"],
                    )
                )
    for c in range(n_clusters - 1):  # one weak bridge between neighbouring clusters
        rels.append(
            Relationship(
                id=f"r{len(rels)}",
                short_id=len(rels) + 1,
                source=f"N{c}_0",
                target=f"N{c + 1}_0",
                description="b",
                weight=1,
            )
        )
    return entities, rels


def test_communities_find_planted_clusters_with_fixed_seed() -> None:
    entities, rels = _graph(4, 6)
    communities = detect_communities(entities, rels, max_cluster_size=10, seed=7)
    top = [c for c in communities if c.level == 0]
    assert len(top) == 4
    for c in top:
        prefixes = {eid.split("_")[0] for eid in c.entity_ids}
        assert len(prefixes) == 1, "a planted cluster was split or mixed"
        assert c.parent == -1
        assert c.text_unit_ids  # units come from the internal relationships
    again = detect_communities(entities, rels, max_cluster_size=10, seed=7)
    assert [c.entity_ids for c in again] == [c.entity_ids for c in communities]


def test_communities_split_large_clusters_into_levels() -> None:
    # Two planted clusters of 12 inside one big cluster joined strongly: level 0 may hold both, but no leaf
    # may exceed max_cluster_size when it can be split.
    entities, rels = _graph(6, 8)
    communities = detect_communities(entities, rels, max_cluster_size=10, seed=1)
    ids = {c.id for c in communities}
    for c in communities:
        assert c.parent == -1 or c.parent in ids
        if c.parent != -1:
            parent = next(p for p in communities if p.id == c.parent)
            assert c.level == parent.level + 1
            assert set(c.entity_ids) <= set(parent.entity_ids)
    leaves = [c for c in communities if not any(o.parent == c.id for o in communities)]
    assert all(len(c.entity_ids) <= 10 for c in leaves)


def test_communities_of_a_graph_without_edges_are_empty() -> None:
    entities, _ = _graph(1, 3)
    assert detect_communities(entities, [], max_cluster_size=10) == []


def test_extractive_reports_name_the_hubs_and_cite_strong_relationships() -> None:
    entities, rels = _graph(2, 4)
    # make N0_1 the hub of community 0
    for e in entities:
        e.degree = 5 if e.title == "N0_1" else 1
        e.description = f"{e.title} is an entity of the test graph."
    rels[0].weight = 50
    rels[0].description = "N0_0 and N0_1 are the strongest pair."
    communities = detect_communities(entities, rels, max_cluster_size=10, seed=3)
    reports = extractive_reports(communities, entities, rels)
    assert len(reports) == len(communities) > 0
    report = next(r for r in reports if "N0_1" in r.title)
    assert report.title.startswith("N0_1")
    assert report.findings[0].explanation == "N0_0 and N0_1 are the strongest pair."
    assert 0 < report.rank <= 10
    assert report.full_content.startswith(f"# {report.title}")
    assert communities[report.community].title == report.title
