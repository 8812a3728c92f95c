"""What a picture of an answer shows: the evidence it cites, and what linked that evidence.

A local answer cites entities, relationships and passages. The picture draws the cited entities (and the two
ends of each cited relationship), every relationship between them, and, faded, the neighbours that link two
or more of them: why this passage was reached from that question. A global answer cites community reports;
its picture draws each cited community with its most connected entities. An answer that cites passages only
draws the entities those passages mention.

`EvidenceIds` is what an answer cites, named the way the store finds it (titles, community ids, text unit
ids), small enough to keep beside the answer so the picture can be drawn on demand, after a restart too.
`build_evidence` turns the records gather.py read into nodes and edges. Both are pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.model import Entity, Relationship
from kg.search.picture.labels import TYPE_CHARS, clean_label, short_description

MAX_NEIGHBOURS = 12  # faded linking entities, the ones linking the most cited entities first
MAX_SOURCE_ENTITIES = 12  # entities drawn for an answer that cites passages only
COMMUNITY_MEMBERS = 6  # top entities drawn per cited community

# What a node is in the picture; renderers style them differently.
CITED, MEMBER, NEIGHBOUR, COMMUNITY = "cited", "member", "neighbour", "community"


@dataclass(frozen=True)
class EvidenceIds:
    """What an answer cites, as the store names it."""

    entities: tuple[str, ...] = ()  # titles
    relationships: tuple[tuple[str, str], ...] = ()  # (source title, target title)
    reports: tuple[tuple[int, str], ...] = ()  # (community id, report title)
    sources: tuple[str, ...] = ()  # text unit ids

    @property
    def empty(self) -> bool:
        return not (self.entities or self.relationships or self.reports or self.sources)

    def to_json(self) -> dict[str, Any]:
        return {
            "entities": list(self.entities),
            "relationships": [list(pair) for pair in self.relationships],
            "reports": [[community, title] for community, title in self.reports],
            "sources": list(self.sources),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvidenceIds:
        return cls(
            entities=tuple(str(t) for t in data.get("entities", [])),
            relationships=tuple((str(s), str(t)) for s, t in data.get("relationships", [])),
            reports=tuple((int(c), str(t)) for c, t in data.get("reports", [])),
            sources=tuple(str(u) for u in data.get("sources", [])),
        )


def cited_evidence(
    cited: Sequence[tuple[str, int]],
    entities: Sequence[Entity],
    relationships: Sequence[Relationship],
    reports: Sequence[tuple[int, str]],
    sources: Sequence[tuple[str, int]],
) -> EvidenceIds:
    """The ids of what an answer cites (`cited`: (dataset, short id) pairs, as its citations give them),
    looked up in its context's records; `sources` are (text unit id, short id) pairs."""
    wanted = {(d, i) for d, i in cited}
    return EvidenceIds(
        entities=tuple(dict.fromkeys(e.title for e in entities if ("Entities", e.short_id) in wanted)),
        relationships=tuple(
            dict.fromkeys(
                (r.source, r.target) for r in relationships if ("Relationships", r.short_id) in wanted
            )
        ),
        reports=tuple((c, t) for c, t in reports if ("Reports", c) in wanted),
        sources=tuple(u for u, short_id in sources if ("Sources", short_id) in wanted),
    )


@dataclass(frozen=True)
class Node:
    key: str  # the entity's title, or "community:<id>": what edges name
    name: str  # the label drawn (clean, short)
    kind: str  # the entity's type, or "community"
    role: str  # CITED | MEMBER | NEIGHBOUR | COMMUNITY
    degree: int = 0  # in the whole graph: breaks ties between equally central nodes


@dataclass(frozen=True)
class Edge:
    source: str  # node keys
    target: str
    label: str  # the relationship's short description ("" for community membership)
    cited: bool = False
    weight: float = 1.0


@dataclass
class Evidence:
    """Everything a picture may show, before the picture chooses what fits."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)  # titles of the source documents, for the legend
    title: str = ""  # the question, as the picture's heading


def _node(entity: Entity, role: str) -> Node:
    return Node(
        key=entity.title,
        name=clean_label(entity.title),
        kind=clean_label(entity.type.lower() or "entity", TYPE_CHARS),
        role=role,
        degree=entity.degree,
    )


def linking_neighbours(
    cited_titles: set[str], relationships: Sequence[Relationship], limit: int = MAX_NEIGHBOURS
) -> list[str]:
    """Titles of entities outside `cited_titles` that relationships link to two or more cited entities, the
    ones linking the most first."""
    links: dict[str, set[str]] = {}
    for r in relationships:
        for inside, outside in ((r.source, r.target), (r.target, r.source)):
            if inside in cited_titles and outside not in cited_titles:
                links.setdefault(outside, set()).add(inside)
    ranked = sorted((t for t, ends in links.items() if len(ends) >= 2), key=lambda t: (-len(links[t]), t))
    return ranked[:limit]


def build_evidence(
    ids: EvidenceIds,
    cited: Sequence[Entity],
    relationships: Sequence[Relationship],
    neighbours: Sequence[Entity] = (),
    members: dict[int, list[Entity]] | None = None,
    documents: Sequence[str] = (),
    title: str = "",
) -> Evidence:
    """The nodes and edges of a picture: `cited` entities, the communities of cited reports with their
    `members`, the linking `neighbours` (faded), and each of `relationships` whose two ends are drawn."""
    nodes: dict[str, Node] = {}
    edges: dict[frozenset[str], Edge] = {}
    for entity in cited:
        nodes.setdefault(entity.title, _node(entity, CITED))
    for community, report_title in ids.reports:
        key = f"community:{community}"
        nodes[key] = Node(key, clean_label(report_title or f"Community {community}"), "community", COMMUNITY)
        for entity in (members or {}).get(community, []):
            nodes.setdefault(entity.title, _node(entity, MEMBER))
            edges.setdefault(frozenset((key, entity.title)), Edge(key, entity.title, ""))
    for entity in neighbours:
        nodes.setdefault(entity.title, _node(entity, NEIGHBOUR))
    cited_pairs = {frozenset(pair) for pair in ids.relationships}
    ordered = sorted(relationships, key=lambda r: frozenset((r.source, r.target)) not in cited_pairs)
    for r in ordered:  # cited relationships first, so a pair's edge is the cited one
        pair = frozenset((r.source, r.target))
        if r.source in nodes and r.target in nodes and r.source != r.target and pair not in edges:
            edges[pair] = Edge(
                r.source, r.target, short_description(r.description), pair in cited_pairs, r.weight
            )
    return Evidence(list(nodes.values()), list(edges.values()), list(dict.fromkeys(documents)), title)
