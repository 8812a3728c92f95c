"""`kgbot stats`: what an index holds, and its most connected entities."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from bot.cli.options import add_namespace
from bot.cli.output import UserError

if TYPE_CHECKING:
    from rich.console import Console

    from kg.config import Settings


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("stats", help="counts and the most connected entities")
    add_namespace(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--top", type=int, default=20, help="entities to list (text output)")
    p.set_defaults(run=run)


async def run(args: argparse.Namespace, settings: Settings, out: Console) -> int:
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
