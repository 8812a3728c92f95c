"""Answers of global search: map-reduce over community reports with a chat model, or extractive without one.

With a model (GraphRAG's method): each batch of reports is one map call returning rated key points that cite
`Reports (ids)`; the best points, across batches, fill the reduce call's budget, which writes the answer. Map
calls run at most `concurrency` at a time; every call is counted in `Usage`. Without a model, the answer
quotes the selected reports' own summaries and findings, each cited with its report and the report's sources.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kg import prompts
from kg.citations import format_marker
from kg.llm.calls import ModelReply, complete, history_text, stream_complete, timed_out
from kg.model import CommunityReport, Turn, Usage
from kg.search.extractive import quoted_sentences
from kg.search.global_context import GlobalContext, Rate
from kg.search.progress import WRITE, Progress
from kg.text.bm25 import bm25
from kg.text.tokens import count_tokens, truncate
from kg.text.words import term_counts

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

NOTICE = (
    "_Extractive global answer: no language model is configured, so these are the community reports that "
    "best cover the question, each quoted from its own summary and findings._"
)
UNKNOWN = "I don't know: no community report of the indexed documents matches this question."
MAX_REPORTS_SHOWN = 8
POINTS_PER_REPORT = 2
REDUCE_SHARE = 0.8  # of the budget: what the key points may fill in the reduce call


@dataclass
class KeyPoint:
    text: str
    score: float


class _Meter:
    """Counts model calls and tokens into `usage`, and bounds the calls in flight."""

    def __init__(self, usage: Usage, concurrency: int) -> None:
        self.usage = usage
        self.gate = asyncio.Semaphore(max(1, concurrency))

    async def call(
        self,
        model: BaseChatModel,
        system: str,
        human: str,
        variables: dict[str, Any],
        timeout: float | None,  # noqa: ASYNC109 - bounds the model call
        progress: Progress | None = None,
    ) -> ModelReply:
        """One model call; streamed into `progress` when it streams."""
        async with self.gate:
            self.usage.llm_calls += 1
            if progress is not None and progress.streaming:
                reply = await stream_complete(model, system, human, variables, timeout, progress.text)
            else:
                reply = await complete(model, system, human, variables, timeout)
        self.usage.prompt_tokens += reply.prompt_tokens
        self.usage.completion_tokens += reply.completion_tokens
        return reply


def model_rater(model: BaseChatModel, usage: Usage, timeout: float | None, concurrency: int = 4) -> Rate:
    """A rating call per report (0-5) for dynamic selection; a failed call rates 0 (the report is skipped)."""
    meter = _Meter(usage, concurrency)

    async def rate(question: str, report: CommunityReport) -> int:
        content = truncate(f"{report.title}. {report.summary}", 400)
        try:
            reply = await meter.call(
                model,
                prompts.GLOBAL_RATE_SYSTEM,
                prompts.GLOBAL_RATE_HUMAN,
                {"question": question, "report": content},
                timeout,
            )
        except Exception as exc:  # noqa: BLE001 - one unrated report must not cost the answer
            log.warning("rating a report failed (%s)", type(exc).__name__)
            return 0
        digits = [c for c in reply.text if c.isdigit()]
        return min(int(digits[0]), 5) if digits else 0

    return rate


def _points_of(report: CommunityReport) -> list[str]:
    """What a report says, sentence by sentence: its summary, then each finding's explanation."""
    out: dict[str, str] = {}  # by its words, so a sentence both the summary and a finding hold counts once
    for text in (report.summary, *(f.explanation for f in report.findings)):
        for s in quoted_sentences(text):
            if len(s.split()) >= 4 and "…" not in s and not s.endswith("..."):
                out.setdefault(" ".join(s.lower().split()), s)
    return list(out.values())


