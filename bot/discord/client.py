"""The Discord client: discord.py's Client with kgbot's state, what every listener shares.

- The gateway may deliver an interaction or a message again (after a resume, or to a second process); each is
  handled once (`DiscordBot.first_delivery`, through the core's dedupe), since an interaction takes exactly
  one initial response and a mention deserves one answer.
- Every slash command goes through one `CommandTree`: redeliveries are dropped before its options are read,
  and a failed command gets one line back (refusal, outdated command, or "something went wrong").
- `handling()` counts mentions and commands from arrival until their reply is sent, so a shutdown can wait.

Intents: Guilds (channels and threads) and Guild Messages (messages that mention the bot arrive with their
content without the privileged Message Content intent). Nothing sent ever pings anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import discord
from discord import app_commands

from bot.core import Assistant, Event, Question, Reply
from bot.discord import render

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
THREAD_ARCHIVE_MINUTES = 1440


def bot_intents() -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True  # the channels and threads of the servers the bot is in
    intents.guild_messages = True  # messages in those channels; mentions of the bot carry their content
    return intents


def where(channel: Any) -> tuple[str, str | None]:
    """(channel id for namespaces, thread id or None): a thread counts as its parent channel."""
    if isinstance(channel, discord.Thread):
        return str(channel.parent_id), str(channel.id)
    return str(getattr(channel, "id", "")), None


class CommandTree(app_commands.CommandTree["DiscordBot"]):
    """discord.py's command tree, with each slash-command interaction handled once and every failure
    answered in one line."""

    async def interaction_check(self, interaction: discord.Interaction[DiscordBot], /) -> bool:
        """Every slash command, before its options are read: a redelivered one is dropped."""
        return await self.client.first_delivery("interaction", interaction.id)

    async def on_error(
        self, interaction: discord.Interaction[DiscordBot], error: app_commands.AppCommandError, /
    ) -> None:
        if isinstance(error, app_commands.CheckFailure):
            await interaction.response.send_message(
                render.NOT_ADMIN, ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        if isinstance(error, app_commands.CommandSignatureMismatch):  # registered by another version
            log.warning("/%s arrived with options this version does not declare", error.command.name)
            await interaction.response.send_message(
                render.COMMAND_OUTDATED, ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        log.error("/%s failed", interaction.command.name if interaction.command else "?", exc_info=error)
        try:
            if interaction.response.is_done():
                await interaction.edit_original_response(content=render.FAILED, allowed_mentions=NO_PINGS)
            else:
                await interaction.response.send_message(
                    render.FAILED, ephemeral=True, allowed_mentions=NO_PINGS
                )
        except discord.HTTPException:
            pass


class DiscordBot(discord.Client):
    """The client the listeners (bot/discord/listeners/) register on; bot/discord/adapter.py builds it."""

    def __init__(self, assistant: Assistant, guild_ids: Sequence[int] = (), **options: Any) -> None:
        super().__init__(intents=bot_intents(), allowed_mentions=NO_PINGS, **options)
        self.assistant = assistant
        self.guild_ids = list(guild_ids)
        self.tree = CommandTree(self)
        self.edit_interval = 1.0  # seconds between two edits of an answer being written
        self._handling = 0  # mentions and commands being handled, for `drain`
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.asynccontextmanager
    async def handling(self) -> AsyncIterator[None]:
        """Marks a mention or command being handled, from its arrival until its reply is sent."""
        self._handling += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._handling -= 1
            if not self._handling:
                self._idle.set()

    async def drain(self) -> None:
        """Wait until every mention and command under way has been replied to."""
        await self._idle.wait()

    async def first_delivery(self, kind: str, snowflake: int) -> bool:
        """True once per interaction or message ("interaction" | "message" and its id)."""
        return await self.assistant.first_delivery("discord", f"{kind}:{snowflake}")

    async def stream(self, question: Question) -> AsyncIterator[Event]:
        """The assistant's events for a question; a failure ends them with a one-line notice, the details
        in the log."""
        try:
            async with contextlib.aclosing(self.assistant.stream(question)) as events:
                async for event in events:
                    yield event
        except Exception:  # noqa: BLE001 - one line to the user, the details to the log
            log.exception("answering failed")
            yield Reply(render.FAILED, kind="notice")

    # --- start --------------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        if not self.guild_ids:
            await self._sync(None)
        for guild_id in self.guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self._sync(guild)

    async def _sync(self, guild: discord.Object | None) -> None:
        where = f"in server {guild.id}" if guild else "globally (they can take up to an hour to appear)"
        try:
            await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            # Mentions keep working; the commands stay as they were registered before.
            log.error(
                "could not register the slash commands %s (%s); was the bot invited with the "
                "applications.commands scope?",
                where,
                exc,
            )
        else:
            log.info("slash commands registered %s", where)

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s in %d server(s)", self.user, len(self.guilds))
