"""The Slack app: Bolt's AsyncApp with kgbot's state, and how an answer is said in a Slack thread.

Listeners (bot/slack/listeners/) acknowledge Slack at once and hand the slow part to `SlackBot.spawn`;
everything here runs after the acknowledgement. Every question goes through `Assistant.answer`
(bot/core.py) and every message is built by render.py; this module only knows how to say things in Slack.
Starting, stopping and the tokens are bot/slack/adapter.py's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Coroutine
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Assistant, Question, Status, TextDelta
from bot.slack import render
from bot.slack.live import EDIT_INTERVAL, LiveAnswer, send

log = logging.getLogger(__name__)

_NO_PERMISSION = {"missing_scope", "not_allowed_token_type", "no_permission", "unknown_method"}


def web_client(token: str, base_url: str) -> AsyncWebClient:
    """The Web API client: rate limits (429 + Retry-After), dropped connections and 5xx are retried."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


class SlackBot:
    """What the Slack listeners share: the Bolt app, the assistant, their background work and what Slack
    accepted. The app's Web API client carries SLACK_BOT_TOKEN to SLACK_API_URL."""

    def __init__(self, assistant: Assistant, token: str) -> None:
        settings = assistant.settings
        self.assistant = assistant
        self.app = AsyncApp(
            name="kgbot",
            client=web_client(token, settings.slack_api_url),
            signing_secret=settings.slack_signing_secret.get_secret_value(),
        )
        self.containers_accepted = True  # until Slack rejects a collapsible container block
        self.reactions_allowed = True  # until reactions.add reports a missing scope
        self.status_refused: set[str] = set()  # channel kinds ("C", "G", "D") where setStatus failed
        self.streaming_refused: set[str] = set()  # channel kinds where chat.startStream failed
        self.edit_interval = EDIT_INTERVAL  # seconds between two changes of an answer being written
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after the listener has acknowledged Slack; failures are logged, never raised."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("slack background work failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for all background work, including work started while waiting."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def first_delivery(self, team: str, channel: str, ts: str) -> bool:
        """True once per Slack message: Slack's retries and the `message` copy of a mention share it."""
        return await self.assistant.first_delivery("slack", f"message:{team}:{channel}:{ts}")


_USER_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_REF = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_LINK_REF = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_SPECIAL_REF = re.compile(r"<!([a-z]+)(?:\^[^|>]*)?(?:\|([^>]*))?>")


def question_text(text: str, bot_user_id: str | None) -> str:
    """What a person asked, from Slack's message markup: the bot's own mention removed, links and
    channel references as plain text, Slack's escapes undone."""
    text = _USER_MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else f"@{m.group(1)}", text)
    text = _CHANNEL_REF.sub(lambda m: f"#{m.group(1)}", text)
    text = _LINK_REF.sub(lambda m: m.group(2) or m.group(1), text)
    text = _SPECIAL_REF.sub(lambda m: f"@{m.group(2) or m.group(1)}", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def is_from_a_person(event: dict[str, Any]) -> bool:
    """False for bot messages, edits, deletions and other message subtypes."""
    return bool(
        event.get("user")
        and not event.get("bot_id")
        and not event.get("subtype")
        and "edited" not in event
        and event.get("text") is not None
    )


def _error_code(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "")) if exc.response is not None else ""


