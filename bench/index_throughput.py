"""Offline indexing throughput: seconds and peak memory of `kgbot index` (nlp extractor, no model), first
build and a rebuild with nothing changed.

    .venv/bin/python bench/index_throughput.py                       # Christmas Carol + GraphRAG-Bench medical
    .venv/bin/python bench/index_throughput.py --corpora christmas_carol --no-record

Corpora (../shared/eval): christmas_carol/christmas_carol.txt, and graphrag_bench_medical/corpus.json (one
~1 MB document, written out as a .txt file in a temporary folder). Each build is the real CLI,
`kgbot index PATH --namespace bench --quiet`, in a child process with a fresh KG_HOME (store and extraction
cache); the rebuild runs the same command again on the unchanged files (every chunk's extraction comes from
the cache; the graph is re-merged, communities and reports recomputed, and the index republished). Seconds
are wall-clock of the whole command (interpreter start and imports included; `kgbot --help` alone is timed
for reference); peak RSS is the child's maximum resident set (wait4 rusage).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import EVAL, load_average, machine, record  # noqa: E402
from kg.text.tokens import count_tokens  # noqa: E402

KGBOT = ROOT / ".venv" / "bin" / "kgbot"
HEADING = "Offline indexing throughput (`bench/index_throughput.py`)"
INTRO = """
Seconds and peak memory of the real CLI, `kgbot index PATH` (offline nlp extractor, chunks of 1200/100 tokens), on
../shared/eval/christmas_carol and the GraphRAG-Bench medical corpus (../shared/eval/graphrag_bench_medical,
one ~1 MB document, written out as a .txt file in a temporary folder), each in a child process with a fresh
KG_HOME, then again with nothing changed (every chunk's extraction from the cache; the graph re-merged,
communities and reports recomputed, the index republished). Seconds are wall-clock of the whole command,
interpreter start and imports included (`kgbot --help` alone is timed for reference); peak RSS is the child's
maximum resident set (wait4 rusage); tokens by kgbot's counter.

    .venv/bin/python bench/index_throughput.py
""".strip()


def write_corpus(name: str, folder: Path) -> Path:
    if name == "christmas_carol":
        text = (EVAL / "christmas_carol" / "christmas_carol.txt").read_text(encoding="utf-8")
        target = folder / "christmas_carol.txt"
    elif name == "medical":
        [doc] = json.loads((EVAL / "graphrag_bench_medical" / "corpus.json").read_text())
        text = doc["context"]
        target = folder / "graphrag_bench_medical.txt"
    else:
        raise ValueError(name)
    target.write_text(text, encoding="utf-8")
    return target


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB, stdout) of a child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{output[-3000:]}")
    return seconds, usage.ru_maxrss / 1024.0, output


def measure(name: str) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="kgbench-index-") as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        path = write_corpus(name, folder)
        text = path.read_text(encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "KG_"))}
        env.update(KG_HOME=str(Path(tmp) / "home"), KG_EXTRACTOR="nlp", PYTHONHASHSEED="0")
        command = [str(KGBOT), "index", str(folder), "--namespace", "bench", "--quiet"]
        for build in ("first build", "rebuild, nothing changed"):
            load_before = load_average()
            seconds, rss, output = run(command, env)
            output = " ".join(output.split())  # the console wraps long lines
            match = re.search(r"(\d+) chunks, (\d+) entities, (\d+) relationships, (\d+) communities", output)
            cached = re.search(r"\((\d+) chunks from cache\)", output)
            rows.append(
                {
                    "corpus": name,
                    "build": build,
                    "chars": len(text),
                    "tokens": count_tokens(text),
                    "seconds": seconds,
                    "rss_mib": rss,
                    "chunks": int(match.group(1)) if match else 0,
                    "entities": int(match.group(2)) if match else 0,
                    "relationships": int(match.group(3)) if match else 0,
                    "communities": int(match.group(4)) if match else 0,
                    "cached": int(cached.group(1)) if cached else 0,
                    "load": (load_before, load_average()),
                }
            )
            print(f"  {name}, {build}: {seconds:.1f} s, peak RSS {rss:.0f} MiB", flush=True)
    return rows


def render(rows: list[dict], startup: tuple[float, float]) -> str:
    lines = [
        "| corpus | build | size | chunks (from cache) | entities / relationships / communities | seconds "
        "| tokens / s | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"christmas_carol": "A Christmas Carol", "medical": "GraphRAG-Bench medical"}
    for r in rows:
        lines.append(
            f"| {names[r['corpus']]} | {r['build']} | {r['chars'] / 1e6:.2f} MB, {r['tokens']:,} tokens "
            f"| {r['chunks']} ({r['cached']}) | {r['entities']:,} / {r['relationships']:,} / {r['communities']:,} "
            f"| {r['seconds']:.1f} | {r['tokens'] / r['seconds']:,.0f} | {r['rss_mib']:,.0f} MiB |"
        )
    lines.append(
        f"| (reference) | `kgbot --help`: interpreter start and imports | | | | {startup[0]:.1f} | | "
        f"{startup[1]:,.0f} MiB |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", nargs="+", default=["christmas_carol", "medical"])
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}", flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "KG_"))}
    seconds, rss, _ = run([str(KGBOT), "--help"], env)
    rows = [row for name in args.corpora for row in measure(name)]
    table = render(rows, (seconds, rss))
    print()
    print(table)
    if not args.no_record:
        command = "python bench/index_throughput.py " + " ".join(argv if argv is not None else sys.argv[1:])
        loads = ", ".join(f"{r['load'][0]:.1f}" for r in rows)
        body = table + f"\n\n1-minute load average before each build: {loads}."
        record(HEADING, INTRO, ", ".join(args.corpora), body, command.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
