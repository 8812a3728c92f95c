"""How long local search takes to build a context, on synthetic graphs of growing size (issue 3).

    .venv/bin/python bench/context_latency.py                      # 10k and 100k entities, 300 questions
    .venv/bin/python bench/context_latency.py --sizes 10000 --questions 100 --no-record
    .venv/bin/python bench/context_latency.py --stores sqlite neo4j  # side by side with a real Neo4j

With `--stores ... neo4j` the same graphs are also published into Neo4j (the Neo4j Community server the tests
use, tests/neo4j_server, started here as a server runs it: a 2 GiB heap, the G1 collector Neo4j ships with, and a
1.5 GiB page cache that holds the 100k store; or `--neo4j-url`), timing the publish, and the same
questions are asked of both stores.

For each size: build the synthetic SQLite store (bench/synthetic.py) once and cache it under bench/results/
(rebuilt when the generator or the SQLite store code changes), then, in a fresh process, open it, warm up, and
time `build_context` per question (time.perf_counter around the await). Questions name entities, describe them
by words of their descriptions, follow up on an earlier turn (history), or match nothing. Prints a markdown
table and appends a dated section to BENCHMARKS.md. Peak RSS is the measuring process's (store open + queries).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import hashlib
import inspect
import json
import os
import pstats
import resource
import sqlite3
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import machine, revision  # noqa: E402
from bench.synthetic import (  # noqa: E402
    generate,
    make_questions,
    question_material,
)

RESULTS = ROOT / "bench" / "results"
BENCHMARKS = ROOT / "BENCHMARKS.md"
NAMESPACE = "bench"
EMBEDDING_DIM = 64
TARGET_P95_MS = 25.0

BENCHMARKS_TOP = """# Benchmarks

Speed, memory and cost figures of kgbot, measured by the scripts in `bench/` (never by timed asserts in tests).
Each benchmark has a section: what it measures, the one command that runs it, then dated results with the
machine they were measured on; older results stay for comparison.
"""
HEADING = "## Local search context latency (`bench/context_latency.py`)"
SECTION = f"""{HEADING}

How long `kg.search.local.build_context` takes per question on the embedded SQLite store, on deterministic
synthetic graphs (`bench/synthetic.py`: power-law degrees, ~3 relationships per entity, text units of ~300
tokens about n/5 of them, 2-3 levels of communities with reports). A few hundred questions per size: ~40% name
an entity, ~30% describe one by words of its description, ~20% are follow-ups with conversation history, ~10%
match nothing. The store is built once and cached in `bench/results/`; the timings are taken in a fresh
process after a warm-up (the file is in the OS page cache, as on a serving machine). Latencies are wall-clock
per `await build_context(...)`; "CPU ms" is the process's CPU time per question (event loop and store thread),
which other work on the machine disturbs less; "load" is the 1-minute load average before / after the run
(above the core count, wall-clock figures include waiting for a core). Peak RSS is that process's (open store
+ queries). Target (issue 3): p95 <= 25 ms at 100k entities on 2 cores, nearly flat from 10k to 100k.

    .venv/bin/python bench/context_latency.py

