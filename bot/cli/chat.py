"""`kgbot chat`: a terminal conversation through the same assistant core as Slack and Discord."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import TYPE_CHECKING

from bot.cli.options import add_budget, add_mode, add_namespace
from bot.cli.output import UserError, print_reply

if TYPE_CHECKING:
    from rich.console import Console

    from kg.config import Settings


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("chat", help="interactive questions with follow-ups")
    add_namespace(p)
    add_budget(p)
    add_mode(p)
    p.set_defaults(run=run)


async def run(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from rich.markup import escape

    from bot.core import Assistant, Question

    # One trusted person at a keyboard: no per-user rate limit.
    update: dict[str, object] = {"kg_rate_per_minute": 1_000_000}
    if args.mode:
        update["kg_search"] = args.mode
    if args.namespace:
        update["kg_namespace"] = args.namespace
    if args.budget:
        update["kg_context_budget"] = args.budget
    settings = settings.model_copy(update=update)
    assistant = Assistant.from_settings(settings)
    session = f"{os.getpid()}-{int(time.time())}"
    user = os.environ.get("USER", "you")
    try:
        namespace = assistant.namespace_for("terminal")
        if namespace not in await assistant.store.namespaces():
            raise UserError(f"no index in namespace '{namespace}' yet: build one with kgbot index PATH")
        out.print(
            "[dim]Ask about your documents; follow-ups keep the thread. Empty line or Ctrl-D to quit.[/]"
        )
        while True:
            try:
                line = await asyncio.to_thread(input, "you> ")
            except EOFError:
                break
            if not line.strip() or line.strip().lower() in {"exit", "quit", ":q"}:
                break
            reply = await assistant.answer(Question("cli", "local", "terminal", session, user, line))
            if reply is None:
                continue
            if reply.kind == "notice":
                out.print(f"[yellow]{escape(reply.text)}[/]", highlight=False)
                continue
            print_reply(
                reply.text, reply.sources, reply.mode, reply.usage, reply.timings_ms, out, reply.search
            )
    finally:
        await assistant.close()
    return 0
