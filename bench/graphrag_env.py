"""Microsoft GraphRAG in its own virtual environment, for the benchmarks that run it beside kgbot.

GraphRAG is never a kgbot dependency: `ensure_graphrag()` creates bench/.venv-graphrag (git-ignored) with
`python -m venv` and pip-installs the pinned `graphrag` into it the first time, then returns its interpreter.
Benchmarks run GraphRAG's side (bench/graphrag_side.py) in that interpreter as a subprocess, over the tables
`kgbot export-graphrag` writes. GraphRAG counts tokens with tiktoken, which downloads its encodings at run
time; offline, `graphrag_environ()` points TIKTOKEN_CACHE_DIR at the copies litellm (a GraphRAG dependency)
ships.

    .venv/bin/python bench/graphrag_env.py      # create or check the environment, print its interpreter
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import ensure_venv  # noqa: E402

VENV = ROOT / "bench" / ".venv-graphrag"
GRAPHRAG_VERSION = "3.3.0"
REQUIREMENTS = [f"graphrag=={GRAPHRAG_VERSION}"]  # brings lancedb (graphrag-vectors), pandas, tiktoken


def ensure_graphrag(quiet: bool = False) -> Path:
    """The interpreter of bench/.venv-graphrag, created and installed first when needed."""
    return ensure_venv(
        VENV, REQUIREMENTS, "GraphRAG's own environment, not a kgbot dependency", "a few minutes, once", quiet
    )


def graphrag_environ() -> dict[str, str]:
    """The environment to run GraphRAG offline in: tiktoken reads litellm's bundled encodings."""
    env = dict(os.environ)
    bundled = sorted(VENV.glob("lib/python*/site-packages/litellm/litellm_core_utils/tokenizers"))
    if bundled and "TIKTOKEN_CACHE_DIR" not in env:
        env["TIKTOKEN_CACHE_DIR"] = str(bundled[0])
    env["PYTHONHASHSEED"] = "0"
    return env


if __name__ == "__main__":
    print(ensure_graphrag())
