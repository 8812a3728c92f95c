"""The Discord bot driven for real, offline: discord.py's own client, parsers and HTTP layer, with the HTTP
layer pointed at a local fake Discord API (tests/discord_fake.py) and the assistant over a real SQLite index."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import discord
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from bot.core import PICTURE_EXPIRED, Assistant, Event, Question
from bot.discord.adapter import build_bot
from bot.discord.client import DiscordBot
from bot.discord.render import (
    GRAPH_ALREADY,
    GRAPH_COMMENT,
    GRAPH_FAILED,
    NOT_ADMIN,
    REASON_QUESTION,
    REASON_THANKS,
    SOURCES_EXPIRED,
    VOTE_REPEATED,
    VOTE_THANKS,
)
from bot.memory import LocalMemory, Memory, RedisMemory
from kg.config import Settings
from kg.index.pipeline import build_index
from kg.model import Turn
from kg.store import open_store
from tests.conftest import RedisServer
from tests.discord_fake import EPHEMERAL, PNG, Call, FakeDiscord
from tests.scripted_model import ScriptedChatModel, text_reply

G, C = FakeDiscord.GUILD_ID, FakeDiscord.CHANNEL_ID
MANAGE_GUILD = discord.Permissions(manage_guild=True).value
ADMINISTRATOR = discord.Permissions(administrator=True).value
SEND = discord.Permissions(send_messages=True, read_message_history=True).value
LISTED_ADMIN = 1600000000000000009  # in KG_ADMINS, without any server permission

PAGER = (
    "When the Lantern Engine fails, Tomas Lindqvist pages the on-call team with @everyone and <@123> "
    "in the Beacon channel.\n"
)


def person(user_id: int = 1600000000000000001, name: str = "maria") -> dict[str, Any]:
    return FakeDiscord().user(user_id, name)


def payload_of(call: Call) -> dict[str, Any] | None:
    """The message part of a request: the body, or the `data` of an interaction callback."""
    if not isinstance(call.body, dict):
        return None
    return call.body.get("data") if call.path.endswith("/callback") else call.body


def assert_nothing_pings(fake: FakeDiscord) -> None:
    sent = 0
    for call in fake.calls:
        payload = payload_of(call)
        if not payload or not any(payload.get(k) for k in ("content", "embeds", "components")):
            continue
        sent += 1
        mentions = payload.get("allowed_mentions")
        assert mentions is not None and mentions["parse"] == [], call
        assert not mentions.get("users") and not mentions.get("roles") and not mentions.get("replied_user"), (
            call
        )
    assert sent, "no message was sent at all"


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture
async def fake(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    base = await server.start()
    # discord.py builds every REST and webhook URL from Route.BASE
    monkeypatch.setattr(discord.http.Route, "BASE", base)
    yield server
    await server.stop()
    assert server.unknown == [], "the bot called routes the fake does not know"
    # discord.py logs (and swallows) exceptions raised in event handlers, commands and views
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


@pytest.fixture
async def indexed(corpus: Path, settings: Settings) -> Settings:
    (corpus / "pager.txt").write_text(PAGER, encoding="utf-8")
    store = open_store(settings.store_url)
    await build_index([corpus], store, settings)
    await store.close()
    return settings.model_copy(update={"kg_sources": str(corpus), "kg_admins": str(LISTED_ADMIN)})


def make_assistant(settings: Settings, memory: Memory | None = None, **kw: Any) -> Assistant:
    return Assistant(
        settings, open_store(settings.store_url), memory or LocalMemory(), progress_interval=0.0, **kw
    )


Starter = Callable[..., Awaitable[DiscordBot]]


@pytest.fixture
async def start_bot(fake: FakeDiscord) -> AsyncIterator[Starter]:
    """Logs a DiscordBot in against the fake API (GET /users/@me, the application, command sync) and feeds it
    the server it is in, as the gateway would (GUILD_CREATE)."""
    bots: list[DiscordBot] = []

    async def start(assistant: Assistant, guild_ids: tuple[int, ...] = (G,)) -> DiscordBot:
        bot = build_bot(assistant, guild_ids=guild_ids)
        await bot.login("fake-token")
        bot._connection.parse_guild_create(fake.guild())
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        if not bot.is_closed():
            await bot.close()
            await bot.assistant.close()


async def settle() -> None:
    """Let anything the bot still has scheduled run (for asserting that nothing more happens)."""
    for _ in range(20):
        await asyncio.sleep(0.01)


# --- start-up ----------------------------------------------------------------------------------------


async def test_commands_are_synced_to_the_configured_servers(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    bot = await start_bot(make_assistant(indexed))
    assert bot.user is not None and bot.user.id == FakeDiscord.BOT_ID
    assert bot.intents.value == discord.Intents(guilds=True, guild_messages=True).value
    assert not bot.intents.message_content and not bot.intents.members and not bot.intents.presences
    [sync] = fake.find("PUT", rf"/applications/{FakeDiscord.APP_ID}/guilds/{G}/commands")
    commands = {c["name"]: c for c in sync.body}
    assert set(commands) == {"ask", "reindex"}
    assert commands["ask"]["options"][0]["name"] == "question" and commands["ask"]["options"][0]["required"]
    assert int(commands["reindex"]["default_member_permissions"]) == MANAGE_GUILD
    assert not fake.find("PUT", rf"/applications/{FakeDiscord.APP_ID}/commands")


async def test_commands_are_synced_globally_without_configured_servers(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    await start_bot(make_assistant(indexed), guild_ids=())
    [sync] = fake.find("PUT", rf"/applications/{FakeDiscord.APP_ID}/commands")
    assert {c["name"] for c in sync.body} == {"ask", "reindex"}
    assert not fake.find("PUT", r"/applications/\d+/guilds/\d+/commands")


# --- /ask --------------------------------------------------------------------------------------------


class GatedAssistant(Assistant):
    """Answers only once the test opens the gate: shows what the bot does before an answer exists."""

    gate: asyncio.Event

    async def stream(self, q: Question) -> AsyncIterator[Event]:
        await self.gate.wait()
        async for event in super().stream(q):
            yield event


async def test_ask_defers_then_follows_up_and_opens_a_thread(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    assistant = GatedAssistant(indexed, open_store(indexed.store_url), LocalMemory(), progress_interval=0.0)
    assistant.gate = asyncio.Event()
    bot = await start_bot(assistant)
    payload = fake.command("ask", person(), question="What is the Lantern Engine?")
    bot._connection.parse_interaction_create(payload)

    # Acknowledged while the answer is still being worked out (Discord allows 3 seconds).
    [defer] = await fake.wait_for("POST", rf"/interactions/{payload['id']}/{payload['token']}/callback")
    assert defer.body["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: "kgbot is thinking..."
    assert defer.query == {"with_response": "1"}
    await settle()
    assert not fake.find("POST", r"/webhooks/.*") and not fake.find("PATCH", r".*")
    assistant.gate.set()

    # The answer replaces the "thinking" message (Edit Original Interaction Response): its first text, then
    # the finished answer, with its buttons.
    original_path = rf"/webhooks/{FakeDiscord.APP_ID}/{payload['token']}/messages/@original"
    [thread] = await fake.wait_for("POST", rf"/channels/{C}/messages/\d+/threads")
    edits = fake.find("PATCH", original_path)
    first_text, followup = edits[0], edits[-1]
    assert len(edits) >= 2 and first_text.body["components"] == [] and first_text.body["content"]
    order = [c for c in fake.calls]
    assert order.index(defer) < order.index(first_text) < order.index(followup) < order.index(thread)

    content = followup.body["content"]
    assert "Lantern Engine" in content and "[Data:" not in content and "[1]" in content
    [row] = followup.body["components"]
    button, graph, up, down = row["components"]
    assert button["custom_id"].startswith("kgbot:sources:") and button["label"].startswith("Sources (")
    assert graph["custom_id"].startswith("kgbot:graph:") and graph["label"] == "Show graph"
    assert len(graph["custom_id"]) <= 100
    assert up["custom_id"].startswith("kgbot:vote:up:") and down["custom_id"].startswith("kgbot:vote:down:")
    # The thread is opened on the answer, which replaced the deferred "thinking" message.
    original = fake.interactions[payload["token"]]["original"]
    assert thread.path == f"/channels/{C}/messages/{original}/threads"
    assert thread.body["name"] == "What is the Lantern Engine?"
    # Its conversation is the thread's: a follow-up there finds this question in the history.
    history = await assistant.memory.history(f"discord:{G}:{C}:{original}")
    assert [t.text for t in history] == ["What is the Lantern Engine?", history[1].text]
    assert_nothing_pings(fake)


async def test_ask_inside_a_thread_answers_there_without_a_new_thread(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    assistant = make_assistant(indexed)
    bot = await start_bot(assistant)
    thread_id = fake.snowflake()
    fake.channels[thread_id] = fake.thread(thread_id, C, "Earlier question")
    bot._connection.parse_thread_create(fake.channels[thread_id])
    payload = fake.command("ask", person(), channel_id=thread_id, question="Who maintains the data pipeline?")
    bot._connection.parse_interaction_create(payload)
    await fake.wait_for("PATCH", rf"/webhooks/{FakeDiscord.APP_ID}/{payload['token']}/messages/@original")
    await bot.drain()
    followup = fake.find("PATCH", rf"/webhooks/{FakeDiscord.APP_ID}/{payload['token']}/messages/@original")[
        -1
    ]
    assert "Tomas Lindqvist" in followup.body["content"]
    await settle()
    assert not fake.find("POST", r"/channels/\d+/messages/\d+/threads")
    assert len(await assistant.memory.history(f"discord:{G}:{C}:{thread_id}")) == 2


# --- mentions --------------------------------------------------------------------------------------------


class RecordingAssistant(Assistant):
    """Records the history each question was asked with."""

    seen: list[tuple[Question, list[Turn]]]

    async def stream(self, q: Question) -> AsyncIterator[Event]:
        self.seen.append((q, await self.memory.history(q.thread_key)))
        async for event in super().stream(q):
            yield event


async def test_mention_is_answered_in_a_thread_and_follow_ups_use_its_history(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    assistant = RecordingAssistant(
        indexed, open_store(indexed.store_url), LocalMemory(), progress_interval=0.0
    )
    assistant.seen = []
    bot = await start_bot(assistant)
    mention = fake.user_message(C, f"<@{FakeDiscord.BOT_ID}> What is the Lantern Engine?", person())
    bot._connection.parse_message_create(mention)

    [thread] = await fake.wait_for("POST", rf"/channels/{C}/messages/{mention['id']}/threads")
    assert thread.body["name"] == "What is the Lantern Engine?"
    thread_id = mention["id"]  # a thread created from a message has the message's id
    [answer] = await answered(bot, fake, thread_id)
    assert "Lantern Engine" in answer["content"] and "[Data:" not in answer["content"]
    assert answer["components"][0]["components"][0]["custom_id"].startswith("kgbot:sources:")
    assert fake.find("POST", rf"/channels/{C}/typing")
    assert not fake.find("POST", rf"/channels/{C}/messages")  # nothing posted in the channel itself
    question, history = assistant.seen[0]
    assert question.text == "What is the Lantern Engine?" and history == []

    # Discord tells the bot about the new thread, then someone mentions it there.
    bot._connection.parse_thread_create(fake.channels[int(thread_id)])
    follow_up = fake.user_message(int(thread_id), f"<@{FakeDiscord.BOT_ID}> Who designed it?", person())
    bot._connection.parse_message_create(follow_up)
    await fake.wait_for("POST", rf"/channels/{thread_id}/messages", count=2)
    question, history = assistant.seen[1]
    assert (question.channel, question.thread) == (str(C), thread_id)
    assert [t.text for t in history][0] == "What is the Lantern Engine?"
    assert len(history) == 2
    await settle()
    assert len(fake.find("POST", r"/channels/\d+/messages/\d+/threads")) == 1  # no second thread
    assert_nothing_pings(fake)


async def test_mention_in_a_thread_the_bot_has_not_seen_is_answered_there(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    bot = await start_bot(make_assistant(indexed))
    thread_id = fake.snowflake()
    fake.channels[thread_id] = fake.thread(thread_id, C, "Older thread")  # not in discord.py's cache
    message = fake.user_message(
        thread_id, f"<@!{FakeDiscord.BOT_ID}> Who maintains the data pipeline?", person()
    )
    bot._connection.parse_message_create(message)
    [answer] = await answered(bot, fake, thread_id)
    assert "Tomas Lindqvist" in answer["content"]
    assert fake.find("GET", rf"/channels/{thread_id}")
    assert not fake.find("POST", r"/channels/\d+/messages/\d+/threads")


async def test_messages_not_for_the_bot_are_ignored(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    bot = await start_bot(make_assistant(indexed))
    before = len(fake.calls)
    bot._connection.parse_message_create(
        fake.user_message(C, "What is the Lantern Engine?", person(), mention_bot=False)
    )
    other_bot = {**person(1600000000000000077, "otherbot"), "bot": True}
    bot._connection.parse_message_create(
        fake.user_message(C, f"<@{FakeDiscord.BOT_ID}> What is the Lantern Engine?", other_bot)
    )
    everyone = fake.user_message(C, "@everyone What is the Lantern Engine?", person(), mention_bot=False)
    everyone["mention_everyone"] = True
    bot._connection.parse_message_create(everyone)
    await settle()
    assert fake.calls[before:] == []


# --- /reindex ----------------------------------------------------------------------------------------------


async def test_reindex_is_refused_for_members_without_permission(
    fake: FakeDiscord, indexed: Settings, corpus: Path, start_bot: Starter
) -> None:
    assistant = make_assistant(indexed)
    bot = await start_bot(assistant)
    before = await assistant.store.stats("default")
    (corpus / "new.txt").write_text("The Aurora Project is run by Quentin Blake.", encoding="utf-8")
    payload = fake.command("reindex", person(), permissions=SEND)
    bot._connection.parse_interaction_create(payload)

    [refusal] = await fake.wait_for("POST", rf"/interactions/{payload['id']}/{payload['token']}/callback")
    assert refusal.body["type"] == 4
    assert refusal.body["data"]["content"] == NOT_ADMIN
    assert refusal.body["data"]["flags"] & EPHEMERAL
    await settle()
    assert len(fake.find("POST", r"/interactions/.*")) == 1
    assert not fake.find("PATCH", r".*") and not fake.find("POST", r"/(webhooks|channels)/.*")
    assert await assistant.store.stats("default") == before  # the index is untouched
    assert await assistant.memory.acquire("reindex:default")  # and no reindex holds the lock
    assert_nothing_pings(fake)


@pytest.mark.parametrize(
    ("user_id", "permissions"),
    [(1600000000000000001, MANAGE_GUILD), (1600000000000000002, ADMINISTRATOR), (LISTED_ADMIN, SEND)],
    ids=["manage-server", "administrator", "kg-admins"],
)
async def test_reindex_by_an_admin_edits_one_message_with_progress_then_the_summary(
    fake: FakeDiscord,
    indexed: Settings,
    corpus: Path,
    start_bot: Starter,
    user_id: int,
    permissions: int,
) -> None:
    assistant = make_assistant(indexed)
    bot = await start_bot(assistant)
    (corpus / "new.txt").write_text("The Aurora Project is run by Quentin Blake.", encoding="utf-8")
    payload = fake.command("reindex", person(user_id, "admin"), permissions=permissions)
    bot._connection.parse_interaction_create(payload)

    [start] = await fake.wait_for("POST", rf"/interactions/{payload['id']}/{payload['token']}/callback")
    assert start.body["type"] == 4 and not start.body["data"].get("flags", 0) & EPHEMERAL
    assert start.body["data"]["content"].startswith("Reindexing 'default'")
    edit_path = rf"/webhooks/{FakeDiscord.APP_ID}/{payload['token']}/messages/@original"
    for _ in range(2000):
        edits = fake.find("PATCH", edit_path)
        if edits and edits[-1].body["content"].startswith("Reindexed"):
            break
        await asyncio.sleep(0.01)
    contents = [e.body["content"] for e in edits]
    assert contents[-1].startswith("Reindexed 'default': 5 documents"), contents
    assert any("█" in c and "%" in c for c in contents[:-1]), contents  # progress bars before the summary
    await settle()
    writes = {
        c.path for c in fake.calls if c.method in ("POST", "PATCH", "DELETE") and "/commands" not in c.path
    }
    assert writes == {start.path, edit_path.replace("\\", "")}  # one message, nothing else posted or edited
    stats = await assistant.store.stats("default")
    assert stats is not None and stats.counts["documents"] == 5
    assert_nothing_pings(fake)


# --- the Sources button ------------------------------------------------------------------------------------


async def ask_by_mention(bot: DiscordBot, fake: FakeDiscord, question: str) -> dict[str, Any]:
    """Mentions the bot with `question`; returns the message the answer's Sources button is on."""
    mention = fake.user_message(C, f"<@{FakeDiscord.BOT_ID}> {question}", person())
    bot._connection.parse_message_create(mention)
    return next(m for m in await answered(bot, fake, mention["id"]) if m["components"])


