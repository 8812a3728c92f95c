"""`kgbot export-graphrag`: a published index written as GraphRAG 3.3's output tables (and its embeddings
snapshot), with what the tables have no column for kept in each file's `kgbot` metadata."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.interop.graphrag import EMBEDDINGS_FILE, TABLES, GraphRAGError, arrow, file_metadata
from kg.model import (
    CommunityReport,
    GraphIndex,
    content_id,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from kg.store.base import GraphStore

# The tables as GraphRAG 3.3 writes them (it requires pandas 3, whose strings are large_string), columns in
# order. Lists GraphRAG leaves untyped when every one is empty (children, covariate_ids) are typed here.
_LAYOUT = {
    "documents": "id:str human_readable_id:int title:str text:str text_unit_ids:strs creation_date:str "
    "raw_data:null",
    "text_units": "id:str human_readable_id:int text:str n_tokens:int document_id:str entity_ids:strs "
    "relationship_ids:strs covariate_ids:strs",
    "entities": "id:str human_readable_id:int title:str type:str description:str text_unit_ids:strs "
    "frequency:int degree:int",
    "relationships": "id:str human_readable_id:int source:str target:str description:str weight:float "
    "combined_degree:int text_unit_ids:strs",
    "communities": "id:str human_readable_id:int community:int level:int parent:int children:ints title:str "
    "entity_ids:strs relationship_ids:strs text_unit_ids:strs period:str size:int",
    "community_reports": "id:str human_readable_id:int community:int level:int parent:int children:ints "
    "title:str summary:str full_content:str rank:float rating_explanation:str findings:findings "
    "full_content_json:str period:str size:int",
    "embeddings": "id:str embedding:floats",
}


def _schema(pa: Any, table: str) -> pa.Schema:
    types = {
        "str": pa.large_string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "null": pa.null(),
        "strs": pa.list_(pa.string()),
        "ints": pa.list_(pa.int64()),
        "floats": pa.list_(pa.float64()),
        "findings": pa.list_(pa.struct([("explanation", pa.string()), ("summary", pa.string())])),
    }
    return pa.schema([(name, types[kind]) for name, kind in (c.split(":") for c in _LAYOUT[table].split())])


def _dates(built_at: str) -> tuple[str, str]:
    """(creation_date as GraphRAG formats it, period as an ISO date) for a build time."""
    try:
        when = datetime.fromisoformat(built_at) if built_at else datetime.now(UTC)
    except ValueError:
        when = datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S %z"), when.date().isoformat()


def graphrag_tables(index: GraphIndex) -> dict[str, pa.Table]:
    """Our index as GraphRAG 3.3's output tables (plus `embeddings` when any entity has a vector)."""
    pa, _ = arrow()

    def table(name: str, rows: Iterable[tuple[Any, ...]], meta: dict[bytes, bytes] | None = None) -> pa.Table:
        """A table from rows whose values follow `_LAYOUT[name]`'s column order."""
        schema = _schema(pa, name)
        columns = list(zip(*rows, strict=True)) or [()] * len(schema)
        arrays = [pa.array(list(values), type=f.type) for values, f in zip(columns, schema, strict=True)]
        return pa.Table.from_arrays(arrays, schema=schema.with_metadata(meta) if meta else schema)

    created, period = _dates(index.built_at)
    docs, units, entities, rels = index.documents, index.text_units, index.entities, index.relationships
    unit_entities: dict[str, list[str]] = {}
    unit_relationships: dict[str, list[str]] = {}
    for e in entities:
        for u in dict.fromkeys(e.text_unit_ids):
            unit_entities.setdefault(u, []).append(e.id)
    for r in rels:
        for u in dict.fromkeys(r.text_unit_ids):
            unit_relationships.setdefault(u, []).append(r.id)
    children: dict[int, list[int]] = {}
    for c in index.communities:
        if c.parent >= 0:
            children.setdefault(c.parent, []).append(c.id)
    community_of = {c.id: c for c in index.communities}
    build = {f.name: getattr(index, f.name) for f in fields(GraphIndex) if f.name not in (*TABLES, "reports")}
    # GraphRAG titles every community "Community N", and its report reader groups communities by title: titles
    # must be unique there. Ours (the report's title) travel in the metadata, with the other extras.
    community_ids = [content_id("community", str(c.id)) for c in index.communities]

    out = {
        "documents": table(
            "documents",
            ((d.id, i, d.title, d.text, list(d.text_unit_ids), created, None) for i, d in enumerate(docs)),
            file_metadata([d.id for d in docs], rows={"source": [d.source for d in docs]}),
        ),
        "text_units": table(
            "text_units",
            (
                (u.id, u.short_id, u.text, u.n_tokens, u.document_id)
                + (unit_entities.get(u.id, []), unit_relationships.get(u.id, []), [])
                for u in units
            ),
            file_metadata(
                [u.id for u in units], rows={"start": [u.start for u in units], "end": [u.end for u in units]}
            ),
        ),
        "entities": table(
            "entities",
            (
                (e.id, e.short_id, e.title, e.type, e.description, list(e.text_unit_ids))
                + (len(set(e.text_unit_ids)), e.degree)
                for e in entities
            ),
            file_metadata(index=build),
        ),
        "relationships": table(
            "relationships",
            (
                (r.id, r.short_id, r.source, r.target, r.description, float(r.weight), r.rank)
                + (list(r.text_unit_ids),)
                for r in rels
            ),
        ),
        "communities": table(
            "communities",
            (
                (key, c.id, c.id, c.level, c.parent, children.get(c.id, []), f"Community {c.id}")
                + (
                    list(c.entity_ids),
                    list(c.relationship_ids),
                    list(c.text_unit_ids),
                    period,
                    len(c.entity_ids),
                )
                for key, c in zip(community_ids, index.communities, strict=True)
            ),
            file_metadata(community_ids, rows={"title": [c.title for c in index.communities]}),
        ),
    }
    reports = []
    for p in index.reports:
        community = community_of.get(p.community)
        reports.append(
            (
                hashlib.sha512(f"{p.community}\x1f{p.full_content}".encode()).hexdigest(),
                p.community,
                p.community,
                p.level,
                community.parent if community else -1,
                children.get(p.community, []),
                p.title,
                p.summary,
                p.full_content,
                float(p.rank),
                "",  # rating_explanation: our reports have none
                [{"explanation": f.explanation, "summary": f.summary} for f in p.findings],
                _report_json(p),
                period,
                len(community.entity_ids) if community else 0,
            )
        )
    out["community_reports"] = table("community_reports", reports)
    embedded = [(e.id, [float(x) for x in e.embedding]) for e in entities if e.embedding]
    if embedded:
        out["embeddings"] = table("embeddings", embedded)
    return out


