"""`kgbot import-graphrag`: a GraphRAG output folder (parquet tables, embeddings when present) read into our
`GraphIndex` and published like any build. What GraphRAG's tables lack is rebuilt (chunk offsets located in
their documents, degrees, ids of the rows they name); every repair is a note shown to the user."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.interop.graphrag import EMBEDDINGS_FILE, REQUIRED_TABLES, TABLES, GraphRAGError, arrow
from kg.interop.graphrag_columns import COLUMN_SPECS, Rows, row_extras, row_ids, short_ids
from kg.model import (
    Community,
    CommunityReport,
    Document,
    Entity,
    Finding,
    GraphIndex,
    Relationship,
    TextUnit,
)
from kg.text.tokens import count_tokens

if TYPE_CHECKING:
    import pyarrow as pa

    from kg.store.base import GraphStore


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
    pa, pq = arrow()
    notes: list[str] = []
    folder, files = _locate(Path(folder).expanduser(), notes)
    rows: dict[str, Rows] = {}
    errors: list[str] = []
    for table, path in files.items():
        try:
            data = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            errors.append(f"{path}: not a readable parquet file ({exc})")
            continue
        r = Rows(path.name, data, COLUMN_SPECS[table], notes)
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


def _build_index(rows: dict[str, Rows], notes: list[str]) -> GraphIndex:
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


def _text_units(r: Rows, notes: list[str]) -> tuple[list[TextUnit], bool]:
    """The chunks, and whether their offsets came with them (else they are looked up in the documents)."""
    keep = row_ids(r, "text units", notes)
    ids = [r.str(i, "id") for i in range(r.n)]
    extras = row_extras(r, ids)
    units = []
    for i, short_id in zip(keep, short_ids(r, keep, notes), strict=True):
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


def _documents(r: Rows | None, units: list[TextUnit], located: bool, notes: list[str]) -> list[Document]:
    units_of: dict[str, list[str]] = {}
    for u in units:
        units_of.setdefault(u.document_id, []).append(u.id)
    docs: list[Document] = []
    if r is not None:
        ids = [r.str(i, "id") for i in range(r.n)]
        extras = row_extras(r, ids)
        for i in row_ids(r, "documents", notes):
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


def _reverse(rows: Rows, column: str, kept: Sequence[str]) -> dict[str, list[str]]:
    """id -> text unit ids, from text_units' `entity_ids` / `relationship_ids` lists."""
    wanted = set(kept)
    out: dict[str, list[str]] = {}
    for i in range(rows.n):
        unit = rows.str(i, "id")
        for item in rows.strs(i, column):
            if item in wanted:
                out.setdefault(item, []).append(unit)
    return out


def _degrees(rels: Rows) -> Counter[str]:
    seen: set[tuple[str, str]] = set()
    degree: Counter[str] = Counter()
    for i in range(rels.n):
        a, b = sorted((rels.str(i, "source"), rels.str(i, "target")))
        if a and b and (a, b) not in seen:
            seen.add((a, b))
            degree[a] += 1
            degree[b] += 1
    return degree


def _entities(r: Rows, units: Rows, rels: Rows, notes: list[str]) -> list[Entity]:
    keep = [i for i in row_ids(r, "entities", notes) if r.str(i, "title")]
    untitled = sum(1 for i in range(r.n) if r.str(i, "id") and not r.str(i, "title"))
    if untitled:
        notes.append(f"{r.file}: skipped {untitled} entities without a title")
    ids = [r.str(i, "id") for i in keep]
    unit_ids = None if r.has("text_unit_ids") else _reverse(units, "entity_ids", ids)
    degree = None if r.has("degree") else _degrees(rels)
    entities = []
    for i, short_id in zip(keep, short_ids(r, keep, notes), strict=True):
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


def _relationships(r: Rows, units: Rows, entities: list[Entity], notes: list[str]) -> list[Relationship]:
    kept = row_ids(r, "relationships", notes)
    keep = [i for i in kept if r.str(i, "source") and r.str(i, "target")]
    if len(keep) < len(kept):
        notes.append(f"{r.file}: skipped {len(kept) - len(keep)} relationships without a source or target")
    ids = [r.str(i, "id") for i in keep]
    unit_ids = None if r.has("text_unit_ids") else _reverse(units, "relationship_ids", ids)
    degree = {e.title: e.degree for e in entities}
    out = []
    for i, short_id in zip(keep, short_ids(r, keep, notes), strict=True):
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


def _unique_numbers(r: Rows, what: str, notes: list[str]) -> list[int]:
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


def _communities(r: Rows, notes: list[str]) -> list[Community]:
    ids = [r.str(i, "id") for i in range(r.n)]
    extras = row_extras(r, ids)
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


def _reports(r: Rows, communities: list[Community], notes: list[str]) -> list[CommunityReport]:
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


def _attach_embeddings(result: GraphRAGImport, entities: Rows, folder: Path, pq: Any) -> None:
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


async def import_graphrag(store: GraphStore, namespace: str, folder: str | Path) -> GraphRAGImport:
    """Read a GraphRAG output folder and publish it as `namespace` (atomically, like any build)."""
    result = await asyncio.to_thread(read_graphrag, folder)
    for doc in result.index.documents:
        doc.text = ""  # as for our own builds: the store keeps chunks (now located), not a second copy
    await store.publish(namespace, result.index)
    return result
