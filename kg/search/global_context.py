"""GraphRAG global search: questions about the whole corpus, answered from community reports.

Report selection follows GraphRAG's dynamic community selection: rate the root communities' reports, keep the
relevant ones, then rate only the children of those, level by level; a kept child replaces its parent. So what
a question reads grows with its reach, not with the corpus. Improvements over GraphRAG's:
- relevance is full text first (BM25 over title, summary and findings), so selection costs no model call,
  plus the entities matching the question: a community holding entities the question matches is relevant
  even when its report's few sentences do not use the question's words (one entity search, one read of the
  communities holding the matches);
  with a model, only the best full-text candidates of each level get a rating call (at most
  MAX_RATED_PER_LEVEL), instead of every report of every visited level;
- a question with no subject of its own ("what are the main themes?"), or asking for an aggregate in words no
  root report holds ("who are the main characters?"), takes the most important root reports;
- each selected report brings the text units its community was built from, best matches first, so an answer
  citing reports also shows the passages behind them.

The selected reports are cut into batches that each fit the budget: each batch is one map call with a model.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from kg.model import CommunityReport
from kg.search.context import Context
from kg.store.base import ChildReport, GraphStore, StoreError
from kg.text.bm25 import bm25
from kg.text.tables import cell
from kg.text.tokens import count_tokens, truncate
from kg.text.words import content_terms, term_counts

# Words that ask about the corpus as a whole rather than naming a subject ("the main themes of this story").
GENERIC_TERMS = frozenset(
    """main theme topic idea point message overall summary summarise summarize summarization summarisation
    overview story book novel text document documents corpus collection knowledge base handbook docs whole
    general key important major central big picture across all everything entire content contents say says
    said discuss discussed cover covered this those kind sort type thing things character relate""".split()
)
_GLOBAL_CUES = re.compile(
    r"\b(?:overall|overview|in general|big picture|main (?:themes?|topics?|ideas?|points?|messages?|lessons?|characters?|people|players|events?)"
    r"|(?:key|major|central|recurring|common) (?:themes?|topics?|ideas?|takeaways?|lessons?|points?)|themes?"
    r"|summar(?:ise|ize|ising|izing|y|ies)|(?:whole|entire) (?:story|book|text|corpus|collection|documents?"
    r"|knowledge base)|across (?:the|all)|what (?:is|are) (?:this|these|the) (?:story|book|text|documents?"
    r"|corpus|collection|docs)\b.{0,20}\babout)\b",
    re.IGNORECASE,
)
MAX_RELEVANT_PER_LEVEL = 12  # reports kept per level (offline), so a vague question cannot take them all
MAX_RATED_PER_LEVEL = 6  # model rating calls per level at most
MAX_RATINGS = 16  # and per question
MIN_RATING = 2  # on the 0-5 scale of the rating prompt, GraphRAG's "rating > 1"
RELEVANT_SHARE = 0.25  # offline: a report is relevant when it scores at least this share of the level's best
ANCHOR_ENTITIES = 10  # entities matching the question whose communities count as relevant
OVERVIEW_REPORTS = 10  # root reports an overview question takes, most important first
MAX_BATCHES = 4  # map calls at most (each fills the budget)
REPORT_TOKENS = 600  # one report's content in a batch at most
SOURCES_PER_REPORT = 2
READ_ATTEMPTS = 3  # a question is read again when a publish lands between its reads, at most this often

Rate = Callable[[str, CommunityReport], Awaitable[int]]  # a model's 0-5 relevance of a report to a question


def global_wording(question: str) -> bool:
    """Whether the question asks for an aggregate ("overall", "main themes", "summarise", ...)."""
    return _GLOBAL_CUES.search(question) is not None


def subject_terms(question: str) -> set[str]:
    """The terms of `question` that name what it is about; empty for "what are the main themes?"."""
    return content_terms(question) - GENERIC_TERMS


def report_text(report: CommunityReport) -> str:
    """What relevance is judged on: title, summary and the findings."""
    return " ".join(
        [report.title, report.summary, *(f"{f.summary} {f.explanation}" for f in report.findings)]
    )


@dataclass
class Selection:
    reports: list[CommunityReport]  # most relevant first
    scores: dict[int, float] = field(default_factory=dict)  # community -> relevance (see _relevance)
    rated: int = 0  # reports whose relevance was judged (full text or model)
    model_ratings: int = 0  # of which by a model call
    levels: int = 0  # hierarchy levels visited
    overview: bool = False  # the question has no subject: the most important root reports


@dataclass
class GlobalContext:
    """The selected reports as the context of an answer (reports, their sources, the rendered batches)."""

    context: Context
    selection: Selection
    batches: list[str] = field(default_factory=list)  # one report table per map call
    sources_of: dict[int, list[int]] = field(default_factory=dict)  # community -> short ids of its sources
    subject: set[str] = field(default_factory=set)


async def select_reports(
    store: GraphStore, namespace: str, question: str, rate: Rate | None = None
) -> Selection:
    """GraphRAG's dynamic community selection, full text first (see the module docstring)."""
    subject = subject_terms(question)
    if not subject:
        return _overview(await store.child_reports(namespace, [-1]))
    # The roots and the entity matches do not wait on each other: one round trip's wait, not two.
    frontier, anchors = await asyncio.gather(
        store.child_reports(namespace, [-1]), _anchors(store, namespace, question)
    )
    selection = Selection(reports=[])
    kept: dict[int, CommunityReport] = {}
    while frontier:
        selection.levels += 1
        selection.rated += len(frontier)
        scores = _relevance(subject, frontier, anchors)
        ranked = sorted(
            zip(scores, frontier, strict=True),
            key=lambda sc: (-sc[0], -sc[1].report.rank, sc[1].report.community),
        )
        matching = [(s, c) for s, c in ranked if s > 0]
        if not matching and selection.levels == 1 and global_wording(question):
            return _overview(frontier)  # "who are the main characters?": no report names its words
        relevant: list[ChildReport]
        if rate is not None:
            room = min(MAX_RATED_PER_LEVEL, MAX_RATINGS - selection.model_ratings)
            candidates = [c for _, c in matching[: max(room, 0)]]
            ratings = await asyncio.gather(*(rate(question, c.report) for c in candidates))
            selection.model_ratings += len(candidates)
            relevant = [c for c, r in zip(candidates, ratings, strict=True) if r >= MIN_RATING]
        else:
            best = matching[0][0] if matching else 0.0
            relevant = [c for s, c in matching if s >= RELEVANT_SHARE * best][:MAX_RELEVANT_PER_LEVEL]
        for score, c in matching:
            selection.scores[c.report.community] = score
        for c in relevant:
            kept[c.report.community] = c.report
            kept.pop(c.parent, None)  # the more specific report replaces its parent
        frontier = (
            await store.child_reports(namespace, [c.report.community for c in relevant]) if relevant else []
        )
    selection.reports = sorted(
        kept.values(), key=lambda r: (-selection.scores.get(r.community, 0.0), -r.rank, r.community)
    )
    return selection


