"""Evidence recall vs context tokens: kgbot's local search, GraphRAG's local context builder on the same index,
and plain BM25 chunk retrieval, at budgets of 400, 800, 1k, 2k, 4k, 8k and 12k tokens.

    .venv/bin/python bench/evidence_recall.py                      # all four datasets below
    .venv/bin/python bench/evidence_recall.py --no-graphrag        # kgbot and BM25 only (no GraphRAG venv)
    .venv/bin/python bench/evidence_recall.py --local-embeddings   # and kgbot with kgbot[local-embeddings]
    .venv/bin/python bench/evidence_recall.py --datasets hotpotqa --limit 30 --no-record
    .venv/bin/python bench/evidence_recall.py --datasets hotpotqa --profile   # where kgbot's misses go

Data (../shared/eval, see its SOURCES.md):
- hotpotqa: 100 multi-hop questions; corpus.json's 994 paragraphs indexed as one document per title (title
  line, then the paragraph). Gold evidence: the supporting sentences ([title, sentence index]) of each question.
  A gold sentence is found when its text (whitespace collapsed) occurs in the text of a Source of the context.
- attention: "Attention Is All You Need" (chunks of 300 tokens, overlap 30) and qa_spans.json's 10 questions.
  Each reference answer quotes the paper, loosely ("..." elisions, ASCII for Greek): each quoted fragment is
  located in the paper (best word-overlap window; the longest fragment first, the others within 1,000
  characters of it) and the answer is found when every fragment lies inside one Source's character range.
- attention_multihop: attention_paper_multi_hop_qaset.jsonl's 15 multi-hop questions over the 40 short passages
  of attention_paper_passages.jsonl (paraphrases of the paper, one document each); gold: the 2-5 passages each
  question lists, found when the passage's text is in a Source.
- medical: GraphRAG-Bench medical (one ~1 MB document, chunks of 600/60) and its 100 questions; gold: each
  question's LLM-normalised evidence sentences, found when 80% of a sentence's content words are in one Source
  (the sentences are not verbatim, so this is looser than the other sets).
Recall = found gold items / all gold items. "All evidence" = share of questions whose gold items were all found.

Every method sees the same kgbot index (nlp extractor, offline), its entities and chunks embedded with the
hashed bag-of-words vector (bench/hashed_embedding.py) for the methods that search by vector:
- kgbot: `build_context(budget=B, top_k=10, embed=hashed)` (full text + vector entity mapping and passage
  vectors);
- kgbot, full text only: the same without `embed` (the offline default: no embedding model);
- kgbot, local embeddings (`--local-embeddings`): the same index with all-MiniLM-L6-v2 entity and chunk vectors
  (kgbot[local-embeddings], run in bench/.venv-embeddings by bench/local_embedding_side.py) and question
  vectors from the same model;
- GraphRAG 3.3: `LocalSearchMixedContext.build_context(max_context_tokens=B)` with its local search defaults,
  over the tables `kgbot export-graphrag` wrote (bench/graphrag_side.py in bench/.venv-graphrag);
- BM25: the text units ranked by Okapi BM25 (k1 1.2, b 0.75, stopwords dropped) added to a Sources table
  while they fit the whole budget B (the comparison at equal total tokens); and the same with half the
  budget (B/2), GraphRAG's Sources share.
Tokens: every context counted with tiktoken o200k (GraphRAG's default tokenizer) and with kgbot's counter.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import EVAL, RESULTS, machine, record  # noqa: E402
from bench.corpora import NAMESPACE, build_corpus  # noqa: E402
from bench.embeddings_env import embed_texts  # noqa: E402
from bench.graphrag_env import ensure_graphrag, graphrag_environ  # noqa: E402
from bench.hashed_embedding import embed_text  # noqa: E402
from kg.model import TextUnit  # noqa: E402
from kg.store.sqlite.store import SqliteStore  # noqa: E402
from kg.text.tokens import count_tokens  # noqa: E402
from kg.text.words import query_words, words_of  # noqa: E402

BUDGETS = [400, 800, 1000, 2000, 4000, 8000, 12000]
WORK = RESULTS / "evidence-recall"
METHODS = [
    "kgbot",
    "kgbot, full text only",
    "kgbot, local embeddings",
    "GraphRAG",
    "BM25 chunks",
    "BM25 chunks, half the budget",
]
LOCAL = "kgbot, local embeddings"
HEADING = "Evidence recall vs context tokens (`bench/evidence_recall.py`)"
INTRO = """
How much of the gold evidence a context's **Sources** hold, at budgets of 400, 800, 1k, 2k, 4k, 8k and 12k tokens, for kgbot's
local search, GraphRAG 3.3's local context builder on the same index, and plain BM25 chunk retrieval. One kgbot
index per dataset (offline nlp extractor; entities and chunks embedded with the hashed bag-of-words vector of
bench/hashed_embedding.py), exported with `kgbot export-graphrag` for GraphRAG.

