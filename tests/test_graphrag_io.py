"""Microsoft GraphRAG output folders in and out: round trips, hand-made GraphRAG folders, clear problems."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bot.cli import main
from kg.config import Settings
from kg.index.pipeline import build_index
from kg.interop.graphrag import EMBEDDINGS_FILE, GraphRAGError
from kg.interop.graphrag_read import import_graphrag, read_graphrag
from kg.interop.graphrag_write import export_graphrag, write_graphrag
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
from kg.search.local import build_context
from kg.store import open_store

# ------------------------------------------------------------------------------------------- our index


def small_index() -> GraphIndex:
    """Every field set to something other than its default, so a lost field shows."""
    text = (
        "Harbor Lights builds the Lantern Engine. Maria Okafor leads Harbor Lights. The Beacon API serves it."
    )
    cut = text.index("Maria")
    units = [
        TextUnit("u1", 1, "d1", text[:cut].rstrip(), 9, 0, cut - 1),
        TextUnit("u2", 2, "d1", text[cut:], 12, cut, len(text)),
    ]
    entities = [
        Entity(
            "e1", 1, "Harbor Lights", "ORGANIZATION", "A small company.", ["u1", "u2"], 2, [0.5, -0.25, 1.0]
        ),
        Entity("e2", 2, "Lantern Engine", "PRODUCT", "A forecast engine.", ["u1"], 1, [0.125, 0.0, 2.0]),
        Entity("e3", 3, "Maria Okafor", "PERSON", "Leads the group.", ["u2"], 1, [1.0, 1.0, 1.0]),
        Entity("e4", 4, "Beacon API", "", "", ["u2"], 0, None),
    ]
    relationships = [
        Relationship("r1", 1, "Harbor Lights", "Lantern Engine", "builds", 2.5, ["u1"], 3),
        Relationship("r2", 2, "Maria Okafor", "Harbor Lights", "leads", 1.0, ["u2"], 3),
    ]
    communities = [
        Community(0, 0, -1, "Harbor Lights and friends", ["e1", "e2", "e3"], ["r1", "r2"], ["u1", "u2"]),
        Community(1, 1, 0, "Harbor Lights and friends", ["e1", "e2"], ["r1"], ["u1"]),
    ]
    reports = [
        CommunityReport(
            0,
            0,
            "Harbor Lights and friends",
            "Who builds what.",
            "# Harbor Lights\n\nWho builds what.",
            7.5,
            [Finding("Builds", "Harbor Lights builds the engine."), Finding("Leads", "Maria leads.")],
        ),
        CommunityReport(1, 1, "Harbor Lights and friends", "The engine.", "# Engine", 3.0, []),
    ]
    doc = Document("d1", "harbor", "notes/harbor.md", text, ["u1", "u2"])
    return GraphIndex(
        [doc],
        units,
        entities,
        relationships,
        communities,
        reports,
        built_at="2026-03-01T10:00:00+00:00",
        seconds=1.25,
        extractor="nlp:v3",
    )


def test_round_trip_gives_back_every_field(tmp_path: Path) -> None:
    index = small_index()
    written = write_graphrag(index, tmp_path / "out")
    assert written.rows == {
        "documents.parquet": 1,
        "text_units.parquet": 2,
        "entities.parquet": 4,
        "relationships.parquet": 2,
        "communities.parquet": 2,
        "community_reports.parquet": 2,
        EMBEDDINGS_FILE: 3,
    }
    back = read_graphrag(tmp_path / "out")
    assert asdict(back.index) == asdict(index)
    assert back.embeddings == 3 and back.embedding_dim == 3
    assert back.notes == [back.notes[0]] and back.notes[0].startswith("embeddings: 3 of 4 entities")


async def test_round_trip_through_the_store(corpus: Path, settings: Settings, tmp_path: Path) -> None:
    store = open_store(settings.store_url)
    try:
        await build_index([corpus], store, settings)
        before = await store.export("default")
        assert before is not None and before.reports
        await export_graphrag(store, "default", tmp_path / "out")
        result = await import_graphrag(store, "copy", tmp_path / "out")
        after = await store.export("copy")
    finally:
        await store.close()
    assert after is not None
    for name in ("documents", "text_units", "entities", "relationships", "communities", "reports"):
        assert [asdict(r) for r in getattr(after, name)] == [asdict(r) for r in getattr(before, name)], name
    assert (after.built_at, after.seconds, after.extractor) == (
        before.built_at,
        before.seconds,
        before.extractor,
    )
    assert asdict(after) == asdict(before)
    assert all("unknown" not in n and "no '" not in n for n in result.notes)


# ------------------------------------------------------------------------------ GraphRAG's table shapes

# What GraphRAG 3.3 writes (it requires pandas 3, whose strings are large_string); lists that GraphRAG's
# inference leaves untyped when all empty (children, covariate_ids) are typed here.
STR, INT, FLOAT = "large_string", "int64", "double"
STRS, INTS = "list<element: string>", "list<element: int64>"
GRAPHRAG_3_3 = {
    "documents": [
        ("id", STR),
        ("human_readable_id", INT),
        ("title", STR),
        ("text", STR),
        ("text_unit_ids", STRS),
        ("creation_date", STR),
        ("raw_data", "null"),
    ],
    "text_units": [
        ("id", STR),
        ("human_readable_id", INT),
        ("text", STR),
        ("n_tokens", INT),
        ("document_id", STR),
        ("entity_ids", STRS),
        ("relationship_ids", STRS),
        ("covariate_ids", STRS),
    ],
    "entities": [
        ("id", STR),
        ("human_readable_id", INT),
        ("title", STR),
        ("type", STR),
        ("description", STR),
        ("text_unit_ids", STRS),
        ("frequency", INT),
        ("degree", INT),
    ],
    "relationships": [
        ("id", STR),
        ("human_readable_id", INT),
        ("source", STR),
        ("target", STR),
        ("description", STR),
        ("weight", FLOAT),
        ("combined_degree", INT),
        ("text_unit_ids", STRS),
    ],
    "communities": [
        ("id", STR),
        ("human_readable_id", INT),
        ("community", INT),
        ("level", INT),
        ("parent", INT),
        ("children", INTS),
        ("title", STR),
        ("entity_ids", STRS),
        ("relationship_ids", STRS),
        ("text_unit_ids", STRS),
        ("period", STR),
        ("size", INT),
    ],
    "community_reports": [
        ("id", STR),
        ("human_readable_id", INT),
        ("community", INT),
        ("level", INT),
        ("parent", INT),
        ("children", INTS),
        ("title", STR),
        ("summary", STR),
        ("full_content", STR),
        ("rank", FLOAT),
        ("rating_explanation", STR),
        ("findings", "list<element: struct<explanation: string, summary: string>>"),
        ("full_content_json", STR),
        ("period", STR),
        ("size", INT),
    ],
}


def test_export_writes_graphrag_3_3_columns_and_types(tmp_path: Path) -> None:
    write_graphrag(small_index(), tmp_path)
    for table, columns in GRAPHRAG_3_3.items():
        schema = pq.read_schema(tmp_path / f"{table}.parquet")
        assert [(f.name, str(f.type)) for f in schema] == columns, table
    embeddings = pq.read_schema(tmp_path / EMBEDDINGS_FILE)
    assert [(f.name, str(f.type)) for f in embeddings] == [
        ("id", STR),
        ("embedding", "list<element: double>"),
    ]

    rows = {t: pq.read_table(tmp_path / f"{t}.parquet").to_pylist() for t in GRAPHRAG_3_3}
    # GraphRAG's report reader groups communities by title: titles must be GraphRAG's unique "Community N".
    assert [c["title"] for c in rows["communities"]] == ["Community 0", "Community 1"]
    assert [c["children"] for c in rows["communities"]] == [[1], []]
    assert [c["size"] for c in rows["communities"]] == [3, 2]
    assert rows["community_reports"][0]["findings"] == [
        {"explanation": "Harbor Lights builds the engine.", "summary": "Builds"},
        {"explanation": "Maria leads.", "summary": "Leads"},
    ]
    assert json.loads(rows["community_reports"][0]["full_content_json"])["rating"] == 7.5
    assert rows["community_reports"][1]["parent"] == 0
    # the text units' entity and relationship lists are the reverse of the entities' text_unit_ids
    assert rows["text_units"][0]["entity_ids"] == ["e1", "e2"]
    assert rows["text_units"][1]["relationship_ids"] == ["r2"]
    assert rows["entities"][0]["frequency"] == 2
    assert rows["documents"][0]["creation_date"] == "2026-03-01 10:00:00 +0000"


def test_export_without_embeddings_says_so_and_removes_a_stale_file(tmp_path: Path) -> None:
    index = small_index()
    write_graphrag(index, tmp_path)
    for e in index.entities:
        e.embedding = None
    result = write_graphrag(index, tmp_path)
    assert not (tmp_path / EMBEDDINGS_FILE).exists()
    assert any("no entity embeddings" in n for n in result.notes)


# ------------------------------------------------------------------------------- GraphRAG-made folders

DOC = (
    "Harbor Lights is a small company that builds the Lantern Engine for coastal weather forecasts. "
    "Maria Okafor leads the forecasting group at Harbor Lights. "
    "The Lantern Engine publishes forecasts through the Beacon API."
)


def graphrag_tables() -> dict[str, dict[str, Any]]:
    """A folder as GraphRAG 3.3 writes it (uuid ids, numbers from 0), with pandas 3's large strings."""
    cut = DOC.index("Maria")
    return {
        "documents": {
            "id": ["doc-a"],
            "human_readable_id": [0],
            "title": ["harbor.txt"],
            "text": [DOC],
            "text_unit_ids": [["tu-0", "tu-1"]],
            "creation_date": ["2026-01-05 09:00:00 +0100"],
            "raw_data": [None],
        },
        "text_units": {
            "id": ["tu-0", "tu-1"],
            "human_readable_id": [0, 1],
            "text": [DOC[:cut], DOC[cut - 20 :]],
            "n_tokens": [20, 25],
            "document_id": ["doc-a", "doc-a"],
            "entity_ids": [["ent-0", "ent-1"], ["ent-0", "ent-2", "ent-3"]],
            "relationship_ids": [["rel-0"], ["rel-1", "rel-2"]],
            "covariate_ids": [[], []],
        },
        "entities": {
            "id": ["ent-0", "ent-1", "ent-2", "ent-3"],
            "human_readable_id": [0, 1, 2, 3],
            "title": ["HARBOR LIGHTS", "LANTERN ENGINE", "MARIA OKAFOR", "BEACON API"],
            "type": ["ORGANIZATION", "PRODUCT", "PERSON", "PRODUCT"],
            "description": [
                "Harbor Lights builds the Lantern Engine",
                "The Lantern Engine forecasts coastal weather",
                "Maria Okafor leads forecasting at Harbor Lights",
                "The Beacon API publishes forecasts",
            ],
            "text_unit_ids": [["tu-0", "tu-1"], ["tu-0"], ["tu-1"], ["tu-1"]],
            "frequency": [2, 1, 1, 1],
            "degree": [2, 2, 1, 1],
            "x": [0.0, 1.0, 2.0, 3.0],  # GraphRAG 2.x layout columns: known, silently ignored
            "y": [0.0, 0.0, 0.0, 0.0],
            "curator": ["ops", "ops", "hr", "ops"],  # a column GraphRAG never wrote
        },
        "relationships": {
            "id": ["rel-0", "rel-1", "rel-2"],
            "human_readable_id": [0, 1, 2],
            "source": ["HARBOR LIGHTS", "MARIA OKAFOR", "LANTERN ENGINE"],
            "target": ["LANTERN ENGINE", "HARBOR LIGHTS", "BEACON API"],
            "description": [
                "Harbor Lights builds the Lantern Engine",
                "Maria Okafor leads a group at Harbor Lights",
                "The Lantern Engine publishes through the Beacon API",
            ],
            "weight": [2.0, 1.0, 1.0],
            "combined_degree": [4, 3, 3],
            "text_unit_ids": [["tu-0"], ["tu-1"], ["tu-1"]],
        },
        "communities": {
            "id": ["c-uuid-0", "c-uuid-1"],
            "human_readable_id": [0, 1],
            "community": [0, 1],
            "level": [0, 1],
            "parent": [-1, 0],
            "children": [[1], []],
            "title": ["Community 0", "Community 1"],
            "entity_ids": [["ent-0", "ent-1", "ent-2", "ent-3"], ["ent-1", "ent-3"]],
            "relationship_ids": [["rel-0", "rel-1", "rel-2"], ["rel-2"]],
            "text_unit_ids": [["tu-0", "tu-1"], ["tu-1"]],
            "period": ["2026-01-05", "2026-01-05"],
            "size": [4, 2],
        },
        "community_reports": {
            "id": ["h0", "h1"],
            "human_readable_id": [0, 1],
            "community": [0, 1],
            "level": [0, 1],
            "parent": [-1, 0],
            "children": [[1], []],
            "title": ["Harbor Lights and the Lantern Engine", "Lantern Engine forecasts"],
            "summary": [
                "Harbor Lights builds forecasting tools.",
                "The engine publishes via the Beacon API.",
            ],
            "full_content": [
                "# Harbor Lights and the Lantern Engine\n\n...",
                "# Lantern Engine forecasts\n\n...",
            ],
            "rank": [8.0, 6.5],
            "rating_explanation": ["central", "narrow"],
            "findings": [
                [{"explanation": "Maria Okafor leads forecasting.", "summary": "Leadership"}],
                [{"explanation": "Forecasts go out through the Beacon API.", "summary": "Publishing"}],
            ],
            "full_content_json": ["{}", "{}"],
            "period": ["2026-01-05", "2026-01-05"],
            "size": [4, 2],
        },
    }


