"""`kgbot ask QUESTION`: one answer with its cited sources, or one JSON object (`--json`) for tooling;
`--graph PATH.png|.svg` also draws the answer's evidence (kg/search/picture/) to a file."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.options import add_budget, add_mode, add_namespace
from bot.cli.output import UserError, print_answer

if TYPE_CHECKING:
    from rich.console import Console

    from kg.config import Settings
    from kg.model import Turn
    from kg.search.answer import Answer
    from kg.search.picture.draw import Picture
    from kg.store.base import GraphStore


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("ask", help="answer one question with cited sources")
    p.add_argument("question", help='what you want to know, in quotes (e.g. "Who maintains the pager?")')
    add_namespace(p)
    p.add_argument("--json", action="store_true", help="one JSON object: answer, citations, context, usage")
    p.add_argument(
        "--graph",
        type=Path,
        metavar="PATH",
        help="also draw the evidence the answer cites as a picture: PATH ends in .png or .svg",
    )
    add_budget(p)
    add_mode(p)
    p.set_defaults(run=run)


def _graph_format(path: Path | None) -> str:
    if path is None:
        return ""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise UserError(f"--graph writes a .png or .svg file, not {path.name!r}")
    return fmt


async def draw(store: GraphStore, settings: Settings, args: argparse.Namespace, reply: Answer) -> Picture:
    """The picture of `reply`'s evidence, written to args.graph (UserError, one line, when it cannot be)."""
    from kg.search.picture.draw import PictureError, answer_ids, draw_evidence

    try:
        picture = await draw_evidence(
            store,
            args.namespace or settings.kg_namespace,
            answer_ids(reply),
            reply.question,
            _graph_format(args.graph),
        )
    except PictureError as exc:
        raise UserError(str(exc)) from None
    try:
        args.graph.write_bytes(picture.data)
    except OSError as exc:
        raise UserError(f"could not write the graph to {args.graph} ({exc.strerror or exc})") from None
    return picture


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
    from rich.markup import escape

    from kg.search.answer import QuestionError
    from kg.store import store_from_settings

    _graph_format(args.graph)  # a wrong file name is said before any work
    store = store_from_settings(settings)
    picture: Picture | None = None
    try:
        reply = await answer(store, settings, args, args.question)
        if args.graph is not None:
            picture = await draw(store, settings, args, reply)
    except QuestionError as exc:
        raise UserError(str(exc)) from None
    finally:
        await store.close()
    if args.json:
        shown = reply.to_json()
        if picture is not None:
            shown["graph"] = {"path": str(args.graph), **picture.to_json()}
        print(json.dumps(shown, ensure_ascii=False, indent=2))
        return 0
    print_answer(reply, out)
    if picture is not None:
        out.print(
            f"[dim]Graph of the evidence: {len(picture.nodes)} nodes, {len(picture.edges)} edges"
            f"{f', {picture.left_out} left out' if picture.left_out else ''} · drawn in "
            f"{picture.draw_ms:.0f} ms →[/] {escape(str(args.graph))}",
            highlight=False,
        )
    return 0
