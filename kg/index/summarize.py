"""Descriptions of merged entities and relationships written by a chat model, several items per call.

An entity or relationship with one distinct description keeps it; one with several gets a model-written
summary, as in GraphRAG. Unlike GraphRAG, items are summarised in batches (KG_SUMMARY_BATCH per call, within a
token budget), and every summary is cached by the hash of its input (the item's name and its sorted distinct
descriptions), so a rebuild pays only for items whose descriptions changed. An item the model does not
answer for gets the extractive summary and is not cached.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from langchain_core.messages import HumanMessage

from kg import prompts
from kg.index.cache import Cache, input_hash
from kg.index.merge import MergedGraph, extractive_summary
from kg.llm.client import ModelClient
from kg.llm.structured import call_structured
from kg.text.tokens import count_tokens, truncate

MAX_ITEM_TOKENS = 2000  # descriptions of one item sent to the model (GraphRAG: 4,000 per call)
MAX_BATCH_TOKENS = 6000

Progress = Callable[[str, int, int], None]


@dataclass
class _Item:
    name: str
    descriptions: list[str]  # distinct, sorted: the same input whatever the order of the documents
    key: str
    assign: Callable[[str], None]


def distinct_descriptions(descriptions: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for d in descriptions:
        d = " ".join(d.split())
        fingerprint = re.sub(r"\W+", "", d.lower())
        if fingerprint and fingerprint not in seen:
            seen[fingerprint] = d
    return sorted(seen.values())


def _fit(descriptions: list[str], budget: int) -> list[str]:
    kept: list[str] = []
    used = 0
    for d in descriptions:
        n = count_tokens(d)
        if used + n > budget:
            if not kept:
                kept.append(truncate(d, budget))
            break
        kept.append(d)
        used += n
    return kept


def _render(batch: Sequence[_Item]) -> str:
    blocks = []
    for i, item in enumerate(batch, start=1):
        lines = "\n".join(f"- {d}" for d in item.descriptions)
        blocks.append(f"Item {i}: {item.name}\nDescriptions:\n{lines}")
    return "\n\n".join(blocks)


def _batches(items: Sequence[_Item], size: int) -> list[list[_Item]]:
    batches: list[list[_Item]] = []
    tokens = 0
    for item in items:
        n = sum(count_tokens(d) for d in item.descriptions) + count_tokens(item.name)
        if not batches or len(batches[-1]) >= size or tokens + n > MAX_BATCH_TOKENS:
            batches.append([])
            tokens = 0
        batches[-1].append(item)
        tokens += n
    return batches


async def summarize_descriptions(
    merged: MergedGraph,
    client: ModelClient,
    cache: Cache,
    batch_size: int = 8,
    progress: Progress | None = None,
) -> list[str]:
    """Write every description of `merged`; returns warnings (items that fell back to extractive)."""
    report = progress or (lambda stage, done, total: None)
    kind = f"summary:{client.chat_name}:{prompts.SUMMARY_VERSION}"
    items: list[_Item] = []

    def setter(record: object) -> Callable[[str], None]:
        def assign(text: str) -> None:
            record.description = text  # type: ignore[attr-defined]

        return assign

    named = [(e.title, e, d) for e, d in zip(merged.entities, merged.entity_descriptions, strict=True)] + [
        (f"{r.source} -> {r.target}", r, d)
        for r, d in zip(merged.relationships, merged.relationship_descriptions, strict=True)
    ]
    for name, record, descriptions in named:
        distinct = distinct_descriptions(descriptions)
        if len(distinct) <= 1:
            record.description = distinct[0] if distinct else ""  # type: ignore[attr-defined]
            continue
        distinct = _fit(distinct, MAX_ITEM_TOKENS)
        key = input_hash("\x1f".join([name, *distinct]))
        items.append(_Item(name, distinct, key, setter(record)))

    cached = await asyncio.to_thread(cache.get_many, kind, [i.key for i in items])
    missing = []
    for item in items:
        if item.key in cached:
            item.assign(str(cached[item.key]))
        else:
            missing.append(item)
    total, done = len(missing), 0
    report("summarize", 0, total)
    problems: list[str] = []
    system = prompts.SUMMARY_SYSTEM.format(max_words=prompts.SUMMARY_MAX_WORDS)

    async def run(batch: list[_Item]) -> None:
        nonlocal done
        answered: dict[int, str] = {}
        try:
            reply = await call_structured(
                client,
                "summarize",
                system,
                [HumanMessage(prompts.SUMMARY_HUMAN.format(items=_render(batch)))],
                prompts.SUMMARY_TOOL,
                prompts.SUMMARY_SHAPE,
            )
            for entry in reply.data.get("summaries") or []:
                if isinstance(entry, dict) and isinstance(entry.get("description"), str):
                    try:
                        answered[int(entry["id"])] = " ".join(entry["description"].split())
                    except (KeyError, TypeError, ValueError):
                        continue
            failure = ""
        except Exception as exc:  # noqa: BLE001 - extractive summaries stand in
            failure = f"{type(exc).__name__}: {exc}"
        fresh = []
        for i, item in enumerate(batch, start=1):
            text = answered.get(i, "")
            if text:
                item.assign(text)
                fresh.append((item.key, text))
            else:
                item.assign(extractive_summary(item.name, item.descriptions))
        if fresh:
            await asyncio.to_thread(cache.put_many, kind, fresh)
        if len(fresh) < len(batch):
            why = failure or "no summary in the model's reply"
            problems.append(
                f"{len(batch) - len(fresh)} description summaries fell back to extractive ({why})"
            )
        done += len(batch)
        report("summarize", done, total)

    await asyncio.gather(*(run(b) for b in _batches(missing, batch_size)))
    return problems