Options: `--sizes 10000 100000`, `--questions 300`, `--warmup 50`, `--embeddings` (random 64-d entity vectors
and a question embedder, to include vector search), `--rebuild`, `--profile` (cProfile of the timed loop),
`--no-record` (print only).
"""


# ------------------------------------------------------------------------------------------------ store cache


def _code_fingerprint() -> str:
    """Changes when the generator or what the SQLite store writes changes: the cached store is then rebuilt
    (a change to the store's read queries alone needs no rebuild)."""
    from kg.store.sqlite import rows, schema

    digest = hashlib.sha256((ROOT / "bench" / "synthetic.py").read_bytes())
    written = [schema.SCHEMA, repr(schema.FTS_TABLES), schema.TOKENIZER, inspect.getsource(rows)]
    digest.update("\n".join(written).encode())
    return digest.hexdigest()[:10]


def store_path(size: int, seed: int, embeddings: bool) -> Path:
    kind = "emb" if embeddings else "text"
    return RESULTS / f"synthetic-{size}-seed{seed}-{kind}-{_code_fingerprint()}.db"


def _build_store(size: int, seed: int, embeddings: bool, path: str) -> dict[str, float]:
    """Runs in a child process: generate, publish into a temporary file, then move it into place."""
    from kg.store.sqlite.store import SqliteStore

    started = time.perf_counter()
    index = generate(size, seed, embedding_dim=EMBEDDING_DIM if embeddings else 0)
    generated = time.perf_counter() - started
    material = question_material(index, seed)
    target = Path(path)
    tmp = target.with_suffix(".tmp")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)

    async def publish() -> None:
        store = SqliteStore(tmp)
        try:
            await store.publish(NAMESPACE, index)
        finally:
            await store.close()

    started = time.perf_counter()
    asyncio.run(publish())
    published = time.perf_counter() - started
    with sqlite3.connect(tmp) as conn:  # fold the WAL into the file so the cached store is one file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    Path(f"{tmp}-wal").unlink(missing_ok=True)
    Path(f"{tmp}-shm").unlink(missing_ok=True)
    target.with_suffix(".questions.json").write_text(json.dumps(material))
    os.replace(tmp, target)
    return {"generate_s": generated, "publish_s": published}


def ensure_store(size: int, seed: int, embeddings: bool, rebuild: bool) -> tuple[Path, dict[str, float]]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = store_path(size, seed, embeddings)
    if path.exists() and path.with_suffix(".questions.json").exists() and not rebuild:
        return path, {}
    kind = "emb" if embeddings else "text"
    for stale in RESULTS.glob(f"synthetic-{size}-seed{seed}-{kind}-*"):
        stale.unlink()
    print(f"building the synthetic store of {size:,} entities -> {path.relative_to(ROOT)}", flush=True)
    timings = _in_child(_build_store, size, seed, embeddings, str(path))
    print(
        f"  generated in {timings['generate_s']:.1f} s, published in {timings['publish_s']:.1f} s", flush=True
    )
    return path, timings


def _in_child(fn, *args):  # noqa: ANN001, ANN202 - a thin process boundary
    """Run `fn(*args)` in a fresh interpreter, so each measurement has its own memory high-water mark."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# ------------------------------------------------------------------------------------------------ measuring


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(q / 100.0 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _publish_neo4j(size: int, seed: int, embeddings: bool, url: str) -> float:
    """Runs in a child process: generate the same graph as the SQLite store's and publish it into Neo4j."""
    from kg.store.neo4j.store import Neo4jStore

    index = generate(size, seed, embedding_dim=EMBEDDING_DIM if embeddings else 0)

    async def publish() -> float:
        store = Neo4jStore(url, write_timeout=1800.0)
        try:
            await store.drop_namespace(NAMESPACE)
            started = time.perf_counter()
            await store.publish(NAMESPACE, index)
            return time.perf_counter() - started
        finally:
            await store.close()

    return asyncio.run(publish())


