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
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".venv-graphrag"
GRAPHRAG_VERSION = "3.3.0"
REQUIREMENTS = [f"graphrag=={GRAPHRAG_VERSION}"]  # brings lancedb (graphrag-vectors), pandas, tiktoken
_STAMP = VENV / ".installed"


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_graphrag(quiet: bool = False) -> Path:
    """The interpreter of bench/.venv-graphrag, created and installed first when needed."""
    python = venv_python()
    wanted = " ".join(REQUIREMENTS)
    if python.exists() and _STAMP.exists() and _STAMP.read_text().strip() == wanted:
        return python
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    started = time.perf_counter()
    if not python.exists():
        say(f"creating {VENV.relative_to(ROOT)} (GraphRAG's own environment, not a kgbot dependency)")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    say(f"installing {wanted} into it (a few minutes, once)")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS],
        check=True,
    )
    _STAMP.write_text(wanted + "\n")
    say(f"GraphRAG environment ready in {time.perf_counter() - started:.0f} s")
    return python


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
