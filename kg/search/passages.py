"""Graph-driven passage ranking: full-text relevance fused with spreading activation over the passage-entity
graph, after HippoRAG 2 ("From RAG to Memory", 2025), computed set-at-a-time from what the store returns.

The graph is bipartite: a passage (text unit) links to the entities it mentions, an entity to the passages
mentioning it (`Entity.text_unit_ids`). Activation starts at seed entities
- named in the question (kg.text.names), with full weight;
- matched by the entity search (title and description full text, vectors), with less;
- mentioned in the top full-text passages, in proportion to the passage's relevance: the second passage of a
  multi-hop question is reached through the entity the first one names,
and spreads one hop to passages, each entity splitting its weight evenly over the passages that mention it
(one step of Personalized PageRank: a specific entity points strongly at its few passages, a common one
weakly at many). A passage's score is its normalised full-text score plus its activation, so a passage found
both ways ranks first and a passage only the graph reaches can still beat a weak keyword match.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kg.model import Entity, TextUnit

LINKED_WEIGHT = 1.0  # an entity the question names
MAPPED_WEIGHT = 0.3  # an entity the entity search found (it may only share a word with the question)
PASSAGE_WEIGHT = 0.5  # share of a seed passage's relevance passed on to each entity it mentions
SEED_PASSAGES = 5  # the top full-text passages whose entities seed the graph
GRAPH_WEIGHT = 0.5  # activation's weight against full-text relevance (the best passage scores 1)
# A budget of at most TIGHT_BUDGET tokens holds a handful of passages: there activation only breaks near-ties
# of the full text (TIGHT_GRAPH_WEIGHT). bench/evidence_recall.py at 400 tokens: HotpotQA 76.0% -> 76.9%,
# Attention multi-hop 57.9% -> 59.6% (BM25 73.4%, 59.6%); from 800 tokens on the full weight does better
# (HotpotQA at 800: 88.6% against 86.5%).
TIGHT_BUDGET = 500
TIGHT_GRAPH_WEIGHT = 0.1
# Passage vectors (an embedding model configured): a chunk's cosine with the question, scaled so that the best
# of the MAX_VECTOR_PASSAGES vector hits scores 1 and the last 0, adds `vector_weight` times to its full-text
# relevance (`fused_relevance`); a passage only the vector finds competes with that alone. Measured with
# bench/evidence_recall.py (hashed bag-of-words vectors), against no passage vectors: 0.5 lifts HotpotQA at 8k
# from 98.3% to 100% and Attention multi-hop at 400 from 59.6% to 64.9%, where 0.25 kept 59.6%, 10 vector hits
# 63.2% and 5 56.1%. Above AMPLE_BUDGET the context already holds most of what the full text and the graph rank
# well, and a vector-only passage mostly displaces its tail: the medical set at 12k kept 32.9% of the evidence
# with 0.5, 33.1% with AMPLE_VECTOR_WEIGHT (as without vectors, and BM25). The lead of a small budget stays the
# full text's own (`rank_passages`' `full_text`): led by the fused scores, HotpotQA at 400 kept 70.3% (BM25 73.4%).
VECTOR_WEIGHT = 0.5
AMPLE_BUDGET = 8000
AMPLE_VECTOR_WEIGHT = 0.1
MAX_VECTOR_PASSAGES = 20  # chunks read by vector per question
HOP_DECAY = 0.25  # a two-hop passage's activation against a one-hop one's (kg.store.hops)
MAX_ENTITY_PASSAGES = 200  # an entity in more passages spreads too thinly to matter: it is skipped
# When the budget holds only a few passages (at most FEW_PASSAGES of the size of the full text's top hits), the
# full text's best passages lead: those scoring at least LEAD_SHARE of the best (as good a match as it, by the
# full text's own measure), at most LEAD_PASSAGES; activation orders what follows them. Activation sums over
# every entity the question names, so a passage naming its common words ("American", "film") can outscore the
# one the question is about; at a small budget that passage would take the only room there is (HotpotQA at
# 400 tokens: 69.0% of the evidence without the lead, 76.4% with it, BM25 73.4%; bench/evidence_recall.py).
LEAD_SHARE = 0.7
LEAD_PASSAGES = 3
FEW_PASSAGES = 2 * LEAD_PASSAGES


@dataclass
class RankedPassage:
    id: str
    score: float
    text: float  # normalised full-text relevance (0 when full text did not find it)
    graph: float  # activation reaching it through entities


@dataclass
class Seed:
    entity: Entity
    weight: float


def seeds_of(
    linked: Iterable[Entity],
    mapped: Sequence[Entity],
    passage_entities: Iterable[Entity],
    text_scores: dict[str, float],
    seed_passages: Sequence[str],
) -> list[Seed]:
    """The seed entities with their weights: one seed per entity for the question's and the entity
    search's, and one per (entity, top passage mentioning it) for the passages'."""
    seeds = [Seed(e, LINKED_WEIGHT) for e in linked]
    seeds += [Seed(e, MAPPED_WEIGHT / (1 + rank)) for rank, e in enumerate(mapped)]
    top = set(seed_passages)
    for e in passage_entities:
        # The entity's top passages in its own order, found without walking all its passages in Python.
        for u in sorted(top.intersection(e.text_unit_ids), key=e.text_unit_ids.index):
            if text_scores.get(u, 0.0) > 0:
                seeds.append(Seed(e, PASSAGE_WEIGHT * text_scores[u]))
    return seeds


def entity_weights(seeds: Iterable[Seed]) -> dict[str, tuple[Entity, float]]:
    """entity id -> (entity, total seed weight): how much the question leans on each entity."""
    total: dict[str, tuple[Entity, float]] = {}
    for s in seeds:
        old = total.get(s.entity.id)
        total[s.entity.id] = (s.entity, s.weight + (old[1] if old else 0.0))
    return total


def spread(seeds: Iterable[Seed]) -> dict[str, float]:
    """passage id -> activation: each seed's weight split evenly over the passages mentioning its entity.
    A seed passage gets back part of what it gave (as in PageRank, mass returns along the edge it left by):
    a passage naming several of the question's entities is reinforced."""
    activation: dict[str, float] = {}
    for seed in seeds:
        units = list(dict.fromkeys(seed.entity.text_unit_ids))
        if not units or len(units) > MAX_ENTITY_PASSAGES:
            continue
        share = seed.weight / len(units)
        for u in units:
            activation[u] = activation.get(u, 0.0) + share
    return activation


