"""Answer quality of the offline (extractive) answer: does the answer say the expected answer, early, briefly,
from the passages that hold the evidence, with valid citations?

    .venv/bin/python bench/answer_quality.py                      # hotpotqa (100), attention_multihop, team_docs
    .venv/bin/python bench/answer_quality.py --datasets team_docs --no-record --show

Data:
- hotpotqa: ../shared/eval/hotpotqa's 100 multi-hop questions, indexed as bench/evidence_recall.py does (one
  document per title). Expected answer: the question's `answer` (yes/no questions are left out of "answer in
  answer": an extract cannot say "yes"). Gold passages: the paragraphs of the supporting titles.
- attention_multihop: the 15 multi-hop questions over the 40 passages of the attention set. Their reference
  answers are long paraphrases, never verbatim, so only length, gold-passage share and citations are reported.
- team_docs: tests/team_docs (team notes in markdown beside a short novel, written for kgbot's tests) and the
  13 questions of TEAM_THREADS in this script, follow-ups included (asked after their thread's earlier question
  and answer).

Measures, per set: **in answer** = normalised expected answer (lower case, punctuation and articles dropped)
inside the normalised answer; **first sentence** = inside its first sentence, over the questions whose context
Sources hold the answer; **words** = median answer length (the extractive notice and citation markers not
counted); **gold share** = answer sentences found inside a gold passage / all answer sentences; **citations
valid** = questions whose answer cited no id missing from the context.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import string
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import EVAL, RESULTS, record  # noqa: E402
from bench.corpora import NAMESPACE  # noqa: E402
from bench.evidence_recall import ensure_corpus, multihop_questions  # noqa: E402
from kg.citations import MARKER  # noqa: E402
from kg.config import Settings  # noqa: E402
from kg.index.pipeline import build_index  # noqa: E402
from kg.model import Turn  # noqa: E402
from kg.search.answer import ask  # noqa: E402
from kg.search.extractive import NOTICE  # noqa: E402
from kg.store.sqlite.store import SqliteStore  # noqa: E402
from kg.text.sentences import sentences  # noqa: E402

TEAM_DOCS = ROOT / "tests" / "team_docs"
HEADING = "Answer quality, offline (`bench/answer_quality.py`)"
INTRO = __doc__.split("\n\n", 2)[2].strip()


@dataclass
class Case:
    """One question: what it must say (every string), where its evidence is, and the thread it follows."""

    question: str
    expected: list[str]
    gold: list[str]  # the passages that hold its evidence, normalised
    follows: list[str] = field(default_factory=list)  # earlier questions of its thread, oldest first


# (thread of questions, expected strings of each, gold document of each)
TEAM_THREADS: list[list[tuple[str, list[str], str]]] = [
    [("Who owns the Billing API?", ["Marcus Oyelaran"], "services.md")],
    [("Who owns the Auth Gateway?", ["Lena Fischer"], "services.md")],
    [
        (
            "What caused INC-101 and how was it fixed?",
            ["expired TLS certificate", "renewed the certificate"],
            "incidents.md",
        )
    ],
    [("When did INC-102 happen?", ["2 May 2026"], "incidents.md")],
    [("How many minutes were card payments stuck during INC-101?", ["40 minutes"], "incidents.md")],
    [("Why were the Grafana dashboards slow?", ["runaway query"], "incidents.md")],
    [("Who does an unacknowledged page escalate to?", ["Ada Okafor"], "oncall.md")],
    [
        ("Who is the on-call engineer in April?", ["Lena Fischer"], "oncall.md"),
        ("And in May?", ["Marcus Oyelaran"], "oncall.md"),
    ],
    [
        ("Who owns the Ledger Service?", ["Tomas Berg"], "services.md"),
        ("What incidents involved it?", ["INC-101"], "incidents.md"),
    ],
    [
        ("Who maintains the Data Pipeline?", ["Priya Raman"], "services.md"),
        ("When does it run?", ["02:00 UTC"], "services.md"),
    ],
]


def normalise(text: str) -> str:
    """Lower case, punctuation and articles dropped, spaces collapsed (SQuAD's answer normalisation)."""
    text = "".join(" " if ch in string.punctuation else ch for ch in text.lower())
    return " ".join(w for w in text.split() if w not in ("a", "an", "the"))


def _passage(text: str) -> str:
    """A gold passage, normalised: markdown marks are punctuation, so they go too."""
    return normalise(text)


def hotpot_cases() -> list[Case]:
    corpus = json.loads((EVAL / "hotpotqa" / "corpus.json").read_text())
    cases = []
    for q in json.loads((EVAL / "hotpotqa" / "questions.json").read_text()):
        titles = list(dict.fromkeys(t for t, _ in q["supporting_facts"]))
        gold = [_passage("".join(corpus.get(t) or [])) for t in titles]
        expected = [] if q["answer"].lower() in ("yes", "no") else [q["answer"]]
        cases.append(Case(q["question"], expected, gold))
    return cases


def multihop_cases() -> list[Case]:
    return [Case(q.text, [], [_passage(g) for g in q.gold]) for q in multihop_questions()]


def team_cases() -> list[Case]:
    cases = []
    for thread in TEAM_THREADS:
        for i, (question, expected, document) in enumerate(thread):
            gold = [_passage((TEAM_DOCS / document).read_text(encoding="utf-8"))]
            cases.append(Case(question, expected, gold, [q for q, _, _ in thread[:i]]))
    return cases


CASES = {"hotpotqa": hotpot_cases, "attention_multihop": multihop_cases, "team_docs": team_cases}


async def team_store(work: Path) -> Path:
    """tests/team_docs indexed offline (nlp extractor) into a fresh store under `work`."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        kg_home=work / "home",
        kg_extractor="nlp",
        openai_api_key="",
        openai_base_url="",
        kg_embedding_model="",
    )
    store = SqliteStore(work / "kg.db")
    try:
        await build_index([TEAM_DOCS], store, settings, namespace=NAMESPACE)
    finally:
        await store.close()
    return work / "kg.db"


def answer_sentences(text: str) -> list[str]:
    """The quoted sentences of an answer: notice and markers removed, list items and lines kept apart."""
    body = text.replace(NOTICE, "")
    body = MARKER.sub("", body)
    return [s for s in sentences(body.replace("\n", "\n\n")) if len(s.split()) > 1]


async def evaluate(name: str, db: Path, cases: list[Case], show: bool) -> dict:
    store = SqliteStore(db)
    contained = first = holds = gold_sentences = all_sentences = valid = 0
    asked = 0
    lengths = []
    answers: dict[str, str] = {}
    try:
        for case in cases:
            history: list[Turn] = []
            for earlier in case.follows:
                history += [Turn("user", earlier), Turn("assistant", answers.get(earlier, ""))]
            answer = await ask(store, case.question, history=history, namespace=NAMESPACE)
            answers[case.question] = answer.text
            quoted = answer_sentences(answer.text)
            lengths.append(sum(len(s.split()) for s in quoted))
            valid += answer.dropped_citations == 0
            all_sentences += len(quoted)
            gold_sentences += sum(
                any(all(normalise(part) in g for part in s.split(" — ")) for g in case.gold) for s in quoted
            )  # a labelled note is quoted after its heading: "INC-101: payments stuck — Cause: ..."
            if case.expected:
                asked += 1
                said = normalise(" ".join(quoted))
                hit = all(normalise(e) in said for e in case.expected)
                contained += hit
                sources = normalise(" ".join(u.text for u in answer.context.sources))
                if all(normalise(e) in sources for e in case.expected):
                    holds += 1
                    opening = normalise(quoted[0]) if quoted else ""
                    first += all(normalise(e) in opening for e in case.expected)
            if show:
                resolved = getattr(answer, "resolved_question", answer.question)
                print(f"\n## {case.question}  ->  {resolved}\nexpected: {case.expected}\n{answer.text}")
    finally:
        await store.close()
    return {
        "dataset": name,
        "questions": len(cases),
        "with_answer": asked,
        "in_answer": contained / asked if asked else None,
        "context_holds": holds,
        "first_sentence": first / holds if holds else None,
        "median_words": statistics.median(lengths) if lengths else 0,
        "gold_share": gold_sentences / all_sentences if all_sentences else 0.0,
        "citations_valid": valid,
    }


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def render(results: list[dict]) -> str:
    rows = [
        "| set | questions | in answer | first sentence (context holds it) | median words | gold share "
        "| citations valid |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        rows.append(
            f"| {r['dataset']} | {r['questions']} | {_share(r['in_answer'])} ({r['with_answer']}) "
            f"| {_share(r['first_sentence'])} ({r['context_holds']}) | {r['median_words']:.0f} "
            f"| {_share(r['gold_share'])} | {r['citations_valid']}/{r['questions']} |"
        )
    return "\n".join(rows)


async def amain(args: argparse.Namespace) -> list[dict]:
    results = []
    for name in args.datasets:
        cases = CASES[name]()
        if args.limit:
            cases = cases[: args.limit]
        if name == "team_docs":
            with tempfile.TemporaryDirectory(prefix="kgbench-team-") as tmp:
                db = await team_store(Path(tmp))
                results.append(await evaluate(name, db, cases, args.show))
        else:
            work = await ensure_corpus(name, rebuild=False)
            results.append(await evaluate(name, work / "kg.db", cases, args.show))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--limit", type=int, default=0, help="first N questions of each set only")
    parser.add_argument("--show", action="store_true", help="print every question and its answer")
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = render(asyncio.run(amain(args)))
    print()
    print(table)
    if not args.no_record:
        command = "python bench/answer_quality.py " + " ".join(argv if argv is not None else sys.argv[1:])
        body = table + "\n\nCells: share (questions it is over)."
        record(HEADING, INTRO, ", ".join(args.datasets), body, command.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
