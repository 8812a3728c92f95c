"""GraphRAG local search: map a question to entities, rank passages through the graph, and fill a token budget.

Every read is set-at-a-time, so a question costs the same handful of store queries at 1k or 100k entities:
three concurrent first reads (entity search, chunk search, entity linking), one for the entities of the top
chunks, then three concurrent ones (relationships, reports, the texts of passages only the graph found).
Improvements over GraphRAG's context builder:
- entities are linked offline by name (kg.text.names: titles, aliases, acronyms, case and plural variants) as
  well as mapped by full-text BM25 fused with vector similarity by reciprocal rank;
- Sources are ranked by full-text relevance plus spreading activation over the passage-entity graph
  (kg.search.passages, after HippoRAG 2): the passage naming the bridge entity of a multi-hop question is
  reached through the top passages' entities, not only through shared words;
- the budget follows the evidence: the graph tables (reports, entities, relationships) take small shares
  that grow with the budget and with how much the graph ranked the question's passages (none below 1,000
  tokens), and everything else goes to Sources, filled to the end (kg.search.budget).
  bench/evidence_recall.py measured why: with GraphRAG's split (half the budget to the tables) the tables
  added no evidence the passages they displaced would not have held.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from kg.model import Embed, Entity, Relationship, TextUnit, Turn
from kg.search.budget import (
    Filling,
    Table,
    add_excerpt,
    fill_sources,
    further_limit,
    graph_signal,
    more_candidates_needed,
    shares,
)
from kg.search.context import Context
from kg.search.passages import (
    SEED_PASSAGES,
    RankedPassage,
    Seed,
    entity_weights,
    normalised_text_scores,
    rank_passages,
    seeds_of,
    spread,
)
from kg.store.base import GraphStore, StoreError
from kg.text.names import longest_mentions, question_mentions
from kg.text.tables import cell
from kg.text.tokens import count_tokens, truncate

ENTITY_DESCRIPTION_TOKENS = 60
HISTORY_SHARE = 0.10  # at most; what history does not use goes to the other tables
HISTORY_TURNS = 3  # user turns that join the question for entity mapping
RRF_K = 60
READ_ATTEMPTS = 3  # a question is read again when a publish lands between its reads, at most this often
MAX_RELATIONSHIPS = 100  # candidate relationships read per question (the table shows a few of them)
MAX_SOURCE_CANDIDATES = 60
MAX_PASSAGE_ENTITIES = 100  # entities read from the top passages to seed the graph


def _rrf(*rankings: Sequence[str]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking):
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
    return scores


def mapping_query(question: str, history: Sequence[Turn]) -> str:
    """What entities are looked up by: the question and, for a follow-up, the user's recent turns."""
    recent = [t.text for t in history if t.role == "user"][-HISTORY_TURNS:]
    return " ".join([question, *reversed(recent)])


async def _map_entities(
    store: GraphStore, namespace: str, query: str, top_k: int, embed: Embed | None
) -> list[Entity]:
    oversample = top_k * 2
    text_hits = await store.search_entities(namespace, query, oversample)
    rankings = [[h.entity.id for h in text_hits]]
    by_id = {h.entity.id: h.entity for h in text_hits}
    if embed is not None:
        vector_hits = await store.search_entities_by_vector(namespace, await embed(query), oversample)
        rankings.append([h.entity.id for h in vector_hits])
        by_id.update((h.entity.id, h.entity) for h in vector_hits)
    fused = _rrf(*rankings)
    ranked = sorted(fused, key=lambda k: -fused[k])
    return [by_id[k] for k in ranked[:top_k]]


def _rank_relationships(selected: Sequence[Entity], candidates: Sequence[Relationship]) -> list[Relationship]:
    """In-network first (both ends selected), then out-of-network by how many selected entities the outside
    end links to, then weight and rank."""
    chosen = {e.title for e in selected}
    inside = [r for r in candidates if r.source in chosen and r.target in chosen]
    outside = [r for r in candidates if not (r.source in chosen and r.target in chosen)]
    links: Counter[str] = Counter()
    for r in outside:
        links[r.target if r.source in chosen else r.source] += 1
    inside.sort(key=lambda r: (-r.weight, -r.rank, r.short_id))
    outside.sort(
        key=lambda r: (-links[r.target if r.source in chosen else r.source], -r.weight, -r.rank, r.short_id)
    )
    return inside + outside


