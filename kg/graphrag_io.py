"""Microsoft GraphRAG output tables <-> our `GraphIndex`: `kgbot import-graphrag` and `kgbot export-graphrag`.

GraphRAG (3.x) writes one parquet file per table into its output folder. We read and write these columns,
in this order (what GraphRAG 3.3 writes; its query-side readers select columns by name):

    documents          id, human_readable_id, title, text, text_unit_ids, creation_date, raw_data
    text_units         id, human_readable_id, text, n_tokens, document_id, entity_ids, relationship_ids,
                       covariate_ids
    entities           id, human_readable_id, title, type, description, text_unit_ids, frequency, degree
    relationships      id, human_readable_id, source, target, description, weight, combined_degree,
                       text_unit_ids
    communities        id, human_readable_id, community, level, parent, children, title, entity_ids,
                       relationship_ids, text_unit_ids, period, size
    community_reports  id, human_readable_id, community, level, parent, children, title, summary,
                       full_content, rank, rating_explanation, findings (list of {explanation, summary}),
                       full_content_json, period, size

`human_readable_id` is our `short_id` (a community's is its `community` number), so an imported index cites
the same numbers GraphRAG does. Entity description embeddings, when present, come from an `embedding` /
`description_embedding` column (older GraphRAG), `embeddings.entity_description.parquet` (GraphRAG's
embeddings snapshot, which export writes), or the LanceDB store under the output folder (read only when the
`lancedb` package happens to be installed).

What GraphRAG's tables have no column for (a chunk's character offsets, a document's source path, our own
community titles, the build's time and cost) travels in each file's key-value metadata under `kgbot`, which
GraphRAG never reads; without it (a folder GraphRAG wrote) offsets are found by locating each chunk in its
document's text, sources default to document titles, and community titles are GraphRAG's.

Only pyarrow is needed (the `graphrag` extra); nothing here imports pandas or graphrag.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.model import (
    Community,
    CommunityReport,
    Document,
    Entity,
    Finding,
    GraphIndex,
    Relationship,
    TextUnit,
    content_id,
)
from kg.tokens import count_tokens

if TYPE_CHECKING:
    import pyarrow as pa

    from kg.store.base import GraphStore

PYARROW_MISSING = "GraphRAG import and export need pyarrow: pip install 'kgbot[graphrag]'"
TABLES = ("documents", "text_units", "entities", "relationships", "communities", "community_reports")
REQUIRED_TABLES = ("entities", "relationships", "text_units")
EMBEDDINGS_FILE = "embeddings.entity_description.parquet"
_META_KEY = b"kgbot"
_META_FORMAT = 1


class GraphRAGError(ValueError):
    """The folder cannot be imported or written; the message (one line per problem) is fit to show a user."""


def require_pyarrow() -> None:
    """Raise GraphRAGError (saying how to install it) when pyarrow is missing."""
    _arrow()


def _arrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise GraphRAGError(PYARROW_MISSING) from None
    return pa, pq


# --------------------------------------------------------------------------------------------- columns read


@dataclass(frozen=True)
class _Col:
    name: str
    role: str  # "required" | "used" (a note when missing, then `default`) | "known" (silent when missing)
    default: str = ""
    aliases: tuple[str, ...] = ()  # names older GraphRAG versions used


_HRID = _Col("human_readable_id", "used", "numbered by row order, as GraphRAG's query does")
_SPECS: dict[str, tuple[_Col, ...]] = {
    "documents": (
        _Col("id", "required"),
        _HRID,
        _Col("title", "used", "titles are the document ids"),
        _Col("text", "used", "documents have no text (chunks get no offsets)", ("raw_content",)),
        _Col("text_unit_ids", "used", "taken from text_units.document_id"),
        _Col("creation_date", "known"),
        _Col("raw_data", "known"),
        _Col("metadata", "known"),
    ),
    "text_units": (
        _Col("id", "required"),
        _HRID,
        _Col("text", "required", aliases=("chunk",)),
        _Col("n_tokens", "used", "counted"),
        _Col("document_id", "used", "chunks belong to no document", ("document_ids",)),
        _Col("entity_ids", "known"),
        _Col("relationship_ids", "known"),
        _Col("covariate_ids", "known"),
    ),
    "entities": (
        _Col("id", "required"),
        _HRID,
        _Col("title", "required", aliases=("name",)),
        _Col("type", "used", "types left empty"),
        _Col("description", "used", "descriptions left empty"),
        _Col("text_unit_ids", "used", "taken from text_units.entity_ids"),
        _Col("frequency", "known"),
        _Col("degree", "used", "counted from relationships", ("rank",)),
        _Col("description_embedding", "known", aliases=("embedding",)),
        _Col("x", "known"),
        _Col("y", "known"),
    ),
    "relationships": (
        _Col("id", "required"),
        _HRID,
        _Col("source", "required"),
        _Col("target", "required"),
        _Col("description", "used", "descriptions left empty"),
        _Col("weight", "used", "weights set to 1.0"),
        _Col("combined_degree", "used", "summed from entity degrees", ("rank",)),
        _Col("text_unit_ids", "used", "taken from text_units.relationship_ids"),
    ),
    "communities": (
        _Col("community", "required", aliases=("id",)),
        _Col("id", "known"),
        _Col("human_readable_id", "known"),
        _Col("level", "used", "every community at level 0"),
        _Col("parent", "used", "every community top-level (-1)"),
        _Col("children", "known"),
        _Col("title", "used", "titled 'Community N'"),
        _Col("entity_ids", "used", "communities hold no entities: answers will cite no Reports"),
        _Col("relationship_ids", "used", "left empty"),
        _Col("text_unit_ids", "used", "left empty"),
        _Col("period", "known"),
        _Col("size", "known"),
    ),
    "community_reports": (
        _Col("community", "required"),
        _Col("id", "known"),
        _Col("human_readable_id", "known"),
        _Col("level", "used", "taken from communities"),
        _Col("parent", "known"),
        _Col("children", "known"),
        _Col("title", "used", "titles left empty"),
        _Col("summary", "used", "summaries left empty"),
        _Col("full_content", "used", "written from title, summary and findings"),
        _Col("rank", "used", "ranks set to 0", ("rating",)),
        _Col("rating_explanation", "known", aliases=("rank_explanation",)),
        _Col("findings", "used", "no findings"),
        _Col("full_content_json", "known"),
        _Col("period", "known"),
        _Col("size", "known"),
    ),
}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class _Rows:
    """One table's columns as Python lists, with coercions that count (not raise on) unreadable values."""

    def __init__(self, file: str, table: pa.Table, spec: Sequence[_Col], notes: list[str]) -> None:
        self.file = file
        self.n = table.num_rows
        self.cols: dict[str, list[Any]] = {}
        self.missing_required: list[str] = []
        self.bad: Counter[str] = Counter()
        self.meta = _read_meta(table)
        names = table.column_names
        for col in spec:
            found = next((n for n in (col.name, *col.aliases) if n in names), None)
            if found is None:
                if col.role == "required":
                    self.missing_required.append(col.name)
                elif col.role == "used":
                    notes.append(f"{file}: no '{col.name}' column; {col.default}")
                continue
            if found != col.name and col.role != "known":
                notes.append(f"{file}: reading column '{found}' as '{col.name}' (older GraphRAG)")
            self.cols[col.name] = table.column(found).to_pylist()
        known = {n for col in spec for n in (col.name, *col.aliases)}
        extra = [n for n in names if n not in known and not n.startswith("__index_level_")]
        if extra:
            notes.append(f"{file}: ignored unknown column(s) {', '.join(extra)}")

    def has(self, name: str) -> bool:
        return name in self.cols

    def raw(self, i: int, name: str) -> Any:
        column = self.cols.get(name)
        return None if column is None else column[i]

    def str(self, i: int, name: str, default: str = "") -> str:
        value = self.raw(i, name)
        if _missing(value):
            return default
        if isinstance(value, list | tuple) and name == "document_id":  # older `document_ids`
            return str(value[0]) if value else default
        return str(value)

    def int(self, i: int, name: str, default: int) -> int:
        value = self.raw(i, name)
        if _missing(value):
            return default
        try:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError, OverflowError):
            self.bad[name] += 1
            return default

    def float(self, i: int, name: str, default: float) -> float:
        value = self.raw(i, name)
        if _missing(value):
            return default
        try:
            result = float(value)
        except (TypeError, ValueError):
            self.bad[name] += 1
            return default
        return default if math.isnan(result) else result

    def strs(self, i: int, name: str) -> list[str]:
        value = self.raw(i, name)
        if _missing(value):
            return []
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return []
            if not text.startswith("["):
                return [text]
            try:
                value = json.loads(text)
            except ValueError:
                self.bad[name] += 1
                return []
        if not isinstance(value, list | tuple):
            self.bad[name] += 1
            return []
        return [str(v) for v in value if not _missing(v)]

    def findings(self, i: int, name: str) -> list[Finding]:
        value = self.raw(i, name)
        if _missing(value):
            return []
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else []
            except ValueError:
                self.bad[name] += 1
                return []
        out: list[Finding] = []
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, dict):
                out.append(Finding(str(item.get("summary") or ""), str(item.get("explanation") or "")))
            elif isinstance(item, str):
                out.append(Finding(item, ""))
            else:
                self.bad[name] += 1
        return out

    def report_bad(self, notes: list[str], defaults: dict[str, str]) -> None:
        for name, count in self.bad.items():
            notes.append(
                f"{self.file}: {count} unreadable '{name}' value(s); {defaults.get(name, 'ignored')}"
            )


