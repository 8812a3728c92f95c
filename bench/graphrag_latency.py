"""Context build latency: kgbot's `build_context` vs Microsoft GraphRAG's `LocalSearchMixedContext.build_context`
on the same exported tables, the same questions, the same 12k token budget and the same embedding function.

    .venv/bin/python bench/graphrag_latency.py                   # 10k and 100k synthetic entities + Christmas Carol
    .venv/bin/python bench/graphrag_latency.py --graphs 10000 --questions 50 --graphrag-questions 20 --no-record

Graphs: synthetic ones of N entities (bench/synthetic.py, seed 0) and `christmas_carol` (kgbot's offline index
of ../shared/eval/christmas_carol). Every entity gets the hashed bag-of-words vector of `title:description`
and every chunk that of its text (bench/hashed_embedding.py, via bench/corpora.py's add_embeddings); the graph
is published to a SQLite store and exported with kgbot's GraphRAG export (parquet + embeddings). Questions come from bench/synthetic.py's make_questions over the graph (names,
descriptions, follow-ups with history, no-match), the same list for both.

kgbot: a fresh process opens the store and times `await build_context(store, q, history, budget=12000,
top_k=10, embed=hashed)` per question after a warm-up. GraphRAG 3.3 (installed by this script into
bench/.venv-graphrag, never a kgbot dependency) runs bench/graphrag_side.py in that environment: its readers,
a LanceDB store of the same vectors, its default tokenizer, build_context(max_context_tokens=12000) with its
local search engine's parameters, timed the same way. GraphRAG takes seconds per question at 100k entities,
so it gets fewer questions there (--graphrag-questions); ratios are taken over the questions both ran.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
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

from bench.common import RESULTS, in_child, load_average, machine, percentile, record  # noqa: E402
from bench.graphrag_env import ensure_graphrag, graphrag_environ  # noqa: E402

WORK = RESULTS / "graphrag-latency"
NAMESPACE = "bench"
SEED = 0
HEADING = "Context build latency: kgbot vs Microsoft GraphRAG (`bench/graphrag_latency.py`)"
INTRO = """
kgbot's `build_context` against GraphRAG 3.3's `LocalSearchMixedContext.build_context` on the same tables (kgbot's
index exported with `kgbot export-graphrag`), the same questions (bench/synthetic.py's mix: names, descriptions,
follow-ups with history, no-match), the same 12k budget, top 10 entities, and the same deterministic embedding
(bench/hashed_embedding.py: hashed bag of words, 256 dimensions; entity vectors of `title:description` stored in
kgbot's index and exported to GraphRAG's LanceDB store; the same code embeds questions in both interpreters).
Graphs: synthetic ones of 10k and 100k entities (bench/synthetic.py, seed 0) and kgbot's offline index of A
Christmas Carol. GraphRAG is pip-installed by the script into bench/.venv-graphrag (git-ignored, never a kgbot
dependency) and runs in that interpreter (bench/graphrag_side.py): its own readers at community level 2, its
default tokenizer (tiktoken o200k), the parameters its local search engine passes. Each side is timed per
build_context call (time.perf_counter), one question at a time, in its own process after a warm-up; GraphRAG's
load (parquet + LanceDB) is timed apart. GraphRAG takes seconds per question at 100k entities, so it gets 20
questions there (100 elsewhere), spread over kgbot's; ratios are GraphRAG / kgbot over the questions both ran.
Target (issue 9): kgbot at least 100x faster at 100k entities.

    .venv/bin/python bench/graphrag_latency.py