def _measure(
    url: str, material_path: str, size: int, seed: int, n_questions: int, warmup: int, options: dict
) -> dict:
    """Runs in a child process: open the store, warm up, time every question."""
    from kg.model import Turn
    from kg.search.local import build_context
    from kg.store import open_store

    load_before = os.getloadavg()[0]
    material = json.loads(Path(material_path).with_suffix(".questions.json").read_text())
    questions = make_questions(material, warmup + n_questions, seed)
    warm, timed = questions[:warmup], questions[warmup:]
    embed = _question_embedder() if options["embeddings"] else None

    async def run() -> dict:
        store = open_store(url)
        try:
            stats = await store.stats(NAMESPACE, top=0)
            assert stats is not None, "the synthetic store has no index"

            async def ask(q) -> tuple[float, object]:  # noqa: ANN001
                history = [Turn(role, text) for role, text in q.history]
                cpu = time.process_time()
                started = time.perf_counter()
                context = await build_context(
                    store,
                    q.text,
                    history,
                    namespace=NAMESPACE,
                    budget=options["budget"],
                    top_k=options["top_k"],
                    embed=embed,
                )
                ms = (time.perf_counter() - started) * 1000.0
                return ms, (time.process_time() - cpu) * 1000.0, context

            first_ms = None
            for q in warm:
                ms, _, _ = await ask(q)
                first_ms = ms if first_ms is None else first_ms
            profiler = cProfile.Profile() if options["profile"] else None
            rows = []
            if profiler:
                profiler.enable()
            for q in timed:
                ms, cpu_ms, context = await ask(q)
                rows.append((q.kind, ms, context.tokens, len(context.entities), context.empty, cpu_ms))
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            return {"counts": stats.counts, "rows": rows, "first_ms": first_ms}
        finally:
            await store.close()

    result = asyncio.run(run())
    rows = result["rows"]
    latencies = sorted(ms for _, ms, *_ in rows)
    by_kind = {}
    for kind in ("name", "description", "follow-up", "no-match"):
        values = sorted(ms for k, ms, *_ in rows if k == kind)
        if values:
            by_kind[kind] = {
                "n": len(values),
                "p50": _percentile(values, 50),
                "p95": _percentile(values, 95),
                "empty": sum(1 for k, _, _, _, empty, _ in rows if k == kind and empty),
            }
    sqlite_file = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    size_bytes = sum(
        os.path.getsize(p) for p in (sqlite_file, f"{sqlite_file}-wal") if sqlite_file and os.path.exists(p)
    )  # the -wal is empty after a clean close
    return {
        "store": "sqlite" if sqlite_file else "neo4j",
        "entities": size,
        "counts": result["counts"],
        "questions": len(rows),
        "p50": _percentile(latencies, 50),
        "p95": _percentile(latencies, 95),
        "p99": _percentile(latencies, 99),
        "max": latencies[-1],
        "mean": statistics.fmean(latencies),
        "first_ms": result["first_ms"],
        "cpu_mean": statistics.fmean(row[5] for row in rows),
        "cpu_p95": _percentile(sorted(row[5] for row in rows), 95),
        "tokens": statistics.fmean(row[2] for row in rows),
        "by_kind": by_kind,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "load": (load_before, os.getloadavg()[0]),
        "store_mib": size_bytes / 2**20,
    }


def _question_embedder():  # noqa: ANN202
    """A stand-in embedding model: a deterministic unit vector per question (costs what a lookup costs)."""
    import numpy as np

    async def embed(text: str) -> list[float]:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(EMBEDDING_DIM, dtype=np.float32)
        return (vector / np.linalg.norm(vector)).tolist()

    return embed


# ------------------------------------------------------------------------------------------------ reporting


def render(results: list[dict], args: argparse.Namespace) -> str:
    header = (
        "| store | entities | relationships | text units | reports | size / publish | questions | p50 ms "
        "| p95 ms | p99 ms | max ms | mean ms | client CPU ms mean / p95 | context tokens | client peak RSS "
        "| load |"
    )
    lines = [header, "|---|" + "---:|" * 15]
    for r in results:
        c = r["counts"]
        stored = (
            f"{r['store_mib']:,.0f} MiB" if r["store"] == "sqlite" else f"published in {r['publish_s']:.1f} s"
        )
        lines.append(
            f"| {r['store']} | {r['entities']:,} | {c['relationships']:,} | {c['text_units']:,} | {c['reports']:,} "
            f"| {stored} | {r['questions']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} "
            f"| {r['max']:.1f} | {r['mean']:.1f} | {r['cpu_mean']:.1f} / {r['cpu_p95']:.1f} "
            f"| {r['tokens']:,.0f} | {r['rss_mib']:,.0f} MiB | {r['load'][0]:.1f} / {r['load'][1]:.1f} |"
        )
    lines += ["", "p50 / p95 ms by question kind (questions, empty contexts):", ""]
    kinds = ("name", "description", "follow-up", "no-match")
    lines.append("| store | entities | " + " | ".join(kinds) + " |")
    lines.append("|---|---:|" + "---|" * len(kinds))
    for r in results:
        cells = []
        for kind in kinds:
            k = r["by_kind"].get(kind)
            cells.append(f"{k['p50']:.1f} / {k['p95']:.1f} ({k['n']}, {k['empty']} empty)" if k else "-")
        lines.append(f"| {r['store']} | {r['entities']:,} | " + " | ".join(cells) + " |")
    for store in dict.fromkeys(r["store"] for r in results):
        mine = [r for r in results if r["store"] == store]
        if len(mine) >= 2:
            small, large = mine[0], mine[-1]
            lines += [
                "",
                f"{store}: p95 grows {large['p95'] / small['p95']:.2f}x from {small['entities']:,} to "
                f"{large['entities']:,} entities ({large['entities'] / small['entities']:.0f}x the graph).",
            ]
    for r in results:
        if r["entities"] >= 100_000 and r["store"] == "sqlite":
            verdict = "meets" if r["p95"] <= TARGET_P95_MS else "misses"
            lines += [
                "",
                f"{r['entities']:,} entities: p95 {r['p95']:.1f} ms {verdict} the {TARGET_P95_MS:g} ms target.",
            ]
    return "\n".join(lines)


