from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.config import Settings

# A small corpus written for these tests: a fictional company with people, products and acronyms.
CORPUS = {
    "team.md": """# The Harbor Lights team

Harbor Lights is a small company that builds the Lantern Engine for coastal weather forecasts.
Maria Okafor leads the forecasting group at Harbor Lights. Maria Okafor designed the Lantern Engine in 2019.
The Lantern Engine combines radar data with ocean buoy readings from NOAA.
Tomas Lindqvist maintains the data pipeline that feeds the Lantern Engine.
Tomas Lindqvist and Maria Okafor meet every Monday to review forecast accuracy.
""",
    "engine.txt": """The Lantern Engine uses a technique called wave ensemble averaging.
Wave ensemble averaging runs many small simulations and averages their outputs.
The Lantern Engine publishes forecasts through the Beacon API.
The Beacon API serves forecasts to fishing fleets and to the Port Authority of Saltmere.
Forecast accuracy improved by 12 percent after wave ensemble averaging was introduced.
NOAA buoy readings arrive every ten minutes and are cleaned by the data pipeline.
""",
    "sub/history.txt": """Before the Lantern Engine, Harbor Lights relied on manual charts.
The Port Authority of Saltmere became the first customer of the Beacon API in 2020.
Maria Okafor presented the Lantern Engine at the Coastal Computing Conference.
""",
}


def write_corpus(root: Path) -> Path:
    for name, text in CORPUS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    return Settings(_env_file=None, kg_home=home, kg_chunk_size=120, kg_chunk_overlap=20)  # type: ignore[call-arg]


class RedisServer:
    """A real redis-server on a free loopback port, owned by the test session; can be stopped and restarted."""

    def __init__(self, workdir: Path) -> None:
        import shutil

        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not installed; the memory tests need it: apt-get install redis-server",
                pytrace=False,
            )
        self.binary = binary
        self.workdir = workdir
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        pytest.fail(f"redis-server did not start on port {self.port}", pytrace=False)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A clean database on the shared server (restarted if a test stopped it)."""
    import redis

    if redis_server.process is None:
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no .env and none of kgbot's settings inherited from the environment."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("KG_", "OPENAI_", "NEO4J_", "REDIS_", "SLACK_", "DISCORD_")):
            monkeypatch.delenv(name)
    return tmp_path


@pytest.fixture
def workdir(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`clean_env` with the test corpus in ./corpus and small chunks, for driving the CLI in-process."""
    monkeypatch.setenv("KG_CHUNK_SIZE", "150")
    monkeypatch.setenv("KG_CHUNK_OVERLAP", "20")
    write_corpus(clean_env / "corpus")
    return clean_env


@pytest.fixture(scope="session")
def neo4j_url() -> Iterator[str]:
    """The Bolt URL of a real Neo4j for this test session: KG_TEST_NEO4J_URL (Aura, compose) when set, otherwise
    a Neo4j Community server started here (tests/neo4j_launcher.py) and stopped at the end."""
    from tests.neo4j_launcher import Neo4jServer, Neo4jUnavailable

    external = os.environ.get("KG_TEST_NEO4J_URL", "")
    if external:
        yield external
        return
    server = Neo4jServer()
    try:
        url = server.start()
    except Neo4jUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield url
    finally:
        server.stop()