def _ids_digest(ids: Iterable[str]) -> str:
    return hashlib.sha256("\x1f".join(ids).encode("utf-8")).hexdigest()[:32]


def _read_meta(table: pa.Table) -> dict[str, Any]:
    raw = (table.schema.metadata or {}).get(_META_KEY)
    if not raw:
        return {}
    try:
        meta = json.loads(raw)
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) and meta.get("format") == _META_FORMAT else {}


def _row_extras(rows: _Rows, ids: list[str]) -> dict[str, list[Any]]:
    """Our per-row columns from the file's metadata, when they still describe exactly these rows."""
    extras = rows.meta.get("rows")
    if not isinstance(extras, dict) or rows.meta.get("ids") != _ids_digest(ids):
        return {}
    return {k: v for k, v in extras.items() if isinstance(v, list) and len(v) == rows.n}


def _row_ids(rows: _Rows, what: str, notes: list[str]) -> list[int]:
    """Indexes of the rows to keep: those with an id, first occurrence of each id."""
    keep: list[int] = []
    seen: set[str] = set()
    empty = duplicate = 0
    for i in range(rows.n):
        key = rows.str(i, "id")
        if not key:
            empty += 1
        elif key in seen:
            duplicate += 1
        else:
            seen.add(key)
            keep.append(i)
    if empty:
        notes.append(f"{rows.file}: skipped {empty} {what} without an id")
    if duplicate:
        notes.append(f"{rows.file}: skipped {duplicate} {what} repeating an earlier id")
    return keep