def normalised_text_scores(hits: Sequence[tuple[TextUnit, float]]) -> dict[str, float]:
    """passage id -> full-text score / the best score (BM25 scores only compare within one query)."""
    if not hits:
        return {}
    best = max(score for _, score in hits)
    if best <= 0:
        return {u.id: 1.0 / (1 + rank) for rank, (u, _) in enumerate(hits)}
    return {u.id: max(score, 0.0) / best for u, score in hits}


def vector_weight(budget: int | None) -> float:
    """Passage vectors' weight against full-text relevance at `budget` tokens (None: no budget given)."""
    return AMPLE_VECTOR_WEIGHT if budget is not None and budget > AMPLE_BUDGET else VECTOR_WEIGHT


def fused_relevance(
    text_scores: dict[str, float],
    vector_hits: Sequence[tuple[TextUnit, float]],
    weight: float = VECTOR_WEIGHT,
) -> dict[str, float]:
    """passage id -> full-text relevance (`normalised_text_scores`) plus `weight` times vector relevance,
    renormalised to the best, best first (ties in full-text order, then vector order). Without vector hits,
    `text_scores` itself: a question without an embedding is ranked as before vectors existed."""
    if not vector_hits:
        return text_scores
    cosines = [score for _, score in vector_hits]
    best, last = max(cosines), min(cosines)
    span = best - last
    fused = dict(text_scores)
    for unit, cosine in vector_hits:
        relevance = (cosine - last) / span if span > 0 else 1.0
        fused[unit.id] = fused.get(unit.id, 0.0) + weight * relevance
    top = max(fused.values())
    order = {u: i for i, u in enumerate(fused)}
    ranked = sorted(fused, key=lambda u: (-fused[u], order[u]))
    return {u: fused[u] / top if top > 0 else 0.0 for u in ranked}


