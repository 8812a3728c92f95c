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
