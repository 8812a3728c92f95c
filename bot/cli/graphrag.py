"""`kgbot import-graphrag` / `export-graphrag`: Microsoft GraphRAG's parquet tables in and out."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.options import add_namespace

if TYPE_CHECKING:
    from rich.console import Console

    from kg.config import Settings


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "import-graphrag", help="serve a Microsoft GraphRAG index (its output folder of parquet)"
    )
    p.add_argument("folder", help="GraphRAG's output folder (entities.parquet, relationships.parquet, ...)")
    add_namespace(p, "namespace to publish it as (default: KG_NAMESPACE or 'default')")
    p.set_defaults(run=run_import)

    p = commands.add_parser("export-graphrag", help="write the index as Microsoft GraphRAG's parquet tables")
    p.add_argument("folder", help="folder to write (created if missing; its GraphRAG tables are replaced)")
    add_namespace(p, "namespace to export (default: KG_NAMESPACE or 'default')")
    p.set_defaults(run=run_export)


async def run_import(args: argparse.Namespace, settings: Settings, out: Console) -> int:
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


async def run_export(args: argparse.Namespace, settings: Settings, out: Console) -> int:
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
