"""The "Sources (n)" button under an answer, persistent across restarts: a `DynamicItem` whose custom id holds
the key the answer's sources are stored under, so discord.py rebuilds it from any click, even on a message
sent before the process started."""

from __future__ import annotations

import re
from typing import Any, cast

import discord

from bot.discord import render
from bot.discord.client import NO_PINGS, DiscordBot


class SourcesButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"kgbot:sources:(?P<key>[\w-]{1,80})"
):
    """The "Sources (n)" button under an answer. The custom id holds the key the sources are stored under."""

    def __init__(self, key: str, count: int = 0) -> None:
        super().__init__(
            discord.ui.Button(
                label=render.sources_label(count),
                style=discord.ButtonStyle.secondary,
                custom_id=f"kgbot:sources:{key}",
            )
        )
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SourcesButton:
        return cls(match["key"])

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return await cast(DiscordBot, interaction.client).first_delivery("interaction", interaction.id)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = cast(DiscordBot, interaction.client)
        sources = await bot.assistant.sources(self.key)
        if sources is None:
            await interaction.response.send_message(
                render.SOURCES_EXPIRED, ephemeral=True, allowed_mentions=NO_PINGS
            )
        else:
            await interaction.response.send_message(
                embed=render.sources_embed(sources), ephemeral=True, allowed_mentions=NO_PINGS
            )


def register(bot: DiscordBot) -> None:
    bot.add_dynamic_items(SourcesButton)
