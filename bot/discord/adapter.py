"""Running the Discord bot: the client built with every listener registered, logged in (one clear line when
Discord refuses), and connected, alone (`kgbot discord`) or beside Slack (`DiscordAdapter`, `kgbot serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket

from bot.core import Assistant
from bot.discord.client import DiscordBot
from bot.discord.listeners import register
from kg.config import DISCORD_API_URL, Settings

log = logging.getLogger(__name__)


def build_bot(assistant: Assistant, guild_ids: Sequence[int] = (), **options: Any) -> DiscordBot:
    """The Discord client answering through `assistant`, with every listener registered on it; its slash
    commands are synced to `guild_ids` (or globally when there are none) once it logs in."""
    bot = DiscordBot(assistant, guild_ids=guild_ids, **options)
    register(bot)
    return bot


class DiscordConfigError(ValueError):
    """Discord refused the token or cannot be reached; the message says what to do (one line)."""


async def login(bot: DiscordBot, token: str, api_url: str = DISCORD_API_URL) -> None:
    """Log in (DiscordConfigError when refused). With an API URL other than Discord's (a local fake in
    tests), every request of this process goes there, and so does the gateway that API names."""
    api_url = api_url.rstrip("/")
    if api_url != DISCORD_API_URL:
        discord.http.Route.BASE = api_url  # discord.py builds every REST and webhook URL from it
    try:
        await bot.login(token)
        if api_url != DISCORD_API_URL:
            _, gateway, _ = await bot.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    except discord.LoginFailure:
        raise DiscordConfigError(
            "Discord rejected DISCORD_TOKEN; reset the bot token and update .env"
        ) from None
    except (discord.HTTPException, discord.GatewayNotFound, aiohttp.ClientError) as exc:
        raise DiscordConfigError(f"could not reach Discord at {api_url} ({type(exc).__name__})") from None


class DiscordAdapter:
    """The Discord bot as something to start and stop, with no signal handling of its own (`kgbot serve`):
    logs in, keeps the gateway connection (discord.py reconnects by itself) and says whether it is up."""

    name = "discord"
    mode = "gateway"

    def __init__(self, assistant: Assistant, settings: Settings) -> None:
        self.settings = settings
        self.bot = build_bot(assistant, guild_ids=settings.discord_guilds)
        self._connection: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await login(
            self.bot, self.settings.discord_token.get_secret_value().strip(), self.settings.discord_api_url
        )
        self._connection = asyncio.create_task(self._connect(), name="discord-gateway")

    async def _connect(self) -> None:
        try:
            await self.bot.connect()
        except Exception:  # noqa: BLE001 - e.g. intents refused: /readyz shows Discord down
            log.exception("the Discord gateway connection ended")

    async def ready(self) -> bool:
        ws = self.bot.ws
        return self.bot.is_ready() and not self.bot.is_closed() and ws is not None and not ws.socket.closed

    async def drain(self) -> None:
        await self.bot.drain()

    def http_routes(self) -> list[Any]:
        return []  # everything comes over the gateway

    async def stop(self) -> None:
        await self.bot.close()
        if self._connection is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._connection, 10)


async def run(settings: Settings) -> None:
    """Connect to Discord with DISCORD_TOKEN and answer until stopped."""
    token = settings.discord_token.get_secret_value().strip()
    if not token:
        raise ValueError("DISCORD_TOKEN is not set; see docs/discord.md")
    guild_ids = settings.discord_guilds
    assistant = Assistant.from_settings(settings)
    try:
        async with build_bot(assistant, guild_ids=guild_ids) as bot:
            await login(bot, token, settings.discord_api_url)
            await bot.connect()
    finally:
        await assistant.close()
