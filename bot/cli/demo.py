"""`kgbot demo [FOLDER]`: index a folder (default docs/) and answer a few questions about it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.ask import answer
from bot.cli.index import run as run_index
from bot.cli.options import add_budget, add_namespace
from bot.cli.output import print_answer

if TYPE_CHECKING:
    from rich.console import Console

    from kg.config import Settings

_DOCS_QUESTIONS = (
    "How do I install kgbot and index my own documents?",
    "How do I connect kgbot to Slack?",
    "How does kgbot check the citations in its answers?",
)


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("demo", help="index a folder (default docs/) and answer three questions about it")
    p.add_argument("path", nargs="?", default="docs", help="folder to index (default: docs)")
    add_namespace(p)
    add_budget(p)
    p.add_argument("--question", action="append", help="ask this instead (repeatable)")
    p.set_defaults(run=run)


async def run(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from rich.markup import escape

    from kg.store import store_from_settings

    args.paths, args.quiet = [args.path], False
    await run_index(args, settings, out)
    questions = list(args.question or [])
    if not questions and args.path.rstrip("/") in ("docs", "./docs"):
        questions = list(_DOCS_QUESTIONS)
    if not questions:  # any other folder: ask about what its graph holds
        store = store_from_settings(settings)
        try:
            stats = await store.stats(args.namespace or settings.kg_namespace, top=3)
        finally:
            await store.close()
        top = [str(e["title"]) for e in (stats.top_entities if stats else [])]
        questions = [f"What is {t}?" for t in top[:1]] + [
            f"How are {a} and {b} related?" for a, b in zip(top[1:], top[2:], strict=False)
        ]
        questions += [f"What is {t}?" for t in top[2:3]]
    store = store_from_settings(settings)
    try:
        for q in questions:
            out.rule(f"[bold]{escape(q)}")
            print_answer(await answer(store, settings, args, q), out)
    finally:
        await store.close()
    return 0
