"""GraphRAG local search: map a question to entities, rank passages through the graph, and fill a token budget.

Every read is set-at-a-time, so a question costs two store reads at 1k or 100k entities, each one round trip
from one build: `find_passages` (entity search, chunk search by full text and, with a question vector, by
embedding, entity linking, the entities of the top chunks), then `read_graph` of what the ranking chose
(relationships, reports, the texts of passages only the graph found, the passages two hops away, the passages
next to the best ones when the full text ran out, the documents).
Improvements over GraphRAG's context builder:
- entities are linked offline by name (kg.text.names: titles, aliases, acronyms, case and plural variants) as
  well as mapped by full-text BM25 fused with vector similarity by reciprocal rank;
- Sources are ranked by full-text relevance (with passage vectors, fused with the chunks' cosine to the
  question: kg.search.passages.fused_relevance) plus spreading activation over the passage-entity graph
  (kg.search.passages, after HippoRAG 2): the passage naming the bridge entity of a multi-hop question is
  reached through the top passages' entities, not only through shared words; at a budget of a few passages
  the full text's best come first (a passage naming the question's common words must not take the room);
- passages two hops away (question entity -> relationship -> entity -> passage, kg.store.hops) are scored as
  weaker activation and merged into that ranking;
- the budget follows the evidence: the graph tables (reports, entities, relationships) take small shares
  that grow with the budget and with how much the graph ranked the question's passages (none below 1,000
  tokens), and everything else goes to Sources, filled to the end (kg.search.budget): when the full text and
  the graph have no passage left, with the passages next to the best ones in corpus order.
  bench/evidence_recall.py measured why: with GraphRAG's split (half the budget to the tables) the tables
  added no evidence the passages they displaced would not have held.
"""

from __future__ import annotations

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
    neighbour_short_ids,
    shares,
)
from kg.search.context import Context
from kg.search.passages import (
    MAX_VECTOR_PASSAGES,
    SEED_PASSAGES,
    RankedPassage,
    Seed,
    entity_weights,
    few_passages_fit,
    fused_relevance,
    graph_weight,
    normalised_text_scores,
    rank_passages,
    seeds_of,
    spread,
    vector_weight,
    with_hops,
)
from kg.store.base import (
    GraphRead,
    GraphRows,
    GraphStore,
    LinkedEntity,
    PassageHits,
    PassageSearch,
    StoreError,
)
from kg.text.names import Mention, longest_mentions, question_mentions
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
MAX_HOP_PASSAGES = 20  # two-hop passages read per question (kg.store.hops)


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


def _fuse(hits: PassageHits, top_k: int) -> list[Entity]:
    """The entity search's and the vector search's rankings fused by reciprocal rank: the top `top_k`."""
    rankings = [[h.entity.id for h in hits.entities], [h.entity.id for h in hits.vector_entities]]
    by_id = {h.entity.id: h.entity for h in [*hits.entities, *hits.vector_entities]}
    fused = _rrf(*(r for r in rankings if r))
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


def _linked(mentions: Sequence[Mention], found: Sequence[LinkedEntity]) -> list[Entity]:
    """Entities the question names (kg.text.names), longest mention first; a span naming several entities
    links to all of them."""
    by_key: dict[str, list[Entity]] = {}
    for x in found:
        by_key.setdefault(x.key, []).append(x.entity)
    kept = longest_mentions([m for m in mentions if m.key in by_key])
    return list({e.id: e for m in kept for e in by_key[m.key]}.values())


@dataclass
class Found:
    """What the first read found: entities named and matched, full-text hits, seeds and ranked passages, and
    the build they come from."""

    linked: list[Entity]
    mapped: list[Entity]
    text_hits: list[tuple[TextUnit, float]]
    vector_hits: list[tuple[TextUnit, float]]  # passages by embedding (none without one)
    seeds: list[Seed]
    ranked: list[RankedPassage]
    generation: int | None


