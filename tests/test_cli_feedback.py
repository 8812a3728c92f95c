"""`kgbot feedback`: the votes kept in the graph store, listed for people and exported for tools."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest

from bot.cli import main
from kg.config import load_settings
from kg.model import Feedback
from kg.store import store_from_settings


async def _keep(*votes: Feedback) -> None:
    store = store_from_settings(load_settings())
    try:
        for vote in votes:
            await store.record_feedback(vote)
    finally:
        await store.close()


def _vote(namespace: str, user: str, vote: str, reason: str = "") -> Feedback:
    return Feedback(
        namespace=namespace,
        platform="slack",
        workspace="T1",
        answer_id="a1",
        user=user,
        vote=vote,
        reason=reason,
        question="Who maintains the data pipeline?",
        answer="Tomas Lindqvist maintains it [Data: Sources (1)].",
        cited=["Sources:1", "Entities:4"],
        generation=1,
        search="local",
        mode="llm",
        model="gpt-test",
    )


@pytest.fixture
def votes(workdir: Path) -> Path:
    asyncio.run(
        _keep(
            _vote("default", "U1", "up"),
            _vote("default", "U2", "down", "Out of date"),
            _vote("research", "U3", "down", "Wrong or made up"),
        )
    )
    return workdir


def test_feedback_exports_one_namespace_as_json(votes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feedback", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["user"], r["vote"], r["reason"]) for r in rows] == [
        ("U1", "up", ""),
        ("U2", "down", "Out of date"),
    ]
    assert rows[0]["namespace"] == "default" and rows[0]["cited"] == ["Sources:1", "Entities:4"]
    assert rows[0]["model"] == "gpt-test" and rows[0]["answer"].startswith("Tomas Lindqvist")


def test_feedback_exports_csv_for_the_chosen_namespace(
    votes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["feedback", "-n", "research", "--format", "csv"]) == 0
    [row] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert (row["namespace"], row["user"], row["vote"], row["reason"]) == (
        "research",
        "U3",
        "down",
        "Wrong or made up",
    )
    assert row["cited"] == "Sources:1 Entities:4"


def test_feedback_table_counts_the_votes(
    votes: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one row per vote
    assert main(["feedback"]) == 0
    out = capsys.readouterr().out
    assert "Feedback in 'default': 1 👍, 1 👎" in out and "Out of date" in out and "U3" not in out