async def _link_entities(store: GraphStore, namespace: str, query: str) -> list[Entity]:
    """Entities the question names (kg.text.names), longest mention first; a span naming several entities
    links to all of them."""
    mentions = question_mentions(query)
    if not mentions:
        return []
    found = await store.link_entities(namespace, [m.key for m in mentions])
    by_key: dict[str, list[Entity]] = {}
    for x in found:
        by_key.setdefault(x.key, []).append(x.entity)
    kept = longest_mentions([m for m in mentions if m.key in by_key])
    return list({e.id: e for m in kept for e in by_key[m.key]}.values())


@dataclass
class Found:
    """What the first reads found: entities named and matched, full-text hits, seeds and ranked passages."""

    linked: list[Entity]
    mapped: list[Entity]
    text_hits: list[tuple[TextUnit, float]]
    seeds: list[Seed]
    ranked: list[RankedPassage]


async def find_passages(
    store: GraphStore, namespace: str, query: str, top_k: int, embed: Embed | None
) -> Found:
    """Link and map the query's entities, search the chunks, and rank passages through the graph: three
    concurrent reads, then one for the top passages' entities."""
    mapped, unit_hits, linked = await asyncio.gather(
        _map_entities(store, namespace, query, top_k, embed),
        store.search_text_units(namespace, query, max(top_k, MAX_SOURCE_CANDIDATES)),
        _link_entities(store, namespace, query),
    )
    text_scores = normalised_text_scores(unit_hits)
    seed_units = [u.id for u, _ in unit_hits[:SEED_PASSAGES]]
    passage_entities = (
        await store.entities_in_text_units(namespace, seed_units, MAX_PASSAGE_ENTITIES) if seed_units else []
    )
    seeds = seeds_of(linked, mapped, passage_entities, text_scores, seed_units)
    ranked = rank_passages(text_scores, spread(seeds), MAX_SOURCE_CANDIDATES)
    return Found(linked, mapped, unit_hits, seeds, ranked)


