"""`/ask question`: deferred at once, answered by editing the "thinking" message, with a thread opened on the
answer. A question that cannot be answered as asked (empty once cleaned, too long) is refused in a reply only
its author sees, before anything public appears."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.core import MAX_QUESTION_CHARS, Question, QuestionError, clean_question
from bot.discord import render
from bot.discord.client import NO_PINGS, THREAD_ARCHIVE_MINUTES, DiscordBot, where
from bot.discord.listeners.feedback_buttons import answer_view
from bot.discord.live import LiveReply, follow

log = logging.getLogger(__name__)


def register(bot: DiscordBot) -> None:
    @bot.tree.command(name="ask", description="Ask the knowledge graph a question")
    @app_commands.describe(question="What you want to know")
    @app_commands.guild_only()
    async def ask(
        interaction: discord.Interaction[Any],
        question: app_commands.Range[str, 1, MAX_QUESTION_CHARS],
    ) -> None:
        async with bot.handling():
            await ask_command(bot, interaction, question)


async def ask_command(bot: DiscordBot, interaction: discord.Interaction[Any], text: str) -> None:
    try:  # an option of another type is what a command registered by another version may send
        text = clean_question(text if isinstance(text, str) else "")
    except QuestionError as exc:
        await interaction.response.send_message(str(exc), ephemeral=True, allowed_mentions=NO_PINGS)
        return
    callback = await interaction.response.defer(thinking=True)
    channel_id, thread_id = where(interaction.channel)
    if thread_id is None:
        # The thread opened on the answer has the id of the answer message, which replaces the
        # "thinking" message the defer created: that message's id is the conversation's from the start.
        anchor = callback.message_id if callback is not None else None
        thread_id = str(anchor or (await interaction.original_response()).id)
    sender = _Sender(interaction)
    live = LiveReply(sender.send, answer_view, bot.edit_interval)
    events = bot.stream(
        Question(
            platform="discord",
            workspace=str(interaction.guild_id),
            channel=channel_id,
            thread=thread_id,
            user=str(interaction.user.id),
            text=text,
        )
    )
    reply = await follow(events, live)
    if reply is None:
        return
    first = (await live.finish(reply))[0]
    channel = interaction.channel
    if reply.kind == "answer" and first is not None and isinstance(channel, discord.TextChannel):
        try:
            await channel.create_thread(
                name=render.thread_name(text), message=first, auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.HTTPException as exc:
            log.warning("could not open a thread on the /ask answer: %s", exc)


class _Sender:
    """The messages of an /ask answer: the first replaces the "thinking" message (Edit Original Interaction
    Response, which Discord recommends over a first follow-up after a defer); further parts are follow-ups."""

    def __init__(self, interaction: discord.Interaction[Any]) -> None:
        self.interaction = interaction
        self.started = False

    async def send(self, content: str, view: discord.ui.View | None, answer: bool) -> discord.Message:
        if not self.started:
            self.started = True
            return await self.interaction.edit_original_response(
                content=content, view=view, allowed_mentions=NO_PINGS
            )
        return await self.interaction.followup.send(
            content, wait=True, allowed_mentions=NO_PINGS, **({"view": view} if view else {})
        )