- **HotpotQA** (../shared/eval/hotpotqa, 100 multi-hop questions): corpus.json's paragraphs indexed as one document
  per title (title line, then the paragraph; chunks of 1200/100 tokens, so one chunk per paragraph). Gold evidence:
  each question's supporting sentences ([title, sentence index]). **Recall** = gold sentences whose text
  (whitespace collapsed) occurs inside the text of a Source of the context / all gold sentences (229).
- **Attention paper** (../shared/eval/attention, qa_spans.json, 10 questions): the paper in chunks of 300/30 tokens
  (at 1200 tokens a 2k budget's Sources share could not hold one chunk). Each reference answer quotes the paper
  loosely ("..." elisions, ASCII for Greek); each quoted fragment is located in the paper (best word-overlap window,
  checked by eye) and an answer is found when every fragment lies inside one Source's character range.
  **Recall** = answers found / 10.
- **Attention multi-hop** (attention_paper_multi_hop_qaset.jsonl, 15 questions over the 40 short passages of
  attention_paper_passages.jsonl, one document each): gold = the 2-5 passages each question lists; found when the
  passage's text is inside a Source.
- **GraphRAG-Bench medical** (../shared/eval/graphrag_bench_medical: one ~1 MB document in chunks of 600/60, 100
  questions): gold = each question's LLM-normalised evidence sentences; as they are not verbatim, one counts as
  found when 80% of its content words occur in one Source (looser than the other sets).
- "all" = share of questions with every gold item found.

Methods: **kgbot** = `build_context(budget=B, top_k=10, embed=hashed)`; **kgbot, full text only** = the same with
no embedding (the offline default); **kgbot, local embeddings** (`--local-embeddings`) = the same index with
all-MiniLM-L6-v2 entity, chunk and question vectors (`kgbot[local-embeddings]`, computed in bench/.venv-embeddings);
**GraphRAG** = `LocalSearchMixedContext.build_context(max_context_tokens=B)` with its local search engine's
parameters (Sources 50% of the budget, reports 15%), in bench/.venv-graphrag; **BM25 chunks** = every chunk ranked
by Okapi BM25 (k1 1.2, b 0.75, stopwords dropped), added to a Sources table while it fits the *whole* budget B: the
comparison at equal total tokens; **BM25 chunks, half the budget** = B/2 of chunks (GraphRAG's Sources share).
Token figures: mean context size in tiktoken o200k tokens (GraphRAG's tokenizer), whatever counter each method
filled its budget with. Targets (issue 14): kgbot at or above BM25 at every budget on HotpotQA and the attention
paper, and at least 2 points above it at 1k and 2k on HotpotQA.

    .venv/bin/python bench/evidence_recall.py --local-embeddings
    .venv/bin/python bench/evidence_recall.py --datasets hotpotqa --profile --no-record   # where misses go
""".strip()


def _norm(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------- gold evidence


@dataclass
class Question:
    id: int
    text: str
    gold: list  # hotpotqa: normalised sentences; attention: [[(start, end), ...]] fragments per answer
    meta: dict = field(default_factory=dict)


def hotpot_questions() -> list[Question]:
    corpus = json.loads((EVAL / "hotpotqa" / "corpus.json").read_text())
    out = []
    for i, q in enumerate(json.loads((EVAL / "hotpotqa" / "questions.json").read_text())):
        gold = []
        for title, idx in q["supporting_facts"]:
            sentences = corpus.get(title) or []
            if 0 <= idx < len(sentences) and _norm(sentences[idx]):
                gold.append(_norm(sentences[idx]))
        titles = list(dict.fromkeys(t for t, _ in q["supporting_facts"]))
        out.append(Question(i, q["question"], gold, {"titles": titles, "level": q.get("level", "")}))
    return out


_TOKEN = re.compile(r"[^\W_]+")


def locate(fragment: str, text: str, near: int | None = None) -> tuple[int, int, float]:
    """(start, end, share of the fragment's words matched) of the window of `text` best matching `fragment`."""
    words = [(m.group().lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    wanted = Counter(w.lower() for w in _TOKEN.findall(fragment))
    n = sum(wanted.values())
    best = (0, 0, -1.0)
    for i in range(max(1, len(words) - n + 1)):
        if near is not None and abs(words[i][1] - near) > 1000:
            continue
        window = Counter(w for w, _, _ in words[i : i + n])
        score = sum((window & wanted).values()) / n
        if score > best[2]:
            best = (words[i][1], words[min(i + n, len(words)) - 1][2], score)
    return best


def attention_questions() -> list[Question]:
    paper = (EVAL / "attention" / "attention_is_all_you_need.txt").read_text(encoding="utf-8")
    out = []
    for i, q in enumerate(json.loads((EVAL / "attention" / "qa_spans.json").read_text())):
        fragments = [f.strip(" .") for f in q["answer"].split("...") if len(_TOKEN.findall(f)) >= 3]
        fragments.sort(key=lambda f: -len(f))
        first = locate(fragments[0], paper)
        spans = [first] + [locate(f, paper, near=first[0]) for f in fragments[1:]]
        gold = [[(s, e) for s, e, _ in spans]]
        located = " … ".join(_norm(paper[s:e]) for s, e, _ in spans)
        out.append(
            Question(i, q["question"], gold, {"located": located, "match": min(m for _, _, m in spans)})
        )
    return out


def multihop_questions() -> list[Question]:
    """The attention multi-hop set: 15 questions, each with the ids of the 2-5 passages it needs."""
    folder = EVAL / "attention"
    passages = {}
    for line in (folder / "attention_paper_passages.jsonl").read_text().splitlines():
        if line.strip():
            p = json.loads(line)
            passages[p["id"]] = _norm(p["text"])
    out = []
    lines = (folder / "attention_paper_multi_hop_qaset.jsonl").read_text().splitlines()
    for i, line in enumerate(x for x in lines if x.strip()):
        q = json.loads(line)
        out.append(Question(i, q["question"], [passages[c] for c in q["contexts"]], {"qid": q["qid"]}))
    return out


def medical_questions() -> list[Question]:
    """GraphRAG-Bench medical: 100 questions (four types, 25 each), each with LLM-normalised evidence
    sentences ("; "-separated). A sentence is not verbatim in the corpus: it counts as found when 80% of its
    content words (as kgbot's full text splits them, stopwords dropped) occur in one Source."""
    out = []
    for i, q in enumerate(json.loads((EVAL / "graphrag_bench_medical" / "questions_100.json").read_text())):
        gold = [frozenset(query_words(e)) for e in q["evidence"].split("; ") if query_words(e)]
        out.append(Question(i, q["question"], gold, {"type": q["question_type"]}))
    return out


QUESTIONS = {
    "hotpotqa": hotpot_questions,
    "attention": attention_questions,
    "attention_multihop": multihop_questions,
    "medical": medical_questions,
}
LABELS = {
    "hotpotqa": "HotpotQA (multi-hop)",
    "attention": "Attention paper",
    "attention_multihop": "Attention multi-hop (passages)",
    "medical": "GraphRAG-Bench medical",
}


def found(dataset: str, item: object, sources: list[TextUnit]) -> bool:
    if dataset in ("hotpotqa", "attention_multihop"):
        return any(item in _norm(u.text) for u in sources)
    if dataset == "medical":
        words = item  # type: ignore[assignment]
        return any(len(words & set(words_of(u.text))) >= 0.8 * len(words) for u in sources)  # type: ignore[arg-type]
    return all(any(u.start <= s and e <= u.end for u in sources) for s, e in item)  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------------ BM25


class BM25:
    def __init__(self, units: list[TextUnit], k1: float = 1.2, b: float = 0.75) -> None:
        self.units = units
        self.k1, self.b = k1, b
        self.tf = [Counter(words_of(u.text)) for u in units]
        self.lengths = [sum(tf.values()) for tf in self.tf]
        self.avg = statistics.fmean(self.lengths) if units else 0.0
        df: Counter[str] = Counter()
        for tf in self.tf:
            df.update(tf.keys())
        n = len(units)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def rank(self, question: str) -> list[TextUnit]:
        terms = [t for t in query_words(question) if t in self.idf]
        scored = []
        for i, tf in enumerate(self.tf):
            score = 0.0
            norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
            for t in terms:
                f = tf.get(t)
                if f:
                    score += self.idf[t] * f * (self.k1 + 1) / (f + norm)
            if score > 0:
                scored.append((score, i))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [self.units[i] for _, i in scored]

    def context(self, question: str, budget: int) -> tuple[list[TextUnit], str]:
        lines = ["-----Sources-----", "id|text"]
        used = count_tokens("\n".join(lines))
        chosen = []
        for u in self.rank(question):
            row = f"{u.short_id}|{' '.join(u.text.replace('|', '/').split())}"
            cost = count_tokens(row)
            if used + cost <= budget:
                lines.append(row)
                used += cost
                chosen.append(u)
        return chosen, "\n".join(lines) if chosen else ""


# ------------------------------------------------------------------------------------------------ running


def _fingerprint(name: str) -> str:
    """Changes with the indexing code and the corpus: then the cached index is rebuilt."""
    digest = hashlib.sha256(name.encode())
    for path in sorted((ROOT / "kg").rglob("*.py")):
        if "search" not in path.parts:
            digest.update(path.read_bytes())
    for rel in ("bench/corpora.py", "bench/hashed_embedding.py"):
        digest.update((ROOT / rel).read_bytes())
    return digest.hexdigest()[:10]


async def ensure_corpus(name: str, rebuild: bool) -> Path:
    work = WORK / f"{name}-{_fingerprint(name)}"
    if (work / "graphrag" / "entities.parquet").exists() and not rebuild:
        return work
    if work.exists():
        import shutil

        shutil.rmtree(work)
    work.mkdir(parents=True)
    print(f"indexing {name} with kgbot (nlp extractor) -> {work.relative_to(ROOT)}", flush=True)
    built = await build_corpus(name, work)
    print(
        f"  {len(built.index.documents)} documents, {len(built.index.text_units)} chunks, "
        f"{len(built.index.entities)} entities, {len(built.index.relationships)} relationships, "
        f"{len(built.index.reports)} reports in {built.seconds:.0f} s",
        flush=True,
    )
    return work


def run_graphrag(python: Path, job: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="kgbench-gr-") as tmp:
        job_path, out = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_path.write_text(json.dumps(job))
        proc = subprocess.run(
            [str(python), str(ROOT / "bench" / "graphrag_side.py"), str(job_path), str(out)],
            env=graphrag_environ(),
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"GraphRAG's side failed:\n{proc.stderr[-4000:]}")
        return json.loads(out.read_text())


async def local_store(work: Path, questions: list[Question]) -> tuple[Path, dict[str, list[float]]]:
    """A copy of the corpus's store whose entities and chunks carry all-MiniLM-L6-v2 vectors
    (kgbot[local-embeddings], in bench/.venv-embeddings), and the questions' vectors; cached beside the store."""
    from kg.index.embed import entity_text

    path, vectors_path = work / "kg-local.db", work / "local-question-vectors.json"
    cached = json.loads(vectors_path.read_text()) if vectors_path.exists() else {}
    if not path.exists():
        source = SqliteStore(work / "kg.db")
        try:
            index = await source.export(NAMESPACE)
        finally:
            await source.close()
        assert index is not None
        print(
            f"  embedding {len(index.entities)} entities and {len(index.text_units)} chunks with the local model",
            flush=True,
        )
        started = time.perf_counter()
        for entity, vector in zip(
            index.entities, embed_texts([entity_text(e) for e in index.entities], work), strict=True
        ):
            entity.embedding = vector
        for unit, vector in zip(
            index.text_units, embed_texts([u.text for u in index.text_units], work), strict=True
        ):
            unit.embedding = vector
        print(f"  ... in {time.perf_counter() - started:.0f} s", flush=True)
        target = SqliteStore(path)
        try:
            await target.publish(NAMESPACE, index)
        finally:
            await target.close()
    todo = [q.text for q in questions if q.text not in cached]
    if todo:
        cached.update(zip(todo, embed_texts(todo, work), strict=True))
        vectors_path.write_text(json.dumps(cached))
    return path, cached


async def evaluate(
    name: str, questions: list[Question], args: argparse.Namespace, python: Path | None
) -> dict:
    from kg.search.local import build_context

    work = await ensure_corpus(name, args.rebuild)
    store = SqliteStore(work / "kg.db")
    index = await store.export(NAMESPACE)
    assert index is not None
    units_by_short = {u.short_id: u for u in index.text_units}
    bm25 = BM25(index.text_units)
    local: SqliteStore | None = None
    if args.local_embeddings:
        local_path, question_vectors = await local_store(work, questions)
        local = SqliteStore(local_path)

        async def embed_local(text: str) -> list[float]:
            return question_vectors[text]

    async def embed(text: str) -> list[float]:
        return embed_text(text)

    records: dict[str, dict[int, dict[int, dict]]] = {m: {b: {} for b in BUDGETS} for m in METHODS}
    texts: list[str] = []  # every context, to count with GraphRAG's tokenizer
    shown: dict[tuple[str, int, int], list[TextUnit]] = {}  # kgbot's Sources as its context holds them
    started = time.perf_counter()
    try:
        for q in questions:
            for budget in BUDGETS:
                runs = [("kgbot", store, embed), ("kgbot, full text only", store, None)]
                if local is not None:
                    runs.append((LOCAL, local, embed_local))
                for method, source, embedder in runs:
                    context = await build_context(
                        source, q.text, namespace=NAMESPACE, budget=budget, top_k=10, embed=embedder
                    )
                    records[method][budget][q.id] = {
                        "sources": [u.short_id for u in context.sources],
                        "tokens": count_tokens(context.text),
                        "text_index": len(texts),
                    }
                    shown[(method, budget, q.id)] = context.sources  # an excerpt holds part of its passage
                    texts.append(context.text)
                for method, share in (("BM25 chunks", budget), ("BM25 chunks, half the budget", budget // 2)):
                    chosen, text = bm25.context(q.text, share)
                    records[method][budget][q.id] = {
                        "sources": [u.short_id for u in chosen],
                        "tokens": count_tokens(text),
                        "text_index": len(texts),
                    }
                    texts.append(text)
    finally:
        await store.close()
        if local is not None:
            await local.close()
    ours_s = time.perf_counter() - started

    if python is None:  # --no-graphrag: contexts are measured with kgbot's counter only
        o200k = [count_tokens(t) for t in texts]
    else:
        print(f"{name}: GraphRAG on {len(questions)} questions x {len(BUDGETS)} budgets", flush=True)
        job = {
            "tables": str(work / "graphrag"),
            "questions": [{"id": q.id, "text": q.text, "history": []} for q in questions],
            "budgets": BUDGETS,
            "warmup": 0,
            "return_text": True,
        }
        theirs = run_graphrag(python, job)
        for row in theirs["rows"]:
            records["GraphRAG"][row["budget"]][row["id"]] = {
                "sources": row["sources"],
                "tokens": count_tokens(row["text"]),
                "text_index": len(texts),
            }
            texts.append(row["text"])
        o200k = run_graphrag(python, {"count": texts})["tokens"]

    by_id = {q.id: q for q in questions}
    summary: dict[str, dict[int, dict]] = {}
    methods = [m for m in METHODS if records[m][BUDGETS[0]]]
    for method in methods:
        summary[method] = {}
        for budget in BUDGETS:
            hits = total = complete = 0
            tokens, tokens_o200k, use = [], [], []
            for qid, rec in records[method][budget].items():
                q = by_id[qid]
                sources = shown.get((method, budget, qid)) or [
                    units_by_short[s] for s in rec["sources"] if s in units_by_short
                ]
                got = [found(name, item, sources) for item in q.gold]
                rec["found"] = got
                hits += sum(got)
                total += len(got)
                complete += all(got)
                tokens.append(rec["tokens"])
                tokens_o200k.append(o200k[rec["text_index"]])
                if not all(got):  # evidence was left to add: the context should have used its budget
                    use.append(rec["tokens"] / budget)
            summary[method][budget] = {
                "recall": hits / total if total else float("nan"),
                "all": complete / len(records[method][budget]),
                "tokens": statistics.fmean(tokens),
                "tokens_o200k": statistics.fmean(tokens_o200k),
                "use": statistics.median(use) if use else float("nan"),
            }
    raw = {
        "summary": {m: {str(b): v for b, v in s.items()} for m, s in summary.items()},
        "records": {m: {str(b): v for b, v in r.items()} for m, r in records.items()},
        "questions": [q.__dict__ for q in questions],
        "ours_seconds": ours_s,
    }
    (work / "latest.json").write_text(json.dumps(raw, default=str))
    return {"dataset": name, "questions": len(questions), "summary": summary, "work": work}


def _label(budget: int) -> str:
    return f"{budget // 1000}k" if budget % 1000 == 0 else str(budget)


def render(results: list[dict]) -> str:
    head = " | ".join(f"{_label(b)} budget" for b in BUDGETS)
    lines = [
        f"| dataset | method | {head} |",
        "|---|---|" + "---:|" * len(BUDGETS),
    ]
    for r in results:
        label = LABELS[r["dataset"]]
        for method in [m for m in METHODS if m in r["summary"]]:
            cells = []
            for b in BUDGETS:
                s = r["summary"][method][b]
                cells.append(f"**{s['recall']:.1%}** ({s['all']:.0%} all; {s['tokens_o200k']:,.0f} tok)")
            lines.append(f"| {label} ({r['questions']} q) | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _points(summary: dict, a: str, b: str, budget: int) -> str:
    return f"{100 * (summary[a][budget]['recall'] - summary[b][budget]['recall']):+.1f}"


def _use(share: float) -> str:
    """A median share of the budget, or "no misses" when every question had all its evidence (no median)."""
    return "no misses" if math.isnan(share) else f"{share:.0%}"


def render_contribution(results: list[dict]) -> str:
    """Per budget, in recall points: what the graph adds (kgbot minus its full-text-only variant), kgbot's
    margin over BM25 at the same tokens, and the median share of the budget kgbot's context uses on the
    questions with evidence still missing (kgbot's counter)."""
    head = " | ".join(_label(b) for b in BUDGETS)
    lines = [f"| dataset | measure | {head} |", "|---|---|" + "---:|" * len(BUDGETS)]
    for r in results:
        s, label = r["summary"], LABELS[r["dataset"]]
        rows = {
            "graph (kgbot - full text only)": [
                _points(s, "kgbot", "kgbot, full text only", b) for b in BUDGETS
            ],
            "kgbot - BM25": [_points(s, "kgbot", "BM25 chunks", b) for b in BUDGETS],
            "full text only - BM25": [_points(s, "kgbot, full text only", "BM25 chunks", b) for b in BUDGETS],
            "kgbot context use (median, misses)": [_use(s["kgbot"][b]["use"]) for b in BUDGETS],
        }
        lines += [f"| {label} | {k} | " + " | ".join(v) + " |" for k, v in rows.items()]
    return "\n".join(lines)


def headline(results: list[dict]) -> list[str]:
    notes = []
    for r in results:
        s = r["summary"]
        ours4 = s["kgbot"][4000]
        note = f"{r['dataset']}: kgbot at 4k {ours4['recall']:.1%} ({ours4['tokens_o200k']:,.0f} tokens)"
        if "GraphRAG" in s:
            gr12 = s["GraphRAG"][12000]
            note += f" vs GraphRAG at 12k {gr12['recall']:.1%} ({gr12['tokens_o200k']:,.0f} tokens)"
        for method in [m for m in ("kgbot", "kgbot, full text only", LOCAL) if m in s]:
            above = [_label(b) for b in BUDGETS if s[method][b]["recall"] >= s["BM25 chunks"][b]["recall"]]
            note += f"; {method} at or above BM25 at {', '.join(above) or 'no budget'}"
        notes.append(note + ".")
    return notes


async def amain(args: argparse.Namespace) -> list[dict]:
    python = None if args.no_graphrag else ensure_graphrag()
    results = []
    for name in args.datasets:
        questions = QUESTIONS[name]()
        if name == "attention":
            for q in questions:
                print(f"  located ({q.meta['match']:.0%}): {q.meta['located'][:110]}", flush=True)
        if args.limit:
            questions = questions[: args.limit]
        results.append(await evaluate(name, questions, args, python))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=list(QUESTIONS), default=list(QUESTIONS))
    parser.add_argument("--limit", type=int, default=0, help="first N questions only")
    parser.add_argument("--rebuild", action="store_true", help="re-index the corpora")
    parser.add_argument("--profile", action="store_true", help="classify kgbot's misses (after the run)")
    parser.add_argument("--no-record", action="store_true", help="do not append to BENCHMARKS.md")
    parser.add_argument(
        "--no-graphrag", action="store_true", help="kgbot and BM25 only (tokens by kgbot's counter)"
    )
    parser.add_argument(
        "--local-embeddings",
        action="store_true",
        help="also run kgbot with kgbot[local-embeddings] vectors (installs it into bench/.venv-embeddings)",
    )
    args = parser.parse_args(argv)
    print(f"machine: {machine()}", flush=True)
    results = asyncio.run(amain(args))
    table = render(results) + "\n\n" + render_contribution(results)
    print()
    print(table)
    notes = headline(results)
    print("\n".join(notes))
    if args.profile:
        from bench.recall_profile import profile

        for r in results:
            print(asyncio.run(profile(r["dataset"], r["work"])))
    if not args.no_record:
        command = "python bench/evidence_recall.py " + " ".join(argv if argv is not None else sys.argv[1:])
        body = (
            table + "\n\nCells: **recall** (share of questions with all their evidence; mean context tokens, "
            "o200k). " + " ".join(notes)
        )
        record(HEADING, INTRO, ", ".join(args.datasets), body, command.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
