"""The "Show graph" button under an answer: posts the picture of the answer's evidence (a PNG attachment) into
the answer's channel or thread, once per answer. Persistent across restarts: a `DynamicItem` whose custom id
holds the key the answer's sources and evidence are stored under, so discord.py rebuilds it from any click.

The picture comes from `Assistant.picture(key)` (layout and drawing in a thread). The post is claimed in
conversation memory before any work (`Memory.claim`, Redis SET NX when several processes share it), so a
second click, a click from someone else or a click handled by another process posts nothing more; when drawing
or posting fails the claim is given back, so that a later click can try again. Everything but the picture is
one line only the clicker sees.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from typing import Any, cast

import discord

from bot.core import PictureError
from bot.discord import render
from bot.discord.client import NO_PINGS, DiscordBot

log = logging.getLogger(__name__)

ACK_TIMEOUT = 10.0  # seconds for the deferral (Discord wants it within 3 s; a slower one fails anyway)
POST_TIMEOUT = 60.0  # seconds for drawing the picture and uploading it
SAY_TIMEOUT = 10.0  # seconds for a one-line private reply


class GraphButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"kgbot:graph:(?P<key>[\w-]{1,80})"
):
    """The "Show graph" button under an answer. The custom id holds the key its evidence is stored under."""

    def __init__(self, key: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=render.GRAPH_LABEL, style=discord.ButtonStyle.secondary, custom_id=f"kgbot:graph:{key}"
            )
        )
        self.key = key

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> GraphButton:
        return cls(match["key"])

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return await cast(DiscordBot, interaction.client).first_delivery("interaction", interaction.id)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = cast(DiscordBot, interaction.client)
        async with bot.handling():  # a shutdown waits for a picture on its way
            await post_graph(bot, interaction, self.key)


async def post_graph(bot: DiscordBot, interaction: discord.Interaction[Any], key: str) -> None:
    """Defer (nothing shown yet), claim, draw, post the PNG as a follow-up in the interaction's channel."""
    try:
        async with asyncio.timeout(ACK_TIMEOUT):
            await interaction.response.defer()  # a component's "deferred update": the message stays as it is
    except Exception:  # noqa: BLE001 - too late or refused: Discord shows the click failed, the details to the log
        log.warning("could not acknowledge a Show graph click", exc_info=True)
        return
    claim = f"graph:{key}"
    memory = bot.assistant.memory
    try:
        claimed = await memory.claim(claim)
    except Exception:  # noqa: BLE001 - memory falls back by itself; anything else is one line to the user
        log.warning("could not claim a graph post", exc_info=True)
        await _say(interaction, render.GRAPH_FAILED)
        return
    if not claimed:
        await _say(interaction, render.GRAPH_ALREADY)
        return
    try:
        async with asyncio.timeout(POST_TIMEOUT):
            picture = await bot.assistant.picture(key)
            await interaction.followup.send(
                render.GRAPH_COMMENT,
                file=discord.File(
                    io.BytesIO(picture.data), filename=picture.filename, description="Evidence graph"
                ),
                allowed_mentions=NO_PINGS,
            )
    except PictureError as exc:  # expired, nothing to draw, the store down: its one line says which
        await memory.unclaim(claim)
        await _say(interaction, str(exc))
    except Exception:  # noqa: BLE001 - an API error, a refused upload, a timeout: one line, details to the log
        await memory.unclaim(claim)
        log.warning("could not post a graph", exc_info=True)
        await _say(interaction, render.GRAPH_FAILED)


async def _say(interaction: discord.Interaction[Any], text: str) -> None:
    """One line only the clicker sees; a failure to say it is only logged."""
    try:
        async with asyncio.timeout(SAY_TIMEOUT):
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
    except Exception:  # noqa: BLE001 - nothing more can reach the clicker
        log.warning("could not answer a Show graph click", exc_info=True)


def register(bot: DiscordBot) -> None:
    bot.add_dynamic_items(GraphButton)