async def find_passages(
    store: GraphStore, namespace: str, query: str, top_k: int, embed: Embed | None, budget: int | None = None
) -> Found:
    """Link and map the query's entities, search the chunks and read the top passages' entities (one store
    read), then rank passages through the graph (the full text's best first when `budget` holds only a few
    passages: kg.search.passages.few_passages_fit)."""
    mentions = question_mentions(query)
    hits = await store.find_passages(
        namespace,
        PassageSearch(
            query=query,
            link_keys=[m.key for m in mentions],
            entity_limit=top_k * 2,  # oversampled: fusion with the vector ranking picks the top_k
            chunk_limit=max(top_k, MAX_SOURCE_CANDIDATES),
            seed_passages=SEED_PASSAGES,
            passage_entity_limit=MAX_PASSAGE_ENTITIES,
            vector=list(await embed(query)) if embed is not None else None,
            chunk_vector_limit=MAX_VECTOR_PASSAGES,
        ),
    )
    linked, mapped = _linked(mentions, hits.linked), _fuse(hits, top_k)
    text_scores = normalised_text_scores(hits.chunks)
    seed_units = [u.id for u, _ in hits.chunks[:SEED_PASSAGES]]
    seeds = seeds_of(linked, mapped, hits.passage_entities, text_scores, seed_units)
    lead = budget is not None and few_passages_fit(hits.chunks, budget)
    relevance = fused_relevance(text_scores, hits.vector_chunks, vector_weight(budget))
    ranked = rank_passages(
        relevance, spread(seeds), MAX_SOURCE_CANDIDATES, lead, graph_weight(budget), full_text=text_scores
    )
    return Found(linked, mapped, hits.chunks, hits.vector_chunks, seeds, ranked, hits.generation)


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


def _neighbours(found: Found, budget: int, limit: int) -> list[int]:
    """The neighbour passages to read with the graph (kg.search.budget.neighbour_short_ids): none while the
    full text has further passages to give (its read was capped), or when it found none to start from."""
    if len(found.text_hits) >= limit:
        return []
    by_id = {u.id: u for u, _ in found.text_hits}
    best = [by_id[p.id] for p in found.ranked if p.id in by_id]
    taken = [u.short_id for u in by_id.values()]
    return neighbour_short_ids([u.short_id for u in best], taken, budget, [u.n_tokens for u in best])


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

    A question takes two reads (`GraphStore.find_passages`, then `read_graph` of what the first found); a
    publish landing between them would mix two builds in one answer (the entities of one, the relationships
    of the next). Each read names the build it came from: when they differ, the question is read again."""
    for _ in range(READ_ATTEMPTS):
        context = await _read_context(store, question, history, namespace, budget, top_k, embed)
        if context is not None:
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
) -> Context | None:
    """The context, or None when a publish landed between the two reads."""
    context = Context(question=question)
    query = mapping_query(question, history)
    limit = max(top_k, MAX_SOURCE_CANDIDATES)  # what the first passage read asked for (find_passages)
    found = await find_passages(store, namespace, query, top_k, embed, budget)
    unit_hits, ranked = found.text_hits, found.ranked
    selected = _select_entities(found.linked, found.mapped, entity_weights(found.seeds), top_k)
    titles = [e.title for e in selected]
    known = {u.id: u for u, _ in [*unit_hits, *found.vector_hits]}
    # Two hops from the entities the question names: from every selected entity (its bridges included) they
    # spread too thin (HotpotQA at 8k tokens: 97.8% of the evidence, against 98.3% from the named ones).
    hop_titles = [e.title for e in found.linked]
    graph = GraphRows(None)
    if found.generation is not None:
        graph = await store.read_graph(
            namespace,
            GraphRead(
                generation=found.generation,
                titles=titles,
                entity_ids=[e.id for e in selected],
                relationship_limit=MAX_RELATIONSHIPS,
                text_unit_ids=[p.id for p in ranked if p.id not in known],
                document_ids=list(dict.fromkeys(u.document_id for u in known.values())),
                hop_titles=hop_titles,
                hop_limit=MAX_HOP_PASSAGES,
                hop_exclude=[p.id for p in ranked],
                neighbour_short_ids=_neighbours(found, budget, limit),
            ),
        )
        if graph.generation != found.generation:
            return None
    context.generation = found.generation
    relationships = _rank_relationships(selected, graph.relationships)
    scored_reports = graph.reports
    known.update((u.id, u) for u in graph.text_units)
    known.update((u.id, u) for u, _ in graph.hop_passages)
    ranked = with_hops(ranked, [(u.id, s) for u, s in graph.hop_passages], len(hop_titles))
    units = [known[p.id] for p in ranked if p.id in known] + graph.neighbours

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
        unnamed = [u.document_id for u in context.sources if u.document_id not in graph.documents]
        if unnamed:
            graph.documents.update(await store.document_titles(namespace, list(dict.fromkeys(unnamed))))
        if await store.generation(namespace) != found.generation:
            return None  # a publish landed after the first read: these rows may be of the next build
    add_excerpt(filling)

    rendered = [t for t in [*tables, reports, entities, rels, sources] if t.rows]
    context.text = "\n\n".join(t.render() for t in rendered)
    context.tokens = sum(
        t.used for t in rendered
    )  # = count_tokens(context.text): no token spans a line break
    doc_ids = dict.fromkeys(u.document_id for u in context.sources)
    context.documents = {d: graph.documents[d] for d in doc_ids if d in graph.documents}
    return context
