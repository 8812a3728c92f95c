"""The Discord wiring: events and slash commands in, `bot.core.Assistant` calls, rendered messages out.

- A mention in a channel is answered in a thread created from the user's message; a mention inside a thread is
  answered there, with the thread's history (`Question.thread` is the thread id, which is also the id of the
  message the thread was created from).
- `/ask question` defers at once, follows up with the answer and opens a thread on it; a question that cannot be
  answered as asked (empty once cleaned, too long) is refused in a reply only its author sees, before anything
  public appears.
- `/reindex` (Manage Server, Administrator or `KG_ADMINS`, checked on every call) edits one message with its
  progress, then with the summary.
- The "Sources (n)" button is a `DynamicItem`: its custom id carries the answer's sources key, so it works for
  messages sent before a restart.
- The gateway may deliver an interaction or a message again (after a resume, or to a second process); each is
  handled once (`DiscordBot.first_delivery`, through the core's dedupe), since an interaction takes exactly
  one initial response and a mention deserves one answer.

Intents: Guilds (channels and threads) and Guild Messages (messages that mention the bot arrive with their
content without the privileged Message Content intent). Nothing sent ever pings anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from bot.core import Assistant, Question, ReindexRequest, Reply
from bot.discord import render
from kg.config import DISCORD_API_URL, Settings
from kg.search.answer import MAX_QUESTION_CHARS, QuestionError, clean_question

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
THREAD_ARCHIVE_MINUTES = 1440


def bot_intents() -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True  # the channels and threads of the servers the bot is in
    intents.guild_messages = True  # messages in those channels; mentions of the bot carry their content
    return intents


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


def sources_view(reply: Reply) -> discord.ui.View | None:
    if reply.kind != "answer" or not reply.sources or not reply.sources_key:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(SourcesButton(reply.sources_key, len(reply.sources)))
    return view


def _where(channel: Any) -> tuple[str, str | None]:
    """(channel id for namespaces, thread id or None): a thread counts as its parent channel."""
    if isinstance(channel, discord.Thread):
        return str(channel.parent_id), str(channel.id)
    return str(getattr(channel, "id", "")), None


class CommandTree(app_commands.CommandTree["DiscordBot"]):
    """discord.py's command tree, with each slash-command interaction handled once."""

    async def interaction_check(self, interaction: discord.Interaction[DiscordBot], /) -> bool:
        """Every slash command, before its options are read: a redelivered one is dropped."""
        return await self.client.first_delivery("interaction", interaction.id)


