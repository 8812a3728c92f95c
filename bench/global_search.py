"""Global vs local search on whole-corpus questions: what each returns, what it covers and what it costs.

    .venv/bin/python bench/global_search.py                  # recorded in BENCHMARKS.md
    .venv/bin/python bench/global_search.py --no-record

Corpora (../shared/eval), indexed offline (nlp extractor, chunks of 1200/100 tokens) in a temporary folder:
- GraphRAG-Bench medical, its "Contextual Summarize" questions (25 of questions_100.json). Gold evidence is a
  list of short sentences per question; one counts as covered when a single row of what the search returns
  (a source passage, an entity or relationship description, or a report's title, summary and findings) holds at
  least COVERED of its content terms (kg.text.words.content_terms: lower-cased, stopwords out, singular).
  Measured on the context a model would read (local: its tables; global: the selected reports) and, for
  global search, also with the sources each report brings.
- A Christmas Carol, a few whole-corpus questions. No gold answers exist, so breadth is measured: the share of
  the book's chunks the context reaches (local: its source passages; global: the chunks of the selected
  reports' communities) and how many of the story's main characters (MAIN_CHARACTERS, our list) it names.

Cost: context tokens (kgbot's counter), and the model calls and prompt tokens each search makes with a chat
model, counted by running `kg.search.answer.ask` with a stand-in model (BenchModel: rates every report 3 of 5, gives
one key point per report, answers in one line) whose prompts are counted by kgbot's token counter. Without a
model both searches make no call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402

from bench.common import EVAL, record  # noqa: E402
from kg.config import Settings  # noqa: E402
from kg.index.pipeline import build_index  # noqa: E402
from kg.search.answer import ask  # noqa: E402
from kg.search.context import Context  # noqa: E402
from kg.search.global_context import build_global_context, report_text  # noqa: E402
from kg.search.local import build_context  # noqa: E402
from kg.store.sqlite.store import SqliteStore  # noqa: E402
from kg.text.words import content_terms  # noqa: E402

HEADING = "Global vs local search on whole-corpus questions (`bench/global_search.py`)"
INTRO = """
What global search (community reports, dynamic selection) and local search (entities and passages) return for
questions about a whole corpus, offline indexes (nlp extractor). GraphRAG-Bench medical, its 25 "Contextual
Summarize" questions: share of the gold evidence sentences covered by what each search returns (a sentence counts
when one returned row holds >= 60% of its content terms). A Christmas Carol, whole-corpus questions with no gold
answers: share of the book's chunks the context reaches and of the story's main characters it names. Cost: context
tokens, and the model calls and prompt tokens each search makes with a chat model (a stand-in model answering
instantly, prompts counted by kgbot's counter). The script's docstring defines every measure.

    .venv/bin/python bench/global_search.py
""".strip()
NAMESPACE = "bench"
COVERED = 0.6
BUDGET = 12000
CAROL_QUESTIONS = (
    "What are the main themes of this story?",
    "Who are the main characters of the story and how do they relate?",
    "Summarise how Scrooge changes over the whole story.",
    "What role do the spirits play overall?",
)
MAIN_CHARACTERS = (
    "Scrooge",
    "Marley",
    "Bob Cratchit",
    "Tiny Tim",
    "Fred",
    "Fezziwig",
    "Belle",
    "Ghost of Christmas Past",
    "Ghost of Christmas Present",
    "Ghost of Christmas Yet To Come",
)


class BenchModel(BaseChatModel):
    """Answers every kgbot prompt at once in the expected shape, with no usage metadata (so kgbot counts the
    prompt tokens itself): the call pattern of a real model without its latency or its quality."""

    @property
    def _llm_type(self) -> str:
        return "bench"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kw: Any) -> ChatResult:
        raise NotImplementedError("async only")

    async def _agenerate(self, messages: list[BaseMessage], stop: Any = None, **kw: Any) -> ChatResult:
        system = str(messages[0].content)
        if system.startswith("You judge whether"):
            text = "3"
        elif system.startswith("You help answer a question about a whole collection"):
            ids = [line.split("|", 1)[0] for line in system.splitlines() if line[:1].isdigit()]
            text = json.dumps(
                {"points": [{"description": f"Point [Data: Reports ({i})]", "score": 50} for i in ids]}
            )
        elif system.startswith("You route"):
            text = "global"
        else:
            text = "An answer."
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def write_corpus(name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if name == "medical":
        [doc] = json.loads((EVAL / "graphrag_bench_medical" / "corpus.json").read_text())
        path, text = folder / "graphrag_bench_medical.txt", doc["context"]
    else:
        path = folder / "christmas_carol.txt"
        text = (EVAL / "christmas_carol" / "christmas_carol.txt").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    return folder


async def index(name: str, work: Path) -> SqliteStore:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kg_home=work / "home",
        kg_extractor="nlp",
        openai_api_key="",
        openai_base_url="",
        kg_embedding_model="",
    )
    store = SqliteStore(work / f"{name}.db")
    started = time.perf_counter()
    summary = await build_index([write_corpus(name, work / name)], store, settings, namespace=NAMESPACE)
    print(
        f"indexed {name}: {summary.text_units} chunks, {summary.entities} entities, {summary.communities} "
        f"communities in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return store


def local_rows(context: Context) -> list[str]:
    return (
        [u.text for u in context.sources]
        + [f"{e.title} {e.description}" for e in context.entities]
        + [f"{r.source} {r.target} {r.description}" for r in context.relationships]
        + [report_text(r) for r in context.reports]
    )


def coverage(evidence: list[str], rows: list[str]) -> float:
    """Share of the evidence sentences one row covers (>= COVERED of the sentence's content terms)."""
    if not evidence:
        return float("nan")
    row_terms = [content_terms(r) for r in rows]
    covered = 0
    for sentence in evidence:
        terms = content_terms(sentence)
        if terms and any(len(terms & rt) >= COVERED * len(terms) for rt in row_terms):
            covered += 1
    return covered / len(evidence)


async def compare(store: SqliteStore, question: str) -> dict[str, Any]:
    """Both searches on one question: their rows, tokens, and cost with a model."""
    local = await build_context(store, question, (), NAMESPACE, BUDGET, 10)
    found = await build_global_context(store, NAMESPACE, question, BUDGET)
    local_model = await ask(
        store, question, namespace=NAMESPACE, budget=BUDGET, model=BenchModel(), search="local"
    )
    global_model = await ask(
        store, question, namespace=NAMESPACE, budget=BUDGET, model=BenchModel(), search="global"
    )
    units = await store.community_text_units(NAMESPACE, [r.community for r in found.context.reports])
    return {
        "local": {
            "rows": local_rows(local),
            "tokens": local.tokens,
            "chunks": {u.id for u in local.sources},
            "calls": local_model.usage.llm_calls,
            "prompt_tokens": local_model.usage.prompt_tokens,
        },
        "global": {
            "rows": [report_text(r) for r in found.context.reports],
            "rows_with_sources": [report_text(r) for r in found.context.reports]
            + [u.text for u in found.context.sources],
            "tokens": found.context.tokens,
            "reports": len(found.context.reports),
            "rated": found.selection.rated,
            "chunks": {u for ids in units.values() for u in ids},
            "calls": global_model.usage.llm_calls,
            "prompt_tokens": global_model.usage.prompt_tokens,
        },
    }


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


async def medical(work: Path, limit: int) -> str:
    store = await index("medical", work)
    try:
        questions = [
            q
            for q in json.loads((EVAL / "graphrag_bench_medical" / "questions_100.json").read_text())
            if q["question_type"] == "Contextual Summarize"
        ][:limit]
        rows: dict[str, list[float]] = {
            k: [] for k in ("lc", "gc", "gs", "lt", "gt", "lk", "gk", "lp", "gp", "gr")
        }
        for q in questions:
            evidence = [s.strip() for s in q["evidence"].split(";") if s.strip()]
            r = await compare(store, q["question"])
            rows["lc"].append(coverage(evidence, r["local"]["rows"]))
            rows["gc"].append(coverage(evidence, r["global"]["rows"]))
            rows["gs"].append(coverage(evidence, r["global"]["rows_with_sources"]))
            rows["lt"].append(r["local"]["tokens"])
            rows["gt"].append(r["global"]["tokens"])
            rows["lk"].append(r["local"]["calls"])
            rows["gk"].append(r["global"]["calls"])
            rows["lp"].append(r["local"]["prompt_tokens"])
            rows["gp"].append(r["global"]["prompt_tokens"])
            rows["gr"].append(r["global"]["reports"])
        n = len(questions)
        return "\n".join(
            [
                f"GraphRAG-Bench medical, {n} Contextual Summarize questions (means per question):",
                "",
                "| search | evidence covered | context tokens | reports used | model calls | prompt tokens |",
                "|---|---:|---:|---:|---:|---:|",
                f"| local | {_mean(rows['lc']):.0%} | {_mean(rows['lt']):,.0f} | - | {_mean(rows['lk']):.1f} | "
                f"{_mean(rows['lp']):,.0f} |",
                f"| global (reports) | {_mean(rows['gc']):.0%} | {_mean(rows['gt']):,.0f} | {_mean(rows['gr']):.1f} | "
                f"{_mean(rows['gk']):.1f} | {_mean(rows['gp']):,.0f} |",
                f"| global (reports + their sources) | {_mean(rows['gs']):.0%} | - | - | - | - |",
            ]
        )
    finally:
        await store.close()


async def carol(work: Path) -> str:
    store = await index("christmas_carol", work)
    try:
        stats = await store.stats(NAMESPACE)
        assert stats is not None
        chunks = stats.counts["text_units"]
        lines = [
            "A Christmas Carol, whole-corpus questions:",
            "",
            "| question | search | chunks reached | main characters named | context tokens | reports | model calls | "
            "prompt tokens |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for question in CAROL_QUESTIONS:
            r = await compare(store, question)
            for search in ("local", "global"):
                side = r[search]
                text = " ".join(side["rows"]).lower()
                named = sum(name.lower() in text for name in MAIN_CHARACTERS)
                lines.append(
                    f"| {question} | {search} | {len(side['chunks']) / chunks:.0%} | {named}/{len(MAIN_CHARACTERS)} | "
                    f"{side['tokens']:,} | {side.get('reports', '-')} | {side['calls']} | {side['prompt_tokens']:,} |"
                )
        return "\n".join(lines)
    finally:
        await store.close()


async def amain(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="kgbot-global-") as tmp:
        parts = [await carol(Path(tmp))]
        if not args.skip_medical:
            parts.append(await medical(Path(tmp), args.limit))
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=25, help="medical questions to run (default all 25)")
    parser.add_argument("--skip-medical", action="store_true")
    parser.add_argument("--no-record", action="store_true", help="print only; do not touch BENCHMARKS.md")
    args = parser.parse_args()
    body = asyncio.run(amain(args))
    print()
    print(body)
    if not args.no_record:
        record(
            HEADING,
            INTRO,
            "Christmas Carol and GraphRAG-Bench medical",
            body,
            "python bench/global_search.py",
        )


if __name__ == "__main__":
    main()
