"""`kgbot ask QUESTION`: one answer with its cited sources, or one JSON object (`--json`) for tooling."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.cli.options import add_budget, add_mode, add_namespace
from bot.cli.output import UserError, print_answer

if TYPE_CHECKING:
    from rich.console import Console

    from kg.config import Settings
    from kg.model import Turn
    from kg.search.answer import Answer
    from kg.store.base import GraphStore


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("ask", help="answer one question with cited sources")
    p.add_argument("question", help='what you want to know, in quotes (e.g. "Who maintains the pager?")')
    add_namespace(p)
    p.add_argument("--json", action="store_true", help="one JSON object: answer, citations, context, usage")
    add_budget(p)
    add_mode(p)
    p.set_defaults(run=run)


async def answer(
    store: GraphStore,
    settings: Settings,
    args: argparse.Namespace,
    question: str,
    history: Sequence[Turn] = (),
) -> Answer:
    """The answer to `question` from the index, with the command line's namespace, budget and mode."""
    from kg.llm.models import configured_models
    from kg.search.answer import ask

    model, embed = configured_models(settings)
    return await ask(
        store,
        question,
        history=history,
        namespace=args.namespace or settings.kg_namespace,
        budget=args.budget or settings.kg_context_budget,
        top_k=settings.kg_top_k,
        model=model,
        embed=embed,
        search=getattr(args, "mode", None) or settings.kg_search,
        concurrency=settings.kg_llm_concurrency,
    )


async def run(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from kg.search.answer import QuestionError
    from kg.store import store_from_settings

    store = store_from_settings(settings)
    try:
        reply = await answer(store, settings, args, args.question)
    except QuestionError as exc:
        raise UserError(str(exc)) from None
    finally:
        await store.close()
    if args.json:
        print(json.dumps(reply.to_json(), ensure_ascii=False, indent=2))
    else:
        print_answer(reply, out)
    return 0