def record(table: str, args: argparse.Namespace) -> None:
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else BENCHMARKS_TOP
    if HEADING not in text:
        text = text.rstrip("\n") + "\n\n" + SECTION
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    settings = (
        f"budget {args.budget}, top_k {args.top_k}, {args.warmup} warm-up questions, seed {args.seed}, "
        f"{'with' if args.embeddings else 'without'} embeddings"
    )
    entry = (
        f"### {now}: {', '.join(f'{n:,}' for n in args.sizes)} entities, {' and '.join(args.stores)}"
        f"{', with embeddings' if args.embeddings else ''}\n\n"
        f"Machine: {machine()}. Revision {revision()}. Settings: {settings}.\n\n"
        f"{table}\n"
    )
    # The entry goes at the end of this benchmark's section, before the next benchmark's.
    start = text.index(HEADING)
    end = text.find("\n## ", start)
    end = len(text) if end == -1 else end + 1
    before, after = text[:end].rstrip("\n"), text[end:]
    BENCHMARKS.write_text(before + "\n\n" + entry + ("\n" + after if after else ""))
    print(f"\nrecorded in {BENCHMARKS.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="entity counts")
    parser.add_argument("--questions", type=int, default=300, help="timed questions per size")
    parser.add_argument("--warmup", type=int, default=50, help="untimed questions first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=12_000, help="context token budget")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--embeddings", action="store_true", help="entity vectors + a question embedder")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached stores")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the timed questions")
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    parser.add_argument("--stores", nargs="+", choices=["sqlite", "neo4j"], default=["sqlite"])
    parser.add_argument("--neo4j-url", default="", help="an existing Neo4j instead of starting one")
    args = parser.parse_args(argv)

    print(f"machine: {machine()}", flush=True)
    server = None
    neo4j_url = args.neo4j_url
    if "neo4j" in args.stores and not neo4j_url:
        from tests.neo4j_launcher import Neo4jServer

        # As a Neo4j server runs: its default collector (G1) and a page cache holding the 100k store (~1 GiB).
        server = Neo4jServer(heap="2g", gc="-XX:+UseG1GC", page_cache_mib=1536)
        print("starting Neo4j (tests/neo4j_server)", flush=True)
        neo4j_url = server.start()
    options = {
        "budget": args.budget,
        "top_k": args.top_k,
        "embeddings": args.embeddings,
        "profile": args.profile,
    }
    results = []
    try:
        for size in args.sizes:
            path, _ = ensure_store(size, args.seed, args.embeddings, args.rebuild)
            for store in args.stores:
                publish_s = None
                url = f"sqlite:///{path}"
                if store == "neo4j":
                    print(f"publishing {size:,} entities into Neo4j", flush=True)
                    publish_s = _in_child(_publish_neo4j, size, args.seed, args.embeddings, neo4j_url)
                    print(f"  published in {publish_s:.1f} s", flush=True)
                    url = neo4j_url
                print(f"measuring {args.questions} questions on {size:,} entities ({store})", flush=True)
                result = _in_child(
                    _measure, url, str(path), size, args.seed, args.questions, args.warmup, options
                )
                result["publish_s"] = publish_s
                print(
                    f"  p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, first {result['first_ms']:.1f} ms",
                    flush=True,
                )
                results.append(result)
    finally:
        if server is not None:
            server.stop()
    table = render(results, args)
    print()
    print(table)
    if not args.no_record:
        record(table, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
