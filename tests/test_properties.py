"""Property-based tests of every boundary that takes text from outside (hypothesis; tests/hostile.py).

Questions (FTS5, Cypher and Lucene syntax, control characters, lone surrogates, 100 KB, Slack and Discord
mention syntax) through `ask` on SQLite and through the Neo4j store's searches on a real server; document
loading (binary renamed .txt, invalid UTF-8, UTF-16 with a BOM, huge single lines, deep HTML, broken PDFs,
names with newlines or undecodable bytes); the citation checker; the Slack and Discord renderers (every
output within the platform's limits, no live mention). Example counts are modest and derandomized so the
suite stays bounded and repeatable; bench/fuzz_campaign.py runs the same checks on 10,000 inputs.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core import Reply, neutralise_mentions
from bot.discord import render as discord_render
from bot.slack import render as slack_render
from kg.citations import DATASETS, check_citations
from kg.index.load import load_documents
from kg.model import TextUnit
from kg.search.answer import Answer, QuestionError, ask
from kg.search.budget import source_cost, source_row
from kg.text.tokens import count_tokens
from tests.conftest import write_corpus
from tests.hostile import (
    FILE_NAMES,
    FILES,
    discord_embed_problems,
    discord_message_problems,
    hostile_text,
    one_line_problems,
    replies,
    slack_problems,
)

BOUNDED = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def _answer_problems(answer: Answer) -> list[str]:
    try:  # what `kgbot ask --json` prints
        json.dumps(answer.to_json(), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return [f"an answer that cannot be printed: {exc}"]
    return [] if answer.text.strip() else ["empty answer"]


async def _ask_or_refuse(store: Any, question: str, namespace: str) -> list[str]:
    """What goes wrong when `question` is asked: nothing, or a clean one-line refusal, is right."""
    try:
        answer = await ask(store, question, namespace=namespace)
    except QuestionError as exc:
        return one_line_problems([str(exc)])
    return _answer_problems(answer)


# --- questions --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from kg.config import Settings
    from kg.index.pipeline import build_index
    from kg.store.sqlite.store import SqliteStore

    root = tmp_path_factory.mktemp("properties")
    settings_ = Settings(_env_file=None, kg_home=root / "home", kg_chunk_size=120, kg_chunk_overlap=20)  # type: ignore[call-arg]
    store = SqliteStore(root / "kg.db")
    asyncio.run(build_index([write_corpus(root / "corpus")], store, settings_, "default"))
    yield store
    asyncio.run(store.close())


@BOUNDED
@given(question=hostile_text())
def test_any_question_is_answered_or_refused_in_one_line_on_sqlite(sqlite_store: Any, question: str) -> None:
    assert asyncio.run(_ask_or_refuse(sqlite_store, question, "default")) == []


@pytest.fixture(scope="module")
def neo4j_store(neo4j_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    from kg.config import Settings
    from kg.index.pipeline import build_index
    from kg.store.neo4j.store import Neo4jStore

    root = tmp_path_factory.mktemp("properties-neo4j")
    settings_ = Settings(_env_file=None, kg_home=root / "home", kg_chunk_size=120, kg_chunk_overlap=20)  # type: ignore[call-arg]
    namespace = f"properties-{uuid.uuid4().hex[:12]}"
    loop = asyncio.new_event_loop()
    store = Neo4jStore(neo4j_url, username="neo4j", password="unused")
    loop.run_until_complete(build_index([write_corpus(root / "corpus")], store, settings_, namespace))
    yield loop, store, namespace
    loop.run_until_complete(store.drop_namespace(namespace))
    loop.run_until_complete(store.close())
    loop.close()


@settings(BOUNDED, max_examples=25)
@given(question=hostile_text())
def test_any_question_searches_the_real_neo4j_without_error(neo4j_store: Any, question: str) -> None:
    loop, store, namespace = neo4j_store

    async def run() -> list[str]:
        await store.search_entities(namespace, question, 10)
        await store.search_text_units(namespace, question, 10)
        return await _ask_or_refuse(store, question, namespace)

    assert loop.run_until_complete(run()) == []


# --- document loading -------------------------------------------------------------------------------


@settings(BOUNDED, max_examples=30)
@given(files=st.lists(st.tuples(FILE_NAMES, FILES), min_size=1, max_size=4), undecodable=st.booleans())
@example(files=[("new\nline", (".txt", b"Some text."))], undecodable=True)  # once failed the whole publish
def test_any_file_is_loaded_or_named_in_one_line(
    files: list[tuple[str, tuple[str, bytes]]], undecodable: bool
):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for i, (name, (suffix, data)) in enumerate(files):
            raw = f"{i}-{name}{suffix}".encode()
            if undecodable:
                raw = b"\xff" + raw  # a name whose bytes are not UTF-8
            with open(os.path.join(os.fsencode(folder), raw), "wb") as f:
                f.write(data)
        result = load_documents([folder])
    assert len(result.documents) + len(result.problems) == len(files), result.problems
    assert one_line_problems(result.problems) == []
    for doc in result.documents:
        assert one_line_problems([doc.title, doc.source]) == []
        doc.text.encode("utf-8")  # stores and chat platforms take only valid Unicode
        assert doc.text.strip()


# --- citations --------------------------------------------------------------------------------------


@BOUNDED
@given(
    text=hostile_text(),
    available=st.fixed_dictionaries({d: st.sets(st.integers(0, 20), max_size=8) for d in DATASETS}),
)
def test_checked_citations_are_well_formed_and_available(text: str, available: dict[str, set[int]]) -> None:
    checked = check_citations(text, available)
    for citation in checked.citations:
        assert citation.id in available[citation.dataset]
    again = check_citations(checked.text, available)  # a checked text is left as it is
    assert again.text == checked.text
    assert again.dropped == 0
    assert set(again.citations) <= set(checked.citations)


# --- renderers --------------------------------------------------------------------------------------


@BOUNDED
@given(reply=replies(), collapsible=st.booleans())
@example(reply=Reply(neutralise_mentions("@everyone0 [Data: Sources (²)]"), mode="llm"), collapsible=True)
def test_slack_messages_fit_and_ping_no_one(reply: Reply, collapsible: bool) -> None:
    reply.sources_key = "k" * 12
    messages = slack_render.answer_messages(reply, collapsible=collapsible)
    assert slack_problems([m.payload() for m in messages]) == []
    if reply.sources:
        blocks = messages[-1].blocks
        shown = slack_render.toggle_sources(
            blocks, reply.sources, reply.sources_key, len(reply.sources), True
        )
        assert slack_problems([{"text": messages[-1].text, "blocks": shown}]) == []


@BOUNDED
@given(question=hostile_text(surrogates=False))
def test_slack_question_echo_fits_and_pings_only_the_asker(question: str) -> None:
    message = slack_render.asked_message("U0ASKER", question)
    payload = json.loads(json.dumps(message.payload()).replace("<@U0ASKER>", "the asker"))
    assert slack_problems([payload]) == []


@BOUNDED
@given(reply=replies())
@example(
    reply=Reply(neutralise_mentions("@everyone0 [Data: Sources (²)]"), mode="llm")
)  # kept a ping; crashed
@example(reply=Reply("~" * 20_000, mode="llm"))  # a fence line longer than a message crashed the splitter
def test_discord_messages_and_embeds_fit_and_ping_no_one(reply: Reply) -> None:
    assert discord_message_problems(discord_render.answer_messages(reply)) == []
    assert discord_embed_problems(discord_render.sources_embed(reply.sources)) == []


@BOUNDED
@given(question=hostile_text(surrogates=False))
def test_discord_thread_names_fit(question: str) -> None:
    name = discord_render.thread_name(question)
    assert 0 < len(name) <= discord_render.THREAD_NAME_LIMIT
    assert one_line_problems([name]) == []


@settings(BOUNDED, max_examples=200)
@given(text=hostile_text(huge=False), short_id=st.integers(-5, 10**6))
def test_a_source_rows_cost_is_its_passages_stored_count(text: str, short_id: int) -> None:
    # Filling Sources trusts the stored count (kg.search.budget.source_cost) instead of counting each row.
    unit = TextUnit("u", short_id, "d", text, count_tokens(text))
    assert source_cost(unit) == count_tokens(source_row(unit))