def _short_ids(rows: _Rows, keep: list[int], notes: list[str]) -> list[int]:
    """`human_readable_id` of each kept row (the row number without the column); repeats get fresh numbers."""
    wanted = [rows.int(i, "human_readable_id", -1) if rows.has("human_readable_id") else i for i in keep]
    used: set[int] = set()
    out: list[int] = []
    renumbered = 0
    next_free = max(wanted, default=-1) + 1
    for value in wanted:
        if value < 0 or value in used:
            renumbered += 1
            value, next_free = next_free, next_free + 1
        used.add(value)
        out.append(value)
    if renumbered:
        notes.append(
            f"{rows.file}: {renumbered} row(s) without a unique human_readable_id were given new numbers"
        )
    return out


# ------------------------------------------------------------------------------------------------- import


@dataclass
class GraphRAGImport:
    index: GraphIndex
    folder: Path
    notes: list[str] = field(default_factory=list)
    embeddings: int = 0  # entities that got a vector
    embedding_dim: int = 0


def _locate(folder: Path, notes: list[str]) -> tuple[Path, dict[str, Path]]:
    if not folder.exists():
        raise GraphRAGError(f"{folder}: no such folder (give GraphRAG's output folder)")
    if not folder.is_dir():
        raise GraphRAGError(
            f"{folder}: not a folder (give GraphRAG's output folder, holding entities.parquet)"
        )

    def files_in(where: Path) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for table in TABLES:
            for name in (f"{table}.parquet", f"create_final_{table}.parquet"):
                if (where / name).is_file():
                    found[table] = where / name
                    break
        return found

    files = files_in(folder)
    if "entities" not in files and files_in(folder / "output"):
        notes.append(f"reading {folder / 'output'} (the project's output folder)")
        folder = folder / "output"
        files = files_in(folder)
    missing = [t for t in REQUIRED_TABLES if t not in files]
    if missing:
        raise GraphRAGError(
            "\n".join(
                f"{folder / (t + '.parquet')}: missing (GraphRAG's {t} table is required)" for t in missing
            )
        )
    for table in TABLES:
        if table not in files and table not in REQUIRED_TABLES:
            consequence = {
                "documents": "sources are named by document id",
                "communities": "no communities: answers will cite no Reports",
                "community_reports": "no community reports: answers will cite no Reports",
            }[table]
            notes.append(f"{table}.parquet: not found; {consequence}")
    return folder, files