def few_passages_fit(hits: Sequence[tuple[TextUnit, float]], budget: int) -> bool:
    """Whether `budget` tokens hold at most FEW_PASSAGES passages of the median size of the top hits."""
    sizes = sorted(u.n_tokens for u, _ in hits[:SEED_PASSAGES])
    return bool(sizes) and budget <= FEW_PASSAGES * max(sizes[len(sizes) // 2], 1)


def leading_passages(text_scores: dict[str, float]) -> list[str]:
    """The full text's best passages (`text_scores` in full-text order, normalised to the best): the first
    ones scoring at least LEAD_SHARE of the best, LEAD_PASSAGES at most."""
    lead: list[str] = []
    for u, score in text_scores.items():
        if len(lead) >= LEAD_PASSAGES or score < LEAD_SHARE:
            break
        lead.append(u)
    return lead


def graph_weight(budget: int | None) -> float:
    """Activation's weight against full-text relevance at `budget` tokens (None: no budget given)."""
    return TIGHT_GRAPH_WEIGHT if budget is not None and budget <= TIGHT_BUDGET else GRAPH_WEIGHT


def rank_passages(
    text_scores: dict[str, float],
    activation: dict[str, float],
    limit: int,
    lead: bool = False,
    weight: float = GRAPH_WEIGHT,
    full_text: dict[str, float] | None = None,
) -> list[RankedPassage]:
    """The `limit` passages of highest full-text relevance plus activation, best first; ties keep the
    full-text order; with `lead`, the full text's best passages first (`leading_passages` of `full_text`, when
    `text_scores` is a fusion of it: `fused_relevance`); activation counts `weight` times. Only the `limit`
    most activated passages the full text did not find can make the cut, so the others (most of a large
    graph's activation) are never scored."""
    graph_only = heapq.nlargest(
        limit, (u for u in activation if u not in text_scores), key=activation.__getitem__
    )
    order = {u: i for i, u in enumerate(text_scores)}
    scores = {u: t + weight * activation.get(u, 0.0) for u, t in text_scores.items()}
    scores.update((u, weight * activation[u]) for u in graph_only)
    best = sorted(scores, key=lambda u: (-scores[u], order.get(u, len(order)), u))[:limit]
    if lead:
        first = leading_passages(text_scores if full_text is None else full_text)
        best = [*first, *(u for u in best if u not in first)][:limit]
    return [
        RankedPassage(u, scores[u], text_scores.get(u, 0.0), weight * activation.get(u, 0.0)) for u in best
    ]


def with_hops(
    ranked: Sequence[RankedPassage], hops: Sequence[tuple[str, float]], seeds: int
) -> list[RankedPassage]:
    """`ranked` with the two-hop passages (kg.store.hops: id, score) merged in by score: a hop's score is its
    store score per seed entity, decayed by HOP_DECAY and weighed as activation (GRAPH_WEIGHT). Ranked passages
    keep their order (the full text's lead among them)."""
    scale = GRAPH_WEIGHT * HOP_DECAY / max(seeds, 1)
    pending = [RankedPassage(u, scale * s, 0.0, scale * s) for u, s in hops]
    merged: list[RankedPassage] = []
    for p in ranked:
        while pending and pending[0].score > p.score:
            merged.append(pending.pop(0))
        merged.append(p)
    return merged + pending
