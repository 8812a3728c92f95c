"""A killed build leaves the previous index serving, and readers never see half of a rebuild.

`kgbot index` runs as a real child process (tests/cli_runner.py) and is killed with SIGKILL at seeded points
spread over loading, extraction, merging, communities and publishing, on SQLite and on a real Neo4j. After each
kill `kgbot stats` and `kgbot ask` must serve the previous build unchanged, the SQLite files must pass
`PRAGMA integrity_check`, no temporary file may be left behind, and the next build must complete and publish.

The two builds are told apart by a marker word in every sentence ("Amber" in the first, "Birch" in the
second): an answer carrying both markers mixes two builds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = 16
QUESTION = "Who maintains the Lantern Engine?"
MARKERS = ("Amber", "Birch")

PEOPLE = ("Maria Okafor", "Tomas Lindqvist", "Ines Duarte", "Kwame Mensah", "Yuki Tanaka", "Ravi Patel")
PRODUCTS = ("Lantern Engine", "Beacon API", "Tide Gauge", "Harbor Console", "Signal Mast")
VERBS = ("maintains", "designed", "reviews", "tests", "documents")


def write_build(root: Path, marker: str) -> Path:
    """A corpus of four documents whose every sentence names `marker`, the build it belongs to."""
    rng = random.Random(f"{SEED}-{marker}")
    root.mkdir(parents=True, exist_ok=True)
    for d in range(4):
        sentences = [
            f"{rng.choice(PEOPLE)} {rng.choice(VERBS)} the {rng.choice(PRODUCTS)} "
            f"for the {marker} release, part {d * 40 + i}."
            for i in range(40)
        ]
        (root / f"{marker.lower()}-{d}.txt").write_text(" ".join(sentences) + "\n", encoding="utf-8")
    return root


def markers_in(answer: dict[str, Any]) -> set[str]:
    text = json.dumps([answer["answer"], answer["citations"], answer["context"]])
    return {m for m in MARKERS if m in text}


def served(answer: dict[str, Any]) -> dict[str, Any]:
    """What an answer serves, without its timings."""
    return {k: answer[k] for k in ("answer", "citations", "context")}


class CliRunner:
    """tests/cli_runner.py in its own process: runs kgbot commands in forked children, kills them on request."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        output = cwd / "runner-output"
        output.mkdir()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.cli_runner", str(output)],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: close() ends every child it left
        )

    def send(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the CLI runner died"
        return json.loads(line)

    def kgbot(self, *argv: str, stop: str | None = None) -> dict[str, Any]:
        return self.send({"argv": list(argv), "stop": stop})

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        finally:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@dataclass
class Setup:
    runner: CliRunner
    home: Path
    tmp: Path
    namespace: str
    store: str

    def index(self, corpus: str, stop: str | None = None) -> dict[str, Any]:
        return self.runner.kgbot("index", corpus, "-q", "-n", self.namespace, stop=stop)

    def stats(self) -> dict[str, Any]:
        result = self.runner.kgbot("stats", "--json", "-n", self.namespace)
        assert result["rc"] == 0, result["stderr"]
        return json.loads(result["stdout"])

    def ask(self) -> dict[str, Any]:
        result = self.runner.kgbot("ask", QUESTION, "--json", "-n", self.namespace)
        assert result["rc"] == 0, result["stderr"]
        assert result["stderr"] == ""
        return json.loads(result["stdout"])


def _environment(home: Path, tmp: Path, store_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KG_", "OPENAI_", "NEO4J_", "REDIS_", "SLACK_", "DISCORD_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        KG_HOME=str(home),
        KG_CHUNK_SIZE="60",
        KG_CHUNK_OVERLAP="10",
        TMPDIR=str(tmp),
    )
    if store_url:
        env.update(KG_STORE_URL=store_url, NEO4J_USERNAME="neo4j", NEO4J_PASSWORD="unused")
    return env


@pytest.fixture(params=["sqlite", "neo4j"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    store = request.param
    url = request.getfixturevalue("neo4j_url") if store == "neo4j" else ""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    tmp.mkdir()
    write_build(tmp_path / "amber", "Amber")
    write_build(tmp_path / "birch", "Birch")
    runner = CliRunner(tmp_path, _environment(home, tmp, url))
    try:
        yield Setup(runner, home, tmp, f"crash-{uuid.uuid4().hex[:12]}", store)
    finally:
        runner.close()


def kill_points(store: str) -> list[tuple[str, str]]:
    """(phase, stop point) in pipeline order, the build killed exactly there (tests/cli_runner.py). The
    extraction progress reports to stop at are drawn from a seeded generator."""
    rng = random.Random(f"{SEED}-{store}")
    if store == "sqlite":  # inside the publish transaction, before each kind of row is written
        inside_publish = [
            f"call:kg.store.sqlite.rows:{function}:1"
            for function in (
                "_insert_documents",
                "_insert_text_units",
                "_insert_entities",
                "_insert_relationships",
                "_insert_reports",
            )
        ]
    else:  # before the build is registered, before batches of rows, before the switch to the new build
        inside_publish = [
            f"cypher:{name}:1"
            for name in (
                "START_BUILD",
                "CREATE_CHUNKS",
                "CREATE_MENTIONS",
                "CREATE_RELATIONSHIPS",
                "CREATE_REPORTS",
                "PUBLISH_BUILD",
            )
        ]
    extract_reports = sorted(rng.sample(range(2, 7), 3))
    return [
        ("load", "progress:load:1"),
        ("load", "call:kg.index.pipeline:load_documents:1"),
        ("load", "progress:load:2"),
        ("load", "call:kg.index.pipeline:chunk_documents:1"),
        ("extract", "progress:extract:1"),
        *(("extract", f"progress:extract:{n}") for n in extract_reports),
        ("extract", "call:kg.index.cache:Cache.put_many:1"),
        ("merge", "progress:merge:1"),
        ("merge", "call:kg.index.pipeline:merge_extractions:1"),
        ("merge", "progress:merge:2"),
        ("communities", "progress:communities:1"),
        ("communities", "call:kg.index.pipeline:detect_communities:1"),
        ("communities", "call:kg.index.pipeline:extractive_reports:1"),
        ("communities", "progress:communities:2"),
        ("publish", "progress:publish:1"),
        *(("publish", point) for point in inside_publish),
    ]


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


SQLITE_FILES = {f"{name}{suffix}" for name in ("kg.db", "cache.db") for suffix in ("", "-wal", "-shm")}


def check_files(setup: Setup) -> None:
    assert list(setup.tmp.iterdir()) == [], "temporary files left behind"
    names = {p.name for p in setup.home.iterdir()}
    assert names <= SQLITE_FILES, names - SQLITE_FILES
    for name in ("kg.db", "cache.db"):
        if (setup.home / name).exists():
            assert _integrity(setup.home / name) == "ok", name


async def neo4j_generations(url: str, namespace: str) -> set[int]:
    from kg.store.neo4j.store import Neo4jStore
    from tests.test_store_neo4j import generation_sizes

    store = Neo4jStore(url, username="neo4j", password="unused")
    try:
        return set(await generation_sizes(store, namespace))
    finally:
        await store.close()


async def test_killed_builds_leave_the_previous_index_serving(setup: Setup, request: pytest.FixtureRequest):
    first = setup.index("amber")
    assert first["rc"] == 0, first["stderr"]
    stats, answer = setup.stats(), setup.ask()
    assert markers_in(answer) == {"Amber"}

    points = kill_points(setup.store)
    assert len(points) >= 20
    assert {phase for phase, _ in points} == {"load", "extract", "merge", "communities", "publish"}
    for phase, point in points:
        killed = setup.index("birch", stop=point)
        where = f"{phase} {point}"
        assert killed["reached"], f"{where}: never reached ({killed['stderr'][-500:]})"
        assert killed["signal"] == 9, f"{where}: the build finished before the kill"
        assert setup.stats() == stats, where
        now = setup.ask()
        assert markers_in(now) == {"Amber"}, where
        # Both stores rank from the served build's own statistics: the killed build's rows change nothing.
        assert served(now) == served(answer), where
        check_files(setup)

    rebuilt = setup.index("birch")
    assert rebuilt["rc"] == 0, rebuilt["stderr"]
    assert "Indexed 4 documents" in rebuilt["stdout"]
    assert setup.stats() != stats
    assert markers_in(setup.ask()) == {"Birch"}
    check_files(setup)
    if setup.store == "neo4j":  # leftovers of the killed builds are gone: the current and previous remain
        generations = await neo4j_generations(request.getfixturevalue("neo4j_url"), setup.namespace)
        assert len(generations) <= 2, generations


READERS = 3


async def test_readers_during_a_rebuild_see_one_whole_build(setup: Setup) -> None:
    first = setup.index("amber")
    assert first["rc"] == 0, first["stderr"]
    seen: list[str] = []
    for corpus, marker in (("birch", "Birch"), ("amber", "Amber")):
        ask = ["ask", QUESTION, "--json", "-n", setup.namespace]
        result = setup.runner.send(
            {"rebuild": ["index", corpus, "-q", "-n", setup.namespace], "readers": READERS, "ask": ask}
        )
        assert result["rebuild"]["rc"] == 0, result["rebuild"]["stderr"]
        assert len(result["asks"]) >= READERS * 2
        for reply in result["asks"]:
            assert reply["rc"] == 0, reply["stderr"]
            assert reply["stderr"] == "", reply["stderr"]  # no "database is locked", no traceback
            markers = markers_in(json.loads(reply["stdout"]))
            assert len(markers) == 1, f"an answer mixes two builds: {markers}"
            seen.extend(markers)
        last = [json.loads(r["stdout"]) for r in result["asks"][-1:]]
        assert markers_in(last[0]) == {marker}  # asked after the rebuild: the new build
    print(
        f"{setup.store}: {len(seen)} answers during two rebuilds: {seen.count('Amber')} Amber, "
        f"{seen.count('Birch')} Birch"
    )


@pytest.fixture(params=["sqlite", "neo4j"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """(reader, writer, namespace, settings): two connections to one store, the amber build published."""
    from kg.config import Settings
    from kg.index.pipeline import build_index
    from kg.store.neo4j.store import Neo4jStore
    from kg.store.sqlite.store import SqliteStore

    settings = Settings(_env_file=None, kg_home=tmp_path / "home", kg_chunk_size=60, kg_chunk_overlap=10)  # type: ignore[call-arg]
    settings.kg_home.mkdir()
    write_build(tmp_path / "amber", "Amber")
    write_build(tmp_path / "birch", "Birch")
    if request.param == "sqlite":
        reader, writer = SqliteStore(tmp_path / "kg.db"), SqliteStore(tmp_path / "kg.db")
    else:
        url = request.getfixturevalue("neo4j_url")
        reader, writer = (Neo4jStore(url, username="neo4j", password="unused") for _ in range(2))
    namespace = f"mix-{uuid.uuid4().hex[:12]}"
    await build_index([tmp_path / "amber"], writer, settings, namespace)
    yield reader, writer, namespace, settings, tmp_path
    for store in (reader, writer):
        await store.close()


async def test_a_publish_between_the_reads_of_one_question_does_not_mix_builds(stores: Any) -> None:
    from kg.index.pipeline import build_index
    from kg.search.answer import ask

    reader, writer, namespace, settings, root = stores
    search = reader.find_passages
    corpora = iter([root / "birch"])

    async def publish_after_search(*args: Any) -> Any:
        found = await search(*args)
        for corpus in corpora:  # once: the next build lands between this read and the next one
            await build_index([corpus], writer, settings, namespace)
        return found

    reader.find_passages = publish_after_search
    answer = await ask(reader, QUESTION, namespace=namespace)
    assert markers_in(answer.to_json()) == {"Birch"}


async def test_a_publish_between_the_reads_of_a_global_question_does_not_mix_builds(stores: Any) -> None:
    from kg.index.pipeline import build_index
    from kg.search.global_context import build_global_context

    reader, writer, namespace, settings, root = stores
    child_reports = reader.child_reports
    corpora = iter([root / "birch"])

    async def publish_after_the_roots(*args: Any) -> Any:
        found = await child_reports(*args)
        for corpus in corpora:  # once: the next build lands between the roots and the reads after them
            await build_index([corpus], writer, settings, namespace)
        return found

    reader.child_reports = publish_after_the_roots
    found = await build_global_context(
        reader, namespace, "Who maintains the Lantern Engine and the Beacon API?"
    )
    context = found.context
    assert context.reports and context.sources
    text = json.dumps([context.text, [u.text for u in context.sources], found.batches])
    assert {m for m in MARKERS if m in text} == {"Birch"}
    assert context.generation == await writer.generation(namespace)


async def test_a_question_read_during_endless_publishes_fails_in_one_line(stores: Any) -> None:
    from kg.index.pipeline import build_index
    from kg.search.answer import ask
    from kg.store.base import StoreError

    reader, writer, namespace, settings, root = stores
    search = reader.find_passages

    async def publish_after_search(*args: Any) -> Any:
        found = await search(*args)
        await build_index([root / "birch"], writer, settings, namespace)
        return found

    reader.find_passages = publish_after_search
    with pytest.raises(StoreError, match="republished 3 times while one question was read") as raised:
        await ask(reader, QUESTION, namespace=namespace)
    assert "\n" not in str(raised.value)


async def test_an_open_store_keeps_answering_after_another_connection_republishes(stores: Any) -> None:
    from kg.index.pipeline import build_index
    from kg.search.answer import ask

    reader, writer, namespace, settings, root = stores
    assert await reader.search_entities(namespace, "Lantern Engine", 5)
    await build_index([root / "birch"], writer, settings, namespace)
    assert await reader.search_entities(namespace, "Lantern Engine", 5)
    assert await reader.search_text_units(namespace, "Lantern Engine", 5)
    assert markers_in((await ask(reader, QUESTION, namespace=namespace)).to_json()) == {"Birch"}
