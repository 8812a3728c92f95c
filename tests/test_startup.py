"""The kgbot command loads only what the command needs: importing bot.cli (what `kgbot --help` does) and an
offline `kgbot ask` never import LangChain, OpenAI, the chat SDKs or pyarrow. Each check runs in a fresh
interpreter, since this test session has imported all of them already. Speed itself is measured by
bench/startup.py, not here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent
# Top-level packages too heavy to import unless the command uses them.
HEAVY = frozenset(
    """langchain_core langchain_openai langsmith openai slack_bolt slack_sdk
    discord pyarrow""".split()
)
# Not needed to answer offline either: numpy (vectors), igraph/leidenalg (indexing), the Neo4j driver.
OFFLINE_ASK_NEEDS_NONE_OF = HEAVY | {"numpy", "igraph", "leidenalg", "neo4j", "redis", "aiohttp"}

_REPORT_MODULES = """
import json, sys
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
"""


def imported_by(code: str, cwd: Path) -> set[str]:
    """Top-level modules a fresh interpreter has loaded after running `code`."""
    done = subprocess.run(
        [sys.executable, "-c", code + _REPORT_MODULES],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "KG_CHUNK_SIZE": "150",
            "KG_CHUNK_OVERLAP": "20",
        },
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_heavy_module(tmp_path: Path) -> None:
    loaded = imported_by("import bot.cli", tmp_path)
    assert "bot" in loaded and "argparse" in loaded  # the check sees what was imported
    assert loaded & HEAVY == set()
    assert {"kg", "rich", "pydantic_settings"} & loaded == set()  # nothing beyond argument parsing


def test_the_check_notices_a_heavy_import(tmp_path: Path) -> None:
    assert "langchain_core" in imported_by(
        "import bot.cli\nfrom kg.search.retriever import GraphRetriever", tmp_path
    )


@pytest.mark.parametrize(
    "question", ["Who designed the Lantern Engine?", "What are the main themes of these documents?"]
)
def test_offline_ask_loads_no_heavy_module(
    workdir: Path, capsys: pytest.CaptureFixture[str], question: str
) -> None:
    assert main(["index", "corpus", "-q"]) == 0
    capsys.readouterr()
    code = (
        "import sys\nfrom bot.cli import main\n"
        f"assert main(['ask', '--json', {question!r}]) == 0\n"
        f"assert main(['ask', {question!r}]) == 0\n"
    )
    loaded = imported_by(code, workdir)
    assert "kg" in loaded and "rich" in loaded  # it did answer, and printed
    assert loaded & OFFLINE_ASK_NEEDS_NONE_OF == set()
