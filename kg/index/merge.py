"""Merge per-chunk extractions into one graph: entities by normalised title, relationships by entity pair.

The graph is always re-merged from per-chunk results (most of them cached), so an edited or deleted document
changes exactly its own contribution.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kg.index.extract.base import ChunkExtraction
from kg.index.extract.nlp import pick_type
from kg.model import Entity, Relationship, TextUnit, content_id
from kg.text.words import normalize_title

Summarize = Callable[[str, list[str]], str]  # (name, descriptions) -> one description


def extractive_summary(
    name: str, descriptions: list[str], max_sentences: int = 3, max_chars: int = 700
) -> str:
    """The most informative distinct descriptions, joined: definitional sentences about `name` first."""
    seen: set[str] = set()
    unique: list[str] = []
    for d in descriptions:
        d = " ".join(d.split())
        fingerprint = re.sub(r"\W+", "", d.lower())
        if d and fingerprint not in seen:
            seen.add(fingerprint)
            unique.append(d)
    lowered = name.lower()

    def score(item: tuple[int, str]) -> tuple[float, int]:
        i, d = item
        low = d.lower()
        s = 0.0
        pos = low.find(lowered)
        if pos != -1:
            s += 2.0 if pos < 40 else 1.0
        if re.search(r"\b(is|are|was|were|consists? of|refers? to|means)\b", low):
            s += 1.0
        if 60 <= len(d) <= 320:
            s += 1.0
        return (s, -i)  # ties: earlier first

    chosen = sorted(enumerate(unique), key=score, reverse=True)[:max_sentences]
    chosen.sort()  # keep document order for readability
    text = " ".join(d for _, d in chosen)
    return text if len(text) <= max_chars else text[: max_chars - 1].rsplit(" ", 1)[0] + "…"


@dataclass
class _EntityAcc:
    forms: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    descriptions: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)


@dataclass
class _RelAcc:
    weight: float = 0.0
    descriptions: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)


@dataclass
class MergedGraph:
    """Merged entities and relationships whose descriptions are still to be written from the description
    lists gathered for each (`entity_descriptions[i]` belongs to `entities[i]`, likewise for relationships)."""

    entities: list[Entity]
    relationships: list[Relationship]
    entity_descriptions: list[list[str]]
    relationship_descriptions: list[list[str]]


def merge_extractions(
    units: Sequence[TextUnit],
    extractions: Sequence[ChunkExtraction],
    summarize: Summarize = extractive_summary,
    prune_isolated: bool = True,
) -> tuple[list[Entity], list[Relationship]]:
    """Entities and relationships of the whole corpus, with degrees, ranks and short ids (1-based), each
    description summarised from its list by `summarize` (see `merge_graph`)."""
    merged = merge_graph(units, extractions, prune_isolated)
    apply_summaries(merged, summarize)
    return merged.entities, merged.relationships


def apply_summaries(merged: MergedGraph, summarize: Summarize = extractive_summary) -> None:
    """Write every description of `merged` with a synchronous `summarize` (the offline path)."""
    for e, descriptions in zip(merged.entities, merged.entity_descriptions, strict=True):
        e.description = summarize(e.title, descriptions)
    for r, descriptions in zip(merged.relationships, merged.relationship_descriptions, strict=True):
        r.description = summarize(f"{r.source} {r.target}", descriptions)


def merge_graph(
    units: Sequence[TextUnit], extractions: Sequence[ChunkExtraction], prune_isolated: bool = True
) -> MergedGraph:
    """Entities and relationships of the whole corpus, with degrees, ranks and short ids (1-based), and the
    descriptions gathered for each; their `description` is left empty.

    With `prune_isolated`, an entity seen in a single chunk and connected to nothing (or a key phrase with
    a single connection) is dropped: for the heuristic extractor that is nearly always noise.
    """
    entities: dict[str, _EntityAcc] = {}
    rels: dict[tuple[str, str], _RelAcc] = {}
    for unit, ext in zip(units, extractions, strict=True):
        for e in ext.entities:
            key = normalize_title(e.title)
            if not key:
                continue
            acc = entities.setdefault(key, _EntityAcc())
            acc.forms[e.title.strip()] += 1
            acc.types[e.type] += 1
            if e.description:
                acc.descriptions.append(e.description)
            if not acc.units or acc.units[-1] != unit.id:
                acc.units.append(unit.id)
        for r in ext.relationships:
            a, b = normalize_title(r.source), normalize_title(r.target)
            if not a or not b or a == b:
                continue
            for k, title in ((a, r.source), (b, r.target)):  # an endpoint is an entity even if not listed
                if k not in entities:
                    entities[k] = _EntityAcc()
                    entities[k].forms[title.strip()] += 1
                    entities[k].types["CONCEPT"] += 1
            pair = (a, b) if a < b else (b, a)
            racc = rels.setdefault(pair, _RelAcc())
            racc.weight += r.weight
            racc.descriptions.append(r.description)
            if not racc.units or racc.units[-1] != unit.id:
                racc.units.append(unit.id)

    def degrees() -> Counter[str]:
        d: Counter[str] = Counter()
        for a, b in rels:
            d[a] += 1
            d[b] += 1
        return d

    if prune_isolated:
        degree = degrees()

        def noise(key: str, acc: _EntityAcc) -> bool:
            if len(set(acc.units)) > 1:
                return False
            return degree[key] == 0 or (pick_type(acc.types.elements()) == "CONCEPT" and degree[key] <= 1)

        entities = {k: v for k, v in entities.items() if not noise(k, v)}
        rels = {pair: r for pair, r in rels.items() if pair[0] in entities and pair[1] in entities}
    degree = degrees()

    title_of = {k: acc.forms.most_common(1)[0][0] for k, acc in entities.items()}
    out_entities: list[Entity] = []
    for i, (key, acc) in enumerate(entities.items(), start=1):
        title = title_of[key]
        out_entities.append(
            Entity(
                id=content_id("entity", key),
                short_id=i,
                title=title,
                type=pick_type(acc.types.elements()),
                description="",
                text_unit_ids=list(dict.fromkeys(acc.units)),
                degree=degree[key],
            )
        )

    out_rels: list[Relationship] = []
    for i, ((a, b), racc) in enumerate(rels.items(), start=1):
        source, target = title_of[a], title_of[b]
        out_rels.append(
            Relationship(
                id=content_id("relationship", a, b),
                short_id=i,
                source=source,
                target=target,
                description="",
                weight=racc.weight,
                text_unit_ids=list(dict.fromkeys(racc.units)),
                rank=degree[a] + degree[b],
            )
        )
    for i, r in enumerate(out_rels, start=1):
        r.short_id = i
    return MergedGraph(
        out_entities,
        out_rels,
        [acc.descriptions for acc in entities.values()],
        [racc.descriptions for racc in rels.values()],
    )
