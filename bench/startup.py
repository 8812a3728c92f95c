"""Wall-clock of the kgbot command as a terminal user meets it: `kgbot --help`, and `kgbot ask` with no model
configured over the Christmas Carol index (a local question, a global one, and --json), interpreter start and
imports included; then where the import time of `kgbot ask` goes (`python -X importtime`).

    .venv/bin/python bench/startup.py                 # 20 runs of each command, recorded in BENCHMARKS.md
    .venv/bin/python bench/startup.py --runs 5 --no-record
    .venv/bin/python bench/startup.py --revision 7eb231e         # an earlier commit, for before/after

The index is built once (offline nlp extractor) in a temporary KG_HOME; each command then runs N times as a
child process in a clean environment (no model configured), one at a time. Targets (issue 15): `kgbot --help`
<= 0.3 s and `kgbot ask` (no model) <= 0.6 s wall at the median.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import EVAL, load_average, percentile, record  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
KGBOT = ROOT / ".venv" / "bin" / "kgbot"
HEADING = "Command startup (`bench/startup.py`)"
INTRO = """
Wall-clock of the real `kgbot` command in a child process, interpreter start and imports included, with no model
configured: `kgbot --help`, and `kgbot ask` over the Christmas Carol index (built once, offline nlp extractor) for a
question about one thing (local search), a whole-corpus question (global search) and `--json`. Median and p95 over N
runs, one at a time (later entries also give the median CPU time, user + system, of the child: it depends less on
the load of the machine); then the largest cumulative import times of `kgbot ask` (`python -X importtime`, one
run). Targets (issue 15): `--help` <= 0.3 s, `ask` <= 0.6 s wall. `--revision REV` times an earlier commit.

    .venv/bin/python bench/startup.py
""".strip()
LOCAL_QUESTION = "Who is Marley?"
GLOBAL_QUESTION = "What are the main themes of this story?"
COMMANDS = {
    "kgbot --help": ["--help"],
    f'kgbot ask "{LOCAL_QUESTION}"': ["ask", LOCAL_QUESTION],
    f'kgbot ask "{GLOBAL_QUESTION}"': ["ask", GLOBAL_QUESTION],
    f'kgbot ask --json "{LOCAL_QUESTION}"': ["ask", "--json", LOCAL_QUESTION],
}
TARGETS = {"kgbot --help": 0.3}  # every ask: 0.6


def clean_env(home: Path) -> dict[str, str]:
    """No model, no Redis, no chat tokens: what a first-time terminal user has."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TERM")}
    return {**keep, "KG_HOME": str(home), "COLUMNS": "100"}


def command(source: Path | None) -> list[str]:
    """This checkout's installed `kgbot`, or `python -m bot.cli` of another source tree."""
    return [str(KGBOT)] if source is None else [str(PYTHON), "-m", "bot.cli"]


def run(args: list[str], env: dict[str, str], cwd: Path, source: Path | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run of the command."""
    if source is not None:
        env = {**env, "PYTHONPATH": str(source)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*command(source), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"kgbot {' '.join(args)} failed: {done.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_profile(env: dict[str, str], cwd: Path, top: int, source: Path) -> list[tuple[str, float]]:
    """(module, cumulative seconds) of the `top` slowest top-level imports of an offline `kgbot ask`."""
    done = subprocess.run(
        [str(PYTHON), "-X", "importtime", "-m", "bot.cli", "ask", LOCAL_QUESTION],
        env={**env, "PYTHONPATH": str(source)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(2)) <= 3:  # modules imported by kgbot's own code and their direct imports
            rows.append((m.group(3), int(m.group(1)) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-record", action="store_true", help="print only; do not touch BENCHMARKS.md")
    parser.add_argument(
        "--revision", help="time this git commit instead (its tree, run as python -m bot.cli with this .venv)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kgbot-startup-") as tmp:
        home = Path(tmp)
        source = None
        if args.revision:
            source = home / "source"
            source.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.revision],
                capture_output=True,
                check=True,
                timeout=60,
            )
            subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True, timeout=60)
        env = clean_env(home / ".kgbot")
        corpus = home / "christmas_carol.txt"
        corpus.write_text((EVAL / "christmas_carol" / "christmas_carol.txt").read_text(encoding="utf-8"))
        run(["index", str(corpus), "--quiet"], env, home, source)
        loads = [load_average()]
        results: dict[str, list[tuple[float, float]]] = {}
        for name, argv in COMMANDS.items():
            run(argv, env, home, source)  # warm the page cache
            results[name] = [run(argv, env, home, source) for _ in range(args.runs)]
            loads.append(load_average())
            print(f"{name}: median {statistics.median(w for w, _ in results[name]):.3f} s", flush=True)
        profile = import_profile(env, home, 12, source or ROOT)

    rows = [
        "| command | runs | wall median s | wall p95 s | CPU median s | target (wall) s | meets |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, runs in results.items():
        target = TARGETS.get(name, 0.6)
        walls = [w for w, _ in runs]
        median = statistics.median(walls)
        cpu = statistics.median(c for _, c in runs)
        rows.append(
            f"| `{name}` | {len(walls)} | {median:.3f} | {percentile(walls, 95):.3f} | {cpu:.3f} | {target} | "
            f"{'yes' if median <= target else 'no'} |"
        )
    imports = ["| module (imported by kgbot ask) | cumulative s |", "|---|---:|"]
    imports += [f"| {module} | {seconds:.3f} |" for module, seconds in profile]
    body = "\n".join(
        [
            *rows,
            "",
            f"Load average (1 min) during the runs: {min(loads):.1f}-{max(loads):.1f} on "
            f"{os.cpu_count()} cores shared with other work.",
            "",
            *imports,
        ]
    )
    print()
    print(body)
    if not args.no_record:
        title = f"{args.runs} runs per command" + (f", revision {args.revision}" if args.revision else "")
        shown = "python bench/startup.py" + (f" --revision {args.revision}" if args.revision else "")
        record(HEADING, INTRO, title, body, shown)


if __name__ == "__main__":
    main()
