"""The real slack-bolt app, driven offline: signed HTTP requests and Socket Mode envelopes in, its Web API
calls answered and recorded by a local fake Slack (tests/slack_fake.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import SecretStr
from slack_sdk.models.blocks import Block

from bot import metrics
from bot.core import NOT_ADMIN, PICTURE_EXPIRED, Assistant
from bot.memory import LocalMemory, Memory, RedisMemory
from bot.slack import render
from bot.slack.adapter import SlackConfigError, build_app, http_app, serve
from bot.slack.app import SlackBot
from kg.config import Settings
from kg.index.pipeline import build_index
from kg.store import open_store
from tests.conftest import RedisServer
from tests.scripted_model import ScriptedChatModel, text_reply
from tests.slack_fake import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    Call,
    FakeSlack,
    action_body,
    command_body,
    command_payload,
    event_body,
    mention,
    sign,
)

INJECTION = "The Beacon API pages @channel and <!everyone> and <@U999> when Lantern Engine forecasts fail.\n"


class ScriptedChat(BaseChatModel):
    """A chat model for tests: cites the first entity and source of its context, says whether it saw the
    conversation's history, and can write a very long answer."""

    paragraphs: int = 1

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
    ) -> ChatResult:
        system, human = str(messages[0].content), str(messages[-1].content)
        entity = re.search(r"-----Entities-----\n[^\n]*\n(\d+)\|", system)
        source = re.search(r"-----Sources-----\n[^\n]*\n(\d+)\|", system)
        cite = f"[Data: Entities ({entity.group(1) if entity else 0}); Sources ({source.group(1) if source else 0})]"
        earlier = re.search(r"Earlier in this conversation:\nuser: ([^\n]*)", human)
        lead = f"Following up on “{earlier.group(1)}”: " if earlier else ""
        paragraph = (
            "## Findings\n\n"
            + lead
            + "The **Lantern Engine** publishes forecasts through the Beacon API "
            + cite
            + ".\n\n- radar data\n- buoy readings\n\n"
            + "Wave ensemble averaging runs many small simulations and averages their outputs. " * 8
        )
        return ChatResult(
            generations=[
                ChatGeneration(message=AIMessage(content="\n\n".join([paragraph] * self.paragraphs)))
            ]
        )


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def indexed(corpus: Path, settings: Settings, fake: FakeSlack) -> Settings:
    (corpus / "alerts.txt").write_text(INJECTION, encoding="utf-8")
    configured = settings.model_copy(
        update={
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_app_token": SecretStr(APP_TOKEN),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_api_url": fake.api_url,
            "kg_sources": str(corpus),
        }
    )
    store = open_store(configured.store_url)
    await build_index([corpus], store, configured)
    await store.close()
    return configured


