"""A mention of the bot in a server: answered in a thread created from the person's message, or, inside a
thread, right there with the thread's history (`Question.thread` is the thread id, which is also the id of
the message the thread was created from). The answer appears with its first text and is edited as it grows."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.core import Question
from bot.discord import render
from bot.discord.client import NO_PINGS, THREAD_ARCHIVE_MINUTES, DiscordBot, where
from bot.discord.listeners.feedback_buttons import answer_view
from bot.discord.live import LiveReply, follow

log = logging.getLogger(__name__)


def register(bot: DiscordBot) -> None:
    @bot.event
    async def on_message(message: discord.Message) -> None:
        async with bot.handling():
            await answer_mention(bot, message)


async def answer_mention(bot: DiscordBot, message: discord.Message) -> None:
    me = bot.user
    if me is None or message.author.bot or message.guild is None or me.id not in message.raw_mentions:
        return
    if not await bot.first_delivery("message", message.id):
        return
    text = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
    channel: Any = message.channel
    if isinstance(channel, discord.PartialMessageable):  # not in the cache: ask Discord what it is
        try:
            channel = await bot.fetch_channel(channel.id)
        except discord.HTTPException as exc:
            log.warning("cannot see channel %s: %s", message.channel.id, exc)
            return
    channel_id, thread_id = where(channel)
    destination = _Destination(message, channel, thread_id, text)
    live = LiveReply(destination.send, answer_view, bot.edit_interval)
    async with channel.typing():
        events = bot.stream(
            Question(
                platform="discord",
                workspace=str(message.guild.id),
                channel=channel_id,
                thread=thread_id or str(message.id),  # a thread made from the message takes its id
                user=str(message.author.id),
                text=text,
            )
        )
        reply = await follow(events, live)
    if reply is not None:
        await live.finish(reply)


class _Destination:
    """Where the answer goes, decided with its first message: a new thread on the question for an answer in
    a channel (a reply in the channel when Discord refuses the thread), in place inside a thread, and a
    notice as a reply to the question."""

    def __init__(self, question: discord.Message, channel: Any, thread_id: str | None, text: str) -> None:
        self.question, self.channel, self.thread_id, self.text = question, channel, thread_id, text
        self.target: discord.abc.Messageable | None = None
        self.reference: discord.Message | None = None

    async def _resolve(self, answer: bool) -> discord.abc.Messageable:
        self.target = self.channel
        if self.thread_id is None and answer and isinstance(self.channel, discord.TextChannel):
            try:
                self.target = await self.question.create_thread(
                    name=render.thread_name(self.text), auto_archive_duration=THREAD_ARCHIVE_MINUTES
                )
            except discord.HTTPException as exc:
                log.warning("could not create a thread, answering in the channel: %s", exc)
                self.reference = self.question
        elif self.thread_id is None:
            self.reference = self.question  # a notice: reply in place, no thread
        return self.target

    async def send(self, content: str, view: discord.ui.View | None, answer: bool) -> discord.Message:
        target = self.target or await self._resolve(answer)
        reference, self.reference = self.reference, None  # only the first message replies to the question
        return await target.send(
            content,
            view=view,  # type: ignore[arg-type]
            reference=reference,  # type: ignore[arg-type]
            mention_author=False,
            allowed_mentions=NO_PINGS,
        )
