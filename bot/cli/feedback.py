"""`kgbot feedback`: the 👍/👎 votes people gave answers in Slack and Discord, to read or export.

Votes are kept in the graph store (bot/core.py records them); a namespace's votes are listed, never another's.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from bot.cli.options import add_namespace

if TYPE_CHECKING:
    from rich.console import Console

    from kg.config import Settings
    from kg.model import Feedback

COLUMNS = (
    "created_at",
    "updated_at",
    "platform",
    "workspace",
    "user",
    "vote",
    "reason",
    "mode",
    "model",
    "search",
    "generation",
    "answer_id",
    "question",
    "answer",
    "cited",
)
_TABLE_TEXT = 60  # characters of a question or reason shown in the table


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("feedback", help="list or export the votes people gave answers")
    add_namespace(p)
    p.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table (default) to read, csv or json (every field, answers in full) to export",
    )
    p.set_defaults(run=run)


def _row(f: Feedback) -> dict[str, Any]:
    data = asdict(f)
    return {column: data[column] for column in COLUMNS}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TABLE_TEXT else text[: _TABLE_TEXT - 1] + "…"


async def run(args: argparse.Namespace, settings: Settings, out: Console) -> int:
    from kg.store import store_from_settings

    namespace = args.namespace or settings.kg_namespace
    store = store_from_settings(settings)
    try:
        votes = await store.feedback(namespace)
    finally:
        await store.close()
    if args.format == "json":
        print(json.dumps([{"namespace": namespace, **_row(f)} for f in votes], indent=2, ensure_ascii=False))
        return 0
    if args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=["namespace", *COLUMNS], lineterminator="\n")
        writer.writeheader()
        for f in votes:
            writer.writerow({"namespace": namespace, **_row(f), "cited": " ".join(f.cited)})
        return 0
    from rich.table import Table

    up = sum(f.vote == "up" for f in votes)
    table = Table(title=f"Feedback in '{namespace}': {up} 👍, {len(votes) - up} 👎")
    for column in ("when", "platform", "user", "vote", "mode", "question", "reason"):
        table.add_column(column)
    for f in votes:
        mark = "👍" if f.vote == "up" else "👎"
        mode = f"{f.mode} ({f.model})" if f.model else f.mode
        table.add_row(
            f.updated_at,
            f.platform,
            f.user,
            mark,
            mode,
            _short(f.question),
            _short(f.reason),
            end_section=False,
        )
    out.print(table)
    return 0
