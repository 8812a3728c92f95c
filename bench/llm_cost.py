"""Model calls and tokens of an LLM index build, per 1,000 input tokens, beside GraphRAG's standard method (issue 5).

    .venv/bin/python bench/llm_cost.py              # prints a markdown section and appends it to BENCHMARKS.md
    .venv/bin/python bench/llm_cost.py --no-record

Corpus: ../shared/eval/christmas_carol/christmas_carol.txt (GraphRAG's demo corpus), chunked 1200/100 tokens
as GraphRAG does. The model is the scripted fake OpenAI-compatible server of the tests (tests/fake_openai.py,
driven by the real langchain-openai client): it extracts the passage's names and sentences, joins descriptions
and writes reports citing its rows, deterministically, and reports usage counted with kg.text.tokens. So the figures
count calls and tokens exactly for this pipeline; they say nothing of answer quality.

Runs, each in a fresh KG_HOME:
- kgbot defaults: no gleaning, descriptions summarised KG_SUMMARY_BATCH (8) per call, one report per community;
  then Stave Three is edited (one sentence changed, one paragraph added) and the index rebuilt.
- GraphRAG's standard method counted the same way: the same pipeline configured to GraphRAG's call pattern (one
  gleaning pass: 2 calls per chunk; one call per multi-description summary; one report per community), with its
  calls checked against that formula. Its tokens are measured with our (shorter) prompts, and also estimated with
  GraphRAG's own prompt templates (v3.1.2 extract_graph, summarize_descriptions, community_report), whose sizes
  were counted with kg.text.tokens: the measured tokens plus, per call, the difference in template size.
A GraphRAG rebuild without incremental update re-runs every call: its rebuild cost is its first-build cost.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kg import prompts  # noqa: E402
from kg.config import Settings  # noqa: E402
from kg.index.pipeline import IndexSummary, build_index  # noqa: E402
from kg.llm.client import ModelClient  # noqa: E402
from kg.store import open_store  # noqa: E402
from kg.text.tokens import count_tokens  # noqa: E402
from tests.fake_openai import FakeOpenAI, graph_responder, phase_of  # noqa: E402

CORPUS = ROOT.parent / "shared" / "eval" / "christmas_carol" / "christmas_carol.txt"
# GraphRAG v3.1.2 prompt templates (packages/graphrag/graphrag/prompts/index/*.py), counted with kg.text.tokens with
# their placeholders unfilled; the continue prompt of a gleaning call is 37 tokens.
GRAPHRAG_TEMPLATE_TOKENS = {"extract": 1894, "glean": 1894 + 37, "summarize": 167, "report": 2010}
CHAT_PHASES = ("extract", "summarize", "report")


def our_template_tokens() -> dict[str, int]:
    """System prompt plus tool schema of each of our calls (the gleaning call resends both, plus its prompt)."""

    def size(system: str, tool: dict) -> int:
        return count_tokens(system) + count_tokens(json.dumps([tool]))

    extract = size(
        prompts.EXTRACT_SYSTEM.format(entity_types="ORGANIZATION, PERSON, GEO, EVENT"), prompts.EXTRACT_TOOL
    )
    return {
        "extract": extract,
        "glean": extract + count_tokens(prompts.EXTRACT_GLEANING),
        "summarize": size(
            prompts.SUMMARY_SYSTEM.format(max_words=prompts.SUMMARY_MAX_WORDS), prompts.SUMMARY_TOOL
        ),
        "report": size(prompts.REPORT_SYSTEM, prompts.REPORT_TOOL),
    }


def edit_stave_three(text: str) -> str:
    """One chapter edited: a sentence reworded near its start, a paragraph added at its end."""
    start = text.index("STAVE THREE\n")
    end = text.index("STAVE FOUR\n", start)
    chapter = text[start:end]
    edited = chapter.replace("prodigiously tough snore", "prodigiously tough and rattling snore", 1)
    edited = edited.rstrip() + (
        "\n\nLong afterwards Scrooge would tell his nephew Fred of that night: of the Ghost of Christmas "
        "Present, of the feast at Bob Cratchit's, and of Tiny Tim raising his glass.\n\n\n"
    )
    assert edited != chapter
    return text[:start] + edited + text[end:]


async def build(
    home: Path, corpus: Path, server: FakeOpenAI, **overrides: Any
) -> tuple[IndexSummary, dict[str, int], set[frozenset[str]]]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kg_home=home,
        openai_base_url=server.url,
        kg_embedding_model="fake-embed",
        **overrides,
    )
    models = ModelClient.from_settings(settings)
    store = open_store(settings.store_url)
    first = len(server.requests)
    try:
        summary = await build_index([corpus], store, settings, models=models)
        index = await store.export(settings.kg_namespace)
        assert index is not None
    finally:
        await store.close()
    phases: dict[str, int] = {}
    for request in server.requests[first:]:
        phase = phase_of(request)
        phases[phase] = phases.get(phase, 0) + 1
    return summary, phases, {frozenset(c.entity_ids) for c in index.communities}


def chat(summary: IndexSummary) -> dict[str, int]:
    keys = ("calls", "prompt_tokens", "completion_tokens")
    return {k: sum(summary.usage.get(p, {}).get(k, 0) for p in CHAT_PHASES) for k in keys}


def per_k(value: float, input_tokens: int, digits: int = 0) -> str:
    return f"{1000 * value / input_tokens:,.{digits}f}"


def row(name: str, calls: int, prompt: int, completion: int, input_tokens: int) -> str:
    return (
        f"| {name} | {calls:,} | {prompt:,} | {completion:,} | {per_k(calls, input_tokens, 2)} | "
        f"{per_k(prompt + completion, input_tokens)} |"
    )


async def run() -> str:
    server = await FakeOpenAI(graph_responder).start()
    work = Path(tempfile.mkdtemp(prefix="kg-llm-cost-"))
    try:
        corpus = work / "christmas_carol.txt"
        original = CORPUS.read_text(encoding="utf-8-sig")
        corpus.write_text(original, encoding="utf-8")
        input_tokens = count_tokens(original)

        ours, ours_phases, ours_communities = await build(work / "ours", corpus, server)
        graphrag, graphrag_phases, _ = await build(
            work / "graphrag", corpus, server, kg_gleaning=1, kg_summary_batch=1
        )

        corpus.write_text(edit_stave_three(original), encoding="utf-8")
        edited_tokens = count_tokens(corpus.read_text(encoding="utf-8"))
        rebuild, rebuild_phases, rebuild_communities = await build(work / "ours", corpus, server)
    finally:
        await server.stop()
        shutil.rmtree(work, ignore_errors=True)

    n_summaries = graphrag.usage.get("summarize", {}).get("calls", 0)
    formula = 2 * graphrag.text_units + n_summaries + graphrag.communities
    g = chat(graphrag)
    assert g["calls"] == formula, (g, formula)  # the call pattern is GraphRAG's
    ours_t, graphrag_t = our_template_tokens(), GRAPHRAG_TEMPLATE_TOKENS
    extra = sum(
        graphrag_phases.get(p, 0) * (graphrag_t[p] - ours_t[p])
        for p in ("extract", "glean", "summarize", "report")
    )
    o, r = chat(ours), chat(rebuild)
    embed = ours.usage.get("embed", {})
    extra_by_phase = {
        "extract": graphrag_phases.get("extract", 0) * (graphrag_t["extract"] - ours_t["extract"])
        + graphrag_phases.get("glean", 0) * (graphrag_t["glean"] - ours_t["glean"]),
        "summarize": graphrag_phases.get("summarize", 0) * (graphrag_t["summarize"] - ours_t["summarize"]),
        "report": graphrag_phases.get("report", 0) * (graphrag_t["report"] - ours_t["report"]),
    }

    def cell(summary: IndexSummary, phase: str, extra: int = 0) -> str:
        u = summary.usage.get(phase, {})
        tokens = u.get("prompt_tokens", 0) + u.get("completion_tokens", 0) + extra
        return f"{u.get('calls', 0):,} / {tokens:,}"

    phase_rows = [
        f"| {phase} | {cell(ours, phase)} | {cell(graphrag, phase)} | "
        f"{cell(graphrag, phase, extra_by_phase.get(phase, 0)) if phase in extra_by_phase else 'n/a'} | "
        f"{cell(rebuild, phase)} |"
        for phase in (*CHAT_PHASES, "embed")
    ]

    lines = [
        f"## LLM indexing cost: Christmas Carol ({dt.date.today().isoformat()}, bench/llm_cost.py)",
        "",
        f"Corpus: A Christmas Carol, {input_tokens:,} tokens (kg.text.tokens), chunked 1200/100 into {ours.text_units} "
        f"chunks; graph: {ours.entities} entities, {ours.relationships} relationships, {ours.communities} "
        f"communities; {n_summaries} entities/relationships with several distinct descriptions. Model: the scripted "
        "fake OpenAI-compatible server of the tests through the real langchain-openai client (deterministic "
        "extraction from the text's own names and sentences: at most 30 entities and 30 relationships per chunk, "
        "descriptions of at most 30 words), so calls are exact for the pipeline, tokens are as this model writes "
        "them, and both are the same for every row; quality is not measured here. Tokens are prompt + completion "
        "of chat calls (embeddings listed apart).",
        "",
        "| build | chat calls | prompt tokens | completion tokens | calls / 1k input tokens | tokens / 1k input tokens |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        row(
            "kgbot, first build (defaults)",
            o["calls"],
            o["prompt_tokens"],
            o["completion_tokens"],
            input_tokens,
        ),
        row(
            "GraphRAG standard, first build: call pattern, our prompts (measured)",
            g["calls"],
            g["prompt_tokens"],
            g["completion_tokens"],
            input_tokens,
        ),
        row(
            "GraphRAG standard, first build: with GraphRAG's prompt templates (estimate)",
            g["calls"],
            g["prompt_tokens"] + extra,
            g["completion_tokens"],
            input_tokens,
        ),
        row(
            "kgbot, rebuild after editing Stave Three",
            r["calls"],
            r["prompt_tokens"],
            r["completion_tokens"],
            edited_tokens,
        ),
        row(
            "GraphRAG standard, rebuild (no incremental update: everything again, estimate)",
            g["calls"],
            g["prompt_tokens"] + extra,
            g["completion_tokens"],
            input_tokens,
        ),
        "",
        "Per phase, calls / tokens (embedding tokens estimated with kg.text.tokens):",
        "",
        "| phase | kgbot first build | GraphRAG pattern, our prompts | GraphRAG pattern, its templates (est.) "
        "| kgbot rebuild after the edit |",
        "| --- | ---: | ---: | ---: | ---: |",
        *phase_rows,
        "",
        "Calls by phase (chat): "
        f"kgbot first build extract {ours_phases.get('extract', 0)}, summarize {ours_phases.get('summarize', 0)}, "
        f"report {ours_phases.get('report', 0)}; "
        f"GraphRAG pattern extract {graphrag_phases.get('extract', 0)} + gleaning {graphrag_phases.get('glean', 0)}, "
        f"summarize {graphrag_phases.get('summarize', 0)}, report {graphrag_phases.get('report', 0)} "
        f"(formula 2 x {graphrag.text_units} + {n_summaries} + {graphrag.communities} = {formula}); "
        f"kgbot rebuild extract {rebuild_phases.get('extract', 0)} ({rebuild.chunks_extracted} of "
        f"{rebuild.text_units} chunks re-extracted), summarize {rebuild_phases.get('summarize', 0)}, "
        f"report {rebuild_phases.get('report', 0)} of {rebuild.communities} communities "
        f"({len(rebuild_communities - ours_communities)} of them with a membership no community of the first "
        "build had: Leiden re-partitions around the changed part of the graph; the others' inputs changed). "
        f"Embeddings (entity `title: description`, 64 per request): {embed.get('calls', 0)} requests, "
        f"~{embed.get('prompt_tokens', 0):,} tokens on the first build, "
        f"{rebuild.usage.get('embed', {}).get('calls', 0)} on the rebuild.",
        "",
        f"Prompt templates per call, ours vs GraphRAG's (kg.text.tokens): extraction {ours_t['extract']} vs "
        f"{graphrag_t['extract']}, summary {ours_t['summarize']} vs {graphrag_t['summarize']}, report "
        f"{ours_t['report']} vs {graphrag_t['report']}. Ours carry no few-shot examples (the tool schema does that "
        "job); a model that extracts worse without them would need KG_GLEANING=1, which doubles extraction calls.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to BENCHMARKS.md")
    args = parser.parse_args()
    section = asyncio.run(run())
    print(section)
    if not args.no_record:
        path = ROOT / "BENCHMARKS.md"
        top = "" if path.exists() else "# Benchmarks\n\nFigures measured by the scripts in `bench/`.\n"
        with path.open("a", encoding="utf-8") as f:  # append only: other sections stay as they are
            f.write(top + "\n" + section)


if __name__ == "__main__":
    main()