def names(question_terms: set[str], title: str) -> bool:
    """Whether a question (its content terms) names the entity titled `title`, rather than a generic word."""
    terms = content_terms(title)
    return bool(terms) and terms <= question_terms and not terms <= GENERIC_TERMS


async def _anchors(store: GraphStore, namespace: str, question: str) -> dict[int, int]:
    """community -> how many of the entities matching the question it holds (communities of every level).

    Entities matching by description count too: on GraphRAG-Bench medical's summarisation questions they
    raise the gold evidence the selected reports cover (bench/global_search.py)."""
    hits = await store.search_entities(namespace, question, ANCHOR_ENTITIES)
    if not hits:
        return {}
    return {
        s.report.community: s.matches for s in await store.reports_for(namespace, [h.entity.id for h in hits])
    }


def _relevance(subject: set[str], frontier: Sequence[ChildReport], anchors: dict[int, int]) -> list[float]:
    """Full-text relevance and entity matches, each scaled to the level's best, added: 0 to 2."""
    text = bm25(subject, [term_counts(report_text(c.report)) for c in frontier])
    held = [anchors.get(c.report.community, 0) for c in frontier]
    best_text, best_held = max(text, default=0.0) or 1.0, max(held, default=0) or 1
    return [t / best_text + h / best_held for t, h in zip(text, held, strict=True)]


