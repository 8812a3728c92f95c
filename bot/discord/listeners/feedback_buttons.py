"""The 👍/👎 buttons under every answer and the "what was wrong?" buttons a 👎 opens, persistent across
restarts: `DynamicItem`s whose custom ids hold the vote (or reason) and the answer's id, so discord.py rebuilds
them from any click, even on a message sent before the process started. A vote is kept through
`Assistant.record_vote`, once per person and answer."""

from __future__ import annotations

import re
from typing import Any, cast

import discord

from bot.core import REASONS, Reply, Vote
from bot.discord import render
from bot.discord.client import NO_PINGS, DiscordBot
from bot.discord.listeners.graph_button import GraphButton
from bot.discord.listeners.sources_button import SourcesButton

_ANSWER_ID = r"(?P<key>[\w-]{1,80})"


def _vote(interaction: discord.Interaction[Any], answer_id: str, vote: str, reason: str = "") -> Vote:
    return Vote(
        platform="discord",
        workspace=str(interaction.guild_id or ""),
        channel=str(interaction.channel_id or ""),
        user=str(interaction.user.id),
        answer_id=answer_id,
        vote=vote,
        reason=reason,
    )


async def _once(interaction: discord.Interaction[Any]) -> bool:
    return await cast(DiscordBot, interaction.client).first_delivery("interaction", interaction.id)


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=rf"kgbot:vote:(?P<vote>up|down):{_ANSWER_ID}"
):
    """👍 or 👎 under an answer; the custom id holds the vote and the answer's id."""

    def __init__(self, vote: str, key: str) -> None:
        super().__init__(
            discord.ui.Button(
                emoji="👍" if vote == "up" else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"kgbot:vote:{vote}:{key}",
            )
        )
        self.vote, self.key = vote, key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(match["vote"], match["key"])

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return await _once(interaction)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = cast(DiscordBot, interaction.client)
        if not await bot.assistant.record_vote(_vote(interaction, self.key, self.vote)):
            await interaction.response.send_message(
                render.VOTE_REPEATED, ephemeral=True, allowed_mentions=NO_PINGS
            )
        elif self.vote == "down":
            await interaction.response.send_message(
                render.REASON_QUESTION, view=reason_view(self.key), ephemeral=True, allowed_mentions=NO_PINGS
            )
        else:
            await interaction.response.send_message(
                render.VOTE_THANKS, ephemeral=True, allowed_mentions=NO_PINGS
            )


class ReasonButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"kgbot:reason:(?P<reason>[a-z]{{1,20}}):{_ANSWER_ID}",
):
    """One answer to "what was wrong?"; the custom id holds the reason's key and the answer's id."""

    def __init__(self, reason: str, key: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=REASONS.get(reason, reason),
                style=discord.ButtonStyle.secondary,
                custom_id=f"kgbot:reason:{reason}:{key}",
            )
        )
        self.reason, self.key = reason, key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReasonButton:
        return cls(match["reason"], match["key"])

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return await _once(interaction)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = cast(DiscordBot, interaction.client)
        await bot.assistant.record_reason(_vote(interaction, self.key, "down", self.reason))
        await interaction.response.edit_message(
            content=render.REASON_THANKS, view=None, allowed_mentions=NO_PINGS
        )


def reason_view(key: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for reason in REASONS:
        view.add_item(ReasonButton(reason, key))
    return view


def answer_view(reply: Reply) -> discord.ui.View | None:
    """The buttons under the last message of an answer: its sources and "Show graph" (when it has sources),
    👍 and 👎."""
    if reply.kind != "answer" or not reply.answer_id:
        return None
    view = discord.ui.View(timeout=None)
    if reply.sources:
        view.add_item(SourcesButton(reply.answer_id, len(reply.sources)))
        view.add_item(GraphButton(reply.answer_id))
    view.add_item(VoteButton("up", reply.answer_id))
    view.add_item(VoteButton("down", reply.answer_id))
    return view


def register(bot: DiscordBot) -> None:
    bot.add_dynamic_items(VoteButton, ReasonButton)