def read_graphrag(folder: str | Path) -> GraphRAGImport:
    """Read a GraphRAG output folder into a `GraphIndex`; problems the import worked around are in `notes`.

    Raises GraphRAGError naming the file when a required table or column is missing or unreadable.
    """
    pa, pq = _arrow()
    notes: list[str] = []
    folder, files = _locate(Path(folder).expanduser(), notes)
    rows: dict[str, _Rows] = {}
    errors: list[str] = []
    for table, path in files.items():
        try:
            data = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            errors.append(f"{path}: not a readable parquet file ({exc})")
            continue
        r = _Rows(path.name, data, _SPECS[table], notes)
        errors += [f"{path}: no '{c}' column (required)" for c in r.missing_required]
        rows[table] = r
    if errors:
        raise GraphRAGError("\n".join(errors))
    index = _build_index(rows, notes)
    result = GraphRAGImport(index=index, folder=folder, notes=notes)
    _attach_embeddings(result, rows["entities"], folder, pq)
    if not index.built_at:  # a folder GraphRAG wrote (ours carry the build's own record)
        index.built_at, index.seconds = _build_time(folder)
        index.extractor = "graphrag"
    return result


def _build_index(rows: dict[str, _Rows], notes: list[str]) -> GraphIndex:
    units, located = _text_units(rows["text_units"], notes)
    docs = _documents(rows.get("documents"), units, located, notes)
    entities = _entities(rows["entities"], rows["text_units"], rows["relationships"], notes)
    relationships = _relationships(rows["relationships"], rows["text_units"], entities, notes)
    communities = _communities(rows.get("communities"), notes) if "communities" in rows else []
    reports = _reports(rows["community_reports"], communities, notes) if "community_reports" in rows else []
    index = GraphIndex(docs, units, entities, relationships, communities, reports)
    build = rows["entities"].meta.get("index")
    if isinstance(build, dict):
        names = {f.name for f in fields(GraphIndex)} - set(TABLES) - {"reports"}
        for key, value in build.items():
            if key in names:
                setattr(index, key, value)
    known_titles = {e.title for e in entities}
    dangling = sum(1 for r in relationships if r.source not in known_titles or r.target not in known_titles)
    if dangling:
        notes.append(
            f"relationships.parquet: {dangling} relationship(s) name an entity not in entities.parquet"
        )
    return index


