"""Reading what a picture needs from the store: a handful of set-at-a-time reads, whatever the answer cites.

The ids kept beside an answer are enough (kg.search.picture.evidence.EvidenceIds), so a picture can be drawn
long after the answer, by another process, from the namespace's current build.
"""

from __future__ import annotations

from kg.model import Entity
from kg.search.picture.evidence import (
    COMMUNITY_MEMBERS,
    MAX_SOURCE_ENTITIES,
    Evidence,
    EvidenceIds,
    build_evidence,
    linking_neighbours,
)
from kg.store.base import GraphStore

RELATIONSHIPS_READ = 400  # around the drawn entities, strongest first: plenty for 24 drawn nodes
TEXT_UNITS_READ = 60  # for the legend of source documents


async def gather(store: GraphStore, namespace: str, ids: EvidenceIds, title: str = "") -> Evidence:
    """The evidence of an answer citing `ids`, read from the namespace's published build."""
    titles = list(dict.fromkeys([*ids.entities, *(end for pair in ids.relationships for end in pair)]))
    if not titles and not ids.reports and ids.sources:
        mentioned = await store.entities_in_text_units(namespace, list(ids.sources), MAX_SOURCE_ENTITIES)
        titles = [e.title for e in mentioned]
    cited = await store.get_entities(namespace, titles)
    members: dict[int, list[Entity]] = {}
    if ids.reports:
        members = await store.community_entities(namespace, [c for c, _ in ids.reports], COMMUNITY_MEMBERS)
    drawn = list(dict.fromkeys([e.title for e in cited] + [e.title for m in members.values() for e in m]))
    around = await store.relationships_of(namespace, drawn, RELATIONSHIPS_READ) if drawn else []
    neighbour_titles = linking_neighbours({e.title for e in cited}, around)
    neighbours = await store.get_entities(namespace, neighbour_titles)
    shown = [*cited, *(e for m in members.values() for e in m)]
    unit_ids = list(ids.sources) + [u for e in shown for u in e.text_unit_ids]
    units = await store.get_text_units(namespace, list(dict.fromkeys(unit_ids))[:TEXT_UNITS_READ])
    documents = await store.document_titles(namespace, [u.document_id for u in units])
    legend = [
        documents[u.document_id][0] or documents[u.document_id][1]
        for u in units
        if u.document_id in documents
    ]
    return build_evidence(ids, cited, around, neighbours, members, legend, title)
