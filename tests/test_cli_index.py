"""`kgbot index` and `kgbot stats` as a user runs them: exit codes and one-line messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main


def test_index_then_stats_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "corpus", "-q"]) == 0
    out = capsys.readouterr().out
    assert "Indexed 3 documents" in out
    assert (workdir / ".kgbot" / "kg.db").exists()

    assert main(["stats", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"counts", "top_entities", "built_at", "seconds", "usage"}
    assert data["usage"] == {}  # an offline build makes no model call
    assert set(data["counts"]) == {
        "documents",
        "text_units",
        "entities",
        "relationships",
        "communities",
        "reports",
    }
    assert data["counts"]["documents"] == 3
    assert set(data["top_entities"][0]) == {"title", "type", "degree"}
    degrees = [e["degree"] for e in data["top_entities"]]
    assert degrees == sorted(degrees, reverse=True)


def test_stats_before_any_index_says_what_to_do(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("kgbot: no index") and "kgbot index" in err
    assert "\n" not in err


def test_bad_inputs_fail_in_one_line_and_keep_the_old_index(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "corpus", "-q"]) == 0
    capsys.readouterr()
    main(["stats", "--json"])
    before = json.loads(capsys.readouterr().out)

    (workdir / "empty").mkdir()
    (workdir / "fake.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 200)
    for args in (["missing-folder"], ["empty"], ["fake.txt"]):
        assert main(["index", *args, "-q"]) == 1, args
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
        assert captured.err.strip() == "kgbot: nothing could be indexed; the previous index is unchanged"
        assert captured.out.strip(), "the reason per path is shown"

    main(["stats", "--json"])
    after = json.loads(capsys.readouterr().out)
    assert after == before


def test_partly_bad_input_indexes_the_rest(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "corpus" / "fake.txt").write_bytes(b"\x00\xff\x00\xfe" * 500)
    (workdir / "corpus" / "latin.txt").write_bytes(
        "Café Soleil serves Zoë Martin every morning.".encode("cp1252")
    )
    assert main(["index", "corpus", "-q"]) == 0
    out = capsys.readouterr().out
    assert "fake.txt" in out
    assert "Indexed 4 documents" in out


def test_invalid_settings_are_reported_one_line_each(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KG_CHUNK_SIZE", "big")
    assert main(["stats"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kgbot: KG_CHUNK_SIZE:") and "Traceback" not in err


def test_counts_are_in_the_right_number(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "one").mkdir()
    (workdir / "one" / "note.txt").write_text("Maria Okafor designed the Lantern Engine.\n", encoding="utf-8")
    assert main(["index", "one", "-q"]) == 0
    out = capsys.readouterr().out
    assert "Indexed 1 document into namespace 'default': 1 chunk, " in out
    assert "1 documents" not in out and "1 chunks" not in out


def test_a_missing_path_beside_good_ones_is_named_and_fails_after_the_rest_is_indexed(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "corpus", "corpsu/notes.txt", "-q"]) == 1
    captured = capsys.readouterr()
    assert "Indexed 3 documents" in captured.out
    assert captured.err == "kgbot: path not found, not indexed: corpsu/notes.txt\n"
    assert main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["documents"] == 3


def test_nothing_to_index_without_a_previous_index_does_not_mention_one(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "missing-folder", "-q"]) == 1
    assert capsys.readouterr().err == "kgbot: nothing could be indexed\n"


def test_an_unreachable_neo4j_fails_at_the_start_in_one_line(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket

    import kg.index.pipeline

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("KG_STORE_URL", f"neo4j://127.0.0.1:{port}")

    async def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the index was built before the store was reached")

    monkeypatch.setattr(kg.index.pipeline, "build_index", never)
    assert main(["index", "corpus", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"kgbot: cannot reach Neo4j at neo4j://127.0.0.1:{port}") and err.count("\n") == 1
    # The driver's own bare line about it reaches no one; kgbot's message says it all.
    assert not [r for r in caplog.records if r.getMessage() == "Unable to retrieve routing information"]


def test_output_that_is_not_a_terminal_is_never_wrapped(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = workdir / "corpus" / "minutes of the quarterly planning meeting with the whole platform team"
    folder.mkdir()
    (folder / "broken-export-of-the-slides.pdf").write_bytes(b"%PDF-1.4 truncated")
    assert main(["index", "corpus", "-q"]) == 0
    out = capsys.readouterr().out
    [skipped] = [line for line in out.splitlines() if line.startswith("skipped ")]
    assert skipped.endswith(")") and "broken-export-of-the-slides.pdf: could not read it (" in skipped
    assert len(skipped) > 120