async def answered(bot: DiscordBot, fake: FakeDiscord, channel_id: int | str) -> list[dict[str, Any]]:
    """The bot's messages in a channel once it has finished answering, as they are after every edit."""
    await fake.wait_for("POST", rf"/channels/{channel_id}/messages")
    await bot.drain()
    return [m for m in fake.messages.values() if m["channel_id"] == str(channel_id)]


async def click(bot: DiscordBot, fake: FakeDiscord, message: dict[str, Any]) -> dict[str, Any]:
    custom_id = message["components"][0]["components"][0]["custom_id"]
    payload = fake.button_click(message, custom_id, person(1600000000000000003, "tomas"))
    bot._connection.parse_interaction_create(payload)
    [response] = await fake.wait_for("POST", rf"/interactions/{payload['id']}/{payload['token']}/callback")
    assert response.body["type"] == 4 and response.body["data"]["flags"] & EPHEMERAL
    return response.body["data"]


async def test_sources_button_works_after_a_restart_and_says_when_sources_expired(
    fake: FakeDiscord, indexed: Settings, redis_url: str, start_bot: Starter
) -> None:
    bot = await start_bot(make_assistant(indexed, RedisMemory(redis_url)))
    message = await ask_by_mention(bot, fake, "What is the Lantern Engine?")
    label = message["components"][0]["components"][0]["label"]

    shown = await click(bot, fake, message)
    [embed] = shown["embeds"]
    assert embed["title"] == label
    names = [f["name"] for f in embed["fields"]]
    assert any(n.startswith("[") for n in names) and any(n.startswith("Entities (") for n in names)
    source = next(f for f in embed["fields"] if f["name"].startswith("["))
    assert "characters" in source["value"] and "\n> " in source["value"]

    # A new process: new client, new assistant, the same Redis.
    await bot.close()
    await bot.assistant.close()
    restarted = await start_bot(make_assistant(indexed, RedisMemory(redis_url)))
    again = await click(restarted, fake, message)
    assert again["embeds"] == shown["embeds"]

    # Stored sources expire: the click then says so, in a message only the clicker sees.
    import redis.asyncio as redis

    client = redis.from_url(redis_url)
    await client.flushall()
    await client.aclose()
    expired = await click(restarted, fake, message)
    assert expired["content"] == SOURCES_EXPIRED and not expired.get("embeds")
    assert_nothing_pings(fake)


