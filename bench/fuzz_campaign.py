"""Fuzz campaign: 10,000 generated hostile inputs through every boundary that takes text from outside, counted.

    .venv/bin/python bench/fuzz_campaign.py                 # 10,000 inputs, recorded in BENCHMARKS.md
    .venv/bin/python bench/fuzz_campaign.py --total 500 --no-record

The inputs are tests/hostile.py's hypothesis strategies (the property tests in tests/test_properties.py draw
a few dozen per boundary; this draws thousands, generation only, no shrinking, seeded):
- questions: asked (`kg.search.answer.ask`) of an offline SQLite index of tests/conftest.py's corpus; the answer is
  then rendered for Slack and Discord as the assistant core hands it over (mentions neutralised);
- document folders: one to four files each (binary renamed .txt, invalid UTF-8, UTF-16 with a BOM, a huge
  single line, deep HTML, broken PDFs; names with newlines or undecodable bytes) through `load_documents`;
- answer texts with citation markers through `check_citations`;
- generated replies through the Slack renderer (both source layouts, and the sources toggle) and the Discord
  renderer (messages and the sources embed).
Counted: tracebacks (any exception other than a refused question), outputs over a platform limit or otherwise
malformed (Block Kit sizes, 2,000-char Discord messages, embed limits, multi-line or unprintable messages),
live mentions (Slack `<@…>`/`<!…>`/`<#…>`, Discord `<@…>`/`<#…>`/`@everyone`/`@here`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bench.common import record  # noqa: E402
from bot.core import Reply, neutralise_mentions  # noqa: E402
from bot.discord import render as discord_render  # noqa: E402
from bot.slack import render as slack_render  # noqa: E402
from kg.citations import DATASETS, check_citations  # noqa: E402
from kg.index.load import load_documents  # noqa: E402
from kg.search.answer import QuestionError, SourceRef, ask  # noqa: E402
from tests.conftest import write_corpus  # noqa: E402
from tests.hostile import (  # noqa: E402
    FILE_NAMES,
    FILES,
    discord_embed_problems,
    discord_message_problems,
    hostile_text,
    one_line_problems,
    replies,
    slack_problems,
)

HEADING = "Fuzz campaign: hostile input at every boundary (`bench/fuzz_campaign.py`)"
INTRO = """
Generated hostile inputs (tests/hostile.py's hypothesis strategies: FTS5, Cypher and Lucene syntax, control
characters, lone surrogates, 20-110 KB texts, Slack and Discord mention syntax, malformed citation markers,
broken files) through every boundary that takes outside text: questions asked of an offline SQLite index and
their answers rendered for Slack and Discord; document folders loaded; citation markers checked; generated
replies rendered for Slack (Block Kit) and Discord (messages, sources embed). Generation only, no shrinking,
seeded. A traceback is any exception but a refused question; "over limits" is any output Slack or Discord would
refuse (3,000-char section text, 50 blocks, 10 container children, 2,000-char messages, embed title 256,
description 4,096, 25 fields, field 1,024, total 6,000) or a multi-line or unprintable message; a live mention
is Slack `<@…>`/`<!…>`/`<#…>` or Discord `<@…>`/`<#…>`/`@everyone`/`@here` in an output.
"""
SHARES = {
    "questions": 0.2,
    "documents": 0.05,
    "citations": 0.15,
    "slack": 0.275,
    "discord": 0.275,
    "pictures": 0.05,
}
PICTURE_MS = 300  # the most a picture may take to draw (issue 26)


@dataclass
class Tally:
    inputs: int = 0
    tracebacks: int = 0
    over_limits: int = 0
    live_mentions: int = 0
    examples: Counter[str] = field(default_factory=Counter)

    def check(self, run: Callable[[], list[str]]) -> None:
        self.inputs += 1
        try:
            problems = run()
        except Exception as exc:  # what the campaign counts
            self.tracebacks += 1
            self.examples[f"traceback {type(exc).__name__}: {str(exc)[:120]}"] += 1
            return
        mentions = [p for p in problems if "live mention" in p]
        self.live_mentions += bool(mentions)
        self.over_limits += len(mentions) < len(problems)
        for problem in problems:
            self.examples[problem[:160]] += 1


def _core_reply(answer: Any) -> Reply:
    """The reply the assistant core builds from an answer: mentions neutralised in text and sources."""
    refs = [
        SourceRef(
            c.dataset, c.id, *(neutralise_mentions(v) for v in (c.title, c.document, c.location, c.excerpt))
        )
        for c in answer.citations
    ]
    return Reply(
        neutralise_mentions(answer.text), sources=refs, mode=answer.mode, timings_ms=answer.timings_ms
    )


def _rendered_problems(reply: Reply) -> list[str]:
    problems = slack_problems([m.payload() for m in slack_render.answer_messages(reply)])
    problems += discord_message_problems(discord_render.answer_messages(reply))
    return problems + discord_embed_problems(discord_render.sources_embed(reply.sources))


def _campaign(n: int, strategy: st.SearchStrategy[Any], seed_value: int, body: Callable[[Any], None]) -> None:
    @seed(seed_value)
    @settings(
        max_examples=n,
        phases=[Phase.generate],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: Any) -> None:
        body(value)

    run()


def questions(n: int, seed_value: int, tally: Tally, workdir: Path) -> None:
    from kg.config import Settings
    from kg.index.pipeline import build_index
    from kg.store.sqlite.store import SqliteStore

    settings_ = Settings(_env_file=None, kg_home=workdir / "home", kg_chunk_size=120, kg_chunk_overlap=20)  # type: ignore[call-arg]
    store = SqliteStore(workdir / "kg.db")
    loop = asyncio.new_event_loop()
    loop.run_until_complete(build_index([write_corpus(workdir / "corpus")], store, settings_, "default"))

    def one(question: str) -> list[str]:
        try:
            answer = loop.run_until_complete(ask(store, question, namespace="default"))
        except QuestionError as exc:
            return one_line_problems([str(exc)])
        json.dumps(answer.to_json(), ensure_ascii=False).encode("utf-8")  # what `kgbot ask --json` prints
        return _rendered_problems(_core_reply(answer))

    _campaign(n, hostile_text(), seed_value, lambda q: tally.check(lambda: one(q)))
    loop.run_until_complete(store.close())
    loop.close()


def documents(n: int, seed_value: int, tally: Tally, workdir: Path) -> None:
    def one(files: list[tuple[str, tuple[str, bytes]]], undecodable: bool) -> list[str]:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            folder = os.path.join(os.fsencode(tmp), b"docs")
            os.mkdir(folder)
            for i, (name, (suffix, data)) in enumerate(files):
                raw = (b"\xff" if undecodable else b"") + f"{i}-{name}{suffix}".encode()
                with open(os.path.join(folder, raw), "wb") as f:
                    f.write(data)
            result = load_documents([os.fsdecode(folder)])
        problems = one_line_problems(result.problems)
        if len(result.documents) + len(result.problems) != len(files):
            problems.append("a file neither loaded nor named")
        for doc in result.documents:
            problems += one_line_problems([doc.title, doc.source])
            doc.text.encode("utf-8")
        return problems

    strategy = st.tuples(st.lists(st.tuples(FILE_NAMES, FILES), min_size=1, max_size=4), st.booleans())
    _campaign(n, strategy, seed_value, lambda v: tally.check(lambda: one(*v)))


def citations(n: int, seed_value: int, tally: Tally, workdir: Path) -> None:
    def one(text: str, available: dict[str, set[int]]) -> list[str]:
        checked = check_citations(text, available)
        problems = [
            f"cited {c} not in the context" for c in checked.citations if c.id not in available[c.dataset]
        ]
        again = check_citations(checked.text, available)
        if again.text != checked.text or again.dropped:
            problems.append("a checked text changes when checked again")
        return problems

    available = st.fixed_dictionaries({d: st.sets(st.integers(0, 20), max_size=8) for d in DATASETS})
    _campaign(n, st.tuples(hostile_text(), available), seed_value, lambda v: tally.check(lambda: one(*v)))


def slack(n: int, seed_value: int, tally: Tally, workdir: Path) -> None:
    def one(reply: Reply, collapsible: bool) -> list[str]:
        reply.sources_key = "k" * 12
        messages = slack_render.answer_messages(reply, collapsible=collapsible)
        payloads = [m.payload() for m in messages]
        if reply.sources:
            blocks = slack_render.toggle_sources(
                messages[-1].blocks, reply.sources, reply.sources_key, len(reply.sources), True
            )
            payloads.append({"text": messages[-1].text, "blocks": blocks})
        return slack_problems(payloads)

    _campaign(n, st.tuples(replies(), st.booleans()), seed_value, lambda v: tally.check(lambda: one(*v)))


def discord(n: int, seed_value: int, tally: Tally, workdir: Path) -> None:
    def one(reply: Reply) -> list[str]:
        problems = discord_message_problems(discord_render.answer_messages(reply))
        return problems + discord_embed_problems(discord_render.sources_embed(reply.sources))

    _campaign(n, replies(), seed_value, lambda r: tally.check(lambda: one(r)))


def pictures(n: int, seed_value: int, tally: Tally, workdir: Path) -> None:
    """Hostile labels (names, types, descriptions, documents, the question) drawn as PNG and SVG, some with
    10,000 nodes: a picture within PICTURE_MS, its SVG well-formed with no control or bidi character."""
    import xml.etree.ElementTree as ET

    from kg.search.picture.draw import render
    from kg.search.picture.evidence import CITED, NEIGHBOUR, Edge, Evidence, Node
    from kg.search.picture.labels import clean_label, short_description
    from kg.search.picture.scene import compose

    def one(labels: list[str], many: bool) -> list[str]:
        count = 10_000 if many else len(labels)
        nodes = [
            Node(
                f"k{i}",
                clean_label(labels[i % len(labels)]),
                clean_label(labels[-1 - i % len(labels)], 16),
                CITED if i % 3 else NEIGHBOUR,
                i,
            )
            for i in range(count)
        ]
        edges = [
            Edge(f"k{i}", f"k{(i * 7 + 1) % count}", short_description(labels[i % len(labels)]))
            for i in range(count)
        ]
        started = time.perf_counter()
        scene = compose(Evidence(nodes, edges, labels[:3], labels[0]))
        png, svg = render(scene, "png"), render(scene, "svg").decode("utf-8")
        ms = (time.perf_counter() - started) * 1000 / 2
        problems = [f"picture took {ms:.0f} ms (over {PICTURE_MS} ms)"] if ms > PICTURE_MS else []
        if not png.startswith(b"\x89PNG"):
            problems.append("not a PNG")
        ET.fromstring(svg)  # a malformed SVG is a traceback
        if any(ch in svg for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\x00\x1b"):
            problems.append("a control or bidi character in the SVG")
        return problems

    strategy = st.tuples(
        st.lists(hostile_text(), min_size=1, max_size=30), st.integers(0, 19).map(lambda i: i == 0)
    )
    _campaign(n, strategy, seed_value, lambda v: tally.check(lambda: one(*v)))


TARGETS = {
    "questions": questions,
    "documents": documents,
    "citations": citations,
    "slack": slack,
    "discord": discord,
    "pictures": pictures,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total", type=int, default=10_000, help="generated inputs over all boundaries")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--only", action="append", choices=list(TARGETS), help="these boundaries (repeatable)"
    )
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to BENCHMARKS.md")
    args = parser.parse_args()

    rows = []
    totals = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        for name, run in TARGETS.items():
            if args.only and name not in args.only:
                continue
            n = max(1, round(args.total * SHARES[name]))
            tally = Tally()
            started = time.perf_counter()
            workdir = Path(tmp) / name
            workdir.mkdir()
            run(n, args.seed, tally, workdir)
            seconds = time.perf_counter() - started
            print(
                f"{name:10} inputs {tally.inputs:6}  tracebacks {tally.tracebacks}  over limits "
                f"{tally.over_limits}  live mentions {tally.live_mentions}  ({seconds:.0f} s)",
                flush=True,
            )
            for example, count in tally.examples.most_common(5):
                print(f"    {count} x {example}")
            rows.append((name, tally, seconds))
            totals.inputs += tally.inputs
            totals.tracebacks += tally.tracebacks
            totals.over_limits += tally.over_limits
            totals.live_mentions += tally.live_mentions
            totals.examples.update(tally.examples)

    body = "| boundary | inputs | tracebacks | over platform limits | live mentions | seconds |\n"
    body += "| --- | ---: | ---: | ---: | ---: | ---: |\n"
    for name, tally, seconds in rows:
        body += (
            f"| {name} | {tally.inputs:,} | {tally.tracebacks} | {tally.over_limits} | {tally.live_mentions} "
            f"| {seconds:.0f} |\n"
        )
    body += (
        f"| **total** | **{totals.inputs:,}** | **{totals.tracebacks}** | **{totals.over_limits}** "
        f"| **{totals.live_mentions}** | |\n"
    )
    if totals.examples:
        body += "\nFailures seen:\n\n" + "".join(
            f"- {count} x `{example}`\n" for example, count in totals.examples.most_common(10)
        )
    print()
    print(body)
    if not args.no_record:
        command = (
            ".venv/bin/python bench/fuzz_campaign.py"
            + (f" --total {args.total}" if args.total != 10_000 else "")
            + "".join(f" --only {name}" for name in args.only or [])
        )
        record(HEADING, INTRO, f"{totals.inputs:,} inputs, seed {args.seed}", body, command)
    return 1 if totals.tracebacks or totals.over_limits or totals.live_mentions else 0


if __name__ == "__main__":
    raise SystemExit(main())
