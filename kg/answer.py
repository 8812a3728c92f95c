"""Answering a question: graph retrieval, then a chat model or the extractive answerer, then citation checks.

The retrieval is a LangChain retriever, so teams can drop our graph search into their own chains; our answer
chain is built on the same retriever. Whatever writes the answer, its citations are checked against the
context and each cited row is resolved to something a person can open: document, location and excerpt.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict

from kg import prompts
from kg.citations import Citation, check_citations
from kg.extractive import content_terms, extractive_answer, sentences
from kg.search.local import Context, Embed, Turn, build_context
from kg.store.base import GraphStore
from kg.tokens import count_tokens

log = logging.getLogger(__name__)
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
class Usage:
    context_tokens: int = 0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Answer:
    question: str
    text: str
    mode: str  # "llm" | "extractive"
    context: Context
    citations: list[SourceRef] = field(default_factory=list)
    dropped_citations: int = 0
    usage: Usage = field(default_factory=Usage)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "mode": self.mode,
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
    parts = sentences(text) or [flat]
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


class GraphRetriever(BaseRetriever):
    """Local search as a LangChain retriever: one Document per context row, `dataset` and `id` in metadata.

    Pass `history=[Turn(...)]` as a keyword to `invoke`/`ainvoke` for follow-up questions.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any
    namespace: str = "default"
    budget: int = 12000
    top_k: int = 10
    embed: Any = None  # Embed | None

    async def aget_context(self, question: str, history: Sequence[Turn] = ()) -> Context:
        embed: Embed | None = self.embed
        return await build_context(
            self.store, question, history, self.namespace, self.budget, self.top_k, embed
        )

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, history: Sequence[Turn] = ()
    ) -> list[Document]:
        return context_documents(await self.aget_context(query, history))

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, history: Sequence[Turn] = ()
    ) -> list[Document]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # plain synchronous code: run the search on a loop of our own
            return context_documents(asyncio.run(self.aget_context(query, history)))
        # a synchronous chain called from async code: that loop is busy running us, so use another thread's
        with ThreadPoolExecutor(max_workers=1) as pool:
            context = pool.submit(asyncio.run, self.aget_context(query, history)).result()
        return context_documents(context)


def context_documents(context: Context) -> list[Document]:
    data = context.to_json()
    docs = []
    for dataset, key in (
        ("Reports", "reports"),
        ("Entities", "entities"),
        ("Relationships", "relationships"),
        ("Sources", "sources"),
    ):
        for row in data[key]:
            meta = {"dataset": dataset, **{k: v for k, v in row.items() if k != "text"}}
            docs.append(Document(page_content=str(row["text"]), metadata=meta))
    return docs


def _history_text(history: Sequence[Turn]) -> str:
    if not history:
        return ""
    lines = [f"{t.role}: {' '.join(t.text.split())[:1000]}" for t in history[-6:]]
    return "Earlier in this conversation:\n" + "\n".join(lines) + "\n\n"


def answer_chain(
    retriever: GraphRetriever, model: BaseChatModel | None, timeout: float | None = None
) -> Runnable[dict[str, Any], Answer]:
    """`{"question": str, "history": [Turn]}` -> Answer, built on `retriever`.

    A model that fails or exceeds `timeout` seconds does not cost the user their answer: the extractive
    answerer writes it from the same context, with a note saying so.
    """
    prompt = ChatPromptTemplate.from_messages(
        [("system", prompts.LOCAL_SEARCH_SYSTEM), ("human", prompts.LOCAL_SEARCH_HUMAN)]
    )

    async def run(inputs: dict[str, Any]) -> Answer:
        question = clean_question(inputs["question"])
        history: Sequence[Turn] = inputs.get("history") or ()
        started = time.perf_counter()
        if retriever.namespace not in await retriever.store.namespaces():
            raise QuestionError(
                f"There is no index in namespace '{retriever.namespace}' yet: run `kgbot index PATH` first."
            )
        context = await retriever.aget_context(question, history)
        retrieved = time.perf_counter()
        usage = Usage(context_tokens=context.tokens)
        if model is None or context.empty:
            text, mode = extractive_answer(context), "extractive"
        else:
            messages = await prompt.ainvoke(
                {
                    "response_type": "multiple paragraphs",
                    "context": context.text,
                    "question": question,
                    "history": _history_text(history),
                }
            )
            usage.llm_calls = 1
            try:
                reply = await asyncio.wait_for(model.ainvoke(messages), timeout)
            except Exception as exc:  # noqa: BLE001 - any model failure falls back to quoting the context
                log.warning("chat model failed (%s); answering extractively", type(exc).__name__)
                timed_out = isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__
                reason = "did not answer in time" if timed_out else "failed"
                text = (
                    f"_The language model {reason}, so this is an extractive answer._\n\n"
                    + extractive_answer(context)
                )
                mode = "extractive"
            else:
                text, mode = _message_text(reply), "llm"
                meta = getattr(reply, "usage_metadata", None) or {}
                usage.prompt_tokens = int(meta.get("input_tokens") or count_tokens(messages.to_string()))
                usage.completion_tokens = int(meta.get("output_tokens") or count_tokens(text))
        checked = check_citations(text, context.available())
        done = time.perf_counter()
        return Answer(
            question=question,
            text=checked.text.strip(),
            mode=mode,
            context=context,
            citations=resolve_citations(checked.citations, context),
            dropped_citations=checked.dropped,
            usage=usage,
            timings_ms={
                "retrieve": round((retrieved - started) * 1000, 1),
                "answer": round((done - retrieved) * 1000, 1),
                "total": round((done - started) * 1000, 1),
            },
        )

    return RunnableLambda(run, name="kgbot_answer")


def _message_text(message: AIMessage | Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, list):  # content blocks
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return str(content)


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
    timeout: float | None = None,  # noqa: ASYNC109 - bounds the model call only, not the retrieval
) -> Answer:
    """One question, answered with checked citations. Raises QuestionError for unusable questions."""
    retriever = GraphRetriever(store=store, namespace=namespace, budget=budget, top_k=top_k, embed=embed)
    return await answer_chain(retriever, model, timeout).ainvoke(
        {"question": question, "history": list(history)}
    )
