"""GraphRAG local search: map a question to entities, then fill a token budget with what surrounds them.

Every read is set-at-a-time, so a question costs the same handful of store queries at 1k or 100k entities.
Improvements over GraphRAG's context builder:
- entity mapping fuses full-text BM25 (always) with vector similarity (when embeddings exist) by reciprocal
  rank, so a question naming an entity finds it even without embeddings;
- sources linked to the selected entities are re-ranked with full-text relevance to the question, and strong
  full-text hits join them, so the passage that answers the question is not crowded out by merely related ones;
  when those run short of the Sources share, further full-text hits fill it (on multi-hop questions the second
  passage is often below the tenth hit: bench/evidence_recall.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from kg.model import CommunityReport, Entity, Relationship, TextUnit
from kg.store.base import GraphStore, StoreError
from kg.tokens import count_tokens, truncate

Embed = Callable[[str], Awaitable[Sequence[float]]]

REPORT_SHARE = 0.15
SOURCE_SHARE = 0.50
HISTORY_SHARE = 0.10  # at most; what history does not use goes to the other tables
HISTORY_TURNS = 3  # user turns that join the question for entity mapping
RRF_K = 60
READ_ATTEMPTS = 3  # a question is read again when a publish lands between its reads, at most this often
MAX_RELATIONSHIPS = 400  # read at most this many candidate relationships per question
MAX_SOURCE_CANDIDATES = 60


@dataclass
class Turn:
    role: str  # "user" | "assistant"
    text: str


@dataclass
class Context:
    """What local search found: the tables a model reads and the records renderers and --json show."""

    question: str
    text: str = ""
    entities: list[Entity] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    reports: list[CommunityReport] = field(default_factory=list)
    sources: list[TextUnit] = field(default_factory=list)
    documents: dict[str, tuple[str, str]] = field(default_factory=dict)  # document id -> (title, source)
    tokens: int = 0
    history: list[Turn] = field(default_factory=list)  # the recent turns the question follows up on

    @property
    def empty(self) -> bool:
        return not (self.entities or self.relationships or self.reports or self.sources)

    def available(self) -> dict[str, set[int]]:
        """Ids a citation may use, by dataset."""
        return {
            "Entities": {e.short_id for e in self.entities},
            "Relationships": {r.short_id for r in self.relationships},
            "Reports": {r.community for r in self.reports},
            "Sources": {u.short_id for u in self.sources},
        }

    def to_json(self) -> dict[str, list[dict[str, object]]]:
        return {
            "entities": [
                {
                    "id": e.short_id,
                    "title": e.title,
                    "type": e.type,
                    "text": e.description,
                    "degree": e.degree,
                }
                for e in self.entities
            ],
            "relationships": [
                {
                    "id": r.short_id,
                    "source": r.source,
                    "target": r.target,
                    "text": r.description,
                    "weight": r.weight,
                }
                for r in self.relationships
            ],
            "reports": [
                {"id": r.community, "title": r.title, "text": r.summary, "rank": r.rank} for r in self.reports
            ],
            "sources": [
                {
                    "id": u.short_id,
                    "document": self.documents.get(u.document_id, ("", ""))[0],
                    "text": u.text,
                    "start": u.start,
                    "end": u.end,
                }
                for u in self.sources
            ],
        }


def _cell(text: str) -> str:
    """One table cell: no newlines or pipes, so a row stays one row."""
    return " ".join(text.replace("|", "/").split())


def _rrf(*rankings: Sequence[str]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking):
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank + 1)
    return scores


class _Table:
    """Rows added while they fit the table's share of the budget."""

    def __init__(self, title: str, header: str, budget: int) -> None:
        self.lines = [f"-----{title}-----", header]
        self.budget = budget
        self.used = count_tokens("\n".join(self.lines))

    def add(self, row: str) -> bool:
        if self.used + len(row.split()) > self.budget:  # each word is one token or more: it cannot fit
            return False
        cost = count_tokens(row)
        if self.used + cost > self.budget:
            return False
        self.lines.append(row)
        self.used += cost
        return True

    @property
    def rows(self) -> int:
        return len(self.lines) - 2

    @property
    def cost(self) -> int:
        """Tokens the table takes in the context: none when it has no rows (it is not rendered)."""
        return self.used if self.rows else 0

    def render(self) -> str:
        return "\n".join(self.lines) if self.rows else ""