def _text_units(r: _Rows, notes: list[str]) -> tuple[list[TextUnit], bool]:
    """The chunks, and whether their offsets came with them (else they are looked up in the documents)."""
    keep = _row_ids(r, "text units", notes)
    ids = [r.str(i, "id") for i in range(r.n)]
    extras = _row_extras(r, ids)
    units = []
    for i, short_id in zip(keep, _short_ids(r, keep, notes), strict=True):
        text = r.str(i, "text")
        unit = TextUnit(
            id=ids[i],
            short_id=short_id,
            document_id=r.str(i, "document_id"),
            text=text,
            n_tokens=r.int(i, "n_tokens", -1),
        )
        if unit.n_tokens < 0:
            unit.n_tokens = count_tokens(text)
        if "start" in extras and "end" in extras:
            unit.start, unit.end = int(extras["start"][i]), int(extras["end"][i])
        units.append(unit)
    r.report_bad(notes, {"n_tokens": "counted"})
    return units, "start" in extras and "end" in extras


def _documents(r: _Rows | None, units: list[TextUnit], located: bool, notes: list[str]) -> list[Document]:
    units_of: dict[str, list[str]] = {}
    for u in units:
        units_of.setdefault(u.document_id, []).append(u.id)
    docs: list[Document] = []
    if r is not None:
        ids = [r.str(i, "id") for i in range(r.n)]
        extras = _row_extras(r, ids)
        for i in _row_ids(r, "documents", notes):
            title = r.str(i, "title") or ids[i]
            docs.append(
                Document(
                    id=ids[i],
                    title=title,
                    source=str(extras["source"][i]) if "source" in extras else title,
                    text=r.str(i, "text"),
                    text_unit_ids=r.strs(i, "text_unit_ids")
                    if r.has("text_unit_ids")
                    else units_of.get(ids[i], []),
                )
            )
        r.report_bad(notes, {"text_unit_ids": "left empty"})
    known = {d.id for d in docs}
    orphans = [d for d in units_of if d and d not in known]
    if orphans and r is not None:
        notes.append(
            f"text_units.parquet: {len(orphans)} document id(s) not in documents.parquet; named by id"
        )
    docs += [Document(id=d, title=d, source=d, text_unit_ids=units_of[d]) for d in orphans]
    if not located:
        _locate_units(docs, units, notes)
    return docs


def _locate_units(docs: list[Document], units: list[TextUnit], notes: list[str]) -> None:
    """Character offsets of each chunk, found in its document's text (GraphRAG does not store them)."""
    text_of = {d.id: d.text for d in docs}
    position: dict[str, int] = {}
    lost = 0
    for u in units:
        text = text_of.get(u.document_id, "")
        at = text.find(u.text, position.get(u.document_id, 0)) if text and u.text else -1
        if at < 0 and text and u.text:
            at = text.find(u.text)
        if at < 0:
            lost += bool(text)
            continue
        u.start, u.end = at, at + len(u.text)
        position[u.document_id] = at + 1
    if lost:
        notes.append(f"text_units.parquet: {lost} chunk(s) not found verbatim in their document; no offsets")


def _reverse(rows: _Rows, column: str, kept: Sequence[str]) -> dict[str, list[str]]:
    """id -> text unit ids, from text_units' `entity_ids` / `relationship_ids` lists."""
    wanted = set(kept)
    out: dict[str, list[str]] = {}
    for i in range(rows.n):
        unit = rows.str(i, "id")
        for item in rows.strs(i, column):
            if item in wanted:
                out.setdefault(item, []).append(unit)
    return out