def extractive_global_answer(g: GlobalContext, limit: int = MAX_REPORTS_SHOWN) -> str:
    """One bullet per report (most relevant first): its title and its sentences that best match the question,
    cited with the report and its sources."""
    reports = g.context.reports[:limit]
    if not reports:
        return UNKNOWN
    bullets = []
    for r in reports:
        points = _points_of(r)
        if not points:
            continue
        if g.subject:
            scores = bm25(g.subject, [term_counts(p) for p in points])
            order = sorted(range(len(points)), key=lambda i: (-scores[i], i))
            best = [points[i] for i in order[:POINTS_PER_REPORT] if scores[i] > 0] or points[:1]
        else:
            best = points[:POINTS_PER_REPORT]
        marker = format_marker({"Reports": [r.community], "Sources": g.sources_of.get(r.community, [])})
        quoted = " ".join(p if p.endswith((".", "!", "?")) else p + "." for p in best)
        bullets.append(f"- **{r.title}**: {quoted[:-1].rstrip()} {marker}.")
    if not bullets:
        return UNKNOWN
    return "\n\n".join([NOTICE, "\n".join(bullets)])


def _parse_points(text: str) -> list[KeyPoint]:
    from kg.llm.structured import MalformedOutput, parse_json_object  # LangChain: only with a model

    try:
        data = parse_json_object(text)
    except MalformedOutput:
        return []
    points = []
    for item in data.get("points") or []:
        if not isinstance(item, dict):
            continue
        description = str(item.get("description") or "").strip()
        try:
            score = float(item.get("score") or 0)
        except (TypeError, ValueError):
            score = 0.0
        if description and score > 0:
            points.append(KeyPoint(description, score))
    return points


async def map_reduce_answer(
    model: BaseChatModel,
    g: GlobalContext,
    usage: Usage,
    *,
    budget: int,
    history: Sequence[Turn] = (),
    timeout: float | None = None,  # noqa: ASYNC109 - bounds each model call
    concurrency: int = 4,
    progress: Progress | None = None,
) -> tuple[str, bool]:
    """(answer, whether the model wrote it): GraphRAG's map-reduce over the context's batches, or, if the
    model fails, the extractive answer saying so. `progress` hears when the reduce call starts writing and,
    when it streams, the reduce call's text (the map calls' key points are not shown)."""
    meter = _Meter(usage, concurrency)
    question = g.context.question

    async def map_batch(batch: str) -> list[KeyPoint]:
        reply = await meter.call(
            model,
            prompts.GLOBAL_MAP_SYSTEM,
            prompts.GLOBAL_MAP_HUMAN,
            {"context": batch, "question": question},
            timeout,
        )
        return _parse_points(reply.text)

    results = await asyncio.gather(*(map_batch(b) for b in g.batches), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    for exc in failures:
        log.warning("a global-search map call failed (%s)", type(exc).__name__)
    if g.batches and len(failures) == len(g.batches):
        return _fallback(g, failures[0]), False
    points = sorted(
        (p for r in results if not isinstance(r, BaseException) for p in r), key=lambda p: -p.score
    )
    if not points:
        return (
            "I don't know: the community reports of the indexed documents do not answer this question.",
            True,
        )
    lines: list[str] = []
    used = 0
    for i, p in enumerate(points, 1):
        block = f"----Analyst {i}----\nImportance: {p.score:g}\n{p.text}"
        cost = count_tokens(block)
        if used + cost > budget * REDUCE_SHARE:
            break
        lines.append(block)
        used += cost
    if progress is not None:
        await progress.stage(WRITE, "Writing the answer…")
    try:
        reply = await meter.call(
            model,
            prompts.GLOBAL_REDUCE_SYSTEM,
            prompts.GLOBAL_REDUCE_HUMAN,
            {
                "response_type": "multiple paragraphs",
                "report_data": "\n\n".join(lines),
                "question": question,
                "history": history_text(history),
            },
            timeout,
            progress,
        )
    except Exception as exc:  # noqa: BLE001 - any model failure falls back to quoting the reports
        log.warning("the global-search reduce call failed (%s)", type(exc).__name__)
        return _fallback(g, exc), False
    return reply.text, True


def _fallback(g: GlobalContext, exc: BaseException) -> str:
    reason = "did not answer in time" if timed_out(exc) else "failed"
    return f"_The language model {reason}, so this is an extractive answer._\n\n" + extractive_global_answer(
        g
    )
