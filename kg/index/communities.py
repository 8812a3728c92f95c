"""Hierarchical Leiden communities, as GraphRAG builds them.

Level 0 partitions the whole graph; any community larger than `max_cluster_size` is partitioned again into
children one level deeper, until every leaf is small enough or cannot be split. A fixed seed makes a build
reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence

import igraph as ig
import leidenalg

from kg.model import Community, Entity, Relationship


def _partition(graph: ig.Graph, seed: int) -> list[list[int]]:
    if graph.ecount() == 0:
        return [[v] for v in range(graph.vcount())]
    part = leidenalg.find_partition(
        graph, leidenalg.ModularityVertexPartition, weights="weight", seed=seed, n_iterations=-1
    )
    return [list(c) for c in part]


def detect_communities(
    entities: Sequence[Entity],
    relationships: Sequence[Relationship],
    max_cluster_size: int = 10,
    seed: int = 0xDEADBEEF,
    max_levels: int = 4,
) -> list[Community]:
    """Communities of every level, parents before children, ids from 0 in that order.

    Entities without relationships belong to no community (a community of one says nothing), and
    communities of fewer than two entities are not kept.
    """
    index = {e.title: i for i, e in enumerate(entities)}
    edges: dict[tuple[int, int], float] = {}
    edge_rel: dict[tuple[int, int], list[str]] = {}
    for r in relationships:
        a, b = index.get(r.source), index.get(r.target)
        if a is None or b is None or a == b:
            continue
        key = (a, b) if a < b else (b, a)
        edges[key] = edges.get(key, 0.0) + max(r.weight, 1e-6)
        edge_rel.setdefault(key, []).append(r.id)
    connected = sorted({v for e in edges for v in e})
    if not connected:
        return []
    local = {v: i for i, v in enumerate(connected)}
    graph = ig.Graph(n=len(connected), edges=[(local[a], local[b]) for a, b in edges])
    graph.es["weight"] = list(edges.values())
    graph.vs["entity"] = connected

    adjacent: dict[int, list[tuple[int, int]]] = {}
    for a, b in edges:
        adjacent.setdefault(a, []).append((a, b))
        adjacent.setdefault(b, []).append((a, b))
    units_of_rel = {r.id: r.text_unit_ids for r in relationships}
    communities: list[Community] = []

    def add(members: list[int], level: int, parent: int) -> int:
        member_set = set(members)
        inside = {
            key for v in members for key in adjacent[v] if key[0] in member_set and key[1] in member_set
        }
        rel_ids = [rid for key in sorted(inside) for rid in edge_rel[key]]
        units = list(dict.fromkeys(u for rid in rel_ids for u in units_of_rel[rid]))
        community = Community(
            id=len(communities),
            level=level,
            parent=parent,
            entity_ids=[entities[v].id for v in members],
            relationship_ids=rel_ids,
            text_unit_ids=units,
        )
        communities.append(community)
        return community.id

    # Breadth-first so that ids read level by level, like GraphRAG's.
    frontier: list[tuple[ig.Graph, int, int]] = [(graph, 0, -1)]
    while frontier:
        next_frontier: list[tuple[ig.Graph, int, int]] = []
        for sub, level, parent in frontier:
            clusters = _partition(sub, seed)
            if parent != -1 and len(clusters) < 2:
                continue  # cannot be split further: the parent is already the leaf
            for cluster in sorted(clusters, key=len, reverse=True):
                if len(cluster) < 2:
                    continue
                members = [sub.vs[v]["entity"] for v in cluster]
                cid = add(members, level, parent)
                if len(cluster) > max_cluster_size and level + 1 < max_levels:
                    next_frontier.append((sub.induced_subgraph(cluster), level + 1, cid))
        frontier = next_frontier
    return communities
