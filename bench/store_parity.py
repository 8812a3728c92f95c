"""The same corpora, indexed and asked through the CLI on SQLite and on Neo4j, compared (issue 13).

    .venv/bin/python bench/store_parity.py              # Attention paper + A Christmas Carol, both stores
    .venv/bin/python bench/store_parity.py --no-record  # print only

Neo4j is the Community server the tests use (tests/neo4j_server, started here), or `--neo4j-url`. Each corpus
is indexed once per store by `kgbot index` (offline extractor, default settings, a fresh KG_HOME each), then
`kgbot stats --json` and `kgbot ask --json` for each question are compared: record counts, the most connected
entities, and for each question the entities and Sources in the context and the Sources the answer cites.
The build itself is computed in Python before the store sees it, so counts must match exactly; what may differ
is retrieval, where SQLite ranks with FTS5's BM25 and Neo4j with Lucene's BM25 (different tokenizers and length
norms).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import EVAL, record  # noqa: E402

KGBOT = str(Path(sys.executable).parent / "kgbot")
CORPORA = {
    "attention": (
        EVAL / "attention" / "attention_is_all_you_need.txt",
        [  # the four seed questions (../shared/seed/graphrag-local-search-examples.txt)
            "Explain the concept of Attention",
            "Can SVD be used to compute Attention Scores in Transformers?",
            "How does Dropout help in preventing Overfitting in Transformers?",
            "How does Factorisation trick work in LSTMs to improve parallelization compared to Transformers?",
        ],
    ),
    "christmas_carol": (
        EVAL / "christmas_carol" / "christmas_carol.txt",
        [
            "Who is Scrooge's dead business partner?",
            "What does the Ghost of Christmas Yet to Come show Scrooge?",
            "How does Bob Cratchit's family celebrate Christmas?",
            "Who is Tiny Tim?",
        ],
    ),
}
HEADING = "Store parity: SQLite and Neo4j on the same corpora (`bench/store_parity.py`)"
INTRO = """Each corpus indexed by `kgbot index` into the embedded SQLite store and into a real Neo4j 5.26 Community
server (the one the tests start, tests/neo4j_server), then the same questions asked with `kgbot ask --json`
(no model: extractive answers). Counts come from `kgbot stats --json`. "Context" compares the entity and Source
ids in the two contexts (Jaccard overlap); "cited" compares the Sources each answer cites.

    .venv/bin/python bench/store_parity.py"""


def kgbot(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [KGBOT, *args], env=env, capture_output=True, text=True, timeout=1800, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        raise SystemExit(f"kgbot {' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def run_store(store_url: str, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KG_", "OPENAI_", "NEO4J_"))}
    env |= {"KG_HOME": str(home), "KG_STORE_URL": store_url}
    out: dict = {}
    for name, (path, questions) in CORPORA.items():
        kgbot(env, "index", "-q", "-n", name, str(path))
        stats = json.loads(kgbot(env, "stats", "--json", "-n", name))
        answers = [json.loads(kgbot(env, "ask", "--json", "-n", name, q)) for q in questions]
        out[name] = {"stats": stats, "answers": answers}
    return out


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def cited_sources(answer: dict) -> list[int]:
    return sorted(int(c["id"]) for c in answer["citations"] if c["dataset"] == "Sources")


def compare(sqlite: dict, neo4j: dict) -> str:
    lines = [
        "| corpus | documents | text units | entities | relationships | communities | reports | top-10 entities |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in CORPORA:
        s, n = sqlite[name]["stats"], neo4j[name]["stats"]
        cells = []
        for key in ("documents", "text_units", "entities", "relationships", "communities", "reports"):
            a, b = s["counts"][key], n["counts"][key]
            cells.append(f"{a:,}" if a == b else f"{a:,} / {b:,} (differ)")
        top_s = [e["title"] for e in s["top_entities"][:10]]
        top_n = [e["title"] for e in n["top_entities"][:10]]
        cells.append("same" if top_s == top_n else f"differ: {top_s} / {top_n}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| corpus | question | context entities (SQLite / Neo4j, overlap) | context Sources (overlap) "
        "| cited Sources SQLite | cited Sources Neo4j |",
        "|---|---|---|---|---|---|",
    ]
    for name in CORPORA:
        for a, b in zip(sqlite[name]["answers"], neo4j[name]["answers"], strict=True):
            ea = {e["id"] for e in a["context"]["entities"]}
            eb = {e["id"] for e in b["context"]["entities"]}
            sa = {s["id"] for s in a["context"]["sources"]}
            sb = {s["id"] for s in b["context"]["sources"]}
            ca, cb = cited_sources(a), cited_sources(b)
            lines.append(
                f"| {name} | {a['question']} | {len(ea)} / {len(eb)}, {jaccard(ea, eb):.0%} "
                f"| {len(sa)} / {len(sb)}, {jaccard(sa, sb):.0%} | {ca} | {cb}{' (same)' if ca == cb else ''} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neo4j-url", default="", help="an existing Neo4j instead of starting one")
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    args = parser.parse_args(argv)
    server = None
    url = args.neo4j_url
    if not url:
        from tests.neo4j_launcher import Neo4jServer

        server = Neo4jServer(heap="2g")
        print("starting Neo4j (tests/neo4j_server)", flush=True)
        url = server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print("indexing and asking on SQLite", flush=True)
            sqlite = run_store(f"sqlite:///{tmp}/sqlite/kg.db", Path(tmp) / "sqlite")
            print("indexing and asking on Neo4j", flush=True)
            neo4j = run_store(url, Path(tmp) / "neo4j")
    finally:
        if server is not None:
            server.stop()
    table = compare(sqlite, neo4j)
    print(table)
    if not args.no_record:
        record(HEADING, INTRO, "Attention paper and A Christmas Carol", table, "python bench/store_parity.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
