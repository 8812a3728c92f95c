"""Prometheus metrics of the running bot, in one registry that `/metrics` exposes.

A registry of our own (not the process-global default) keeps tests independent and the exposition limited
to what we define here.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry()

QUESTIONS = Counter("kgbot_questions_answered", "Questions answered", ["platform", "mode"], registry=REGISTRY)
LATENCY = Histogram(
    "kgbot_answer_seconds",
    "Time to answer a question, by stage",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
MODEL_CALLS = Counter("kgbot_model_calls", "Chat model calls made while answering", registry=REGISTRY)
MODEL_TOKENS = Counter("kgbot_model_tokens", "Model tokens used while answering", ["kind"], registry=REGISTRY)
CACHE_HITS = Counter(
    "kgbot_index_cache_hits", "Chunks whose extraction came from the cache", registry=REGISTRY
)
ERRORS = Counter("kgbot_errors", "Errors by kind", ["kind"], registry=REGISTRY)
FEEDBACK_VOTES = Counter(
    "kgbot_feedback_votes",
    "Votes on answers (each person's vote on an answer counted once; a changed vote counts again)",
    ["vote", "mode"],
    registry=REGISTRY,
)
# "memory": Redis or this process had seen it; "store": only the store's ledger had (a retry after a Redis
# restart or outage, or one that reached another process): how often the ledger saved a double answer.
DUPLICATES = Counter(
    "kgbot_duplicate_deliveries",
    "Redeliveries of an event already answered, turned away, by what recognised them",
    ["platform", "by"],
    registry=REGISTRY,
)
REINDEX_RUNS = Counter("kgbot_reindex_runs", "Reindex runs by outcome", ["outcome"], registry=REGISTRY)


def exposition() -> tuple[bytes, str]:
    """The metrics page body and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