def _degrees(rels: _Rows) -> Counter[str]:
    seen: set[tuple[str, str]] = set()
    degree: Counter[str] = Counter()
    for i in range(rels.n):
        a, b = sorted((rels.str(i, "source"), rels.str(i, "target")))
        if a and b and (a, b) not in seen:
            seen.add((a, b))
            degree[a] += 1
            degree[b] += 1
    return degree


def _entities(r: _Rows, units: _Rows, rels: _Rows, notes: list[str]) -> list[Entity]:
    keep = [i for i in _row_ids(r, "entities", notes) if r.str(i, "title")]
    untitled = sum(1 for i in range(r.n) if r.str(i, "id") and not r.str(i, "title"))
    if untitled:
        notes.append(f"{r.file}: skipped {untitled} entities without a title")
    ids = [r.str(i, "id") for i in keep]
    unit_ids = None if r.has("text_unit_ids") else _reverse(units, "entity_ids", ids)
    degree = None if r.has("degree") else _degrees(rels)
    entities = []
    for i, short_id in zip(keep, _short_ids(r, keep, notes), strict=True):
        key, title = r.str(i, "id"), r.str(i, "title")
        entities.append(
            Entity(
                id=key,
                short_id=short_id,
                title=title,
                type=r.str(i, "type"),
                description=r.str(i, "description"),
                text_unit_ids=r.strs(i, "text_unit_ids") if unit_ids is None else unit_ids.get(key, []),
                degree=r.int(i, "degree", 0) if degree is None else degree[title],
            )
        )
    r.report_bad(notes, {"degree": "set to 0", "text_unit_ids": "left empty"})
    return entities


def _relationships(r: _Rows, units: _Rows, entities: list[Entity], notes: list[str]) -> list[Relationship]:
    kept = _row_ids(r, "relationships", notes)
    keep = [i for i in kept if r.str(i, "source") and r.str(i, "target")]
    if len(keep) < len(kept):
        notes.append(f"{r.file}: skipped {len(kept) - len(keep)} relationships without a source or target")
    ids = [r.str(i, "id") for i in keep]
    unit_ids = None if r.has("text_unit_ids") else _reverse(units, "relationship_ids", ids)
    degree = {e.title: e.degree for e in entities}
    out = []
    for i, short_id in zip(keep, _short_ids(r, keep, notes), strict=True):
        key, source, target = r.str(i, "id"), r.str(i, "source"), r.str(i, "target")
        out.append(
            Relationship(
                id=key,
                short_id=short_id,
                source=source,
                target=target,
                description=r.str(i, "description"),
                weight=r.float(i, "weight", 1.0),
                text_unit_ids=r.strs(i, "text_unit_ids") if unit_ids is None else unit_ids.get(key, []),
                rank=r.int(i, "combined_degree", degree.get(source, 0) + degree.get(target, 0)),
            )
        )
    r.report_bad(notes, {"weight": "set to 1.0", "combined_degree": "summed from entity degrees"})
    return out


def _unique_numbers(r: _Rows, what: str, notes: list[str]) -> list[int]:
    keep: list[int] = []
    seen: set[int] = set()
    skipped = 0
    for i in range(r.n):
        number = r.int(i, "community", -1)
        if number < 0 or number in seen:
            skipped += 1
            continue
        seen.add(number)
        keep.append(i)
    if skipped:
        notes.append(f"{r.file}: skipped {skipped} {what} without a unique community number")
    return keep


def _communities(r: _Rows, notes: list[str]) -> list[Community]:
    ids = [r.str(i, "id") for i in range(r.n)]
    extras = _row_extras(r, ids)
    out = []
    for i in _unique_numbers(r, "communities", notes):
        number = r.int(i, "community", -1)
        out.append(
            Community(
                id=number,
                level=r.int(i, "level", 0),
                parent=r.int(i, "parent", -1),
                title=str(extras["title"][i])
                if "title" in extras
                else r.str(i, "title", f"Community {number}"),
                entity_ids=r.strs(i, "entity_ids"),
                relationship_ids=r.strs(i, "relationship_ids"),
                text_unit_ids=r.strs(i, "text_unit_ids"),
            )
        )
    r.report_bad(notes, {"level": "set to 0", "parent": "set to -1"})
    return out


