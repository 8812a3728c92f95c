"""The answer chain (kg/search/chain.py): a LangChain Runnable that streams the answer's text, then the
Answer; reports its stages; falls back to the extractive answer when the model fails mid-stream. Driven with
the real langchain-openai client against the local fake OpenAI server streaming server-sent events, and with
a scripted streaming chat model, on the small hand-written graph in a real SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableLambda

from kg.config import Settings
from kg.llm.calls import stream_complete
from kg.model import Turn
from kg.search.answer import Answer, QuestionError, ask
from kg.search.chain import STAGE_EVENT, answer_chain
from kg.search.extractive import NOTICE
from kg.search.progress import Stage, differs_from_streamed
from kg.store.sqlite.store import SqliteStore
from kg.text.sentences import sentence_pieces
from tests.fake_openai import FakeOpenAI, ServerThread
from tests.scripted_model import BrokenStream, ScriptedChatModel, text_reply
from tests.small_graph import small_store

MHA = "Multi-Head Attention"
QUESTION = f"How many heads does {MHA} use?"
MODEL_TEXT = f"{MHA} runs eight attention heads in parallel [Data: Entities (22); Sources (11)]."
INVALID_TEXT = f"{MHA} runs eight heads [Data: Sources (11, 404); Reports (77)]. Martians built it [Data: Entities (999)]."


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await small_store(tmp_path / "kg.db")
    yield store
    await store.close()


@pytest.fixture
def local_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"kg_search": "local"})


async def collect(stream: AsyncIterator[str | Answer]) -> tuple[list[str], Answer]:
    """The str chunks of a stream and its final Answer, checking the contract: chunks, then one Answer last."""
    items = [item async for item in stream]
    *chunks, answer = items
    assert isinstance(answer, Answer), items
    assert all(isinstance(c, str) for c in chunks), items
    return chunks, answer


# ------------------------------------------------------------------------------------------- a streaming model


async def test_openai_model_streams_tokens_then_the_answer(
    store: SqliteStore, local_settings: Settings
) -> None:
    server = await FakeOpenAI().start()
    try:
        server.script.append({"content": MODEL_TEXT})
        settings = local_settings.model_copy(
            update={"openai_base_url": server.url, "kg_chat_model": "fake-chat"}
        )
        chunks, answer = await collect(answer_chain(settings, store=store).astream({"question": QUESTION}))
    finally:
        await server.stop()
    assert server.requests[0]["stream"] is True
    assert len(chunks) > 5  # one per word, as the server sent them
    assert "".join(chunks) == MODEL_TEXT
    assert answer.mode == "llm" and answer.text == MODEL_TEXT
    assert not differs_from_streamed("".join(chunks), answer.text)
    assert [(c.dataset, c.id) for c in answer.citations] == [("Entities", 22), ("Sources", 11)]
    assert answer.usage.llm_calls == 1 and answer.usage.completion_tokens > 0


async def test_first_text_arrives_before_the_model_has_finished(
    store: SqliteStore, local_settings: Settings
) -> None:
    model = ScriptedChatModel(replies=[text_reply(MODEL_TEXT)], chunk_delay=0.02)
    stream = answer_chain(local_settings, store=store, model=model).astream(QUESTION)
    first = await anext(stream)
    assert first == f"{MHA.split()[0]} "
    words = len(MODEL_TEXT.split())
    assert model.chunks_sent < words  # the model is still writing
    rest = [item async for item in stream]
    assert len(rest) == words == model.chunks_sent  # the other words, then the Answer
    assert isinstance(rest[-1], Answer)


async def test_invalid_citations_in_the_stream_are_fixed_in_the_final_answer(
    store: SqliteStore, local_settings: Settings
) -> None:
    model = ScriptedChatModel(replies=[text_reply(INVALID_TEXT)])
    chunks, answer = await collect(answer_chain(local_settings, store=store, model=model).astream(QUESTION))
    streamed = "".join(chunks)
    assert streamed == INVALID_TEXT  # what the model wrote, as it wrote it
    assert answer.text == f"{MHA} runs eight heads [Data: Sources (11)]. Martians built it."
    assert answer.dropped_citations == 3
    assert differs_from_streamed(streamed, answer.text)  # the front-end replaces the streamed message


async def test_a_model_failing_mid_stream_gives_the_extractive_answer(
    store: SqliteStore, local_settings: Settings
) -> None:
    model = ScriptedChatModel(replies=[BrokenStream(f"{MHA} runs eight")])
    chunks, answer = await collect(answer_chain(local_settings, store=store, model=model).astream(QUESTION))
    assert "".join(chunks) == f"{MHA} runs eight"  # what came before the failure; nothing after it
    assert answer.mode == "extractive"
    assert answer.text.startswith("_The language model failed, so this is an extractive answer._")
    assert NOTICE in answer.text and answer.citations
    assert differs_from_streamed("".join(chunks), answer.text)


async def test_a_server_dying_mid_stream_gives_the_extractive_answer(
    store: SqliteStore, local_settings: Settings
) -> None:
    server = await FakeOpenAI().start()
    try:
        server.script.append({"content": MODEL_TEXT, "break_after": 3})
        settings = local_settings.model_copy(
            update={"openai_base_url": server.url, "kg_chat_model": "fake-chat"}
        )
        model = answer_chain(settings, store=store).model
        model.max_retries = 0  # type: ignore[union-attr] - one request: the SDK would retry a dropped one
        chunks, answer = await collect(answer_chain(settings, store=store, model=model).astream(QUESTION))
    finally:
        await server.stop()
    assert "".join(chunks) == " ".join(MODEL_TEXT.split()[:3]) + " "
    assert answer.mode == "extractive" and "language model failed" in answer.text


async def test_a_stalled_stream_times_out_into_the_extractive_answer(
    store: SqliteStore, local_settings: Settings
) -> None:
    model = ScriptedChatModel(replies=[text_reply(MODEL_TEXT)], chunk_delay=0.5)
    settings = local_settings.model_copy(update={"kg_llm_timeout": 0.4})
    chunks, answer = await collect(answer_chain(settings, store=store, model=model).astream(QUESTION))
    assert answer.mode == "extractive"
    assert answer.text.startswith("_The language model did not answer in time")


async def test_stream_complete_bounds_each_gap_and_the_whole_stream() -> None:
    received: list[str] = []

    async def on_text(text: str) -> None:
        received.append(text)

    words = "one two three four five six seven eight nine ten eleven twelve"
    steady = ScriptedChatModel(replies=[text_reply(words)], chunk_delay=0.05)
    reply = await stream_complete(steady, "system", "{q}", {"q": "?"}, 10.0, on_text)
    assert reply.text == words and "".join(received) == words and len(received) == 12
    assert reply.completion_tokens == 20  # the provider's count, from the last chunk

    # Every gap (0.05 s) is within its bound (0.1 s), but the whole stream (0.6 s) outlasts its 0.4 s.
    with pytest.raises(TimeoutError):
        await stream_complete(steady, "system", "{q}", {"q": "?"}, 0.4, on_text)
    # A first chunk may take long (the model reads the prompt); a later gap over a quarter of the bound may not.
    slow_start = ScriptedChatModel(replies=[text_reply("one two")], delay=0.3)
    assert (await stream_complete(slow_start, "s", "{q}", {"q": "?"}, 1.0, on_text)).text == "one two"
    stalling = ScriptedChatModel(replies=[text_reply("one two three")], chunk_delay=0.3)
    with pytest.raises(TimeoutError):
        await stream_complete(stalling, "s", "{q}", {"q": "?"}, 1.0, on_text)


# ----------------------------------------------------------------------------------------------------- offline


async def test_offline_answers_stream_sentence_by_sentence(
    store: SqliteStore, local_settings: Settings
) -> None:
    chain = answer_chain(local_settings, store=store)
    assert chain.model is None
    chunks, answer = await collect(chain.astream({"question": QUESTION}))
    assert answer.mode == "extractive" and answer.text.startswith(NOTICE)
    assert len(chunks) >= 2  # the notice, then each quoted sentence
    assert "".join(chunks) == answer.text
    assert chunks == sentence_pieces(answer.text)
    assert chunks[1].startswith(f"{MHA} runs eight attention heads") and chunks[1].rstrip().endswith("].")
    assert not differs_from_streamed("".join(chunks), answer.text)


def test_sentence_pieces_join_back_into_the_text() -> None:
    text = "_Notice._\n\nOne claim [Data: Sources (1)]. Two? Three!  Four\n- a list item\n\nEnd"
    pieces = sentence_pieces(text)
    assert "".join(pieces) == text
    assert pieces == ["_Notice._\n\n", "One claim [Data: Sources (1)]. ", "Two? ", "Three!  ", "Four\n"] + [
        "- a list item\n\n",
        "End",
    ]
    assert sentence_pieces("") == []


# ------------------------------------------------------------------------------------ invoke, batch and friends


async def test_ainvoke_gives_the_answer_ask_gives(store: SqliteStore, local_settings: Settings) -> None:
    model = ScriptedChatModel(replies=[text_reply(INVALID_TEXT, prompt_tokens=300, completion_tokens=40)])
    history = [Turn("user", "What is the Encoder?"), Turn("assistant", "It reads the input.")]
    chain = answer_chain(local_settings, store=store, model=model)
    got = await chain.ainvoke({"question": QUESTION, "history": history, "namespace": "default"})
    expected = await ask(store, QUESTION, history=history, model=model, search="local")
    assert (got.text, got.mode, got.search, got.citations) == (
        expected.text,
        expected.mode,
        expected.search,
        expected.citations,
    )
    assert got.dropped_citations == expected.dropped_citations == 3
    assert (got.usage.prompt_tokens, got.usage.completion_tokens) == (300, 40)  # not streamed: one reply
    assert "user: What is the Encoder?" in str(model.calls[0][0][-1].content)
    assert set(got.timings_ms) == {"retrieve", "answer", "total"}


def test_invoke_batch_and_stream_from_synchronous_code(tmp_path: Path, local_settings: Settings) -> None:
    store = asyncio.run(small_store(tmp_path / "kg.db"))
    try:
        model = ScriptedChatModel(replies=[text_reply(MODEL_TEXT)])
        chain = answer_chain(local_settings, store=store, model=model)
        assert chain.invoke(QUESTION).text == MODEL_TEXT
        answers = chain.batch([QUESTION, {"question": "What regularises the Transformer?"}])
        assert [a.text for a in answers] == [MODEL_TEXT, MODEL_TEXT] and len(model.calls) == 3
        items = list(chain.stream({"question": QUESTION}))
        assert "".join(items[:-1]) == MODEL_TEXT and len(items) > 3 and items[-1].text == MODEL_TEXT
        offline = answer_chain(local_settings, store=store).batch([QUESTION, "What does the Decoder do?"])
        assert all(a.mode == "extractive" and a.citations for a in offline)
    finally:
        asyncio.run(store.close())


async def test_abatch_and_composition(store: SqliteStore, local_settings: Settings) -> None:
    chain = answer_chain(local_settings, store=store)
    answers = await chain.abatch(
        [QUESTION, {"question": "What regularises the Transformer?", "mode": "local"}]
    )
    assert [a.question for a in answers] == [QUESTION, "What regularises the Transformer?"]
    composed = (
        RunnableLambda(lambda q: {"question": q})
        | chain
        | RunnableLambda(lambda a: [(c.dataset, c.id) for c in a.citations])
    )
    assert ("Sources", 11) in await composed.ainvoke(QUESTION)


async def test_a_bad_question_raises_from_every_entry_point(
    store: SqliteStore, local_settings: Settings
) -> None:
    chain = answer_chain(local_settings, store=store)
    with pytest.raises(QuestionError):
        await chain.ainvoke({"question": "   "})
    with pytest.raises(QuestionError, match="no index in namespace 'elsewhere'"):
        await collect(chain.astream({"question": QUESTION, "namespace": "elsewhere"}))
    with pytest.raises(TypeError, match="takes a question"):
        await chain.ainvoke({"history": []})  # type: ignore[typeddict-item]


async def test_a_chain_opens_the_store_its_settings_name(local_settings: Settings) -> None:
    local_settings.kg_home.mkdir(parents=True)
    await (await small_store(local_settings.kg_home / "kg.db")).close()  # where the settings' store lives
    chain = answer_chain(local_settings)
    try:
        assert (await chain.ainvoke(QUESTION)).citations
    finally:
        await chain.aclose()


# ------------------------------------------------------------------------------------------------------ stages


async def test_stages_are_custom_events_and_callbacks_in_order(
    store: SqliteStore, local_settings: Settings
) -> None:
    model = ScriptedChatModel(replies=[text_reply(MODEL_TEXT)])
    chain = answer_chain(local_settings, store=store, model=model)
    seen: list[Any] = []

    async def on_stage(stage: Stage) -> None:
        seen.append(stage)

    config: Any = {"configurable": {"on_stage": on_stage}}
    order: list[str] = []
    async for event in chain.astream_events(QUESTION, config=config, version="v2"):
        if event["event"] == "on_custom_event" and event["name"] == STAGE_EVENT:
            order.append(event["data"]["stage"])
        elif event["event"] == "on_chain_stream" and event["name"] == "AnswerChain":
            order.append("answer" if isinstance(event["data"]["chunk"], Answer) else "text")
    assert order[:3] == ["search", "read", "write"]
    assert set(order[3:-1]) == {"text"} and order[-1] == "answer"
    assert seen == [
        Stage("search", "Searching the graph…"),
        Stage("read", "Reading 6 passages…"),
        Stage("write", "Writing the answer…"),
    ]

    seen.clear()  # the callback hears the stages on every path: ainvoke, and offline too
    await answer_chain(local_settings, store=store).ainvoke(QUESTION, config=config)
    assert [s.stage for s in seen] == ["search", "read", "write"]


async def test_a_question_matching_nothing_skips_the_read_stage(
    store: SqliteStore, local_settings: Settings
) -> None:
    seen: list[Stage] = []

    async def on_stage(stage: Stage) -> None:
        seen.append(stage)

    chain = answer_chain(local_settings, store=store)
    chunks, answer = await collect(
        chain.astream("zebra quantum marmalade", {"configurable": {"on_stage": on_stage}})
    )
    assert [s.stage for s in seen] == ["search", "write"]
    assert "".join(chunks) == answer.text and "I don't know" in answer.text


def test_synchronous_calls_share_one_loop_for_the_openai_client(
    tmp_path: Path, local_settings: Settings
) -> None:
    """langchain-openai binds its HTTP client to the loop it first ran on: invoke, stream and batch, again and
    again, must all reach the model (a fresh loop per call would fail from the second one on)."""
    store = asyncio.run(small_store(tmp_path / "kg.db"))
    try:
        with ServerThread(FakeOpenAI(lambda body: {"content": MODEL_TEXT})) as server:
            settings = local_settings.model_copy(
                update={"openai_base_url": server.url, "kg_chat_model": "fake-chat"}
            )
            chain = answer_chain(settings, store=store)
            for _ in range(2):
                assert chain.invoke(QUESTION).mode == "llm"
                *chunks, answer = chain.stream(QUESTION)
                assert answer.mode == "llm" and "".join(chunks) == MODEL_TEXT
            assert [a.mode for a in chain.batch([QUESTION, QUESTION])] == ["llm", "llm"]
            assert sum(bool(r.get("stream")) for r in server.requests) == 2
    finally:
        asyncio.run(store.close())