class DiscordBot(discord.Client):
    def __init__(self, assistant: Assistant, guild_ids: Sequence[int] = (), **options: Any) -> None:
        super().__init__(intents=bot_intents(), allowed_mentions=NO_PINGS, **options)
        self.assistant = assistant
        self.guild_ids = list(guild_ids)
        self.tree = CommandTree(self)
        self._add_commands()
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

    # --- start --------------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        self.add_dynamic_items(SourcesButton)
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

    # --- commands -----------------------------------------------------------------------------------

    def _add_commands(self) -> None:
        bot = self

        def may_reindex(interaction: discord.Interaction[Any]) -> bool:
            perms = interaction.permissions
            return bot.assistant.is_admin(str(interaction.user.id), perms.administrator or perms.manage_guild)

        @self.tree.command(name="ask", description="Ask the knowledge graph a question")
        @app_commands.describe(question="What you want to know")
        @app_commands.guild_only()
        async def ask(
            interaction: discord.Interaction[Any],
            question: app_commands.Range[str, 1, MAX_QUESTION_CHARS],
        ) -> None:
            async with bot.handling():
                await bot.ask_command(interaction, question)

        @self.tree.command(name="reindex", description="Rebuild the knowledge graph from KG_SOURCES (admins)")
        @app_commands.guild_only()
        @app_commands.default_permissions(manage_guild=True)  # a hint for the client; enforced below
        @app_commands.check(may_reindex)
        async def reindex(interaction: discord.Interaction[Any]) -> None:
            async with bot.handling():
                await bot.reindex_command(interaction)

        @ask.error
        @reindex.error
        async def command_error(
            interaction: discord.Interaction[Any], error: app_commands.AppCommandError
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

    async def _answer(self, question: Question) -> Reply | None:
        try:
            return await self.assistant.answer(question)
        except Exception:  # noqa: BLE001 - one line to the user, the details to the log
            log.exception("answering failed")
            return Reply(render.FAILED, kind="notice")

    async def ask_command(self, interaction: discord.Interaction[Any], text: str) -> None:
        try:  # an option of another type is what a command registered by another version may send
            text = clean_question(text if isinstance(text, str) else "")
        except QuestionError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True, allowed_mentions=NO_PINGS)
            return
        callback = await interaction.response.defer(thinking=True)
        channel_id, thread_id = _where(interaction.channel)
        if thread_id is None:
            # The thread opened on the answer has the id of the answer message, which replaces the
            # "thinking" message the defer created: that message's id is the conversation's from the start.
            anchor = callback.message_id if callback is not None else None
            thread_id = str(anchor or (await interaction.original_response()).id)
        reply = await self._answer(
            Question(
                platform="discord",
                workspace=str(interaction.guild_id),
                channel=channel_id,
                thread=thread_id,
                user=str(interaction.user.id),
                text=text,
            )
        )
        if reply is None:
            return
        # The first part replaces the "thinking" message (Edit Original Interaction Response, which Discord
        # recommends over a first follow-up after a defer); further parts are follow-up messages.
        messages = render.answer_messages(reply) or [render.FAILED]
        first: discord.Message | None = None
        for n, content in enumerate(messages, 1):
            view = sources_view(reply) if n == len(messages) else None
            if first is None:
                first = await interaction.edit_original_response(
                    content=content, view=view, allowed_mentions=NO_PINGS
                )
            else:
                await interaction.followup.send(
                    content, wait=True, allowed_mentions=NO_PINGS, **({"view": view} if view else {})
                )
        channel = interaction.channel
        if reply.kind == "answer" and first is not None and isinstance(channel, discord.TextChannel):
            try:
                await channel.create_thread(
                    name=render.thread_name(text), message=first, auto_archive_duration=THREAD_ARCHIVE_MINUTES
                )
            except discord.HTTPException as exc:
                log.warning("could not open a thread on the /ask answer: %s", exc)

    async def reindex_command(self, interaction: discord.Interaction[Any]) -> None:
        perms = interaction.permissions
        channel_id, _ = _where(interaction.channel)
        await interaction.response.send_message(
            render.reindex_started(self.assistant.namespace_for(channel_id)), allowed_mentions=NO_PINGS
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

        summary = await self.assistant.reindex(
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

    # --- mentions -----------------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        async with self.handling():
            await self.answer_mention(message)

    async def answer_mention(self, message: discord.Message) -> None:
        me = self.user
        if me is None or message.author.bot or message.guild is None or me.id not in message.raw_mentions:
            return
        if not await self.first_delivery("message", message.id):
            return
        text = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
        channel: Any = message.channel
        if isinstance(channel, discord.PartialMessageable):  # not in the cache: ask Discord what it is
            try:
                channel = await self.fetch_channel(channel.id)
            except discord.HTTPException as exc:
                log.warning("cannot see channel %s: %s", message.channel.id, exc)
                return
        channel_id, thread_id = _where(channel)
        async with channel.typing():
            reply = await self._answer(
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
        await self.post(target, reply, reference=reference)

    async def post(
        self, target: discord.abc.Messageable, reply: Reply, reference: discord.Message | None = None
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
        self.bot = DiscordBot(assistant, guild_ids=settings.discord_guilds)
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
        async with DiscordBot(assistant, guild_ids=guild_ids) as bot:
            await login(bot, token, settings.discord_api_url)
            await bot.connect()
    finally:
        await assistant.close()