def _reports(r: _Rows, communities: list[Community], notes: list[str]) -> list[CommunityReport]:
    level_of = {c.id: c.level for c in communities}
    out = []
    for i in _unique_numbers(r, "reports", notes):
        number = r.int(i, "community", -1)
        title, summary, findings = r.str(i, "title"), r.str(i, "summary"), r.findings(i, "findings")
        out.append(
            CommunityReport(
                community=number,
                level=r.int(i, "level", level_of.get(number, 0)),
                title=title,
                summary=summary,
                full_content=r.str(i, "full_content") or _full_content(title, summary, findings),
                rank=r.float(i, "rank", 0.0),
                findings=findings,
            )
        )
    r.report_bad(notes, {"rank": "set to 0", "level": "taken from communities", "findings": "dropped"})
    return out


def _full_content(title: str, summary: str, findings: Sequence[Finding]) -> str:
    """A report as GraphRAG renders one: title, summary, then a section per finding."""
    parts = [f"# {title}", summary, *(f"## {f.summary}\n\n{f.explanation}" for f in findings)]
    return "\n\n".join(parts)


def _build_time(folder: Path) -> tuple[str, float]:
    """When GraphRAG finished the build and how long it took, as near as the folder tells."""
    seconds = 0.0
    try:
        stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
        seconds = float(stats.get("total_runtime") or 0.0)
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    for name in ("stats.json", "entities.parquet", "create_final_entities.parquet"):
        path = folder / name
        if path.is_file():
            when = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            return when.isoformat(timespec="seconds"), round(seconds, 3)
    return datetime.now(UTC).isoformat(timespec="seconds"), round(seconds, 3)


# --------------------------------------------------------------------------------------------- embeddings


def _attach_embeddings(result: GraphRAGImport, entities: _Rows, folder: Path, pq: Any) -> None:
    """Set entity embeddings from the first place that has them, and say where they came from (or not)."""
    found: dict[str, list[float]] = {}
    origin = ""
    if entities.has("description_embedding"):
        for i in range(entities.n):
            vector = entities.raw(i, "description_embedding")
            if isinstance(vector, list | tuple) and vector:
                found[entities.str(i, "id")] = vector
        origin = f"{entities.file} column" if found else ""
    snapshot = folder / EMBEDDINGS_FILE
    if not found and snapshot.is_file():
        try:
            table = pq.read_table(snapshot)
        except Exception as exc:  # noqa: BLE001 - embeddings are optional; say why they were skipped
            result.notes.append(f"{EMBEDDINGS_FILE}: not readable ({exc}); importing without embeddings")
        else:
            found, origin = _vectors_of(table, EMBEDDINGS_FILE, result.notes), EMBEDDINGS_FILE
    if not found:
        found, origin = _lancedb_vectors(folder, result.notes)
    if not found:
        if not origin:
            result.notes.append(
                "no entity embeddings (no description_embedding column, no "
                f"{EMBEDDINGS_FILE}, no lancedb/ store): entities are matched to questions by full text only"
            )
        return
    dims = Counter(len(v) for v in found.values())
    dim = dims.most_common(1)[0][0]
    matched = 0
    odd = 0
    for e in result.index.entities:
        vector = found.get(e.id) or found.get(e.title)  # some older stores are keyed by title
        if vector is None:
            continue
        if len(vector) != dim:
            odd += 1
            continue
        e.embedding = [float(x) for x in vector]
        matched += 1
    if odd:
        result.notes.append(f"embeddings: skipped {odd} vector(s) not of the common dimension {dim}")
    result.embeddings, result.embedding_dim = matched, dim
    result.notes.append(
        f"embeddings: {matched} of {len(result.index.entities)} entities have a {dim}-dimension vector "
        f"(from {origin}); questions use them only when KG_EMBEDDING_MODEL is the model GraphRAG used"
    )


