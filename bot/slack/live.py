"""An answer's Slack message while its text is written: streamed where Slack can, edited where it cannot.

Slack's streaming methods (chat.startStream / appendStream / stopStream) show markdown as it arrives. Where a
workspace or conversation refuses them (an older workspace: `unknown_method`; `not_allowed`, a missing scope),
the text is posted and then edited with chat.update instead. Either way the message changes at most once per
`interval` seconds (chat.update is rate tier 3, about one call per second per message), and the finished
answer replaces the whole message with its final blocks: citations numbered, sources folded, footer and
feedback buttons. That final edit also corrects any text streamed before a citation was dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Protocol

from slack_sdk.errors import SlackApiError

from bot.core import Question, Reply
from bot.slack import render

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

_INVALID_BLOCKS = {"invalid_blocks", "invalid_blocks_format"}
# chat.startStream errors that say streaming is not available at all (rather than for this one message)
STREAMING_UNAVAILABLE = {
    "unknown_method",
    "not_allowed",
    "not_allowed_token_type",
    "missing_scope",
    "method_deprecated",
    "feature_not_enabled",
}

EDIT_INTERVAL = 1.0  # seconds between two changes of one message


class SlackBot(Protocol):
    """What this module reads and learns about the workspace (bot/slack/app.py's SlackBot)."""

    containers_accepted: bool
    streaming_refused: set[str]


class WorkIndicator(Protocol):
    """How work is being shown (bot/slack/app.py's WorkIndicator): a placeholder the answer may replace."""

    placeholder_ts: str

    def take_placeholder(self) -> str: ...

    async def text_started(self) -> None: ...


def _error_code(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "")) if exc.response is not None else ""


class LiveAnswer:
    """The one message an answer is written into, from its first text to its final blocks."""

    def __init__(
        self,
        bot: SlackBot,
        client: AsyncWebClient,
        question: Question,
        channel: str,
        thread_ts: str,
        indicator: WorkIndicator,
        interval: float = EDIT_INTERVAL,
    ) -> None:
        self.bot, self.client, self.question = bot, client, question
        self.channel, self.thread_ts, self.indicator = channel, thread_ts, indicator
        self.interval = interval
        self.ts = ""  # the message's ts once it exists
        self.streaming = False  # chat.startStream accepted: text is appended, not edited
        self._raw = ""
        self._shown = ""
        self._last = 0.0
        self._frozen = False  # Slack refused a change mid-way: wait for the final message

    async def add(self, delta: str) -> None:
        """More of the answer's raw text; shown now unless the message changed less than `interval` ago."""
        self._raw += delta
        if self.ts and time.monotonic() - self._last < self.interval:
            return
        await self._flush()

    async def _flush(self) -> None:
        text = render.streamed_markdown(self._raw)
        if self._frozen or not text.strip() or text == self._shown:
            return
        if self.streaming and not text.startswith(
            self._shown
        ):  # a stream only grows: the final edit fixes it
            self._frozen = True
            return
        try:
            if not self.ts:
                await self._open(text)
            elif self.streaming:
                await self.client.chat_appendStream(
                    channel=self.channel, ts=self.ts, markdown_text=text[len(self._shown) :]
                )
            else:
                await self.client.chat_update(
                    channel=self.channel, ts=self.ts, **render.live_message(text).payload()
                )
        except SlackApiError as exc:
            log.info("could not show more of the answer (%s); the final message will", _error_code(exc))
            self._frozen = True
            return
        self._shown = text
        self._last = time.monotonic()

    async def _open(self, text: str) -> None:
        kind = self.channel[:1]
        if kind not in self.bot.streaming_refused:
            try:
                response = await self.client.chat_startStream(
                    channel=self.channel,
                    thread_ts=self.thread_ts,
                    recipient_team_id=self.question.workspace or None,
                    recipient_user_id=self.question.user or None,
                    markdown_text=text,
                )
                self.ts, self.streaming = str(response["ts"]), True
                await self.indicator.text_started()
                return
            except SlackApiError as exc:
                log.info("no streaming here (%s); editing instead", _error_code(exc))
                if (
                    _error_code(exc) in STREAMING_UNAVAILABLE
                ):  # the workspace cannot stream: stop trying there
                    self.bot.streaming_refused.add(kind)
        message = render.live_message(text)
        placeholder = self.indicator.take_placeholder()
        if placeholder:
            await self.client.chat_update(channel=self.channel, ts=placeholder, **message.payload())
            self.ts = placeholder
        else:
            response = await self.client.chat_postMessage(
                channel=self.channel,
                thread_ts=self.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                **message.payload(),
            )
            self.ts = str(response["ts"])
        await self.indicator.text_started()

    async def finish(self, reply: Reply) -> None:
        """The final reply: the stream stopped, then the message replaced by the reply's first message (the
        others, for a very long answer, posted after it). With no text shown yet, the reply is posted."""
        if self.streaming:
            try:
                await self.client.chat_stopStream(channel=self.channel, ts=self.ts)
            except SlackApiError as exc:
                log.info("could not stop the stream (%s); replacing the message anyway", _error_code(exc))
        elif self.ts:  # chat.update's rate tier: the final edit too waits its turn
            await asyncio.sleep(max(0.0, self._last + self.interval - time.monotonic()))
        target = self.ts or self.indicator.placeholder_ts
        await post_reply(self.bot, self.client, self.channel, self.thread_ts, reply, target)
        if target and target == self.indicator.placeholder_ts:
            self.indicator.take_placeholder()


async def send(
    client: AsyncWebClient, channel: str, thread_ts: str, message: render.Message, replace_ts: str
) -> None:
    if replace_ts:
        await client.chat_update(channel=channel, ts=replace_ts, **message.payload())
    else:
        await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, **message.payload()
        )


async def post_reply(
    bot: SlackBot, client: AsyncWebClient, channel: str, thread_ts: str, reply: Reply, replace_ts: str = ""
) -> None:
    """Post a reply in the thread, its first message replacing `replace_ts` when given. A collapsible
    container that Slack rejects is replaced by the "Show sources" button, for this and every later answer."""
    messages = render.answer_messages(reply, collapsible=bot.containers_accepted)
    i = 0
    while i < len(messages):
        try:
            await send(client, channel, thread_ts, messages[i], replace_ts if i == 0 else "")
        except SlackApiError as exc:
            has_container = any(b.get("type") == "container" for b in messages[i].blocks)
            if not (has_container and _error_code(exc) in _INVALID_BLOCKS):
                raise
            log.info("Slack rejected the collapsible sources container; using the Show sources button")
            bot.containers_accepted = False
            messages = render.answer_messages(reply, collapsible=False)  # splits as before
            continue
        i += 1