def _report_json(report: CommunityReport) -> str:
    """The report as GraphRAG's report model dumps it (title, summary, findings, rating, explanation)."""
    return json.dumps(
        {
            "title": report.title,
            "summary": report.summary,
            "findings": [{"summary": f.summary, "explanation": f.explanation} for f in report.findings],
            "rating": float(report.rank),
            "rating_explanation": "",
        },
        ensure_ascii=False,
        indent=4,
    )


@dataclass
class GraphRAGExport:
    folder: Path
    rows: dict[str, int]  # file name -> rows written
    notes: list[str] = field(default_factory=list)


def write_graphrag(index: GraphIndex, folder: str | Path) -> GraphRAGExport:
    """Write `index` into `folder` as GraphRAG's parquet tables; each file is replaced atomically."""
    _, pq = arrow()
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GraphRAGError(f"{folder}: cannot create the folder ({exc.strerror})") from None
    tables = graphrag_tables(index)
    result = GraphRAGExport(folder=folder, rows={})
    for name, table in tables.items():
        file = EMBEDDINGS_FILE if name == "embeddings" else f"{name}.parquet"
        path = folder / file
        partial = folder / f".{file}.partial"
        try:
            pq.write_table(table, partial)
            os.replace(partial, path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise GraphRAGError(f"{path}: cannot write ({exc.strerror or exc})") from None
        result.rows[file] = table.num_rows
    stale = folder / EMBEDDINGS_FILE
    if "embeddings" not in tables:
        if stale.is_file():
            stale.unlink()
            result.notes.append(f"removed the {EMBEDDINGS_FILE} of an earlier export")
        result.notes.append("no entity embeddings (the index was built without an embedding model)")
    return result


async def export_graphrag(store: GraphStore, namespace: str, folder: str | Path) -> GraphRAGExport:
    """Write the published index of `namespace` into `folder` as GraphRAG's tables."""
    arrow()
    index = await store.export(namespace)
    if index is None:
        raise GraphRAGError(f"no index in namespace '{namespace}' yet: run kgbot index PATH")
    return await asyncio.to_thread(write_graphrag, index, folder)