def _vectors_of(table: pa.Table, file: str, notes: list[str]) -> dict[str, list[float]]:
    names = table.column_names
    key = next((n for n in ("id", "title") if n in names), None)
    column = next((n for n in ("embedding", "vector", "description_embedding") if n in names), None)
    if key is None or column is None:
        notes.append(f"{file}: expected an 'id' and an 'embedding' (or 'vector') column; no embeddings read")
        return {}
    out: dict[str, list[float]] = {}
    for k, v in zip(table.column(key).to_pylist(), table.column(column).to_pylist(), strict=True):
        if k is not None and v:
            out[str(k)] = v
    return out


def _lancedb_vectors(folder: Path, notes: list[str]) -> tuple[dict[str, list[float]], str]:
    """Entity description vectors from GraphRAG's LanceDB store (output/lancedb), if lancedb is installed."""
    store = next((p for p in (folder / "lancedb", folder.parent / "lancedb") if p.is_dir()), None)
    if store is None:
        return {}, ""
    tables = sorted(p.name.removesuffix(".lance") for p in store.glob("*.lance"))
    wanted = [t for t in tables if "entity" in t and "description" in t]
    if not wanted:
        return {}, ""
    where = f"{store.name}/{wanted[0]}.lance"
    try:
        import lancedb  # not a dependency: used when the user has it (GraphRAG installs it)
    except ImportError:
        notes.append(
            f"embeddings: GraphRAG keeps them in a LanceDB store ({where}); pip install lancedb to import "
            "them. Importing without embeddings (full-text entity search only)"
        )
        return {}, where
    try:
        table = lancedb.connect(str(store)).open_table(wanted[0]).to_arrow()
    except Exception as exc:  # noqa: BLE001 - embeddings are optional; say why they were skipped
        notes.append(f"embeddings: could not read {where} ({exc}); importing without embeddings")
        return {}, where
    return _vectors_of(table, where, notes), where


# ------------------------------------------------------------------------------------------------- export


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


def _meta(ids: Sequence[str] | None = None, **extra: Any) -> dict[bytes, bytes]:
    meta: dict[str, Any] = {"format": _META_FORMAT, **extra}
    if ids is not None:
        meta["ids"] = _ids_digest(ids)
    return {_META_KEY: json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode("utf-8")}


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
    pa, _ = _arrow()

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
            _meta([d.id for d in docs], rows={"source": [d.source for d in docs]}),
        ),
        "text_units": table(
            "text_units",
            (
                (u.id, u.short_id, u.text, u.n_tokens, u.document_id)
                + (unit_entities.get(u.id, []), unit_relationships.get(u.id, []), [])
                for u in units
            ),
            _meta(
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
            _meta(index=build),
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
            _meta(community_ids, rows={"title": [c.title for c in index.communities]}),
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
    _, pq = _arrow()
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


# ------------------------------------------------------------------------------------------- with a store


async def import_graphrag(store: GraphStore, namespace: str, folder: str | Path) -> GraphRAGImport:
    """Read a GraphRAG output folder and publish it as `namespace` (atomically, like any build)."""
    result = await asyncio.to_thread(read_graphrag, folder)
    for doc in result.index.documents:
        doc.text = ""  # as for our own builds: the store keeps chunks (now located), not a second copy
    await store.publish(namespace, result.index)
    return result


async def export_graphrag(store: GraphStore, namespace: str, folder: str | Path) -> GraphRAGExport:
    """Write the published index of `namespace` into `folder` as GraphRAG's tables."""
    _arrow()
    index = await store.export(namespace)
    if index is None:
        raise GraphRAGError(f"no index in namespace '{namespace}' yet: run kgbot index PATH")
    return await asyncio.to_thread(write_graphrag, index, folder)