class Slack:
    """The app under test served over HTTP, plus helpers to send it what Slack sends."""

    def __init__(self, fake: FakeSlack, bot: SlackBot, url: str, session: aiohttp.ClientSession) -> None:
        self.fake, self.bot, self.url, self.session = fake, bot, url, session

    async def post(
        self, body: str, content_type: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        hdrs = {"Content-Type": content_type, **sign(body), **(headers or {})}
        async with self.session.post(self.url, data=body.encode(), headers=hdrs) as resp:
            return resp.status, await resp.text()

    async def event(
        self, event: dict[str, Any], event_id: str = "Ev001", retry: int | None = None
    ) -> tuple[int, str]:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return await self.post(json.dumps(event_body(event, event_id)), "application/json", headers)

    async def command(self, name: str, text: str, user: str = "UMEMBER") -> tuple[int, str]:
        body = command_body(name, text, self.fake.response_url(), user=user)
        return await self.post(body, "application/x-www-form-urlencoded")

    async def click(
        self, message: dict[str, Any], action: dict[str, Any], channel: str = "C0CHAN", user: str = "UMEMBER"
    ) -> tuple[int, str]:
        body = action_body(message, action, self.fake.response_url(), channel, user)
        return await self.post(body, "application/x-www-form-urlencoded")


async def _serve(bot: SlackBot) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(http_app(bot))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/slack/events"


def make_assistant(
    settings: Settings, memory: Memory | None = None, model: BaseChatModel | None = None
) -> Assistant:
    return Assistant(
        settings, open_store(settings.store_url), memory or LocalMemory(), model, progress_interval=0
    )


@pytest.fixture
async def slack_app(fake: FakeSlack, indexed: Settings) -> AsyncIterator[Any]:
    """A factory: start the app over an assistant (default: extractive answers, in-process memory)."""
    started: list[tuple[web.AppRunner, aiohttp.ClientSession, Assistant, SlackBot]] = []

    async def start(assistant: Assistant | None = None) -> Slack:
        assistant = assistant or make_assistant(indexed)
        bot = build_app(assistant)
        runner, url = await _serve(bot)
        session = aiohttp.ClientSession()
        started.append((runner, session, assistant, bot))
        return Slack(fake, bot, url, session)

    yield start
    for runner, session, assistant, bot in started:
        await bot.drain()
        await session.close()
        await runner.cleanup()
        await assistant.close()


def answers(fake: FakeSlack) -> list[Call]:
    """Calls that showed a finished answer (its blocks end with the footer): posts, or the final edit of a
    streamed or edited message, with the thread and ts of the message they made or changed."""
    shown = []
    for c in fake.of("chat.postMessage") + fake.of("chat.update"):
        if any(b.get("block_id") == render.FOOTER_BLOCK for b in c.args.get("blocks") or []):
            ts = str(c.args.get("ts") or c.response["ts"])
            thread = c.args.get("thread_ts") or fake.messages[(c.args["channel"], ts)].get("thread_ts")
            shown.append(Call(c.method, {**c.args, "thread_ts": thread}, c.status, {**c.response, "ts": ts}))
    return shown


def sections_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(b["text"]["text"] for b in blocks if b.get("type") == "section")


def assert_within_limits(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= render.MAX_BLOCKS
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.to_dict()  # raises on any Block Kit limit slack_sdk knows


# --- tests --------------------------------------------------------------------------------------------


async def test_mention_is_answered_in_its_thread_with_collapsed_sources(
    slack_app: Any, fake: FakeSlack
) -> None:
    slack = await slack_app()
    gate = asyncio.Event()
    stream = slack.bot.assistant.stream

    async def slow_stream(q: Any) -> Any:
        await gate.wait()
        async for event in stream(q):
            yield event

    slack.bot.assistant.stream = slow_stream  # type: ignore[method-assign]
    status, _ = await slack.event(mention("Who maintains the data pipeline?", ts="1700000100.000100"))
    assert status == 200  # acknowledged while the answer is still being written
    assert answers(fake) == []
    gate.set()
    await slack.bot.drain()

    [post] = answers(fake)
    assert post.args["channel"] == "C0CHAN"
    assert post.args["thread_ts"] == "1700000100.000100"
    blocks = post.args["blocks"]
    assert "Tomas Lindqvist" in sections_text(blocks)
    assert "[Data:" not in json.dumps(blocks) and re.search(r"\[\d", sections_text(blocks))
    [container] = [b for b in blocks if b["type"] == "container"]
    assert container["is_collapsible"] and container["default_collapsed"]
    assert re.fullmatch(r"Sources \(\d+\)", container["title"]["text"])
    assert "characters" in json.dumps(container["child_blocks"])  # a document's location
    assert blocks[-1]["block_id"] == render.FOOTER_BLOCK and "Extractive answer" in json.dumps(blocks[-1])
    assert blocks[-2]["type"] == "context_actions" and blocks[-2]["block_id"] == render.FEEDBACK
    assert_within_limits(blocks)
    # Work was shown on the question (no assistant status in channels here) and cleared afterwards.
    assert fake.of("assistant.threads.setStatus", ok_only=False)
    [added] = fake.of("reactions.add")
    assert added.args["timestamp"] == "1700000100.000100"
    assert fake.of("reactions.remove")


async def test_follow_up_in_the_thread_carries_its_history(
    slack_app: Any, fake: FakeSlack, indexed: Settings
) -> None:
    slack = await slack_app(make_assistant(indexed, model=ScriptedChat()))
    await slack.event(mention("What does the Lantern Engine do?", ts="1700000200.000100"), event_id="Ev1")
    await slack.bot.drain()
    follow_up = mention("And who designed it?", ts="1700000200.000300", thread_ts="1700000200.000100")
    await slack.event(follow_up, event_id="Ev2")
    await slack.bot.drain()
    first, second = answers(fake)
    assert "Following up" not in sections_text(first.args["blocks"])
    assert second.args["thread_ts"] == "1700000200.000100"
    assert "Following up on “What does the Lantern Engine do?”" in sections_text(second.args["blocks"])
    # Another thread starts afresh.
    await slack.event(mention("And who designed it?", ts="1700000200.000500"), event_id="Ev3")
    await slack.bot.drain()
    assert "Following up" not in sections_text(answers(fake)[-1].args["blocks"])


async def test_ask_posts_the_question_and_answers_in_its_thread(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()
    status, body = await slack.command("/ask", "Who maintains the data pipeline?")
    assert (status, body) == (200, "")
    await slack.bot.drain()
    question, answer = fake.posted()[0], answers(fake)[0]
    assert question.args["text"] == "<@UMEMBER> asked: Who maintains the data pipeline?"
    assert "thread_ts" not in question.args
    assert answer.args["thread_ts"] == question.response["ts"]
    assert "Tomas Lindqvist" in sections_text(answer.args["blocks"])


async def test_empty_ask_gets_usage_help_only_its_author_sees(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()
    status, body = await slack.command("/ask", "   ")
    await slack.bot.drain()
    assert status == 200
    reply = json.loads(body)
    assert reply["response_type"] == "ephemeral" and "/ask" in reply["text"]
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []


async def test_ask_where_the_bot_is_not_invited_says_so(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()
    fake.not_in_channel.add("C0CHAN")
    await slack.command("/ask", "Who maintains the data pipeline?")
    await slack.bot.drain()
    [response] = fake.responses
    assert response["response_type"] == "ephemeral" and "invite" in response["text"]


async def test_reindex_by_an_admin_edits_one_message_then_summarises(
    slack_app: Any, fake: FakeSlack, indexed: Settings, corpus: Path
) -> None:
    (corpus / "new.txt").write_text(
        "Quentin Blake joined Harbor Lights to build the Aurora Dashboard.", encoding="utf-8"
    )
    slack = await slack_app()
    status, body = await slack.command("/reindex", "", user="UADMIN")
    assert (status, body) == (200, "")
    await slack.bot.drain()
    [posted] = fake.posted()
    updates = fake.of("chat.update")
    assert len(updates) >= 2
    assert {(u.args["channel"], u.args["ts"]) for u in updates} == {("C0CHAN", posted.response["ts"])}
    assert any("█" in u.args["text"] for u in updates[:-1])
    assert updates[-1].args["text"].startswith("Reindexed 'default': 5 documents")
    stats = await slack.bot.assistant.store.stats("default")
    assert stats is not None and stats.counts["documents"] == 5


async def test_reindex_by_a_kg_admin_needs_no_slack_role(
    slack_app: Any, fake: FakeSlack, indexed: Settings
) -> None:
    slack = await slack_app(make_assistant(indexed.model_copy(update={"kg_admins": "UMEMBER"})))
    await slack.command("/reindex", "", user="UMEMBER")
    await slack.bot.drain()
    assert fake.of("users.info") == []
    assert fake.of("chat.update")[-1].args["text"].startswith("Reindexed")


async def test_reindex_is_refused_for_non_admins_without_side_effects(
    slack_app: Any, fake: FakeSlack, corpus: Path
) -> None:
    (corpus / "new.txt").write_text("Quentin Blake joined Harbor Lights.", encoding="utf-8")
    slack = await slack_app()
    before = await slack.bot.assistant.store.stats("default")
    status, _ = await slack.command("/reindex", "", user="UMEMBER")
    await slack.bot.drain()
    assert status == 200
    [response] = fake.responses
    assert response["response_type"] == "ephemeral" and response["text"].startswith(NOT_ADMIN)
    assert fake.posted() == [] and fake.of("chat.update") == []
    assert await slack.bot.assistant.store.stats("default") == before


async def test_requests_with_a_bad_signature_are_rejected(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()
    body = json.dumps(event_body(mention("Who maintains the data pipeline?", ts="1700000300.000100")))
    forged = {**sign(body, secret="not-the-secret")}
    status, _ = await slack.post(body, "application/json", forged)
    assert status == 401
    stale = sign(body, timestamp=1_600_000_000)  # right secret, replayed years later
    status, _ = await slack.post(body, "application/json", stale)
    assert status == 401
    await slack.bot.drain()
    assert fake.posted() == [] and fake.of("reactions.add") == []


async def test_retried_and_copied_deliveries_are_answered_once(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()
    event = mention("Who maintains the data pipeline?", ts="1700000400.000100")
    results = await asyncio.gather(
        slack.event(event, "EvSame"),
        slack.event(event, "EvSame", retry=1),
        slack.event(event, "EvSame", retry=2),
    )
    # The same mention as a `message` event (app subscribed to channel messages): a different event id.
    copy = {**event, "type": "message", "channel_type": "channel"}
    results.append(await slack.event(copy, "EvCopy"))
    await slack.bot.drain()
    assert [status for status, _ in results] == [200, 200, 200, 200]
    assert len(answers(fake)) == 1
    assert len(fake.of("reactions.add")) == 1


async def test_bot_messages_edits_and_channel_chatter_are_ignored(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()
    ignored = [
        {
            "type": "message",
            "channel": "D0DM",
            "channel_type": "im",
            "bot_id": "B2",
            "text": "hi",
            "ts": "1.1",
        },
        {
            "type": "message",
            "subtype": "bot_message",
            "channel": "D0DM",
            "channel_type": "im",
            "text": "x",
            "ts": "1.2",
        },
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "D0DM",
            "channel_type": "im",
            "message": {"user": "UMEMBER", "text": "edited"},
            "ts": "1.3",
        },
        {
            "type": "message",
            "channel": "C0CHAN",
            "channel_type": "channel",
            "user": "UMEMBER",
            "text": "lunch?",
            "ts": "1.4",
        },
        {**mention("edited question", ts="1.5"), "edited": {"user": "UMEMBER", "ts": "1.6"}},
        {**mention("from another bot", ts="1.7"), "bot_id": "B2"},
    ]
    for i, event in enumerate(ignored):
        status, _ = await slack.event(event, event_id=f"EvIgnored{i}")
        assert status == 200  # acknowledged, so Slack does not retry
    await slack.bot.drain()
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []


async def test_direct_messages_are_answered_with_the_assistant_status(
    slack_app: Any, fake: FakeSlack
) -> None:
    slack = await slack_app()
    dm = {
        "type": "message",
        "channel": "D0DM",
        "channel_type": "im",
        "user": "UMEMBER",
        "text": "What is the Beacon API?",
        "ts": "1700000500.000100",
    }
    await slack.event(dm, "EvDm")
    await slack.bot.drain()
    statuses = fake.of("assistant.threads.setStatus")
    assert statuses[0].args["status"] == render.WORKING_STATUS and statuses[-1].args["status"] == ""
    assert fake.of("reactions.add") == []
    [answer] = answers(fake)
    assert answer.args["channel"] == "D0DM" and answer.args["thread_ts"] == "1700000500.000100"


async def test_without_reactions_a_placeholder_is_replaced_by_the_answer(
    slack_app: Any, fake: FakeSlack
) -> None:
    fake.reactions_error = "missing_scope"
    fake.streaming_error = "unknown_method"  # an older workspace: the placeholder is edited, not streamed
    slack = await slack_app()
    await slack.event(mention("Who maintains the data pipeline?", ts="1700000600.000100"))
    await slack.bot.drain()
    [placeholder] = fake.posted()
    assert placeholder.args["text"] == render.WORKING_TEXT
    [answer] = answers(fake)
    assert answer.method == "chat.update" and answer.args["ts"] == placeholder.response["ts"]
    assert slack.bot.reactions_allowed is False


async def test_show_sources_button_works_after_a_restart(
    slack_app: Any, fake: FakeSlack, indexed: Settings, redis_url: str
) -> None:
    fake.reject_containers = True  # a Slack that does not accept collapsible containers
    first = await slack_app(make_assistant(indexed, RedisMemory(redis_url)))
    await first.event(mention("Who maintains the data pipeline?", ts="1700000700.000100"))
    await first.bot.drain()
    rejected = [
        c for c in fake.of("chat.update", ok_only=False) if c.response.get("error") == "invalid_blocks"
    ]
    assert len(rejected) == 1 and first.bot.containers_accepted is False
    [answer] = answers(fake)
    channel, ts = answer.args["channel"], answer.response["ts"]
    button, graph = [e for b in answer.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert graph["action_id"] == render.SHOW_GRAPH
    assert button["action_id"] == render.SHOW_SOURCES and button["text"]["text"].startswith("Show sources (")

    # A new process: new assistant, new memory client, same Redis. The sources are still there.
    second = await slack_app(make_assistant(indexed, RedisMemory(redis_url)))
    status, _ = await second.click(fake.messages[(channel, ts)], button)
    assert status == 200
    await second.bot.drain()
    shown = fake.of("chat.update")[-1]
    assert (shown.args["channel"], shown.args["ts"]) == (channel, ts)
    assert "characters" in sections_text(shown.args["blocks"]) and "Tomas Lindqvist" in sections_text(
        shown.args["blocks"]
    )
    assert shown.args["blocks"][-1]["block_id"] == render.FOOTER_BLOCK
    hide, graph = [e for b in shown.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (hide["action_id"], graph["action_id"]) == (render.HIDE_SOURCES, render.SHOW_GRAPH)
    assert_within_limits(shown.args["blocks"])

    await second.click(fake.messages[(channel, ts)], hide)
    await second.bot.drain()
    hidden = fake.of("chat.update")[-1].args["blocks"]
    assert "characters" not in json.dumps(hidden)
    assert [e["action_id"] for b in hidden if b["type"] == "actions" for e in b["elements"]] == [
        render.SHOW_SOURCES,
        render.SHOW_GRAPH,
    ]


async def test_show_sources_once_they_have_expired(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()
    message = {"ts": "1700000800.000100", "text": "old answer", "blocks": []}
    fake.messages[("C0CHAN", message["ts"])] = message
    button = {
        "action_id": render.SHOW_SOURCES,
        "value": "no-such-key:3",
        "block_id": "kgbot_sources:toggle:hidden",
    }
    await slack.click(message, button)
    await slack.bot.drain()
    assert fake.of("chat.update") == []
    assert fake.responses[-1]["text"] == render.SOURCES_EXPIRED


PNG = b"\x89PNG\r\n\x1a\n"


def graph_button(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    [button] = [e for b in blocks if b.get("block_id") == render.SHOW_GRAPH for e in b["elements"]]
    return button


async def test_show_graph_uploads_the_evidence_once_into_the_answers_thread(
    slack_app: Any, fake: FakeSlack
) -> None:
    slack = await slack_app()
    await slack.event(mention("Who maintains the data pipeline?", ts="1700000900.000100"))
    await slack.bot.drain()
    [answer] = answers(fake)
    channel, ts = answer.args["channel"], answer.response["ts"]
    button = graph_button(answer.args["blocks"])
    assert button["action_id"] == render.SHOW_GRAPH and button["text"]["text"] == "Show graph"

    status, _ = await slack.click(fake.messages[(channel, ts)], button)
    assert status == 200
    await slack.bot.drain()
    [upload] = fake.uploads
    assert (upload.channel, upload.thread_ts) == (channel, "1700000900.000100")
    assert upload.data.startswith(PNG) and upload.filename == "evidence.png"
    assert upload.initial_comment == render.GRAPH_COMMENT
    assert fake.responses == []  # nothing else said

    # A second click, and two more at once from others, upload nothing more (a byte-identical redelivery is
    # dropped earlier, as a replayed signature; these are distinct requests that reach the listener).
    await slack.click(fake.messages[(channel, ts)], {**button, "action_ts": "1700000999.000002"})
    await asyncio.gather(
        *(slack.click(fake.messages[(channel, ts)], button, user=user) for user in ("UADMIN", "UOWNER"))
    )
    await slack.bot.drain()
    assert len(fake.uploads) == 1 and len(fake.of("files.getUploadURLExternal")) == 1
    assert [r["text"] for r in fake.responses] == [render.GRAPH_ALREADY] * 3
    assert all(r["response_type"] == "ephemeral" for r in fake.responses)


async def test_a_failed_upload_says_one_line_and_a_later_click_uploads(
    slack_app: Any, fake: FakeSlack
) -> None:
    slack = await slack_app()
    await slack.event(mention("Who maintains the data pipeline?", ts="1700000950.000100"))
    await slack.bot.drain()
    [answer] = answers(fake)
    message = fake.messages[(answer.args["channel"], answer.response["ts"])]
    fake.upload_error = "missing_scope"  # e.g. files:write not granted yet
    await slack.click(message, graph_button(answer.args["blocks"]))
    await slack.bot.drain()
    assert fake.uploads == []
    assert [r["text"] for r in fake.responses] == [render.GRAPH_FAILED]
    assert "Traceback" not in fake.everything_said() and "missing_scope" not in fake.everything_said()

    fake.upload_error = ""  # the claim was given back: the next click uploads
    await slack.click(message, {**graph_button(answer.args["blocks"]), "action_ts": "1700000999.000002"})
    await slack.bot.drain()
    [upload] = fake.uploads
    assert upload.data.startswith(PNG) and upload.thread_ts == "1700000950.000100"


async def test_show_graph_of_an_expired_answer_says_so(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()
    message = {"ts": "1700000980.000100", "text": "old answer", "blocks": []}
    fake.messages[("C0CHAN", message["ts"])] = message
    await slack.click(
        message, {"action_id": render.SHOW_GRAPH, "value": "gone", "block_id": render.SHOW_GRAPH}
    )
    await slack.bot.drain()
    assert fake.uploads == [] and [r["text"] for r in fake.responses] == [PICTURE_EXPIRED]


async def test_long_answers_are_split_within_slack_limits(
    slack_app: Any, fake: FakeSlack, indexed: Settings
) -> None:
    slack = await slack_app(make_assistant(indexed, model=ScriptedChat(paragraphs=160)))
    await slack.event(mention("Tell me everything about the Lantern Engine", ts="1700000900.000100"))
    await slack.bot.drain()
    calls = [c for c in fake.calls if c.method in ("chat.postMessage", "chat.update")]
    assert all(c.response["ok"] for c in calls)  # none was refused
    in_thread = sorted(
        (ts, m) for (_, ts), m in fake.messages.items() if m.get("thread_ts") == "1700000900.000100"
    )
    posts = [m for _, m in in_thread]
    assert len(posts) >= 2
    for post in posts:
        assert_within_limits(post["blocks"])
    text = "\n".join(sections_text(p["blocks"]) for p in posts)
    assert text.count("*Findings*") == 160  # nothing lost between the pieces
    assert any(b["type"] == "container" for b in posts[-1]["blocks"])


async def test_mentions_from_documents_cannot_notify_anyone(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()
    await slack.event(mention("What does the Beacon API page when forecasts fail?", ts="1700001000.000100"))
    await slack.bot.drain()
    said = fake.everything_said()
    assert "pages" in said  # the injected document was cited and shown
    assert not re.search(r"<[!@#]", said)
    assert not re.search(r"@(channel|everyone|here)\b", said)


async def test_rate_limited_calls_are_retried(slack_app: Any, fake: FakeSlack) -> None:
    fake.rate_limit_once.add("chat.startStream")
    slack = await slack_app()
    await slack.event(mention("Who maintains the data pipeline?", ts="1700001100.000100"))
    await slack.bot.drain()
    attempts = fake.of("chat.startStream", ok_only=False)
    assert [c.status for c in attempts] == [429, 200]
    assert len(answers(fake)) == 1


async def test_a_failure_reaches_the_person_as_one_line(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()

    async def broken(q: Any) -> Any:
        raise RuntimeError("disk on fire")
        yield

    slack.bot.assistant.stream = broken  # type: ignore[method-assign]
    await slack.event(mention("Who maintains the data pipeline?", ts="1700001200.000100"))
    await slack.bot.drain()
    [post] = fake.posted()
    assert post.args["thread_ts"] == "1700001200.000100"
    assert "\n" not in post.args["text"] and "RuntimeError" in post.args["text"]
    assert "disk on fire" not in post.args["text"]
    assert fake.of("reactions.remove")


async def eventually(check: Any, within: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_kgbot_slack_in_socket_mode_acknowledges_and_answers(
    fake: FakeSlack, indexed: Settings
) -> None:
    running = asyncio.ensure_future(serve(indexed))  # what `kgbot slack` runs
    try:
        event = mention("Who maintains the data pipeline?", ts="1700001300.000100")
        ack = await fake.send_envelope("events_api", event_body(event, "EvSocket"))
        again = await fake.send_envelope("events_api", event_body(event, "EvSocket"), retry_attempt=1)
        assert ack == {"envelope_id": ack["envelope_id"]} and again["envelope_id"] != ack["envelope_id"]
        usage = await fake.send_envelope("slash_commands", command_payload("/ask", "", fake.response_url()))
        assert usage["payload"]["response_type"] == "ephemeral"
        await eventually(lambda: answers(fake) and fake.of("reactions.remove"))
        [answer] = answers(fake)
        assert answer.args["thread_ts"] == "1700001300.000100"
        assert fake.of("apps.connections.open")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_kgbot_slack_http_mode_verifies_signatures(fake: FakeSlack, indexed: Settings) -> None:
    port = _free_port()
    running = asyncio.ensure_future(serve(indexed, http=True, host="127.0.0.1", port=port))
    url = f"http://127.0.0.1:{port}/slack/events"
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"})
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.post(
                        url, data=body, headers={"Content-Type": "application/json"}
                    ) as resp:
                        assert resp.status == 401  # unsigned
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
            else:
                pytest.fail("kgbot slack --http did not start")
            headers = {"Content-Type": "application/json", **sign(body)}
            async with session.post(url, data=body, headers=headers) as resp:
                assert resp.status == 200 and (await resp.json())["challenge"] == "c-123"
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_kgbot_slack_with_a_rejected_token_stops_with_one_line(
    fake: FakeSlack, indexed: Settings
) -> None:
    wrong_bot = indexed.model_copy(update={"slack_bot_token": SecretStr("xoxb-revoked")})
    with pytest.raises(SlackConfigError, match=r"^Slack rejected SLACK_BOT_TOKEN \(invalid_auth\)"):
        await serve(wrong_bot)
    wrong_app = indexed.model_copy(update={"slack_app_token": SecretStr("xapp-revoked")})
    with pytest.raises(SlackConfigError, match=r"^Slack rejected SLACK_APP_TOKEN \(invalid_auth\)"):
        await serve(wrong_app)
    assert fake.socket is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_manifest_declares_what_the_app_handles() -> None:
    manifest = yaml.safe_load((Path(__file__).parent.parent / "deploy" / "slack-manifest.yml").read_text())
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == {"/ask", "/reindex"}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {
        "app_mentions:read",
        "assistant:write",
        "chat:write",
        "commands",
        "files:write",
        "im:history",
        "reactions:write",
        "users:read",
    } <= scopes
    assert manifest["features"]["assistant_view"]["assistant_description"]
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_mention",
        "assistant_thread_context_changed",
        "assistant_thread_started",
        "message.im",
    }
    assert settings["socket_mode_enabled"] is True and settings["interactivity"]["is_enabled"] is True


async def test_tokens_never_reach_the_logs(
    slack_app: Any, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    slack = await slack_app()
    await slack.event(mention("Who maintains the data pipeline?", ts="1700001400.000100"))
    await slack.command("/reindex", "", user="UMEMBER")
    await slack.bot.drain()
    assert answers(fake)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "chat.startStream" in logged  # slack_sdk did log its requests
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
        assert secret not in logged


def test_kgbot_slack_without_tokens_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["slack"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "SLACK_BOT_TOKEN" in err

    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    assert main(["slack"]) == 1
    err = capsys.readouterr().err.strip()
    assert "SLACK_APP_TOKEN" in err and BOT_TOKEN not in err
    assert main(["slack", "--http", "--port", "3999"]) == 1
    assert "SLACK_SIGNING_SECRET" in capsys.readouterr().err


def test_question_text_is_what_the_person_typed() -> None:
    from bot.slack.app import question_text

    raw = "<@UKGBOT> what does <@U2> say about <#C1|ops> &amp; <https://x.example/a|the runbook> &lt;now&gt;?"
    assert question_text(raw, "UKGBOT") == "what does @U2 say about #ops & the runbook <now>?"


# --- hostile and unlucky deliveries ---------------------------------------------------------------------


MALFORMED_SIGNATURES = {
    "timestamp not a number": {"X-Slack-Request-Timestamp": "not-a-number"},
    "empty timestamp": {"X-Slack-Request-Timestamp": ""},
    "fractional timestamp": {"X-Slack-Request-Timestamp": "1700000000.5"},
    "5000-digit timestamp": {"X-Slack-Request-Timestamp": "9" * 5000},
    "non-ASCII signature": {"X-Slack-Signature": "v0=\u00e9t\u00e9"},
    "signature of another scheme": {"X-Slack-Signature": "v1=abc"},
}


@pytest.mark.parametrize("bad", list(MALFORMED_SIGNATURES), ids=list(MALFORMED_SIGNATURES))
async def test_malformed_signature_headers_get_401_and_one_log_line(
    slack_app: Any, fake: FakeSlack, caplog: pytest.LogCaptureFixture, bad: str
) -> None:
    slack = await slack_app()
    caplog.set_level(logging.WARNING)
    body = json.dumps(event_body(mention("Who maintains the data pipeline?", ts="1700002000.000100")))
    status, text = await slack.post(body, "application/json", MALFORMED_SIGNATURES[bad])
    await slack.bot.drain()
    assert status == 401 and json.loads(text) == {"error": "invalid request"}
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.name.startswith("bot.slack") and "\n" not in line.getMessage() and not line.exc_info
    assert fake.posted() == [] and fake.of("reactions.add") == []


async def test_malformed_bodies_are_refused_with_one_log_line(
    slack_app: Any, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack = await slack_app()
    caplog.set_level(logging.WARNING)
    cases = [  # (body, content type, signed, expected status)
        (
            b"\xff\xfe{}",
            "application/json",
            True,
            401,
        ),  # not UTF-8, so not Slack's whatever it is signed with
        (b"{not json", "application/json", False, 401),  # unsigned: refused before it is read
        (b"{not json", "application/json", True, 400),  # signed (so Slack's) yet unreadable
        (b"[1, 2]", "application/json", True, 400),
        (b"payload=%7Bbroken", "application/x-www-form-urlencoded", True, 400),
    ]
    for body, content_type, signed, expected in cases:
        caplog.clear()
        headers = {"Content-Type": content_type}
        if signed:
            headers.update(sign(body.decode("latin-1")))
        async with slack.session.post(slack.url, data=body, headers=headers) as resp:
            assert resp.status == expected, body
        [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert "\n" not in line.getMessage() and not line.exc_info, body
    await slack.bot.drain()
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []


async def test_a_replayed_signed_ask_is_answered_once(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()
    body = command_body("/ask", "Who maintains the data pipeline?", fake.response_url())
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    for _ in range(3):  # the same bytes, the same signature, well within Slack's five minutes
        async with slack.session.post(slack.url, data=body.encode(), headers=headers) as resp:
            assert resp.status == 200  # acknowledged, so nothing retries it
    await slack.bot.drain()
    [echo] = [c for c in fake.posted() if "thread_ts" not in c.args]
    assert echo.args["text"] == "<@UMEMBER> asked: Who maintains the data pipeline?"
    assert len(answers(fake)) == 1
    # The same question asked again (a new invocation, so a new trigger id) is answered again.
    await slack.command("/ask", "Who maintains the data pipeline?")
    await slack.bot.drain()
    assert len(answers(fake)) == 2


async def test_a_too_long_ask_is_refused_privately_with_nothing_posted(
    slack_app: Any, fake: FakeSlack
) -> None:
    slack = await slack_app()
    status, body = await slack.command("/ask", "Who maintains the data pipeline? " * 310)  # ~10 KB
    await slack.bot.drain()
    assert status == 200
    reply = json.loads(body)
    assert reply["response_type"] == "ephemeral"
    assert re.search(r"10,\d{3} characters long; please keep it under 2,000", reply["text"])
    assert [c.method for c in fake.calls if c.method != "auth.test"] == [] and fake.responses == []


async def test_an_event_first_seen_while_redis_was_down_is_not_answered_again_after(
    slack_app: Any, fake: FakeSlack, indexed: Settings, redis_server: RedisServer, redis_url: str
) -> None:
    memory = RedisMemory(redis_url, timeout=0.3)
    memory.RETRY_AFTER = 0  # try Redis again on every call: no waiting for it to come back
    slack = await slack_app(make_assistant(indexed, memory))
    event = mention("Who maintains the data pipeline?", ts="1700002100.000100")
    body = json.dumps(event_body(event, "EvOutage"))
    redis_server.stop()
    try:
        status, _ = await slack.post(body, "application/json")
        assert status == 200
        await slack.bot.drain()
        assert len(answers(fake)) == 1 and not await memory.healthy()
    finally:
        redis_server.start()
    assert await memory.healthy()
    # Slack retries the delivery (its own retry, signed afresh) once Redis is back.
    retry = {**sign(body, timestamp=int(time.time()) + 1), "X-Slack-Retry-Num": "1"}
    status, _ = await slack.post(body, "application/json", retry)
    assert status == 200
    await slack.bot.drain()
    assert len(answers(fake)) == 1


async def test_a_mention_shows_its_status_then_streams_text_before_the_answer_is_final(
    slack_app: Any, fake: FakeSlack
) -> None:
    fake.status_channel_kinds = {"C", "D"}  # a workspace with the assistant status in channels
    slack = await slack_app()
    slack.bot.edit_interval = 0  # every sentence shown as it comes
    await slack.event(mention("Who maintains the data pipeline?", ts="1700002000.000100"))
    await slack.bot.drain()
    order = [c.method for c in fake.calls if c.response.get("ok")]
    statuses = [c.args["status"] for c in fake.of("assistant.threads.setStatus")]
    assert statuses[0] == render.WORKING_STATUS and "Searching the graph…" in statuses and statuses[-1] == ""
    assert any(s.startswith("Reading ") and s.endswith("passages…") for s in statuses)
    [start] = fake.of("chat.startStream")
    assert start.args["thread_ts"] == "1700002000.000100"
    assert (start.args["recipient_team_id"], start.args["recipient_user_id"]) == ("T0TEAM", "UMEMBER")
    appends = fake.of("chat.appendStream")
    assert appends, "the answer was streamed in more than one piece"
    first_status = order.index("assistant.threads.setStatus")
    final = order.index("chat.update")
    assert first_status < order.index("chat.startStream") < order.index("chat.appendStream")
    assert order.index("chat.stopStream") < final  # text was visible before the final answer
    key = ("C0CHAN", str(start.response["ts"]))
    streamed = "".join(fake.streams[key])
    assert "Tomas Lindqvist" in streamed and "[Data:" not in streamed
    assert [c.args["markdown_text"] for c in appends] == fake.streams[key][1:]  # appended in order
    [answer] = answers(fake)
    assert answer.args["ts"] == key[1] and "Tomas Lindqvist" in sections_text(answer.args["blocks"])
    assert re.search(r"\[\d", sections_text(answer.args["blocks"]))  # the final edit numbers the citations
    assert_within_limits(answer.args["blocks"])


async def test_a_streaming_model_shows_status_within_a_second_and_text_before_it_has_finished(
    slack_app: Any, fake: FakeSlack, indexed: Settings
) -> None:
    words = "Tomas Lindqvist maintains the data pipeline [Data: Sources (1)]. " + "It runs nightly. " * 20
    model = ScriptedChatModel(replies=[text_reply(words)], chunk_delay=0.05)
    fake.status_channel_kinds = {"C", "D"}  # a workspace with the assistant status in channels
    slack = await slack_app(make_assistant(indexed, model=model))
    slack.bot.edit_interval = 0
    asked = time.monotonic()
    await slack.event(mention("Who maintains the data pipeline?", ts="1700002050.000100"))
    status_after = first_text_at_chunk = None
    while first_text_at_chunk is None and time.monotonic() - asked < 30:
        if status_after is None and fake.of("assistant.threads.setStatus"):
            status_after = time.monotonic() - asked
        if any(
            c.args.get("markdown_text") for c in fake.of("chat.startStream") + fake.of("chat.appendStream")
        ):
            first_text_at_chunk = model.chunks_sent
        await asyncio.sleep(0.01)
    await slack.bot.drain()
    total = len(words.split())
    assert status_after is not None and status_after < 1.0
    assert first_text_at_chunk is not None and first_text_at_chunk < total  # the model was still writing
    assert model.chunks_sent == total
    [answer] = answers(fake)
    assert "Tomas Lindqvist" in sections_text(answer.args["blocks"])


async def test_an_offline_answer_streams_at_most_once_a_second(slack_app: Any, fake: FakeSlack) -> None:
    slack = await slack_app()
    started = time.monotonic()
    await slack.event(mention("Who maintains the data pipeline?", ts="1700002100.000100"))
    await slack.bot.drain()
    elapsed = time.monotonic() - started
    [start] = fake.of("chat.startStream")
    assert len(fake.of("chat.appendStream")) <= elapsed / slack.bot.edit_interval + 1
    assert fake.of("chat.stopStream") and len(answers(fake)) == 1
    key = ("C0CHAN", str(start.response["ts"]))
    assert key in fake.stopped


async def test_where_streaming_is_refused_the_answer_is_posted_then_edited(
    slack_app: Any, fake: FakeSlack
) -> None:
    fake.streaming_error = "not_allowed"
    slack = await slack_app()
    slack.bot.edit_interval = 0
    await slack.event(mention("Who maintains the data pipeline?", ts="1700002200.000100"), event_id="Ev1")
    await slack.bot.drain()
    [refused] = fake.of("chat.startStream", ok_only=False)
    assert refused.response["error"] == "not_allowed" and slack.bot.streaming_refused == {"C"}
    [first] = fake.posted()
    assert first.args["thread_ts"] == "1700002200.000100" and "Extractive answer" in first.args["text"]
    edits = [c for c in fake.of("chat.update") if c.args["ts"] == first.response["ts"]]
    assert len(edits) >= 2 and edits[-1].args["blocks"][-1]["block_id"] == render.FOOTER_BLOCK
    assert "[Data:" not in fake.everything_said()
    # Later answers in that kind of conversation go straight to editing.
    await slack.event(mention("What is the Beacon API?", ts="1700002200.000300"), event_id="Ev2")
    await slack.bot.drain()
    assert len(fake.of("chat.startStream", ok_only=False)) == 1 and len(answers(fake)) == 2


def feedback_clicks(message: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What Slack sends for a click on the 👍 and on the 👎 of an answer message."""
    [block] = [b for b in message["blocks"] if b["type"] == "context_actions"]
    [buttons] = block["elements"]
    assert buttons["type"] == "feedback_buttons"

    def click(which: str) -> dict[str, Any]:
        return {
            "type": "feedback_buttons",
            "action_id": buttons["action_id"],
            "block_id": block["block_id"],
            "value": buttons[which]["value"],
            "text": buttons[which]["text"],
        }

    return click("positive_button"), click("negative_button")


def votes_counted(vote: str, mode: str) -> float:
    return (
        metrics.REGISTRY.get_sample_value("kgbot_feedback_votes_total", {"vote": vote, "mode": mode}) or 0.0
    )


async def test_votes_are_kept_once_survive_a_restart_and_a_thumbs_down_asks_what_was_wrong(
    slack_app: Any, fake: FakeSlack, indexed: Settings, redis_url: str
) -> None:
    first = await slack_app(make_assistant(indexed, RedisMemory(redis_url)))
    await first.event(mention("Who maintains the data pipeline?", ts="1700003000.000100"))
    await first.bot.drain()
    [answer] = answers(fake)
    channel, ts = answer.args["channel"], answer.response["ts"]
    up, down = feedback_clicks(fake.messages[(channel, ts)])
    ups, downs = votes_counted("up", "extractive"), votes_counted("down", "extractive")

    for _ in range(2):  # a double click, or Slack delivering the click again
        status, _ = await first.click(fake.messages[(channel, ts)], up)
        assert status == 200
    await first.bot.drain()
    assert votes_counted("up", "extractive") == ups + 1

    # A new process: new assistant, new memory client, same Redis and the same graph store.
    second = await slack_app(make_assistant(indexed, RedisMemory(redis_url)))
    await second.click(fake.messages[(channel, ts)], down, user="UADMIN")
    await second.click(fake.messages[(channel, ts)], down, user="UADMIN")
    await second.bot.drain()
    [asked] = fake.of("chat.postEphemeral")  # once, though the click came twice
    assert asked.args["user"] == "UADMIN" and asked.args["thread_ts"] == "1700003000.000100"
    assert_within_limits(asked.args["blocks"])
    reasons = [e for b in asked.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    wrong = next(r for r in reasons if r["value"].startswith("sources:"))
    await second.click({"ts": asked.response["message_ts"], "text": "", "blocks": []}, wrong, user="UADMIN")
    await second.bot.drain()
    assert fake.responses[-1]["text"] == render.REASON_THANKS
    assert votes_counted("down", "extractive") == downs + 1
    page, _ = metrics.exposition()  # what /metrics serves
    assert b'kgbot_feedback_votes_total{mode="extractive",vote="down"}' in page

    store = open_store(indexed.store_url)
    try:
        kept = {f.user: f for f in await store.feedback(indexed.kg_namespace)}
    finally:
        await store.close()
    assert set(kept) == {"UMEMBER", "UADMIN"}
    assert kept["UMEMBER"].vote == "up" and kept["UADMIN"].vote == "down"
    assert kept["UADMIN"].reason == "Wrong or missing sources"
    for f in kept.values():
        assert (f.platform, f.workspace, f.mode, f.search) == ("slack", "T0TEAM", "extractive", "local")
        assert f.question == "Who maintains the data pipeline?" and "Tomas Lindqvist" in f.answer
        assert f.cited and all(re.fullmatch(r"\w+:\d+", c) for c in f.cited) and f.generation

    # The same person changing their mind replaces their vote.
    await second.click(fake.messages[(channel, ts)], up, user="UADMIN")
    await second.bot.drain()
    store = open_store(indexed.store_url)
    try:
        assert sorted(f.vote for f in await store.feedback(indexed.kg_namespace)) == ["up", "up"]
        assert await store.feedback("another-namespace") == []
    finally:
        await store.close()


async def test_the_assistant_panel_suggests_top_communities_and_answers_there_like_a_dm(
    slack_app: Any, fake: FakeSlack, indexed: Settings
) -> None:
    slack = await slack_app()
    started = {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": "UMEMBER",
            "context": {"channel_id": "C0CHAN", "team_id": "T0TEAM", "enterprise_id": None},
            "channel_id": "D0DM",
            "thread_ts": "1700004000.000100",
        },
        "event_ts": "1700004000.000200",
    }
    status, _ = await slack.event(started, "EvPanel")
    assert status == 200
    await slack.bot.drain()
    [suggested] = fake.of("assistant.threads.setSuggestedPrompts")
    assert (suggested.args["channel_id"], suggested.args["thread_ts"]) == ("D0DM", "1700004000.000100")
    store = open_store(indexed.store_url)
    try:
        top = [r.report.title for r in await store.child_reports(indexed.kg_namespace, [-1])]
    finally:
        await store.close()
    messages = [p["message"] for p in suggested.args["prompts"]]
    assert top and messages == [f"What do the documents say about {t}?" for t in top[:4]]
    assert all(len(p["title"]) <= render.PROMPT_TITLE_CHARS for p in suggested.args["prompts"])

    question = {
        "type": "message",
        "channel": "D0DM",
        "channel_type": "im",
        "user": "UMEMBER",
        "text": messages[0],
        "ts": "1700004000.000300",
        "thread_ts": "1700004000.000100",
    }
    await slack.event(question, "EvPanelQuestion")
    await slack.bot.drain()
    [start] = fake.of("chat.startStream")
    assert (start.args["channel"], start.args["thread_ts"]) == ("D0DM", "1700004000.000100")
    assert fake.of("assistant.threads.setStatus")[0].args["thread_ts"] == "1700004000.000100"
    [answer] = answers(fake)
    assert answer.args["thread_ts"] == "1700004000.000100"


async def test_a_one_off_stream_refusal_falls_back_for_that_answer_only(
    slack_app: Any, fake: FakeSlack
) -> None:
    fake.streaming_error = "internal_error"  # not "this workspace cannot stream"
    slack = await slack_app()
    slack.bot.edit_interval = 0
    await slack.event(mention("Who maintains the data pipeline?", ts="1700005000.000100"), event_id="Ev1")
    await slack.bot.drain()
    assert fake.posted() and len(answers(fake)) == 1 and slack.bot.streaming_refused == set()
    fake.streaming_error = ""
    await slack.event(mention("What is the Beacon API?", ts="1700005000.000300"), event_id="Ev2")
    await slack.bot.drain()
    assert fake.of("chat.startStream") and len(answers(fake)) == 2
