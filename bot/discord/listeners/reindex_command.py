"""`/reindex`: rebuilds the channel's knowledge graph for Manage Server, Administrator or `KG_ADMINS` (checked
on every call); one message shows the progress, then the summary."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.core import ReindexRequest
from bot.discord import render
from bot.discord.client import NO_PINGS, DiscordBot, where

log = logging.getLogger(__name__)


def register(bot: DiscordBot) -> None:
    def may_reindex(interaction: discord.Interaction[Any]) -> bool:
        perms = interaction.permissions
        return bot.assistant.is_admin(str(interaction.user.id), perms.administrator or perms.manage_guild)

    @bot.tree.command(name="reindex", description="Rebuild the knowledge graph from KG_SOURCES (admins)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)  # a hint for the client; enforced below
    @app_commands.check(may_reindex)
    async def reindex(interaction: discord.Interaction[Any]) -> None:
        async with bot.handling():
            await reindex_command(bot, interaction)


async def reindex_command(bot: DiscordBot, interaction: discord.Interaction[Any]) -> None:
    perms = interaction.permissions
    channel_id, _ = where(interaction.channel)
    await interaction.response.send_message(
        render.reindex_started(bot.assistant.namespace_for(channel_id)), allowed_mentions=NO_PINGS
    )
    editable = True

    async def progress(line: str) -> None:
        nonlocal editable
        if not editable:
            return
        try:
            await interaction.edit_original_response(
                content=render.progress_text(line), allowed_mentions=NO_PINGS
            )
        except discord.HTTPException as exc:  # e.g. the interaction token expired after 15 minutes
            log.warning("reindex progress not shown: %s", exc)
            editable = False

    summary = await bot.assistant.reindex(
        ReindexRequest(
            platform="discord",
            workspace=str(interaction.guild_id),
            channel=channel_id,
            user=str(interaction.user.id),
            is_admin=perms.administrator or perms.manage_guild,
        ),
        progress,
    )
    try:
        await interaction.edit_original_response(
            content=render.reindex_summary(summary), allowed_mentions=NO_PINGS
        )
    except discord.HTTPException:
        channel = interaction.channel
        if isinstance(channel, discord.abc.Messageable):
            await channel.send(render.reindex_summary(summary), allowed_mentions=NO_PINGS)