def _mapping_query(question: str, history: Sequence[Turn]) -> str:
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


def _rank_source_ids(
    selected: Sequence[Entity],
    relationships: Sequence[Relationship],
    text_hits: Sequence[str],
    more_hits: Sequence[str] = (),
) -> list[str]:
    """Units of the selected entities in entity order, each entity's units by how many selected relationships
    cite them (GraphRAG's order), fused with full-text relevance to the question (the top hits); then, while
    the list is short, the next full-text hits (`more_hits`), so the Sources share is not left unused while
    relevant passages remain."""
    rel_count: Counter[str] = Counter(u for r in relationships for u in r.text_unit_ids)
    graph_order: list[str] = []
    seen: set[str] = set()
    for e in selected:
        for unit_id in sorted(e.text_unit_ids, key=lambda u: -rel_count[u]):
            if unit_id not in seen:
                seen.add(unit_id)
                graph_order.append(unit_id)
    fused = _rrf(graph_order, text_hits, text_hits)  # question relevance counts double
    ranked = sorted(fused, key=lambda k: -fused[k])
    ranked += [u for u in more_hits if u not in fused]
    return ranked[:MAX_SOURCE_CANDIDATES]


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
    query = _mapping_query(question, history)
    selected, unit_hits = await asyncio.gather(
        _map_entities(store, namespace, query, top_k, embed),
        store.search_text_units(namespace, query, max(top_k, MAX_SOURCE_CANDIDATES)),
    )
    titles = [e.title for e in selected]
    candidates, scored_reports = await asyncio.gather(
        store.relationships_of(namespace, titles, MAX_RELATIONSHIPS) if titles else _none(),
        store.reports_for(namespace, [e.id for e in selected]) if selected else _none(),
    )
    relationships = _rank_relationships(selected, candidates)
    hit_ids = [u.id for u, _ in unit_hits]
    source_ids = _rank_source_ids(selected, relationships, hit_ids[:top_k], hit_ids[top_k:])
    known = {u.id: u for u, _ in unit_hits}
    missing = [i for i in source_ids if i not in known]
    known.update((u.id, u) for u in (await store.get_text_units(namespace, missing) if missing else []))
    units = [known[i] for i in source_ids if i in known]

    tables: list[_Table] = []
    remaining = budget

    recent = context.history = list(history)[-2 * HISTORY_TURNS :]
    if recent:
        table = _Table("Conversation", "role|content", int(budget * HISTORY_SHARE))
        for turn in recent:
            table.add(f"{turn.role}|{_cell(truncate(turn.text, 300))}")
        tables.append(table)
        remaining -= table.cost

    reports = _Table("Reports", "id|title|content", int(remaining * REPORT_SHARE))
    scored_reports.sort(key=lambda s: (-s.matches, -s.report.rank, s.report.community))
    for s in scored_reports:
        r = s.report
        content = truncate(r.summary, max(50, reports.budget // 2))
        if reports.add(f"{r.community}|{_cell(r.title)}|{_cell(content)}"):
            context.reports.append(r)
    sources = _Table("Sources", "id|text", int(remaining * SOURCE_SHARE))
    for u in units:
        if sources.add(f"{u.short_id}|{_cell(u.text)}"):
            context.sources.append(u)

    local_budget = remaining - reports.cost - sources.cost  # what reports and sources leave goes here
    entities = _Table("Entities", "id|entity|description|number of relationships", local_budget)
    for e in selected:
        if entities.add(f"{e.short_id}|{_cell(e.title)}|{_cell(e.description)}|{e.degree}"):
            context.entities.append(e)
    rels = _Table("Relationships", "id|source|target|description|weight", local_budget - entities.cost)
    for r in relationships:
        if not rels.add(
            f"{r.short_id}|{_cell(r.source)}|{_cell(r.target)}|{_cell(r.description)}|{r.weight:g}"
        ):
            break
        context.relationships.append(r)

    shown = [t for t in [*tables, reports, entities, rels, sources] if t.rows]
    context.text = "\n\n".join(t.render() for t in shown)
    context.tokens = sum(t.used for t in shown)  # = count_tokens(context.text): no token spans a line break
    doc_ids = list(dict.fromkeys(u.document_id for u in context.sources))
    context.documents = await store.document_titles(namespace, doc_ids) if doc_ids else {}
    return context


async def _none() -> list:
    return []