def write_tables(
    folder: Path, tables: dict[str, dict[str, Any]], names: dict[str, str] | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, columns in tables.items():
        data = pa.table(
            {
                k: pa.array(v, type=pa.large_string()) if v and isinstance(v[0], str) else pa.array(v)
                for k, v in columns.items()
            }
        )
        pq.write_table(data, folder / (names or {}).get(table, f"{table}.parquet"))
    return folder


async def test_import_a_graphrag_folder_keeps_its_ids_for_citations(
    settings: Settings, tmp_path: Path
) -> None:
    folder = write_tables(tmp_path / "output", graphrag_tables())
    vectors = {"ent-0": [1.0, 0.0], "ent-1": [0.0, 1.0], "ent-2": [0.5, 0.5], "ent-3": [0.25, 0.75]}
    pq.write_table(
        pa.table({"id": list(vectors), "embedding": list(vectors.values())}), folder / EMBEDDINGS_FILE
    )
    store = open_store(settings.store_url)
    try:
        result = await import_graphrag(store, "gr", folder)
        index = await store.export("gr")
        context = await build_context(store, "Who leads forecasting at Harbor Lights?", namespace="gr")
        stats = await store.stats("gr")
    finally:
        await store.close()
    assert index is not None and stats is not None
    assert "entities.parquet: ignored unknown column(s) curator" in result.notes
    assert result.embeddings == 4 and index.entities[2].embedding == [0.5, 0.5]
    assert [e.short_id for e in index.entities] == [0, 1, 2, 3]
    assert [r.short_id for r in index.relationships] == [0, 1, 2]
    assert index.relationships[0].rank == 4 and index.relationships[0].weight == 2.0
    # GraphRAG stores no offsets: they are found in the document's text
    first, second = index.text_units
    assert (first.start, first.end) == (0, DOC.index("Maria"))
    assert DOC[second.start : second.end] == second.text and second.start == DOC.index("Maria") - 20
    assert index.documents[0].title == index.documents[0].source == "harbor.txt"
    assert index.documents[0].text == ""  # like our own builds, the store keeps the chunks only
    assert [(c.id, c.level, c.parent, c.title) for c in index.communities] == [
        (0, 0, -1, "Community 0"),
        (1, 1, 0, "Community 1"),
    ]
    assert index.reports[0].findings == [Finding("Leadership", "Maria Okafor leads forecasting.")]
    assert index.reports[1].rank == 6.5 and index.reports[1].full_content.startswith("# Lantern")
    assert index.extractor == "graphrag" and index.built_at

    # answers cite GraphRAG's own numbers
    by_title = {e.title: e.short_id for e in context.entities}
    assert by_title["MARIA OKAFOR"] == 2
    assert {u.short_id for u in context.sources} <= {0, 1} and context.sources
    assert {r.community for r in context.reports} <= {0, 1} and context.reports


def test_missing_required_table_is_named(tmp_path: Path) -> None:
    tables = graphrag_tables()
    del tables["relationships"], tables["text_units"]
    folder = write_tables(tmp_path, tables)
    with pytest.raises(GraphRAGError) as err:
        read_graphrag(folder)
    lines = str(err.value).splitlines()
    assert lines == [
        f"{folder / 'relationships.parquet'}: missing (GraphRAG's relationships table is required)",
        f"{folder / 'text_units.parquet'}: missing (GraphRAG's text_units table is required)",
    ]


def test_missing_required_column_and_unreadable_file_are_named(tmp_path: Path) -> None:
    tables = graphrag_tables()
    del tables["entities"]["title"]
    folder = write_tables(tmp_path, tables)
    (folder / "relationships.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(GraphRAGError) as err:
        read_graphrag(folder)
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert lines[0] == f"{folder / 'entities.parquet'}: no 'title' column (required)"
    assert lines[1].startswith(f"{folder / 'relationships.parquet'}: not a readable parquet file")


def test_missing_optional_columns_get_defaults_with_one_note_each(tmp_path: Path) -> None:
    tables = graphrag_tables()
    for column in ("degree", "text_unit_ids", "human_readable_id", "type"):
        del tables["entities"][column]
    for column in ("combined_degree", "weight", "text_unit_ids"):
        del tables["relationships"][column]
    del tables["community_reports"]["full_content"]
    del tables["documents"]
    tables["relationships"]["extra_score"] = [1, 2, 3]
    result = read_graphrag(write_tables(tmp_path, tables))
    notes = result.notes
    assert all("\n" not in n for n in notes)
    assert "entities.parquet: no 'degree' column; counted from relationships" in notes
    assert (
        "entities.parquet: no 'human_readable_id' column; numbered by row order, as GraphRAG's query does"
        in notes
    )
    assert "entities.parquet: no 'text_unit_ids' column; taken from text_units.entity_ids" in notes
    assert "relationships.parquet: no 'weight' column; weights set to 1.0" in notes
    assert "relationships.parquet: ignored unknown column(s) extra_score" in notes
    assert "documents.parquet: not found; sources are named by document id" in notes
    assert any(n.startswith("no entity embeddings") for n in notes)

    index = result.index
    assert [e.degree for e in index.entities] == [2, 2, 1, 1]  # counted from the relationships
    assert [e.type for e in index.entities] == ["", "", "", ""]
    assert index.entities[0].text_unit_ids == ["tu-0", "tu-1"]
    assert [r.rank for r in index.relationships] == [4, 3, 3] and {r.weight for r in index.relationships} == {
        1.0
    }
    assert index.relationships[1].text_unit_ids == ["tu-1"]
    assert index.reports[0].full_content.startswith(
        "# Harbor Lights and the Lantern Engine\n\nHarbor Lights builds"
    )
    assert "## Leadership\n\nMaria Okafor leads forecasting." in index.reports[0].full_content
    assert [(d.id, d.title) for d in index.documents] == [("doc-a", "doc-a")]


def test_bad_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    tables = graphrag_tables()
    tables["entities"]["id"][3] = "ent-0"  # a repeated id
    tables["entities"]["human_readable_id"] = [0, 0, 2, 3]  # a repeated number
    tables["relationships"]["weight"] = ["2.0", "heavy", None]
    for column, values in tables["relationships"].items():  # a fourth relationship, without a target
        values.append(None if column == "target" else values[0] if column != "id" else "rel-3")
    result = read_graphrag(write_tables(tmp_path, tables))
    assert "relationships.parquet: skipped 1 relationships without a source or target" in result.notes
    assert "entities.parquet: skipped 1 entities repeating an earlier id" in result.notes
    assert (
        "entities.parquet: 1 row(s) without a unique human_readable_id were given new numbers" in result.notes
    )
    assert "relationships.parquet: 1 unreadable 'weight' value(s); set to 1.0" in result.notes
    assert [e.short_id for e in result.index.entities] == [0, 3, 2]
    assert [r.weight for r in result.index.relationships] == [2.0, 1.0, 1.0]


def test_older_graphrag_names_and_embedding_column(tmp_path: Path) -> None:
    tables = graphrag_tables()
    entities = tables["entities"]
    entities["name"] = entities.pop("title")
    entities["description_embedding"] = [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.1, 0.2]]
    units = tables["text_units"]
    units["document_ids"] = [[d] for d in units.pop("document_id")]
    names = {t: f"create_final_{t}.parquet" for t in tables}
    project = tmp_path / "project"
    write_tables(project / "output", tables, names)
    result = read_graphrag(project)  # the project folder: its output/ is found
    assert f"reading {project / 'output'} (the project's output folder)" in result.notes
    assert "create_final_entities.parquet: reading column 'name' as 'title' (older GraphRAG)" in result.notes
    assert [e.title for e in result.index.entities][:1] == ["HARBOR LIGHTS"]
    assert result.index.text_units[1].document_id == "doc-a"
    assert result.embeddings == 4 and result.index.entities[3].embedding == [0.1, 0.2]


def test_lancedb_embeddings_without_lancedb_say_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_tables(tmp_path / "output", graphrag_tables())
    (folder / "lancedb" / "entity_description.lance").mkdir(parents=True)
    monkeypatch.setitem(sys.modules, "lancedb", None)  # as when it is not installed
    result = read_graphrag(folder)
    [note] = [n for n in result.notes if "lancedb" in n.lower()]
    assert "lancedb/entity_description.lance" in note and "pip install lancedb" in note
    assert result.embeddings == 0 and all(e.embedding is None for e in result.index.entities)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(GraphRAGError, match="no such folder"):
        read_graphrag(tmp_path / "nowhere")


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_export_then_import(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-graphrag", "out"]) == 1
    assert (
        capsys.readouterr().err.strip() == "kgbot: no index in namespace 'default' yet: run kgbot index PATH"
    )

    assert main(["index", "corpus", "-q"]) == 0
    capsys.readouterr()
    assert main(["export-graphrag", "out"]) == 0
    out = capsys.readouterr().out
    assert "Exported namespace 'default' to out" in out and "entities.parquet" in out
    assert main(["import-graphrag", "out", "--namespace", "copy"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Imported the GraphRAG index in out into namespace 'copy': 3 documents" in out
    assert main(["ask", "--json", "-n", "copy", "Who leads the forecasting group?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["citations"]

    assert main(["import-graphrag", "corpus"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        err[0]
        == f"kgbot: {Path('corpus') / 'entities.parquet'}: missing (GraphRAG's entities table is required)"
    )


def test_cli_without_pyarrow_says_what_to_install(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    for command in (["import-graphrag", "out"], ["export-graphrag", "out"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert err == "kgbot: GraphRAG import and export need pyarrow: pip install 'kgbot[graphrag]'\n"
