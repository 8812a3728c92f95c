"""`kgbot index PATH...`: build the knowledge graph of files and folders, with a progress bar on stderr."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.options import add_namespace
from bot.cli.output import UserError, console, counted

if TYPE_CHECKING:
    from rich.console import Console

    from kg.config import Settings

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


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("index", help="build the knowledge graph of files or folders")
    p.add_argument("paths", nargs="+", help="files or folders (.txt .md .rst .pdf .html)")
    add_namespace(p, "index to build (default: KG_NAMESPACE or 'default')")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument(
        "--extractor",
        choices=("nlp", "llm"),
        help="llm: the chat model extracts, summarises and writes reports; nlp: offline heuristics "
        "(default: KG_EXTRACTOR, which picks llm when a model is configured)",
    )
    p.set_defaults(run=run)


async def run(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    """Index what can be read; a path that does not exist is reported and makes the exit status 1, after the
    rest has been indexed."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from kg.index.pipeline import ExtractionFailed, NothingToIndex, build_index, make_extractor
    from kg.llm.client import ModelClient, describe_usage
    from kg.store import store_from_settings

    namespace = args.namespace or settings.kg_namespace
    missing = _missing(args.paths)
    store = store_from_settings(settings)
    err = console(stderr=True)
    progress = Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("[dim]{task.fields[file]}"),
        console=err,
        disable=args.quiet or not err.is_terminal,  # a log or a pipe gets the summary, not a redrawn bar
    )
    tasks: dict[str, int] = {}

    def on_progress(stage: str, done: int, total: int, file: str = "") -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(_STAGES.get(stage, stage), total=max(total, 1), file="")
        shown = escape(_tail(file)) if file and done < total else ""  # the file being read, while it is
        progress.update(tasks[stage], completed=done, total=max(total, 1), file=shown)

    try:
        # A store that cannot be reached fails here, in one line, before any extraction work.
        had_index = namespace in await store.namespaces()
        models = ModelClient.from_settings(settings)
        extractor = make_extractor(settings, models, getattr(args, "extractor", None))
        with progress:
            summary = await build_index(
                args.paths, store, settings, namespace, extractor, on_progress, models
            )
    except NothingToIndex as exc:
        for line in str(exc).splitlines():
            out.print(f"[yellow]{escape(line)}[/]", highlight=False)
        unchanged = "; the previous index is unchanged" if had_index else ""
        raise UserError(f"nothing could be indexed{unchanged}") from None
    except ExtractionFailed as exc:
        raise UserError(str(exc)) from None
    finally:
        await store.close()

    for line in summary.problems:
        out.print(f"[yellow]{escape(line)}[/]", highlight=False)
    for cut in summary.long_words:
        out.print(f"[yellow]{escape(cut.describe())}[/]", highlight=False)
    out.print(
        f"Indexed [bold]{counted(summary.documents, 'document')}[/] into namespace '{escape(summary.namespace)}': "
        f"{counted(summary.text_units, 'chunk')}, {counted(summary.entities, 'entity', 'entities')}, "
        f"{counted(summary.relationships, 'relationship')}, {counted(summary.communities, 'community', 'communities')} in "
        f"{summary.seconds:.1f} s ({counted(summary.chunks_cached, 'chunk')} from cache).",
        highlight=False,
    )
    if summary.usage or getattr(extractor, "uses_model", False):
        out.print(f"Model cost: {describe_usage(summary.usage)}.", highlight=False)
    if missing:
        raise UserError(
            f"{'path' if len(missing) == 1 else 'paths'} not found, not indexed: {', '.join(missing)}"
        )
    return 0


def _missing(paths: list[str]) -> list[str]:
    """The given paths that do not exist (a few stat calls before any work: no need for a thread)."""
    return [path for path in paths if not Path(path).exists()]


def _tail(path: str, width: int = 40) -> str:
    """The end of a path, which names the file, in at most `width` characters."""
    return path if len(path) <= width else "…" + path[-(width - 1) :]
