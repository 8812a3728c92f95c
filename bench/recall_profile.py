"""Where kgbot's evidence recall goes: each gold item kgbot's context missed, classified by why.

    .venv/bin/python bench/evidence_recall.py --datasets hotpotqa --profile --no-record

Run after bench/evidence_recall.py (it reads that run's latest.json). For each budget and each gold item
kgbot (with the hashed embedding) missed, it rebuilds the candidate list as `build_context` does (kgbot's own
functions: `local.find_passages`: entity linking and mapping, full-text chunk hits, graph ranking) and says where the gold chunk was:
- "not a candidate": neither a chunk of a seed entity nor among the first 60 full-text hits;
- "ranked past the candidate cap": a candidate, ranked beyond MAX_SOURCE_CANDIDATES;
- "ranked below what fit": a candidate, but the Sources share of the budget filled before it;
and, for comparison, whether plain BM25 had it in its context at that budget. It also reports how the
context's tokens were spent by table.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from pathlib import Path

from bench.corpora import NAMESPACE
from bench.hashed_embedding import embed_text
from kg.search import local
from kg.store.sqlite.store import SqliteStore


def _table_tokens(text: str) -> dict[str, int]:
    from kg.text.tokens import count_tokens

    out: dict[str, int] = {}
    for match in re.finditer(r"-----(\w+)-----\n(.*?)(?=\n\n-----|\Z)", text, re.S):
        out[match.group(1)] = count_tokens(match.group(0))
    return out


async def profile(dataset: str, work: Path) -> str:
    raw = json.loads((work / "latest.json").read_text())
    questions = {q["id"]: q for q in raw["questions"]}
    store = SqliteStore(work / "kg.db")
    index = await store.export(NAMESPACE)
    assert index is not None
    by_short = {u.short_id: u for u in index.text_units}

    async def embed(text: str) -> list[float]:
        return embed_text(text)

    def gold_units(q: dict, item: object) -> set[int]:
        if dataset == "hotpotqa":
            return {u.short_id for u in index.text_units if item in " ".join(u.text.split())}
        return {u.short_id for u in index.text_units if all(u.start <= s and e <= u.end for s, e in item)}

    lines = [f"## where kgbot's misses go: {dataset}", ""]
    try:
        for budget, records in raw["records"]["kgbot"].items():
            reasons: Counter[str] = Counter()
            bm25_had = 0
            spent: dict[str, list[int]] = {}
            examples: list[str] = []
            for qid, rec in records.items():
                q = questions[int(qid)]
                context = await local.build_context(
                    store, q["text"], namespace=NAMESPACE, budget=int(budget), top_k=10, embed=embed
                )
                for table, tokens in _table_tokens(context.text).items():
                    spent.setdefault(table, []).append(tokens)
                missed = [item for item, ok in zip(q["gold"], rec["found"], strict=True) if not ok]
                if not missed:
                    continue
                found = await local.find_passages(store, NAMESPACE, q["text"], 10, embed)
                hit_ids = [u.id for u, _ in found.text_hits]
                graph_units = {u for s in found.seeds for u in s.entity.text_unit_ids}
                ranked = [p.id for p in found.ranked]
                bm25 = set(raw["records"]["BM25 chunks"][budget][qid]["sources"])
                for item in missed:
                    gold = gold_units(q, item)
                    gold_ids = {by_short[s].id for s in gold}
                    bm25_had += bool(gold & bm25)
                    if not gold_ids & (graph_units | set(hit_ids)):
                        reason = "not a candidate"
                    elif not gold_ids & set(ranked):
                        reason = "ranked past the candidate cap"
                    else:
                        position = min(ranked.index(g) for g in gold_ids if g in ranked) + 1
                        reason = "ranked below what fit"
                        if len(examples) < 3:
                            examples.append(
                                f"q{qid} {q['text'][:70]!r}: gold chunk ranked {position} of {len(ranked)}, "
                                f"{len(context.sources)} sources fit"
                            )
                    reasons[reason] += 1
            total = sum(reasons.values())
            parts = ", ".join(f"{k} {v}" for k, v in reasons.most_common())
            mean = {t: statistics.fmean(v) for t, v in spent.items()}
            lines.append(
                f"- budget {budget}: {total} gold items missed ({parts}); BM25 had {bm25_had} of them. Mean "
                "tokens by table: " + ", ".join(f"{t} {v:,.0f}" for t, v in mean.items())
            )
            lines.extend(f"    - {e}" for e in examples)
    finally:
        await store.close()
    return "\n".join(lines)
