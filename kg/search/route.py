"""Which search answers a question: local (about a thing) or global (about the whole corpus).

A cheap offline classifier decides from the wording and the graph: words asking for an aggregate ("overall",
"main themes", "summarise") mean global; a question naming an entity of the graph means local; a question
matching no entity at all has nothing for local search to start from, so global. When the signals disagree or
are missing the decision is marked unsure, and a configured model may then settle it with one short call
(`route`, which kg.search.answer.ask calls for `search="auto"`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kg import prompts
from kg.llm.calls import complete
from kg.model import Turn, Usage
from kg.search.global_context import global_wording, names
from kg.search.local import mapping_query
from kg.store.base import GraphStore
from kg.text.words import content_terms

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)
SEARCHES = ("local", "global")


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