class WorkIndicator:
    """Shows a question is being answered: the assistant thread status where Slack allows it, else a
    reaction on the question, else a placeholder message that the answer then replaces."""

    def __init__(self, bot: SlackBot, client: AsyncWebClient, channel: str, thread_ts: str, message_ts: str):
        self.bot, self.client = bot, client
        self.channel, self.thread_ts, self.message_ts = channel, thread_ts, message_ts
        self.kind = ""
        self.placeholder_ts = ""
        self.text_shown = False

    async def start(self) -> None:
        channel_kind = self.channel[:1]
        if channel_kind not in self.bot.status_refused:
            try:
                await self.client.assistant_threads_setStatus(
                    channel_id=self.channel, thread_ts=self.thread_ts, status=render.WORKING_STATUS
                )
                self.kind = "status"
                return
            except SlackApiError as exc:
                log.info("no assistant status in %s channels (%s)", channel_kind, _error_code(exc))
                self.bot.status_refused.add(channel_kind)
        if self.bot.reactions_allowed and self.message_ts:
            try:
                await self.client.reactions_add(
                    channel=self.channel, timestamp=self.message_ts, name=render.WORKING_EMOJI
                )
                self.kind = "reaction"
                return
            except SlackApiError as exc:
                if _error_code(exc) in _NO_PERMISSION:
                    self.bot.reactions_allowed = False
                log.info("no working reaction (%s)", _error_code(exc))
        try:
            response = await self.client.chat_postMessage(
                channel=self.channel, thread_ts=self.thread_ts, text=render.WORKING_TEXT
            )
            self.kind, self.placeholder_ts = "placeholder", str(response["ts"])
        except SlackApiError as exc:
            log.warning("could not show that work is under way (%s)", _error_code(exc))

    async def status(self, text: str) -> None:
        """Show what the assistant is doing, while the status line is how work is shown and no text is."""
        if self.kind != "status" or self.text_shown:
            return
        try:
            await self.client.assistant_threads_setStatus(
                channel_id=self.channel, thread_ts=self.thread_ts, status=render.status_line(text)
            )
        except SlackApiError as exc:
            log.info("could not update the status (%s)", _error_code(exc))

    async def text_started(self) -> None:
        """The answer's text is on screen: no more status lines (Slack clears the status with the reply)."""
        self.text_shown = True

    def take_placeholder(self) -> str:
        """The placeholder's ts, once: the first message of the reply replaces it."""
        ts, self.placeholder_ts = self.placeholder_ts, ""
        return ts

    async def stop(self) -> None:
        try:
            if self.kind == "status":
                await self.client.assistant_threads_setStatus(
                    channel_id=self.channel, thread_ts=self.thread_ts, status=""
                )
            elif self.kind == "reaction":
                await self.client.reactions_remove(
                    channel=self.channel, timestamp=self.message_ts, name=render.WORKING_EMOJI
                )
            elif self.placeholder_ts:  # nothing replaced it
                await self.client.chat_delete(channel=self.channel, ts=self.take_placeholder())
        except SlackApiError as exc:
            log.info("could not clear the working indicator (%s)", _error_code(exc))


async def answer_in_thread(
    bot: SlackBot, client: AsyncWebClient, question: Question, channel: str, thread_ts: str, message_ts: str
) -> None:
    """Answer `question` in the thread `thread_ts`, showing work on `message_ts` meanwhile. Failures
    reach the person as one line in the thread."""
    indicator = WorkIndicator(bot, client, channel, thread_ts, message_ts)
    await indicator.start()
    live = LiveAnswer(bot, client, question, channel, thread_ts, indicator, bot.edit_interval)
    try:
        async with contextlib.aclosing(bot.assistant.stream(question)) as events:  # closed even on failure
            async for event in events:
                if isinstance(event, Status):
                    await indicator.status(event.text)
                elif isinstance(event, TextDelta):
                    await live.add(event.text)
                else:
                    await live.finish(event)
    except Exception as exc:  # noqa: BLE001 - one line to the person, details to the log
        log.exception("answering in %s failed", channel)
        try:
            await send(
                client, channel, thread_ts, render.error_notice(exc), live.ts or indicator.take_placeholder()
            )
        except SlackApiError as post_exc:
            log.warning("could not report the failure in %s (%s)", channel, _error_code(post_exc))
    finally:
        await indicator.stop()


async def answer_message_event(
    bot: SlackBot,
    client: AsyncWebClient,
    body: dict[str, Any],
    event: dict[str, Any],
    bot_user_id: str | None,
) -> None:
    """An app_mention or direct message: answered once, in its thread, with the thread's history."""
    team = str(body.get("team_id") or event.get("team") or "")
    channel, ts = str(event["channel"]), str(event["ts"])
    if not await bot.first_delivery(team, channel, ts):
        return
    thread_ts = str(event.get("thread_ts") or ts)
    question = Question(
        platform="slack",
        workspace=team,
        channel=channel,
        thread=thread_ts,
        user=str(event["user"]),
        text=question_text(str(event.get("text", "")), bot_user_id),
        event_id=str(body.get("event_id", "")),
    )
    await answer_in_thread(bot, client, question, channel, thread_ts, ts)
