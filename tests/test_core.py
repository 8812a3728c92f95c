"""The platform-neutral assistant over a real SQLite index, with both memories."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from bot.core import (
    NOT_ADMIN,
    SLOW_DOWN,
    UNAVAILABLE,
    Assistant,
    Question,
    ReindexRequest,
    neutralise_mentions,
)
from bot.memory import Limits, LocalMemory, Memory, RedisMemory
from kg.config import Settings
from kg.index.pipeline import build_index
from kg.store import open_store
from kg.store.base import StoreError
from tests.conftest import RedisServer


class RecordingModel(BaseChatModel):
    """A scripted chat model: records every prompt, answers with a fixed citation, optionally slowly."""

    reply: str = "The Lantern Engine was designed by Maria Okafor [Data: Sources (1)]."
    delay: float = 0.0
    prompts: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kw: Any) -> ChatResult:
        raise NotImplementedError

    async def _agenerate(self, messages: list[BaseMessage], stop: Any = None, **kw: Any) -> ChatResult:
        self.prompts.append("\n".join(str(m.content) for m in messages))
        await asyncio.sleep(self.delay)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])


def q(text: str, thread: str = "th1", user: str = "U1", event: str = "", channel: str = "C1") -> Question:
    return Question("slack", "T1", channel, thread, user, text, event_id=event)


@pytest.fixture
def core_settings(settings: Settings, corpus: Path) -> Settings:
    return settings.model_copy(
        update={"kg_sources": str(corpus), "kg_admins": "UADMIN", "kg_rate_per_minute": 50}
    )


@pytest.fixture
async def indexed(core_settings: Settings, corpus: Path) -> AsyncIterator[Settings]:
    store = open_store(core_settings.store_url)
    await build_index([corpus], store, core_settings)
    await store.close()
    yield core_settings


def make(settings: Settings, memory: Memory | None = None, model: BaseChatModel | None = None) -> Assistant:
    return Assistant(
        settings, open_store(settings.store_url), memory or LocalMemory(), model, progress_interval=0
    )


async def test_answer_with_sources_that_stay_retrievable(indexed: Settings) -> None:
    assistant = make(indexed)
    reply = await assistant.answer(q("Who designed the Lantern Engine?"))
    assert reply is not None and reply.kind == "answer"
    assert "Maria Okafor" in reply.text
    assert reply.mode == "extractive"
    assert any(s.dataset == "Sources" and s.document.endswith(".md") for s in reply.sources)
    assert await assistant.sources(reply.sources_key) == reply.sources
    assert await assistant.sources("no-such-key") is None
    await assistant.close()


async def test_follow_ups_carry_their_own_threads_history(indexed: Settings) -> None:
    model = RecordingModel(prompts=[])
    assistant = make(indexed, model=model)
    await assistant.answer(q("Who designed the Lantern Engine?", thread="A"))
    await assistant.answer(q("And who maintains its pipeline?", thread="A"))
    await assistant.answer(q("What is the Beacon API?", thread="B"))
    # thread A's follow-up ("its") is rewritten by the model from thread A's turns, then answered with them
    assert len(model.prompts) == 4 and model.prompts[1].startswith("You rewrite a follow-up question")
    assert "Who designed the Lantern Engine?" in model.prompts[1]
    assert "Who designed the Lantern Engine?" in model.prompts[2]
    assert "Who designed the Lantern Engine?" not in model.prompts[3]  # thread B stands alone: no rewrite
    history = await assistant.memory.history(q("x", thread="A").thread_key)
    assert [t.role for t in history] == ["user", "assistant", "user", "assistant"]
    await assistant.close()


async def test_concurrent_duplicate_deliveries_get_one_answer(indexed: Settings) -> None:
    assistant = make(indexed)
    replies = await asyncio.gather(
        *(assistant.answer(q("What is the Beacon API?", event="Ev1")) for _ in range(5))
    )
    assert sum(r is not None for r in replies) == 1
    await assistant.close()


async def test_rate_limit_asks_to_slow_down(indexed: Settings) -> None:
    assistant = make(indexed, LocalMemory(Limits(rate_per_minute=2)))
    kinds = [(await assistant.answer(q("What is NOAA?"))) for _ in range(3)]
    assert [r.kind for r in kinds if r] == ["answer", "answer", "notice"]
    assert kinds[-1] is not None and kinds[-1].text == SLOW_DOWN
    other = await assistant.answer(q("What is NOAA?", user="U2"))
    assert other is not None and other.kind == "answer"
    await assistant.close()


async def test_reindex_admin_rules_lock_and_progress(indexed: Settings, corpus: Path) -> None:
    assistant = make(indexed)
    before = await assistant.store.stats("default")
    (corpus / "extra.txt").write_text(
        "Quentin Blake joined Harbor Lights to test the Beacon API.", encoding="utf-8"
    )

    refused = await assistant.reindex(ReindexRequest("slack", "T1", "C1", "U1", is_admin=False), _no_progress)
    assert refused == NOT_ADMIN
    assert await assistant.store.stats("default") == before

    release, started = asyncio.Event(), asyncio.Event()
    lines: list[str] = []

    async def slow_progress(line: str) -> None:
        lines.append(line)
        started.set()
        await release.wait()

    first = asyncio.create_task(
        assistant.reindex(ReindexRequest("slack", "T1", "C1", "UADMIN"), slow_progress)
    )
    await asyncio.wait_for(started.wait(), 10)
    second = await assistant.reindex(ReindexRequest("discord", "G1", "C1", "U9", is_admin=True), _no_progress)
    assert second.startswith("A reindex of 'default' is already running (Reindexing 'default'")
    release.set()
    summary = await first
    assert summary.startswith("Reindexed 'default': 4 documents")
    assert lines[0].startswith("Reindexing 'default' ") and "%" in lines[0]
    stats = await assistant.store.stats("default")
    assert stats is not None and stats.counts["documents"] == 4
    again = await assistant.reindex(ReindexRequest("slack", "T1", "C1", "UADMIN"), _no_progress)
    assert again.startswith("Reindexed"), "the lock is released after a build"
    await assistant.close()


async def test_reindex_failure_keeps_old_index(indexed: Settings, tmp_path: Path) -> None:
    settings = indexed.model_copy(update={"kg_sources": str(tmp_path / "gone")})
    assistant = make(settings)
    before = await assistant.store.stats("default")
    message = await assistant.reindex(ReindexRequest("slack", "T1", "C1", "UADMIN"), _no_progress)
    assert "found nothing to index" in message and "previous index is still serving" in message
    assert "\n" not in message
    assert await assistant.store.stats("default") == before
    await assistant.close()


async def test_redis_killed_mid_conversation(
    indexed: Settings, redis_server: RedisServer, redis_url: str
) -> None:
    memory = RedisMemory(redis_url, timeout=0.3)
    memory.RETRY_AFTER = 0.2
    assistant = make(indexed, memory)
    assert await assistant.answer(q("Who designed the Lantern Engine?", event="e1"))
    redis_server.stop()
    try:
        reply = await asyncio.wait_for(assistant.answer(q("What is the Beacon API?", event="e2")), 10)
        assert reply is not None and "Beacon API" in reply.text
    finally:
        redis_server.start()
    await asyncio.sleep(0.3)
    assert await assistant.answer(q("What is NOAA?", event="e3"))
    history = await memory.history(q("x").thread_key)
    assert [t.text for t in history][:1] == ["What is NOAA?"]
    await assistant.close()


class DownStore:
    async def namespaces(self) -> list[str]:
        raise StoreError("cannot reach the graph store")

    async def close(self) -> None:
        return None


async def test_store_down_gives_a_clear_reply(core_settings: Settings) -> None:
    assistant = Assistant(core_settings, DownStore(), LocalMemory())  # type: ignore[arg-type]
    reply = await assistant.answer(q("Anything?"))
    assert reply is not None and reply.text == UNAVAILABLE and reply.kind == "notice"


async def test_model_timeout_falls_back_to_extractive(indexed: Settings) -> None:
    settings = indexed.model_copy(update={"kg_llm_timeout": 0.2})
    assistant = make(settings, model=RecordingModel(prompts=[], delay=5))
    reply = await asyncio.wait_for(assistant.answer(q("Who designed the Lantern Engine?")), 5)
    assert reply is not None and reply.mode == "extractive"
    assert reply.text.startswith("_The language model did not answer in time")
    assert "Maria Okafor" in reply.text
    await assistant.close()


async def test_mentions_from_documents_never_ping(settings: Settings, tmp_path: Path) -> None:
    docs = tmp_path / "hostile"
    docs.mkdir()
    (docs / "notice.txt").write_text(
        "The Night Shift rota is posted weekly. @channel the Night Shift rota changed, tell <!everyone> "
        "and <@U12345> and <@&998877> about the Night Shift rota and @here too.",
        encoding="utf-8",
    )
    store = open_store(settings.store_url)
    await build_index([docs], store, settings)
    assistant = Assistant(settings, store, LocalMemory())
    reply = await assistant.answer(q("What changed in the Night Shift rota?"))
    assert reply is not None and "Night Shift" in reply.text
    everything = reply.text + " ".join(s.excerpt + s.title for s in reply.sources)
    for raw in ("@channel", "<!everyone>", "<@U12345>", "<@&998877>", "@here"):
        assert raw not in everything
    assert "@\u200bchannel" in reply.text
    await assistant.close()


def test_neutralise_mentions_covers_both_platforms() -> None:
    text = "hi @everyone <!here> <@U1> <@!42> <@&7> <#C1> @All email me@example.com"
    out = neutralise_mentions(text)
    for raw in ("@everyone", "<!here>", "<@U1>", "<@!42>", "<@&7>", "@All"):
        assert raw not in out
    assert "me@example.com" in out
    # read as written, not as broken markup: "<\u200b!here>" is what a person would have seen before
    assert out == "hi @\u200beveryone @\u200bhere @U1 @42 @7 #C1 @\u200bAll email me@example.com"
    assert neutralise_mentions("tell <@U9|maria> in <#C1|general>") == "tell @maria in #general"


async def _no_progress(line: str) -> None:
    return None


async def test_drain_finishes_questions_in_flight_and_refuses_new_ones(indexed: Settings) -> None:
    assistant = make(indexed, model=RecordingModel(prompts=[], delay=0.3))
    in_flight = asyncio.create_task(assistant.answer(q("Who designed the Lantern Engine?")))
    await asyncio.sleep(0.05)
    drained = asyncio.create_task(assistant.drain(grace=5))
    await asyncio.sleep(0)
    late = await assistant.answer(q("What is NOAA?"))
    assert late is not None and late.kind == "notice" and "restarting" in late.text
    assert await drained is True
    assert in_flight.done()
    reply = in_flight.result()
    assert reply is not None and reply.mode == "llm"
    await assistant.close()


async def test_answers_are_counted_in_metrics(indexed: Settings) -> None:
    from bot import metrics

    labels = {"platform": "slack", "mode": "extractive"}
    before = metrics.REGISTRY.get_sample_value("kgbot_questions_answered_total", labels) or 0
    rejected = metrics.REGISTRY.get_sample_value("kgbot_errors_total", {"kind": "bad_question"}) or 0
    assistant = make(indexed)
    await assistant.answer(q("What is the Beacon API?"))
    await assistant.answer(q("   "))
    assert metrics.REGISTRY.get_sample_value("kgbot_questions_answered_total", labels) == before + 1
    assert metrics.REGISTRY.get_sample_value("kgbot_errors_total", {"kind": "bad_question"}) == rejected + 1
    body, _ = metrics.exposition()
    assert b"kgbot_answer_seconds_bucket" in body
    await assistant.close()


THEMES = "What are the main themes of these documents?"


async def test_whole_corpus_questions_get_global_answers(indexed: Settings) -> None:
    assistant = make(indexed)
    reply = await assistant.answer(q(THEMES))
    assert reply is not None and reply.search == "global" and reply.mode == "extractive"
    assert "[Data: Reports (" in reply.text
    assert {s.dataset for s in reply.sources} == {"Reports", "Sources"}
    assert all(s.document for s in reply.sources if s.dataset == "Sources")
    assert await assistant.sources(reply.sources_key) == reply.sources
    local = await assistant.answer(q("Who designed the Lantern Engine?", thread="other"))
    assert local is not None and local.search == "local"
    await assistant.close()


async def test_global_answers_with_a_model_cite_reports_and_their_sources(indexed: Settings) -> None:
    model = RecordingModel(prompts=[])
    model.reply = '{"points": [{"description": "Forecasting [Data: Reports (0)]", "score": 80}]}'
    assistant = make(indexed.model_copy(update={"kg_search": "global"}), model=model)
    first = await assistant.answer(q(THEMES))
    assert first is not None and first.search == "global"
    # The scripted model answers every call with the same map-shaped reply; the reduce call gets it too,
    # and its citation of report 0 survives, with the report's sources added.
    assert first.mode == "llm" and "Reports (0)" in first.text and "Sources (" in first.text
    assert first.usage.llm_calls == len(model.prompts) >= 2
    assert any(s.dataset == "Reports" and s.id == 0 for s in first.sources)
    await assistant.close()


async def test_stream_shows_stages_then_text_then_the_checked_reply(indexed: Settings) -> None:
    from bot.core import Reply, Status, TextDelta

    assistant = make(indexed)
    events = [e async for e in assistant.stream(q("Who designed the Lantern Engine?"))]
    kinds = [type(e) for e in events]
    assert kinds[0] is Status and kinds[-1] is Reply and TextDelta in kinds
    assert kinds.index(TextDelta) > max(i for i, k in enumerate(kinds) if k is Status)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1
    reply = events[-1]
    assert isinstance(reply, Reply) and reply.answer_id
    assert neutralise_mentions("".join(deltas)) == reply.text
    # A redelivery of the same event yields nothing at all.
    again = q("Who designed the Lantern Engine?", event="Ev9")
    assert [type(e) for e in [e async for e in assistant.stream(again)]][-1] is Reply
    assert [e async for e in assistant.stream(again)] == []


async def test_a_vote_counts_only_in_the_workspace_and_platform_of_its_answer(indexed: Settings) -> None:
    from bot.core import Vote

    assistant = make(indexed)
    reply = await assistant.answer(q("Who designed the Lantern Engine?"))
    assert reply is not None and reply.answer_id
    elsewhere = Vote("slack", "T-OTHER", "C1", "U9", reply.answer_id, "down")
    assert await assistant.record_vote(elsewhere) is False
    assert await assistant.record_vote(Vote("discord", "T1", "C1", "U9", reply.answer_id, "down")) is False
    assert await assistant.record_vote(Vote("slack", "T1", "C1", "U9", reply.answer_id, "sideways")) is False
    assert await assistant.store.feedback(indexed.kg_namespace) == []
    here = Vote("slack", "T1", "C1", "U9", reply.answer_id, "down", reason="sources")
    assert await assistant.record_vote(here) is True
    assert await assistant.record_reason(here) is True
    [kept] = await assistant.store.feedback(indexed.kg_namespace)
    assert (kept.workspace, kept.vote, kept.reason) == ("T1", "down", "Wrong or missing sources")
    assert kept.question == "Who designed the Lantern Engine?" and kept.mode == "extractive"
    await assistant.close()


async def test_suggested_questions_come_from_the_top_communities(indexed: Settings) -> None:
    assistant = make(indexed)
    questions = await assistant.suggested_questions("C1")
    assert 0 < len(questions) <= 4 and all(
        q.startswith("What do the documents say about ") for q in questions
    )
    assert await assistant.suggested_questions("C1", limit=1) == questions[:1]
    await assistant.close()
