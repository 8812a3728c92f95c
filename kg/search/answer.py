"""Answering a question: local or global search, then a chat model or an extractive answerer, then citation
checks.

`ask` routes each question unless told which search to use: a cheap offline classifier decides from the
wording and the graph (words asking for an aggregate, "overall", "main themes", "summarise", mean global; a
question naming an entity of the graph means local; one matching no entity has nothing for local search to
start from, so global), and when its signals disagree a configured model settles it with one short call.
Routing lives here, beside the writers it chooses between, so a question's path stays short. Whatever writes
the answer, its citations are checked against the context and each cited row is resolved to something a
person can open: document, location and excerpt. Given a `Progress` (kg/search/progress.py), `ask` also reports its stages and
streams the answer's text as it is written; kg/search/chain.py builds the LangChain Runnable on that. LangChain
is imported only when a model is configured (kg/llm/calls.py); the LangChain retriever over local search lives
in kg/search/retriever.py.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kg import prompts
from kg.citations import MARKER, Citation, check_citations, cited_ids, format_marker
from kg.llm.calls import complete, history_text, stream_complete, timed_out
from kg.model import Embed, Turn, Usage
from kg.search.context import Context
from kg.search.extractive import extractive_answer, quoted_sentences
from kg.search.follow_up import resolve_follow_up, rewrite_follow_up
from kg.search.global_answer import extractive_global_answer, map_reduce_answer, model_rater
from kg.search.global_context import build_global_context, global_wording, names
from kg.search.local import build_context, mapping_query
from kg.search.progress import READ, SEARCH, WRITE, Progress, counted
from kg.store.base import GraphStore
from kg.text.words import content_terms

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)
SEARCHES = ("local", "global")
MAX_QUESTION_CHARS = 2000
EXCERPT_CHARS = 280
# ANSI/VT escape sequences a pasted or typed question may carry: CSI ("\x1b[31m"), OSC ("\x1b]0;title\x07")
# and two-character escapes. Their control character alone would go anyway; this also removes their text.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]"
)


class QuestionError(ValueError):
    """The question cannot be answered as asked; the message tells the user what to do."""


def clean_question(text: str) -> str:
    """Strip terminal escape sequences, control characters and surrounding space; refuse empty or oversized
    questions."""
    cleaned = _ESCAPE_SEQUENCE.sub(" ", text or "")
    cleaned = "".join(
        "" if cat == "Cf" else " " if cat[0] == "C" else ch
        for ch, cat in ((ch, unicodedata.category(ch)) for ch in cleaned)
    )  # invisible format characters (soft hyphen, zero-width space) go; other controls become spaces
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise QuestionError("Please ask a question, for example: what does this project do?")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"That question is {len(cleaned):,} characters long; please keep it under {MAX_QUESTION_CHARS:,}."
        )
    return cleaned


@dataclass
class SourceRef:
    """A cited row, resolved for people: what it is, where it is and what it says."""

    dataset: str
    id: int
    title: str
    document: str = ""
    location: str = ""
    excerpt: str = ""


@dataclass
class Answer:
    question: str
    text: str
    mode: str  # "llm" | "extractive"
    context: Context
    resolved_question: str = ""  # the question as searched: a follow-up read against its thread
    search: str = "local"  # "local" | "global": which search found the context
    citations: list[SourceRef] = field(default_factory=list)
    dropped_citations: int = 0
    usage: Usage = field(default_factory=Usage)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "resolved_question": self.resolved_question or self.question,
            "answer": self.text,
            "mode": self.mode,
            "search": self.search,
            "citations": [
                {
                    "dataset": c.dataset,
                    "id": c.id,
                    "title": c.title,
                    "document": c.document,
                    "excerpt": c.excerpt,
                }
                for c in self.citations
            ],
            "context": self.context.to_json(),
            "usage": vars(self.usage),
            "timings_ms": self.timings_ms,
        }


def _excerpt(text: str, question: str) -> str:
    """The stretch of `text` around its best match with the question, about EXCERPT_CHARS long."""
    flat = " ".join(text.split())
    if len(flat) <= EXCERPT_CHARS:
        return flat
    words = {w for w in content_terms(question) if len(w) > 2}
    parts = quoted_sentences(text) or [flat]
    best = max(range(len(parts)), key=lambda i: sum(w in parts[i].lower() for w in words))
    excerpt = parts[best]
    for nxt in parts[best + 1 :]:
        if len(excerpt) + len(nxt) + 1 > EXCERPT_CHARS:
            break
        excerpt += " " + nxt
    return excerpt if len(excerpt) <= EXCERPT_CHARS else excerpt[: EXCERPT_CHARS - 1].rsplit(" ", 1)[0] + "…"


def resolve_citations(citations: Sequence[Citation], context: Context) -> list[SourceRef]:
    entities = {e.short_id: e for e in context.entities}
    relationships = {r.short_id: r for r in context.relationships}
    reports = {r.community: r for r in context.reports}
    units = {u.short_id: u for u in context.sources}
    refs = []
    for c in citations:
        if c.dataset == "Sources":
            u = units[c.id]
            title, source = context.documents.get(u.document_id, ("", ""))
            refs.append(
                SourceRef(
                    dataset=c.dataset,
                    id=c.id,
                    title=title,
                    document=source,
                    location=f"characters {u.start:,}–{u.end:,}",
                    excerpt=_excerpt(u.text, context.question),
                )
            )
        elif c.dataset == "Entities":
            e = entities[c.id]
            refs.append(
                SourceRef(c.dataset, c.id, e.title, excerpt=_excerpt(e.description, context.question))
            )
        elif c.dataset == "Relationships":
            r = relationships[c.id]
            refs.append(
                SourceRef(
                    c.dataset,
                    c.id,
                    f"{r.source} → {r.target}",
                    excerpt=_excerpt(r.description, context.question),
                )
            )
        else:
            rep = reports[c.id]
            refs.append(
                SourceRef(c.dataset, c.id, rep.title, excerpt=_excerpt(rep.summary, context.question))
            )
    return refs


@dataclass
class _Written:
    """An answer as written, before its citations are checked."""

    context: Context
    retrieved: float  # time.perf_counter() when the context was ready
    text: str
    mode: str
    dropped: int = 0  # citations already removed (global search checks before adding report sources)


async def _answer_local(
    store: GraphStore,
    question: str,
    history: Sequence[Turn],
    namespace: str,
    budget: int,
    top_k: int,
    model: BaseChatModel | None,
    embed: Embed | None,
    timeout: float | None,  # noqa: ASYNC109 - bounds the model call only
    usage: Usage,
    progress: Progress,
) -> _Written:
    """The answer of local search. A model that fails or exceeds `timeout` seconds (even mid-stream) does
    not cost the user their answer: the extractive answerer writes it from the same context, saying so."""
    context = await build_context(store, question, history, namespace, budget, top_k, embed)
    retrieved = time.perf_counter()
    usage.context_tokens = context.tokens
    if context.sources:
        await progress.stage(READ, f"Reading {counted(len(context.sources), 'passage')}…")
    await progress.stage(WRITE, "Writing the answer…")
    if model is None or context.empty:
        return _Written(context, retrieved, extractive_answer(context), "extractive")
    usage.llm_calls += 1
    variables = {
        "response_type": "multiple paragraphs",
        "context": context.text,
        "question": question,
        "history": history_text(history),
    }
    system, human = prompts.LOCAL_SEARCH_SYSTEM, prompts.LOCAL_SEARCH_HUMAN
    try:
        if progress.streaming:
            reply = await stream_complete(model, system, human, variables, timeout, progress.text)
        else:
            reply = await complete(model, system, human, variables, timeout)
    except Exception as exc:  # noqa: BLE001 - any model failure falls back to quoting the context
        log.warning("chat model failed (%s); answering extractively", type(exc).__name__)
        reason = "did not answer in time" if timed_out(exc) else "failed"
        text = f"_The language model {reason}, so this is an extractive answer._\n\n" + extractive_answer(
            context
        )
        return _Written(context, retrieved, text, "extractive")
    usage.prompt_tokens += reply.prompt_tokens
    usage.completion_tokens += reply.completion_tokens
    return _Written(context, retrieved, reply.text, "llm")


async def _answer_global(
    store: GraphStore,
    question: str,
    history: Sequence[Turn],
    namespace: str,
    budget: int,
    model: BaseChatModel | None,
    timeout: float | None,  # noqa: ASYNC109 - bounds each model call only
    concurrency: int,
    usage: Usage,
    progress: Progress,
) -> _Written:
    """The answer of global search: map-reduce with a model (its reduce call streamed), extractive without
    one."""
    rate = model_rater(model, usage, timeout, concurrency) if model is not None else None
    found = await build_global_context(store, namespace, question, budget, rate)
    retrieved = time.perf_counter()
    usage.context_tokens = found.context.tokens
    if not found.context.reports:  # nothing to read: the caller may try local search
        return _Written(found.context, retrieved, extractive_global_answer(found), "extractive")
    await progress.stage(READ, f"Reading {counted(len(found.context.reports), 'community report')}…")
    if model is None:
        await progress.stage(WRITE, "Writing the answer…")
        return _Written(found.context, retrieved, extractive_global_answer(found), "extractive")
    text, written_by_model = await map_reduce_answer(
        model,
        found,
        usage,
        budget=budget,
        history=history,
        timeout=timeout,
        concurrency=concurrency,
        progress=progress,
    )
    if not written_by_model:
        return _Written(found.context, retrieved, text, "extractive")
    checked = check_citations(text, found.context.available())
    return _Written(
        found.context, retrieved, _with_report_sources(checked.text, found.sources_of), "llm", checked.dropped
    )


def _with_report_sources(text: str, sources_of: dict[int, list[int]]) -> str:
    """Each marker citing reports also cites the reports' sources, so the answer shows the passages behind
    the reports it rests on. Runs on checked text, whose markers are well formed."""

    def add_sources(marker: re.Match[str]) -> str:
        groups: dict[str, list[int]] = {}
        for dataset, i in cited_ids(marker):
            groups.setdefault(dataset, []).append(i)
        extra = [u for r in groups.get("Reports", []) for u in sources_of.get(r, [])]
        if not extra:
            return marker.group(0)
        groups["Sources"] = list(dict.fromkeys([*groups.get("Sources", []), *extra]))
        return marker["lead"] + format_marker(groups)

    return MARKER.sub(add_sources, text)


# ------------------------------------------------------------------------------------------------- routing


@dataclass
class Route:
    search: str  # "local" | "global"
    reason: str
    sure: bool = True


async def classify(store: GraphStore, namespace: str, question: str, history: Sequence[Turn] = ()) -> Route:
    """The offline decision: wording first, then whether the question (or, for a follow-up, the user's
    recent turns) names an entity of the graph."""
    query = mapping_query(question, history)
    hits = await store.search_entities(namespace, query, 10)
    asked = content_terms(query)
    named = [h.entity.title for h in hits if names(asked, h.entity.title)]
    if global_wording(question):
        if named:
            return Route("global", f"asks for an aggregate, though it names {named[0]}", sure=False)
        return Route("global", "asks about the corpus as a whole")
    if named:
        return Route("local", f"names {named[0]}")
    if hits:
        return Route("local", "matches entities without naming one", sure=False)
    return Route("global", "matches no entity", sure=False)


async def ask_model(
    model: BaseChatModel,
    question: str,
    usage: Usage,
    timeout: float | None,  # noqa: ASYNC109 - bounds the model call
) -> str | None:
    """ "local" or "global" as the model judges, or None when its reply is neither or the call fails."""
    usage.llm_calls += 1
    try:
        reply = await complete(
            model, prompts.ROUTE_SYSTEM, prompts.ROUTE_HUMAN, {"question": question}, timeout
        )
    except Exception as exc:  # noqa: BLE001 - the offline decision stands
        log.warning("routing by the model failed (%s)", type(exc).__name__)
        return None
    usage.prompt_tokens += reply.prompt_tokens
    usage.completion_tokens += reply.completion_tokens
    words = reply.text.strip().lower().split()
    word = words[0].strip(".:*\"'") if words else ""
    return word if word in SEARCHES else None


async def route(
    store: GraphStore,
    question: str,
    namespace: str = "default",
    history: Sequence[Turn] = (),
    model: BaseChatModel | None = None,
    usage: Usage | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - bounds the model call only
) -> Route:
    """Local or global for `question`: the offline classifier, settled by the model when it is unsure."""
    decision = await classify(store, namespace, question, history)
    if decision.sure or model is None:
        return decision
    choice = await ask_model(model, question, usage if usage is not None else Usage(), timeout)
    if choice is None:
        return decision
    return Route(choice, f"the model chose it ({decision.reason})")


# ------------------------------------------------------------------------------------------------ answering


async def ask(
    store: GraphStore,
    question: str,
    *,
    history: Sequence[Turn] = (),
    namespace: str = "default",
    budget: int = 12000,
    top_k: int = 10,
    model: BaseChatModel | None = None,
    embed: Embed | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - bounds the model calls only, not the retrieval
    search: str = "local",
    concurrency: int = 4,
    progress: Progress | None = None,
) -> Answer:
    """One question, answered with checked citations. Raises QuestionError for unusable questions.

    `search` is "local", "global" or "auto" (routed per question); `concurrency` bounds global search's
    model calls in flight. `progress` hears the stages and, when it streams, the answer's text: the model's
    as it arrives, or a finished (extractive) answer sentence by sentence. After a model fails mid-stream
    nothing more is streamed: the returned answer, extractive and saying why, replaces what was.
    """
    progress = progress or Progress()
    if search not in (*SEARCHES, "auto"):
        raise ValueError(f"unknown search {search!r}: use local, global or auto")
    original = clean_question(question)
    started = time.perf_counter()
    if namespace not in await store.namespaces():
        raise QuestionError(
            f"There is no index in namespace '{namespace}' yet: run `kgbot index PATH` first."
        )
    usage = Usage()
    # what retrieval and the answer writers read: a follow-up made to stand alone
    if model is None:
        question = resolve_follow_up(original, history)
    else:
        rewritten = await rewrite_follow_up(model, original, history, usage, timeout)
        try:
            question = clean_question(rewritten)
        except QuestionError:  # the rewrite came back longer than a question may be
            question = resolve_follow_up(original, history)
    await progress.stage(SEARCH, "Searching the graph…")
    routed = search == "auto"
    if routed:
        search = (await route(store, question, namespace, history, model, usage, timeout)).search
    if search == "global":
        written = await _answer_global(
            store, question, history, namespace, budget, model, timeout, concurrency, usage, progress
        )
        if routed and not written.context.reports:  # no report covers it: local search may find passages
            search = "local"
    if search == "local":
        written = await _answer_local(
            store, question, history, namespace, budget, top_k, model, embed, timeout, usage, progress
        )
    context = written.context
    checked = check_citations(written.text, context.available())
    text = checked.text.strip()
    if not progress.streamed:  # not written by a streaming model: stream it as one would have
        await progress.pieces(text)
    done = time.perf_counter()
    return Answer(
        question=original,
        resolved_question=question,
        text=text,
        mode=written.mode,
        search=search,
        context=context,
        citations=resolve_citations(checked.citations, context),
        dropped_citations=written.dropped + checked.dropped,
        usage=usage,
        timings_ms={
            "retrieve": round((written.retrieved - started) * 1000, 1),
            "answer": round((done - written.retrieved) * 1000, 1),
            "total": round((done - started) * 1000, 1),
        },
    )