# --- long answers and mentions in answers -----------------------------------------------------------------


LONG_ANSWER = "\n\n".join(
    [f"Paragraph {i} about the Lantern Engine. " + "It forecasts coastal weather. " * 12 for i in range(8)]
    + [
        "```python\n"
        + "\n".join(f"forecast_{i} = lantern.run(buoys, radar)  # step {i}" for i in range(40))
        + "\n```"
    ]
    + [f"Closing paragraph {i}. " + "Wave ensemble averaging helps. " * 10 for i in range(4)]
    + [
        "The Lantern Engine is described in the documents [Data: Entities (1, 2, 3, 4, 5); Sources (1, 2, 3)]."
    ]
)


async def test_long_answers_are_split_between_paragraphs_and_never_inside_code(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    model = FakeListChatModel(responses=[LONG_ANSWER])
    bot = await start_bot(make_assistant(indexed, model=model))
    mention = fake.user_message(
        C, f"<@{FakeDiscord.BOT_ID}> Tell me everything about the Lantern Engine", person()
    )
    bot._connection.parse_message_create(mention)
    sent = await answered(bot, fake, mention["id"])
    contents = [b["content"] for b in sent]
    assert len(contents) >= 3
    assert all(len(c) <= 2000 for c in contents)
    assert all(c.count("```") % 2 == 0 for c in contents)  # every code block opens and closes in one message
    code_lines = [line for c in contents for line in c.splitlines() if line.startswith("forecast_")]
    assert len(code_lines) == 40  # nothing lost
    assert all(not c.startswith((" ", "\n")) for c in contents)
    for paragraph in (p for p in LONG_ANSWER.split("\n\n") if not p.startswith("```") and "[Data:" not in p):
        assert any(paragraph.strip() in c for c in contents)  # no paragraph cut in two
    assert "[Data:" not in contents[-1] and "[1]" in contents[-1]
    # The Sources button comes once, under the last part.
    assert [bool(b.get("components")) for b in sent] == [False] * (len(sent) - 1) + [True]
    assert_nothing_pings(fake)


async def test_mentions_in_documents_ping_nobody(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    bot = await start_bot(make_assistant(indexed))
    message = await ask_by_mention(bot, fake, "What happens when the Lantern Engine fails?")
    content = message["content"]
    assert "on-call team with @\u200beveryone and @123 in" in content  # markup read as people read it
    assert "@everyone" not in content and "<@123>" not in content
    shown = await click(bot, fake, message)
    excerpts = " ".join(f["value"] for f in shown["embeds"][0]["fields"])
    assert "everyone" in excerpts and "@everyone" not in excerpts and "<@123>" not in excerpts
    assert_nothing_pings(fake)


async def test_long_ask_answer_continues_in_follow_ups_with_the_button_on_the_last(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    bot = await start_bot(make_assistant(indexed, model=FakeListChatModel(responses=[LONG_ANSWER])))
    payload = fake.command("ask", person(), question="Tell me everything about the Lantern Engine")
    bot._connection.parse_interaction_create(payload)
    await fake.wait_for("POST", rf"/channels/{C}/messages/\d+/threads")
    await bot.drain()
    first = fake.find("PATCH", rf"/webhooks/{FakeDiscord.APP_ID}/{payload['token']}/messages/@original")[-1]
    rest = fake.find("POST", rf"/webhooks/{FakeDiscord.APP_ID}/{payload['token']}")
    parts = [first.body, *(c.body for c in rest)]
    assert len(parts) >= 3
    assert all(len(p["content"]) <= 2000 and p["content"].count("```") % 2 == 0 for p in parts)
    assert [bool(p.get("components")) for p in parts] == [False] * (len(parts) - 1) + [True]
    original = fake.interactions[payload["token"]]["original"]
    assert fake.find("POST", rf"/channels/{C}/messages/{original}/threads")  # the thread starts at part one
    assert_nothing_pings(fake)


async def test_a_bare_mention_gets_usage_help_in_place_without_a_thread(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    bot = await start_bot(make_assistant(indexed))
    mention = fake.user_message(C, f"<@{FakeDiscord.BOT_ID}>", person())
    bot._connection.parse_message_create(mention)
    [notice] = await fake.wait_for("POST", rf"/channels/{C}/messages")
    assert notice.body["content"].startswith("Please ask a question")
    assert str(notice.body["message_reference"]["message_id"]) == mention["id"]
    assert not notice.body.get("components")
    await settle()
    assert not fake.find("POST", r"/channels/\d+/messages/\d+/threads")
    assert_nothing_pings(fake)


# --- hostile and unlucky deliveries ------------------------------------------------------------------------


async def test_a_redelivered_interaction_is_handled_once(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    bot = await start_bot(make_assistant(indexed))
    payload = fake.command("ask", person(), question="What is the Lantern Engine?")
    bot._connection.parse_interaction_create(payload)
    bot._connection.parse_interaction_create(payload)  # the gateway replays it (e.g. after a resume)
    await fake.wait_for("POST", rf"/channels/{C}/messages/\d+/threads")
    bot._connection.parse_interaction_create(payload)  # and once more after it was answered
    await settle()
    await bot.drain()
    assert len(fake.find("POST", rf"/interactions/{payload['id']}/.*")) == 1
    assert fake.find("PATCH", r"/webhooks/.*")
    assert len(fake.find("POST", r"/channels/\d+/messages/\d+/threads")) == 1

    # A replayed click on the Sources button is answered once too.
    message = fake.messages[fake.interactions[payload["token"]]["original"]]
    custom_id = message["components"][0]["components"][0]["custom_id"]
    click = fake.button_click(message, custom_id, person())
    bot._connection.parse_interaction_create(click)
    bot._connection.parse_interaction_create(click)
    await fake.wait_for("POST", rf"/interactions/{click['id']}/.*")
    await settle()
    assert len(fake.find("POST", rf"/interactions/{click['id']}/.*")) == 1
    # (the fixture fails the test on any error logged, e.g. "Interaction has already been acknowledged")


async def test_a_redelivered_mention_shows_no_work_and_is_answered_once(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    bot = await start_bot(make_assistant(indexed))
    mention = fake.user_message(C, f"<@{FakeDiscord.BOT_ID}> What is the Lantern Engine?", person())
    bot._connection.parse_message_create(mention)
    await fake.wait_for("POST", rf"/channels/{mention['id']}/messages")
    bot._connection.parse_message_create(mention)
    await settle()
    await bot.drain()
    assert len(fake.find("POST", rf"/channels/{C}/typing")) == 1
    assert len(fake.find("POST", rf"/channels/{mention['id']}/messages")) == 1


@pytest.mark.parametrize(
    ("question", "says"),
    [
        ("What is the Lantern Engine? " * 120, r"3,359 characters long; please keep it under 2,000"),
        ("\u200b\u200b", r"^Please ask a question"),  # passes Discord's length check, empty once cleaned
    ],
    ids=["too-long", "invisible"],
)
async def test_an_unanswerable_ask_is_refused_privately_with_nothing_public(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter, question: str, says: str
) -> None:
    bot = await start_bot(make_assistant(indexed))
    payload = fake.command("ask", person(), question=question)
    bot._connection.parse_interaction_create(payload)
    [refusal] = await fake.wait_for("POST", rf"/interactions/{payload['id']}/{payload['token']}/callback")
    await settle()
    assert refusal.body["type"] == 4 and refusal.body["data"]["flags"] & EPHEMERAL
    assert re.search(says, refusal.body["data"]["content"])
    assert not fake.find("PATCH", r".*") and not fake.find("POST", r"/(webhooks|channels)/.*")
    assert_nothing_pings(fake)


async def test_malformed_ask_payloads_get_one_private_line(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(make_assistant(indexed))
    wrong_type = fake.command("ask", person(), question="x")
    wrong_type["data"]["options"] = [{"name": "question", "type": 4, "value": 5}]  # an integer, not text
    missing = fake.command("ask", person())  # a command registered before `question` existed
    for payload in (wrong_type, missing):
        caplog.clear()
        bot._connection.parse_interaction_create(payload)
        [reply] = await fake.wait_for("POST", rf"/interactions/{payload['id']}/{payload['token']}/callback")
        await settle()
        assert reply.body["type"] == 4 and reply.body["data"]["flags"] & EPHEMERAL, payload["data"]
        assert "\n" not in reply.body["data"]["content"]
        logged = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot.")]
        assert len(logged) <= 1 and not any(r.exc_info for r in logged), [r.getMessage() for r in logged]
    assert not fake.find("PATCH", r".*") and not fake.find("POST", r"/(webhooks|channels)/.*")


async def test_a_mention_first_seen_while_redis_was_down_is_not_answered_again_after(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter, redis_server: RedisServer, redis_url: str
) -> None:
    memory = RedisMemory(redis_url, timeout=0.3)
    memory.RETRY_AFTER = 0  # try Redis again on every call: no waiting for it to come back
    bot = await start_bot(make_assistant(indexed, memory))
    mention = fake.user_message(C, f"<@{FakeDiscord.BOT_ID}> What is the Lantern Engine?", person())
    redis_server.stop()
    try:
        bot._connection.parse_message_create(mention)
        await fake.wait_for("POST", rf"/channels/{mention['id']}/messages")
        await bot.drain()
        assert not await memory.healthy()
    finally:
        redis_server.start()
    assert await memory.healthy()
    bot._connection.parse_message_create(mention)  # redelivered once Redis is back
    await settle()
    await bot.drain()
    assert len(fake.find("POST", rf"/channels/{mention['id']}/messages")) == 1
    assert not fake.find("POST", rf"/channels/{C}/messages")


# --- streaming and feedback ------------------------------------------------------------------------------


async def test_a_mention_shows_its_first_text_then_edits_at_most_once_a_second(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    bot = await start_bot(make_assistant(indexed))
    bot.edit_interval = 0.3  # shorter than Discord needs, to keep the test quick; the rule is the same
    mention = fake.user_message(C, f"<@{FakeDiscord.BOT_ID}> Who maintains the data pipeline?", person())
    bot._connection.parse_message_create(mention)
    [answer] = await answered(bot, fake, mention["id"])
    [first] = fake.find("POST", rf"/channels/{mention['id']}/messages")
    edits = fake.find("PATCH", rf"/channels/{mention['id']}/messages/{answer['id']}")
    assert first.body["content"] and not first.body.get("components")  # text before the answer was final
    assert "[Data:" not in first.body["content"]
    assert edits and edits[-1].body["components"] and "Tomas Lindqvist" in edits[-1].body["content"]
    times = [first.at, *(e.at for e in edits)]
    assert all(
        later - earlier >= bot.edit_interval * 0.9 for earlier, later in zip(times, times[1:], strict=False)
    )
    assert answer["content"] == edits[-1].body["content"] and "[1]" in answer["content"]
    assert_nothing_pings(fake)


async def test_a_streaming_model_shows_text_on_discord_before_it_has_finished(
    fake: FakeDiscord, indexed: Settings, start_bot: Starter
) -> None:
    words = "Tomas Lindqvist maintains the data pipeline [Data: Sources (1)]. " + "It runs nightly. " * 20
    model = ScriptedChatModel(replies=[text_reply(words)], chunk_delay=0.05)
    bot = await start_bot(make_assistant(indexed, model=model))
    bot.edit_interval = 0.2
    mention = fake.user_message(C, f"<@{FakeDiscord.BOT_ID}> Who maintains the data pipeline?", person())
    bot._connection.parse_message_create(mention)
    first_text_at_chunk = None
    for _ in range(3000):  # bounded: 30 s
        if fake.find("POST", rf"/channels/{mention['id']}/messages"):
            first_text_at_chunk = model.chunks_sent
            break
        await asyncio.sleep(0.01)
    [answer] = await answered(bot, fake, mention["id"])
    total = len(words.split())
    assert first_text_at_chunk is not None and first_text_at_chunk < total  # the model was still writing
    assert model.chunks_sent == total and "Tomas Lindqvist" in answer["content"]
    edits = fake.find("PATCH", rf"/channels/{mention['id']}/messages/{answer['id']}")
    assert len(edits) >= 2  # edited as the text grew, then finished
    assert_nothing_pings(fake)


async def vote(
    bot: DiscordBot, fake: FakeDiscord, message: dict[str, Any], custom_id: str, user: dict[str, Any]
) -> dict[str, Any]:
    """Clicks a button as `user`; the interaction response's body."""
    payload = fake.button_click(message, custom_id, user)
    bot._connection.parse_interaction_create(payload)
    [response] = await fake.wait_for("POST", rf"/interactions/{payload['id']}/{payload['token']}/callback")
    return response.body


async def test_votes_on_discord_are_kept_once_survive_a_restart_and_a_thumbs_down_asks_why(
    fake: FakeDiscord, indexed: Settings, redis_url: str, start_bot: Starter
) -> None:
    bot = await start_bot(make_assistant(indexed, RedisMemory(redis_url)))
    message = await ask_by_mention(bot, fake, "Who maintains the data pipeline?")
    _sources, _graph, up, down = (b["custom_id"] for b in message["components"][0]["components"])
    maria, tomas = person(), person(1600000000000000003, "tomas")

    thanked = await vote(bot, fake, message, up, maria)
    assert thanked["data"]["content"] == VOTE_THANKS and thanked["data"]["flags"] & EPHEMERAL
    again = await vote(bot, fake, message, up, maria)  # a double click counts once
    assert again["data"]["content"] == VOTE_REPEATED

    # A new process: new client and assistant, the same Redis and graph store; the buttons still work.
    await bot.close()
    await bot.assistant.close()
    restarted = await start_bot(make_assistant(indexed, RedisMemory(redis_url)))
    asked = await vote(restarted, fake, message, down, tomas)
    assert asked["data"]["content"] == REASON_QUESTION and asked["data"]["flags"] & EPHEMERAL
    reasons = [b["custom_id"] for row in asked["data"]["components"] for b in row["components"]]
    prompt = next(m for m in fake.messages.values() if m["content"] == REASON_QUESTION)
    done = await vote(restarted, fake, prompt, next(r for r in reasons if ":outdated:" in r), tomas)
    assert done["type"] == 7 and done["data"]["content"] == REASON_THANKS

    store = open_store(indexed.store_url)
    try:
        kept = {f.user: f for f in await store.feedback(indexed.kg_namespace)}
    finally:
        await store.close()
    assert {u: f.vote for u, f in kept.items()} == {maria["id"]: "up", tomas["id"]: "down"}
    assert kept[tomas["id"]].reason == "Out of date"
    for f in kept.values():
        assert (f.platform, f.workspace, f.mode) == ("discord", str(G), "extractive")
        assert f.question == "Who maintains the data pipeline?" and "Tomas Lindqvist" in f.answer and f.cited
    assert_nothing_pings(fake)


# --- "Show graph" ----------------------------------------------------------------------------------------


def graph_id(message: dict[str, Any]) -> str:
    return next(
        b["custom_id"]
        for b in message["components"][0]["components"]
        if b.get("custom_id", "").startswith("kgbot:graph:")
    )


async def click_graph(
    bot: DiscordBot, fake: FakeDiscord, message: dict[str, Any], user: dict[str, Any]
) -> Call:
    """Clicks "Show graph" as `user`; the follow-up the click ended with (the picture or a private line)."""
    payload = fake.button_click(message, graph_id(message), user)
    bot._connection.parse_interaction_create(payload)
    [ack] = await fake.wait_for("POST", rf"/interactions/{payload['id']}/{payload['token']}/callback")
    assert ack.body["type"] == 6  # a deferred update: the answer stays as it is, nothing shown yet
    await bot.drain()  # the click is handled from before its acknowledgement until its last follow-up
    return fake.find("POST", rf"/webhooks/{FakeDiscord.APP_ID}/{payload['token']}")[-1]


def private_line(call: Call) -> str:
    assert call.body.get("flags", 0) & EPHEMERAL and not call.files, call
    return str(call.body["content"])


async def test_show_graph_posts_one_png_into_the_answers_thread_across_clicks_and_processes(
    fake: FakeDiscord, indexed: Settings, redis_url: str, start_bot: Starter
) -> None:
    first = await start_bot(make_assistant(indexed, RedisMemory(redis_url)))
    second = await start_bot(make_assistant(indexed, RedisMemory(redis_url)))  # another process, same Redis
    message = await ask_by_mention(first, fake, "What is the Lantern Engine?")
    thread = message["channel_id"]
    assert int(thread) != C  # the answer is in its own thread

    # Two people click at the same moment, each click handled by another process: one picture.
    clicks = [
        (bot, fake.button_click(message, graph_id(message), user))
        for bot, user in ((first, person()), (second, person(1600000000000000003, "tomas")))
    ]
    for bot, payload in clicks:
        bot._connection.parse_interaction_create(payload)
    for _bot, payload in clicks:
        await fake.wait_for("POST", rf"/webhooks/{FakeDiscord.APP_ID}/{payload['token']}")
    [(posted, upload)] = fake.uploads()
    assert upload.data.startswith(PNG) and upload.filename == "evidence.png" and len(upload.data) > 1000
    assert upload.name == "files[0]"
    assert posted.body["content"] == GRAPH_COMMENT and not posted.body.get("flags", 0) & EPHEMERAL
    assert posted.body["attachments"] == [
        {"id": 0, "filename": "evidence.png", "description": "Evidence graph"}
    ]
    shown = next(m for m in fake.messages.values() if m["attachments"])
    assert shown["channel_id"] == thread and shown["content"] == GRAPH_COMMENT
    assert shown["attachments"][0]["content_type"] == "image/png"
    others = [c for c in fake.find("POST", r"/webhooks/.*") if c is not posted]
    assert [private_line(c) for c in others] == [GRAPH_ALREADY]

    # A later click, on either process, says it is already there.
    again = await click_graph(second, fake, message, person(1600000000000000004, "ines"))
    assert private_line(again) == GRAPH_ALREADY
    await settle()
    assert len(fake.uploads()) == 1
    assert_nothing_pings(fake)


async def test_show_graph_is_given_back_when_the_upload_fails_and_says_when_the_answer_expired(
    fake: FakeDiscord, indexed: Settings, redis_url: str, start_bot: Starter, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(make_assistant(indexed, RedisMemory(redis_url)))
    message = await ask_by_mention(bot, fake, "Who maintains the data pipeline?")

    fake.refuse_files = 1  # Discord refuses the upload: one private line, and the next click tries again
    refused = await click_graph(bot, fake, message, person())
    assert private_line(refused) == GRAPH_FAILED
    assert "Traceback" not in refused.body["content"]
    assert any(r.getMessage() == "could not post a graph" and r.exc_info for r in caplog.records)  # details
    retried = await click_graph(bot, fake, message, person())
    assert (
        retried.files and retried.files[0].data.startswith(PNG) and retried.body["content"] == GRAPH_COMMENT
    )
    assert len(fake.uploads()) == 2  # the refused one, then the one posted

    # A restarted process with the stored answer gone (expired): the click says so, nothing is posted.
    await bot.close()
    await bot.assistant.close()
    import redis.asyncio as redis

    client = redis.from_url(redis_url)
    await client.flushall()
    await client.aclose()
    restarted = await start_bot(make_assistant(indexed, RedisMemory(redis_url)))
    expired = await click_graph(restarted, fake, message, person())
    assert private_line(expired) == PICTURE_EXPIRED
    assert len(fake.uploads()) == 2
    assert_nothing_pings(fake)
