"""Reading GraphRAG's tables column by column: which columns each table must have, may have (with what default
when missing) or may carry under an older name, and rows read leniently, every unreadable value counted into
a note for the user instead of failing the import."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kg.interop.graphrag import ids_digest, read_meta
from kg.model import (
    Finding,
)

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class _Col:
    name: str
    role: str  # "required" | "used" (a note when missing, then `default`) | "known" (silent when missing)
    default: str = ""
    aliases: tuple[str, ...] = ()  # names older GraphRAG versions used


_HRID = _Col("human_readable_id", "used", "numbered by row order, as GraphRAG's query does")
COLUMN_SPECS: dict[str, tuple[_Col, ...]] = {
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


class Rows:
    """One table's columns as Python lists, with coercions that count (not raise on) unreadable values."""

    def __init__(self, file: str, table: pa.Table, spec: Sequence[_Col], notes: list[str]) -> None:
        self.file = file
        self.n = table.num_rows
        self.cols: dict[str, list[Any]] = {}
        self.missing_required: list[str] = []
        self.bad: Counter[str] = Counter()
        self.meta = read_meta(table)
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


def row_extras(rows: Rows, ids: list[str]) -> dict[str, list[Any]]:
    """Our per-row columns from the file's metadata, when they still describe exactly these rows."""
    extras = rows.meta.get("rows")
    if not isinstance(extras, dict) or rows.meta.get("ids") != ids_digest(ids):
        return {}
    return {k: v for k, v in extras.items() if isinstance(v, list) and len(v) == rows.n}


def row_ids(rows: Rows, what: str, notes: list[str]) -> list[int]:
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


def short_ids(rows: Rows, keep: list[int], notes: list[str]) -> list[int]:
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