def _select_entities(
    linked: Sequence[Entity], mapped: Sequence[Entity], seeds: dict[str, tuple[Entity, float]], top_k: int
) -> list[Entity]:
    """The entities the tables describe: those the question names, then the entity search's, then the ones
    the top passages carry most weight through (the bridges of a multi-hop question)."""
    bridges = sorted(seeds.values(), key=lambda s: (-s[1], s[0].short_id))
    chosen: dict[str, Entity] = {}
    for e in [*linked, *mapped[: max(top_k // 2, 1)], *(e for e, _ in bridges), *mapped]:
        if len(chosen) >= top_k:
            break
        chosen.setdefault(e.id, e)
    return list(chosen.values())


async def build_context(
    store: GraphStore,
    question: str,
    history: Sequence[Turn] = (),
    namespace: str = "default",
    budget: int = 12000,
    top_k: int = 10,
    embed: Embed | None = None,
) -> Context:
    """The local-search context of `question` within `budget` tokens. Makes no model call.

    A question takes several reads; a publish landing between them would mix two builds in one answer (the
    entities of one, the relationships of the next). The namespace's build number is read before and after:
    when it changed, the context is read again from the new build."""
    for _ in range(READ_ATTEMPTS):
        before = await store.generation(namespace)
        context = await _read_context(store, question, history, namespace, budget, top_k, embed)
        if await store.generation(namespace) == before:
            context.generation = before
            return context
    raise StoreError(
        f"namespace {namespace!r} was republished {READ_ATTEMPTS} times while one question was read; ask again"
    )


async def _read_context(
    store: GraphStore,
    question: str,
    history: Sequence[Turn],
    namespace: str,
    budget: int,
    top_k: int,
    embed: Embed | None,
) -> Context:
    context = Context(question=question)
    query = mapping_query(question, history)
    limit = max(top_k, MAX_SOURCE_CANDIDATES)  # what the first passage read asked for (find_passages)
    found = await find_passages(store, namespace, query, top_k, embed)
    unit_hits, ranked = found.text_hits, found.ranked
    selected = _select_entities(found.linked, found.mapped, entity_weights(found.seeds), top_k)
    titles = [e.title for e in selected]
    known = {u.id: u for u, _ in unit_hits}
    missing = [p.id for p in ranked if p.id not in known]
    candidates, scored_reports, fetched = await asyncio.gather(
        store.relationships_of(namespace, titles, MAX_RELATIONSHIPS) if titles else _none(),
        store.reports_for(namespace, [e.id for e in selected]) if selected else _none(),
        store.get_text_units(namespace, missing) if missing else _none(),
    )
    relationships = _rank_relationships(selected, candidates)
    known.update((u.id, u) for u in fetched)
    units = [known[p.id] for p in ranked if p.id in known]

    tables: list[Table] = []
    remaining = budget

    recent = context.history = list(history)[-2 * HISTORY_TURNS :]
    if recent:
        table = Table("Conversation", "role|content", int(budget * HISTORY_SHARE))
        for turn in recent:
            table.add(f"{turn.role}|{cell(truncate(turn.text, 300))}")
        tables.append(table)
        remaining -= table.cost

    # The graph tables take shares that grow with the budget and with how much the graph ranked this
    # question's passages (kg.search.budget), row by row in order of value; Sources take the rest.
    share = shares(budget, graph_signal(ranked, len(found.linked)))
    reports = Table("Reports", "id|title|content", int(remaining * share.reports))
    scored_reports.sort(key=lambda s: (-s.matches, -s.report.rank, s.report.community))
    for s in scored_reports:
        r = s.report
        content = truncate(r.summary, max(50, reports.budget // 2))
        if reports.add(f"{r.community}|{cell(r.title)}|{cell(content)}"):
            context.reports.append(r)
    entity_rows = [
        f"{e.short_id}|{cell(e.title)}|{cell(truncate(e.description, ENTITY_DESCRIPTION_TOKENS))}|{e.degree}"
        for e in selected
    ]
    header = "id|entity|description|number of relationships"
    # From a mid-sized budget on, the entity the question is about keeps its row even when its share is too
    # small (up to half).
    first = count_tokens(f"-----Entities-----\n{header}\n{entity_rows[0]}") if entity_rows else 0
    keep_first = first if share.first_entity and first <= remaining // 2 else 0
    entities = Table("Entities", header, max(int(remaining * share.entities), keep_first))
    for e, row in zip(selected, entity_rows, strict=True):
        if entities.add(row):
            context.entities.append(e)
    rels = Table("Relationships", "id|source|target|description|weight", int(remaining * share.relationships))
    shown = {e.title for e in context.entities}
    for r in relationships:
        if r.source not in shown and r.target not in shown:
            continue
        if not rels.add(f"{r.short_id}|{cell(r.source)}|{cell(r.target)}|{cell(r.description)}|{r.weight:g}"):
            break
        context.relationships.append(r)
    sources = Table("Sources", "id|text", remaining - reports.cost - entities.cost - rels.cost)
    filling = Filling(sources, context.sources, set())
    fill_sources(filling, units)
    if more_candidates_needed(filling, len(unit_hits), limit):
        # The candidates ran out before the budget: the next full-text hits (a further read, inside the
        # build check of build_context like the others).
        more = await store.search_text_units(namespace, query, further_limit(filling, limit))
        fill_sources(filling, (u for u, _ in more))
    add_excerpt(filling)

    rendered = [t for t in [*tables, reports, entities, rels, sources] if t.rows]
    context.text = "\n\n".join(t.render() for t in rendered)
    context.tokens = sum(
        t.used for t in rendered
    )  # = count_tokens(context.text): no token spans a line break
    doc_ids = list(dict.fromkeys(u.document_id for u in context.sources))
    context.documents = await store.document_titles(namespace, doc_ids) if doc_ids else {}
    return context


async def _none() -> list:
    return []