""".strip()


# ------------------------------------------------------------------------------------------------ graphs


def _fingerprint() -> str:
    """Changes when what the cached graph is made of changes (generator, embedding, store, export)."""
    digest = hashlib.sha256()
    files = [ROOT / "bench" / "synthetic.py", ROOT / "bench" / "hashed_embedding.py"]
    files += sorted((ROOT / "kg" / "store" / "sqlite").glob("*.py")) + sorted(
        (ROOT / "kg" / "interop").glob("*.py")
    )
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _build_synthetic(size: int, folder: str) -> dict:
    """In a child process: generate, embed, publish, export; questions material beside it."""
    from bench.corpora import add_embeddings
    from bench.synthetic import generate, question_material
    from kg.interop.graphrag_write import export_graphrag
    from kg.store.sqlite.store import SqliteStore

    work = Path(folder)
    started = time.perf_counter()
    index = generate(size, SEED)
    add_embeddings(index)
    material = question_material(index, SEED)

    async def publish() -> None:
        store = SqliteStore(work / "kg.db")
        try:
            await store.publish(NAMESPACE, index)
            await export_graphrag(store, NAMESPACE, work / "graphrag")
        finally:
            await store.close()

    asyncio.run(publish())
    (work / "questions.json").write_text(json.dumps(material))
    return {"seconds": time.perf_counter() - started}


def _build_real(name: str, folder: str) -> dict:
    from bench.corpora import build_corpus
    from bench.synthetic import question_material

    work = Path(folder)
    built = asyncio.run(build_corpus(name, work))
    (work / "questions.json").write_text(json.dumps(question_material(built.index, SEED)))
    return {"seconds": built.seconds}


def ensure_graph(graph: str, rebuild: bool) -> Path:
    """The folder holding kg.db, graphrag/ and questions.json for `graph` (built once, then cached)."""
    work = WORK / f"{graph}-{_fingerprint()}"
    if (work / "questions.json").exists() and not rebuild:
        return work
    if work.exists():
        import shutil

        shutil.rmtree(work)
    work.mkdir(parents=True)
    print(f"building {graph} -> {work.relative_to(ROOT)}", flush=True)
    if graph.isdigit():
        info = in_child(_build_synthetic, int(graph), str(work))
    else:
        info = in_child(_build_real, graph, str(work))
    print(f"  built in {info['seconds']:.0f} s", flush=True)
    return work


def questions_for(work: Path, count: int) -> list[dict]:
    from bench.corpora import make_questions

    material = json.loads((work / "questions.json").read_text())
    return [
        {"id": i, "kind": q.kind, "text": q.text, "history": [list(t) for t in q.history]}
        for i, q in enumerate(make_questions(material, count, SEED))
    ]


# ------------------------------------------------------------------------------------------------ measuring


def _measure_ours(store_path: str, questions: list[dict], warmup: int, budget: int) -> dict:
    """In a fresh process: open the store, warm up, time build_context per question."""
    from bench.hashed_embedding import embed_text
    from kg.model import Turn
    from kg.search.local import build_context
    from kg.store.sqlite.store import SqliteStore

    async def embed(text: str) -> list[float]:
        return embed_text(text)

    async def run() -> dict:
        store = SqliteStore(store_path)
        try:
            stats = await store.stats(NAMESPACE, top=0)
            assert stats is not None

            async def ask(q: dict) -> tuple[float, object]:
                history = [Turn(role, text) for role, text in q["history"]]
                started = time.perf_counter()
                context = await build_context(
                    store, q["text"], history, namespace=NAMESPACE, budget=budget, top_k=10, embed=embed
                )
                return (time.perf_counter() - started) * 1000.0, context

            for q in questions[:warmup]:
                await ask(q)
            rows = []
            for q in questions[warmup:]:
                ms, context = await ask(q)
                rows.append(
                    {"id": q["id"], "ms": ms, "tokens": context.tokens, "sources": len(context.sources)}
                )
            return {"counts": stats.counts, "rows": rows}
        finally:
            await store.close()

    result = asyncio.run(run())
    result["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return result


def _measure_graphrag(python: Path, tables: Path, questions: list[dict], warmup: int, budget: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="kgbench-gr-") as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job.write_text(
            json.dumps({"tables": str(tables), "questions": questions, "budgets": [budget], "warmup": warmup})
        )
        started = time.perf_counter()
        proc = subprocess.run(
            [str(python), str(ROOT / "bench" / "graphrag_side.py"), str(job), str(out)],
            env=graphrag_environ(),
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"GraphRAG's side failed:\n{proc.stderr[-4000:]}")
        result = json.loads(out.read_text())
        result["wall_s"] = time.perf_counter() - started
        return result


def _stats(values: list[float]) -> dict:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "mean": statistics.fmean(values)}


def compare(graph: str, args: argparse.Namespace, python: Path) -> dict:
    work = ensure_graph(graph, args.rebuild)
    n_gr = args.graphrag_questions
    if n_gr is None:
        n_gr = 20 if graph.isdigit() and int(graph) >= 100_000 else min(args.questions, 100)
    n_gr = min(n_gr, args.questions)
    questions = questions_for(work, args.warmup + args.questions)
    load_before = load_average()
    print(f"{graph}: kgbot, {args.questions} questions", flush=True)
    ours = in_child(_measure_ours, str(work / "kg.db"), questions, args.warmup, args.budget)
    print(f"{graph}: GraphRAG, {n_gr} questions", flush=True)
    # GraphRAG's questions: 3 of ours' warm-up ones, then n_gr spread evenly over ours' timed ones.
    timed = questions[args.warmup :]
    picked = [timed[i * len(timed) // n_gr] for i in range(n_gr)]
    theirs = _measure_graphrag(python, work / "graphrag", questions[:3] + picked, 3, args.budget)
    ours_ms = {r["id"]: r["ms"] for r in ours["rows"]}
    theirs_ms = {r["id"]: r["ms"] for r in theirs["rows"]}
    shared = [i for i in theirs_ms if i in ours_ms]
    ours_shared = [ours_ms[i] for i in shared]
    theirs_shared = [theirs_ms[i] for i in shared]
    result = {
        "graph": graph,
        "counts": ours["counts"],
        "ours": _stats(list(ours_ms.values())) | {"n": len(ours_ms), "rss_mib": ours["rss_mib"]},
        "ours_shared": _stats(ours_shared),
        "theirs": _stats(theirs_shared) | {"n": len(shared), "rss_mib": theirs["rss_mib"]},
        "theirs_load_s": theirs["load_s"],
        "ratio_p50": percentile(theirs_shared, 50) / percentile(ours_shared, 50),
        "ratio_p95": percentile(theirs_shared, 95) / percentile(ours_shared, 95),
        "ratio_per_question": statistics.median(
            t / o for t, o in zip(theirs_shared, ours_shared, strict=True)
        ),
        "tokens_ours": statistics.fmean(r["tokens"] for r in ours["rows"]),
        "tokens_theirs": statistics.fmean(r["tokens"] for r in theirs["rows"]),
        "load": (load_before, load_average()),
    }
    print(
        f"  kgbot p50 {result['ours']['p50']:.1f} ms p95 {result['ours']['p95']:.1f} ms; GraphRAG p50 "
        f"{result['theirs']['p50']:.0f} ms p95 {result['theirs']['p95']:.0f} ms; ratio p50 {result['ratio_p50']:.0f}x",
        flush=True,
    )
    (work / "latest.json").write_text(json.dumps({"result": result, "ours": ours, "theirs": theirs}))
    return result


def render(results: list[dict]) -> str:
    lines = [
        "| graph | entities / relationships / text units / reports | questions kgbot / GraphRAG "
        "| kgbot p50 / p95 ms | GraphRAG p50 / p95 ms | ratio p50 / p95 | per-question ratio (median) "
        "| context tokens kgbot / GraphRAG | GraphRAG load s | peak RSS kgbot / GraphRAG |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c, o, t = r["counts"], r["ours"], r["theirs"]
        name = f"synthetic {int(r['graph']):,}" if r["graph"].isdigit() else r["graph"].replace("_", " ")
        lines.append(
            f"| {name} | {c['entities']:,} / {c['relationships']:,} / {c['text_units']:,} / {c['reports']:,} "
            f"| {o['n']} / {t['n']} | {o['p50']:.1f} / {o['p95']:.1f} | {t['p50']:,.0f} / {t['p95']:,.0f} "
            f"| {r['ratio_p50']:,.0f}x / {r['ratio_p95']:,.0f}x | {r['ratio_per_question']:,.0f}x "
            f"| {r['tokens_ours']:,.0f} / {r['tokens_theirs']:,.0f} | {r['theirs_load_s']:.1f} "
            f"| {o['rss_mib']:,.0f} / {t['rss_mib']:,.0f} MiB |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--graphs",
        nargs="+",
        default=["10000", "100000", "christmas_carol"],
        help="entity counts or a corpus",
    )
    parser.add_argument("--questions", type=int, default=300, help="timed questions for kgbot")
    parser.add_argument(
        "--graphrag-questions", type=int, help="timed questions for GraphRAG (default 100; 20 at 100k+)"
    )
    parser.add_argument("--warmup", type=int, default=50, help="untimed questions first (GraphRAG: 3)")
    parser.add_argument("--budget", type=int, default=12_000)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached graphs")
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    args = parser.parse_args(argv)

    print(f"machine: {machine()}", flush=True)
    python = ensure_graphrag()
    results = [compare(graph, args, python) for graph in args.graphs]
    table = render(results)
    print()
    print(table)
    notes = [
        "Same exported tables, same questions (bench/synthetic.py make_questions: names, descriptions, "
        "follow-ups with history, no-match), same hashed 256-d embedding of questions and of entity "
        f"`title:description`, budget {args.budget:,} tokens, top 10 entities. Latency is wall-clock per "
        f"build_context call after warm-up (kgbot: {args.warmup} questions; GraphRAG: 3), one question at a time. "
        "Ratios are GraphRAG / kgbot over the questions both ran (kgbot's p50 / p95 column is over all its "
        "questions). Context tokens: kgbot's counter for kgbot, tiktoken o200k for GraphRAG (each fills the "
        "budget with its own). GraphRAG load = reading the parquet tables with its readers and loading the "
        "vectors into LanceDB, once per process. Peak RSS is each measuring process's.",
    ]
    big = [r for r in results if r["graph"].isdigit() and int(r["graph"]) >= 100_000]
    for r in big:
        verdict = "meets" if r["ratio_p50"] >= 100 else "MISSES"
        notes.append(
            f"At {int(r['graph']):,} entities kgbot is {r['ratio_p50']:,.0f}x faster at p50 and "
            f"{r['ratio_p95']:,.0f}x at p95 ({verdict} the 100x target)."
        )
    if not args.no_record:
        command = "python bench/graphrag_latency.py " + " ".join(argv if argv is not None else sys.argv[1:])
        title = ", ".join(f"{int(g):,} entities" if g.isdigit() else g.replace("_", " ") for g in args.graphs)
        record(HEADING, INTRO, title, table + "\n\n" + " ".join(notes), command.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
