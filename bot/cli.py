"""The `kgbot` command: the terminal front-end (index, ask, chat, demo) and the launcher of the chat apps.

It lives in bot/ because `chat` and `serve` run the platform-neutral assistant core; kg/ stays a library.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

# Each command imports what it needs when it runs: `kgbot --help` and an offline `kgbot ask` never load
# LangChain, the chat SDKs or pyarrow (tests/test_startup.py checks it; bench/startup.py measures it).
if TYPE_CHECKING:
    from rich.console import Console

    from kg.config import Settings
    from kg.model import Turn, Usage
    from kg.search.answer import Answer, SourceRef
    from kg.store.base import GraphStore

_STAGES = {
    "load": "Loading documents",
    "chunk": "Chunking",
    "extract": "Extracting entities",
    "merge": "Merging the graph",
    "summarize": "Summarising descriptions",
    "communities": "Communities and reports",
    "reports": "Community reports",
    "embed": "Embedding entities",
    "publish": "Publishing",
}


class UserError(Exception):
    """Something the user can fix; printed as one line, never as a traceback."""


async def _cmd_index(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from kg.index.pipeline import ExtractionFailed, NothingToIndex, build_index, make_extractor
    from kg.llm.client import ModelClient, describe_usage
    from kg.store import store_from_settings

    store = store_from_settings(settings)
    progress = Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[file]}"),
        console=Console(stderr=True),
        transient=not sys.stderr.isatty(),
        disable=args.quiet,
    )
    tasks: dict[str, int] = {}

    def on_progress(stage: str, done: int, total: int, file: str = "") -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(_STAGES.get(stage, stage), total=max(total, 1), file="")
        shown = escape(_tail(file)) if file and done < total else ""  # the file being read, while it is
        progress.update(tasks[stage], completed=done, total=max(total, 1), file=shown)

    models = ModelClient.from_settings(settings)
    try:
        extractor = make_extractor(settings, models, getattr(args, "extractor", None))
        with progress:
            summary = await build_index(
                args.paths, store, settings, args.namespace, extractor, on_progress, models
            )
    except NothingToIndex as exc:
        for line in str(exc).splitlines():
            out.print(f"[yellow]{escape(line)}[/]", highlight=False)
        raise UserError("nothing could be indexed; the previous index is unchanged") from None
    except ExtractionFailed as exc:
        raise UserError(str(exc)) from None
    finally:
        await store.close()

    for line in summary.problems:
        out.print(f"[yellow]{escape(line)}[/]", highlight=False)
    for cut in summary.long_words:
        out.print(f"[yellow]{escape(cut.describe())}[/]", highlight=False)
    out.print(
        f"Indexed [bold]{summary.documents}[/] documents into namespace '{escape(summary.namespace)}': "
        f"{summary.text_units} chunks, {summary.entities} entities, {summary.relationships} relationships, "
        f"{summary.communities} communities in {summary.seconds:.1f} s "
        f"({summary.chunks_cached} chunks from cache).",
        highlight=False,
    )
    if summary.usage or getattr(extractor, "uses_model", False):
        out.print(f"Model cost: {describe_usage(summary.usage)}.", highlight=False)
    return 0


def _tail(path: str, width: int = 40) -> str:
    """The end of a path, which names the file, in at most `width` characters."""
    return path if len(path) <= width else "…" + path[-(width - 1) :]


async def _cmd_stats(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from dataclasses import asdict

    from rich.table import Table

    from kg.store import store_from_settings

    store = store_from_settings(settings)
    try:
        stats = await store.stats(args.namespace or settings.kg_namespace, top=50)
    finally:
        await store.close()
    if stats is None:
        raise UserError(
            f"no index in namespace '{args.namespace or settings.kg_namespace}' yet: run kgbot index PATH"
        )
    if args.json:
        data = asdict(stats)
        data.pop("extractor", None)
        print(json.dumps(data, indent=2))
        return 0
    table = Table(title=f"Top entities (built {stats.built_at}, {stats.seconds:.1f} s, {stats.extractor})")
    for col in ("title", "type", "degree"):
        table.add_column(col)
    for e in stats.top_entities[: args.top]:
        table.add_row(str(e["title"]), str(e["type"]), str(e["degree"]))
    out.print(", ".join(f"{k}: {v}" for k, v in stats.counts.items()), highlight=False)
    if stats.usage:
        from kg.llm.client import describe_usage

        out.print(f"Build cost: {describe_usage(stats.usage)}", highlight=False)
    out.print(table)
    return 0


def _print_answer(answer: Answer, out: Console) -> None:
    _print_reply(
        answer.text,
        answer.citations,
        answer.mode,
        answer.usage,
        answer.timings_ms,
        out,
        answer.search,
    )
    if answer.dropped_citations:
        out.print(f"[dim]{answer.dropped_citations} citation(s) to rows not in the context were removed[/]")


def _print_reply(
    text: str,
    citations: Sequence[SourceRef],
    mode: str,
    usage: Usage,
    timings: dict[str, float],
    out: Console,
    search: str = "local",
) -> None:
    from rich.markdown import Markdown
    from rich.markup import escape

    out.print(Markdown(text))
    sources = [c for c in citations if c.dataset == "Sources"]
    named = {
        d: [c.title for c in citations if c.dataset == d] for d in ("Entities", "Relationships", "Reports")
    }
    if citations:
        out.print()
        out.print(f"[bold]Sources ({len(sources)})[/]")
        for c in sources:
            out.print(
                f"  [cyan][{c.id}][/] {escape(c.title)} — {escape(c.document)}, {c.location}", highlight=False
            )  # document text and names are never read as console markup
            out.print(f"      [dim]{escape(c.excerpt)}[/]", highlight=False)
        for dataset, titles in named.items():
            if titles:
                out.print(f"  [cyan]{dataset}:[/] {escape('; '.join(titles))}", highlight=False)
    cost = (
        f" · {usage.llm_calls} model call{'s' * (usage.llm_calls != 1)}, {usage.prompt_tokens:,} prompt + "
        f"{usage.completion_tokens:,} completion tokens"
        if usage.llm_calls
        else ""
    )
    out.print(
        f"[dim]{search} search · {mode} answer · {usage.context_tokens} context tokens{cost} · "
        f"{timings.get('total', 0):.0f} ms[/]",
        highlight=False,
    )


async def _answer(
    store: GraphStore,
    settings: Settings,
    args: argparse.Namespace,
    question: str,
    history: Sequence[Turn] = (),
) -> Answer:
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


async def _cmd_ask(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from kg.search.answer import QuestionError
    from kg.store import store_from_settings

    store = store_from_settings(settings)
    try:
        answer = await _answer(store, settings, args, args.question)
    except QuestionError as exc:
        raise UserError(str(exc)) from None
    finally:
        await store.close()
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_answer(answer, out)
    return 0


async def _cmd_chat(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    """A terminal conversation through the same assistant core as Slack and Discord."""
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
    out.print("[dim]Ask about your documents; follow-ups keep the thread. Empty line or Ctrl-D to quit.[/]")
    try:
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
            _print_reply(
                reply.text,
                reply.sources,
                reply.mode,
                reply.usage,
                reply.timings_ms,
                out,
                reply.search,
            )
    finally:
        await assistant.close()
    return 0


_DOCS_QUESTIONS = (
    "How do I install kgbot and index my own documents?",
    "How do I connect kgbot to Slack?",
    "How does kgbot check the citations in its answers?",
)


async def _cmd_demo(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from rich.markup import escape

    from kg.store import store_from_settings

    args.paths, args.quiet = [args.path], False
    await _cmd_index(args, settings, out)
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
            _print_answer(await _answer(store, settings, args, q), out)
    finally:
        await store.close()
    return 0


async def _cmd_discord(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    if not settings.discord_token.get_secret_value().strip():
        raise UserError("DISCORD_TOKEN is not set: put your Discord bot token in .env (see docs/discord.md)")
    import discord

    from bot.discord.client import run
    from bot.logs import secrets_of, setup_logging

    settings.discord_guilds  # noqa: B018 - a malformed list is one line before anything starts
    setup_logging(secrets_of(settings))
    try:
        await run(settings)
    except discord.LoginFailure:
        raise UserError("Discord rejected DISCORD_TOKEN; reset the bot token and update .env") from None
    return 0


async def _cmd_slack(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from bot.logs import secrets_of, setup_logging
    from bot.slack.app import check_settings, serve

    check_settings(settings, args.http)
    setup_logging(secrets_of(settings))
    await serve(settings, http=args.http, host=args.host, port=args.port)
    return 0


async def _cmd_serve(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from bot import serve
    from bot.logs import secrets_of, setup_logging

    serve.check(settings)  # every problem, one line each, before anything starts
    setup_logging(secrets_of(settings))
    await serve.serve(settings, host=args.host, port=args.port)
    return 0


async def _cmd_import_graphrag(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from kg.interop.graphrag import require_pyarrow
    from kg.interop.graphrag_read import import_graphrag
    from kg.store import store_from_settings

    require_pyarrow()
    namespace = args.namespace or settings.kg_namespace
    store = store_from_settings(settings)
    try:
        result = await import_graphrag(store, namespace, args.folder)
    finally:
        await store.close()
    for line in result.notes:
        out.print(f"[yellow]{line}[/]", highlight=False)
    index = result.index
    out.print(
        f"Imported the GraphRAG index in {result.folder} into namespace '{namespace}': "
        f"{len(index.documents)} documents, {len(index.text_units)} chunks, {len(index.entities)} entities, "
        f"{len(index.relationships)} relationships, {len(index.communities)} communities, "
        f"{len(index.reports)} reports, {result.embeddings} entity embeddings.",
        highlight=False,
    )
    return 0


async def _cmd_export_graphrag(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from kg.interop.graphrag import require_pyarrow
    from kg.interop.graphrag_write import export_graphrag
    from kg.store import store_from_settings

    require_pyarrow()
    namespace = args.namespace or settings.kg_namespace
    store = store_from_settings(settings)
    try:
        result = await export_graphrag(store, namespace, args.folder)
    finally:
        await store.close()
    for line in result.notes:
        out.print(f"[yellow]{line}[/]", highlight=False)
    files = ", ".join(f"{name} ({rows})" for name, rows in result.rows.items())
    out.print(f"Exported namespace '{namespace}' to {result.folder}: {files}.", highlight=False)
    return 0


SEARCH_MODES = ("auto", "local", "global")
_MODE_HELP = (
    "local: about a thing; global: about the whole corpus (community reports); auto: chosen per question "
    "(default: KG_SEARCH, auto)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kgbot", description="Knowledge-graph answers with citations.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build the knowledge graph of files or folders")
    p.add_argument("paths", nargs="+", help="files or folders (.txt .md .rst .pdf .html)")
    p.add_argument("--namespace", "-n", help="index to build (default: KG_NAMESPACE or 'default')")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument(
        "--extractor",
        choices=("nlp", "llm"),
        help="llm: the chat model extracts, summarises and writes reports; nlp: offline heuristics "
        "(default: KG_EXTRACTOR, which picks llm when a model is configured)",
    )
    p.set_defaults(run=_cmd_index)

    p = sub.add_parser("stats", help="counts and the most connected entities")
    p.add_argument("--namespace", "-n")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--top", type=int, default=20, help="entities to list (text output)")
    p.set_defaults(run=_cmd_stats)

    p = sub.add_parser("ask", help="answer one question with cited sources")
    p.add_argument("question")
    p.add_argument("--namespace", "-n")
    p.add_argument("--json", action="store_true", help="one JSON object: answer, citations, context, usage")
    p.add_argument("--budget", type=int, help="context token budget (default KG_CONTEXT_BUDGET)")
    p.add_argument("--mode", choices=SEARCH_MODES, help=_MODE_HELP)
    p.set_defaults(run=_cmd_ask)

    p = sub.add_parser("chat", help="interactive questions with follow-ups")
    p.add_argument("--namespace", "-n")
    p.add_argument("--budget", type=int)
    p.add_argument("--mode", choices=SEARCH_MODES, help=_MODE_HELP)
    p.set_defaults(run=_cmd_chat)

    p = sub.add_parser("demo", help="index a folder (default docs/) and answer three questions about it")
    p.add_argument("path", nargs="?", default="docs")
    p.add_argument("--namespace", "-n")
    p.add_argument("--budget", type=int)
    p.add_argument("--question", action="append", help="ask this instead (repeatable)")
    p.set_defaults(run=_cmd_demo)

    p = sub.add_parser("discord", help="run the Discord bot (DISCORD_TOKEN)")
    p.set_defaults(run=_cmd_discord)

    p = sub.add_parser("slack", help="run the Slack app (Socket Mode, or --http)")
    p.add_argument("--http", action="store_true", help="serve /slack/events over HTTP (SLACK_SIGNING_SECRET)")
    p.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on")
    p.add_argument("--port", type=int, default=3000, help="HTTP mode: port to listen on")
    p.set_defaults(run=_cmd_slack)

    p = sub.add_parser(
        "serve", help="run every configured chat app, with /healthz, /readyz and /metrics (production)"
    )
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, help="port to listen on (default KG_HTTP_PORT, 8080)")
    p.set_defaults(run=_cmd_serve)

    p = sub.add_parser(
        "import-graphrag", help="serve a Microsoft GraphRAG index (its output folder of parquet)"
    )
    p.add_argument("folder", help="GraphRAG's output folder (entities.parquet, relationships.parquet, ...)")
    p.add_argument(
        "--namespace", "-n", help="namespace to publish it as (default: KG_NAMESPACE or 'default')"
    )
    p.set_defaults(run=_cmd_import_graphrag)

    p = sub.add_parser("export-graphrag", help="write the index as Microsoft GraphRAG's parquet tables")
    p.add_argument("folder", help="folder to write (created if missing; its GraphRAG tables are replaced)")
    p.add_argument("--namespace", "-n")
    p.set_defaults(run=_cmd_export_graphrag)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    args = _parser().parse_args(argv)
    from rich.console import Console

    from kg.config import SettingsError, load_settings
    from kg.store.base import StoreError

    out = Console()
    run: Callable[[argparse.Namespace, Settings, Console], Awaitable[int]] = args.run
    try:
        settings = load_settings()
        return asyncio.run(run(args, settings, out))
    except (UserError, SettingsError, StoreError, ValueError) as exc:
        for line in str(exc).splitlines():
            print(f"kgbot: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kgbot: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: one line, details only on request
        if os.environ.get("KG_DEBUG"):
            raise
        print(
            f"kgbot: unexpected error ({type(exc).__name__}: {exc}); set KG_DEBUG=1 for details",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
