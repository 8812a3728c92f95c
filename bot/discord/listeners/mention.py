"""A mention of the bot in a server: answered in a thread created from the person's message, or, inside a
thread, right there with the thread's history (`Question.thread` is the thread id, which is also the id of
the message the thread was created from)."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.core import Question, Reply
from bot.discord import render
from bot.discord.client import NO_PINGS, THREAD_ARCHIVE_MINUTES, DiscordBot, where
from bot.discord.listeners.sources_button import sources_view

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
    async with channel.typing():
        reply = await bot.answer(
            Question(
                platform="discord",
                workspace=str(message.guild.id),
                channel=channel_id,
                thread=thread_id or str(message.id),  # a thread made from the message takes its id
                user=str(message.author.id),
                text=text,
            )
        )
    if reply is None:
        return
    target: discord.abc.Messageable = channel
    reference: discord.Message | None = None
    if thread_id is None and reply.kind == "answer" and isinstance(channel, discord.TextChannel):
        try:
            target = await message.create_thread(
                name=render.thread_name(text), auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.HTTPException as exc:
            log.warning("could not create a thread, answering in the channel: %s", exc)
            reference = message
    elif thread_id is None:
        reference = message  # a notice: reply in place, no thread
    await post(target, reply, reference=reference)


async def post(
    target: discord.abc.Messageable, reply: Reply, reference: discord.Message | None = None
) -> list[discord.Message]:
    sent = []
    messages = render.answer_messages(reply) or [render.FAILED]
    for n, content in enumerate(messages, 1):
        sent.append(
            await target.send(
                content,
                view=sources_view(reply) if n == len(messages) else None,  # type: ignore[arg-type]
                reference=reference if n == 1 else None,  # type: ignore[arg-type]
                mention_author=False,
                allowed_mentions=NO_PINGS,
            )
        )
    return sent