def _overview(roots: Sequence[ChildReport]) -> Selection:
    """The most important root reports, for a question about the corpus as a whole."""
    ranked = sorted(roots, key=lambda c: (-c.report.rank, c.report.community))
    return Selection([c.report for c in ranked[:OVERVIEW_REPORTS]], rated=len(roots), levels=1, overview=True)


def _batches(reports: Sequence[CommunityReport], budget: int) -> tuple[list[str], list[CommunityReport]]:
    """Report tables of at most `budget` tokens each (at most MAX_BATCHES), and the reports they hold."""
    header = "-----Reports-----\nid|title|content|rank"
    header_cost = count_tokens(header)
    batches: list[list[str]] = []
    costs: list[int] = []
    shown: list[CommunityReport] = []
    for r in reports:
        content = truncate(r.full_content or r.summary, min(REPORT_TOKENS, max(50, budget // 2)))
        row = f"{r.community}|{cell(r.title)}|{cell(content)}|{r.rank:g}"
        cost = count_tokens(row)
        if header_cost + cost > budget:
            continue
        if not batches or costs[-1] + cost > budget:
            if len(batches) == MAX_BATCHES:
                break
            batches.append([header])
            costs.append(header_cost)
        batches[-1].append(row)
        costs[-1] += cost
        shown.append(r)
    return ["\n".join(b) for b in batches], shown


async def build_global_context(
    store: GraphStore, namespace: str, question: str, budget: int = 12000, rate: Rate | None = None
) -> GlobalContext:
    """The reports global search answers `question` from, in map batches of `budget` tokens, with sources.

    Selection reads the hierarchy level by level, then the sources: a publish landing between two of those
    reads would mix two builds (the roots of one, the children or passages of the next). As local search
    does, the question is read again when the namespace's build changed while it was read."""
    for _ in range(READ_ATTEMPTS):
        before = await store.generation(namespace)
        found = await _read_global_context(store, namespace, question, budget, rate)
        if await store.generation(namespace) == before:
            found.context.generation = before
            return found
    raise StoreError(
        f"namespace {namespace!r} was republished {READ_ATTEMPTS} times while one question was read; ask again"
    )


async def _read_global_context(
    store: GraphStore, namespace: str, question: str, budget: int, rate: Rate | None
) -> GlobalContext:
    selection = await select_reports(store, namespace, question, rate)
    batches, reports = _batches(selection.reports, budget)
    subject = subject_terms(question)
    context = Context(question=question, reports=reports)
    context.text = "\n\n".join(batches)
    context.tokens = sum(count_tokens(b) for b in batches)
    result = GlobalContext(context=context, selection=selection, batches=batches, subject=subject)
    if not reports:
        return result
    unit_ids, hits = await asyncio.gather(
        store.community_text_units(namespace, [r.community for r in reports]),
        store.search_text_units(namespace, question, 60) if subject else _no_hits(),
    )
    hit_rank = {u.id: i for i, (u, _) in enumerate(hits)}
    chosen: dict[int, list[str]] = {}
    taken: set[str] = set()
    for r in reports:  # best full-text match first; else passages no earlier report showed, in order
        ids = unit_ids.get(r.community, [])
        best = sorted(
            range(len(ids)), key=lambda i: (hit_rank.get(ids[i], len(hit_rank)), ids[i] in taken, i)
        )
        chosen[r.community] = [ids[i] for i in best[:SOURCES_PER_REPORT]]
        taken.update(chosen[r.community])
    wanted = list(dict.fromkeys(i for ids in chosen.values() for i in ids))
    units = {u.id: u for u in await store.get_text_units(namespace, wanted)} if wanted else {}
    context.sources = [units[i] for i in wanted if i in units]
    result.sources_of = {c: [units[i].short_id for i in ids if i in units] for c, ids in chosen.items()}
    doc_ids = list(dict.fromkeys(u.document_id for u in context.sources))
    context.documents = await store.document_titles(namespace, doc_ids) if doc_ids else {}
    return result


async def _no_hits() -> list:
    return []
