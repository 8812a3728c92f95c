"""Running the Slack app: built from settings with every listener registered, its tokens checked with Slack,
then served in Socket Mode or HTTP mode, alone (`kgbot slack`) or beside Discord (`SlackAdapter`, `kgbot serve`).

Socket Mode (`SLACK_APP_TOKEN`) needs no public URL; HTTP mode (`SLACK_SIGNING_SECRET`) serves
`/slack/events` through `signed_requests`, which refuses unsigned, malformed and replayed requests. The Web API
base URL comes from `SLACK_API_URL`, so the whole app can be pointed at a local server. Tokens are read from
the settings' secrets only here and in app.py, and are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.core import Assistant
from bot.slack.app import SlackBot
from bot.slack.listeners import register
from bot.slack.signed_requests import SignedRequests
from kg.config import Settings

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


_NO_BOT_TOKEN = (
    "SLACK_BOT_TOKEN is not set: create the Slack app and put its tokens in .env (see docs/slack.md)"
)


class SlackConfigError(ValueError):
    """The Slack settings cannot work; the message says what to set (one line)."""


def build_app(assistant: Assistant) -> SlackBot:
    """The Slack app answering through `assistant`, whose settings give the tokens and the API URL, with
    every listener registered on it."""
    token = assistant.settings.slack_bot_token.get_secret_value()
    if not token:
        raise SlackConfigError(_NO_BOT_TOKEN)
    bot = SlackBot(assistant, token)
    register(bot)
    return bot


def http_app(bot: SlackBot, path: str = EVENTS_PATH) -> web.Application:
    """An aiohttp application serving Slack's requests (events, commands, buttons) at `path`."""
    app = web.Application()
    app.router.add_post(path, SignedRequests.for_bot(bot).handle)
    return app


def check_settings(settings: Settings, http: bool) -> None:
    """Raise SlackConfigError (one clear line) when the tokens for the chosen mode are missing."""
    token = settings.slack_bot_token.get_secret_value()
    if not token:
        raise SlackConfigError(_NO_BOT_TOKEN)
    if not token.startswith("xoxb-"):
        raise SlackConfigError("SLACK_BOT_TOKEN should be the Bot User OAuth Token, which starts with xoxb-")
    if http:
        if not settings.slack_signing_secret.get_secret_value():
            raise SlackConfigError(
                "HTTP mode needs SLACK_SIGNING_SECRET (Basic Information → Signing Secret; see docs/slack.md)"
            )
        return
    app_token = settings.slack_app_token.get_secret_value()
    if not app_token:
        raise SlackConfigError(
            "Socket Mode needs SLACK_APP_TOKEN (an xapp- token with connections:write), "
            "or run `kgbot slack --http` with SLACK_SIGNING_SECRET (see docs/slack.md)"
        )
    if not app_token.startswith("xapp-"):
        raise SlackConfigError("SLACK_APP_TOKEN should be an app-level token, which starts with xapp-")


async def verify_tokens(bot: SlackBot, app_token: str = "") -> None:
    """Ask Slack whether it accepts the tokens, so a wrong one is one clear line at start, not a retry loop."""
    client = bot.app.client
    checks = [("SLACK_BOT_TOKEN", client.auth_test)]
    if app_token:
        checks.append(("SLACK_APP_TOKEN", lambda: client.apps_connections_open(app_token=app_token)))
    for name, call in checks:
        try:
            await call()
        except SlackApiError as exc:
            error = exc.response.get("error", "") if exc.response is not None else ""
            raise SlackConfigError(
                f"Slack rejected {name} ({error}); check it in .env (see docs/slack.md)"
            ) from None
        except aiohttp.ClientError as exc:
            raise SlackConfigError(
                f"could not reach Slack at {client.base_url} ({type(exc).__name__})"
            ) from None


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = False
    with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals off the main thread
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        handled = True
    try:
        await stop.wait()
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGTERM)


class SlackAdapter:
    """The Slack app as something to start and stop, with no signal handling of its own (`kgbot serve`).

    Socket Mode when given an app token; otherwise HTTP mode, where whoever owns the aiohttp server routes
    Slack's requests to `handle_request` (at EVENTS_PATH).
    """

    name = "slack"

    def __init__(self, bot: SlackBot, app_token: str = "") -> None:
        self.bot = bot
        self.app_token = app_token
        self.mode = "Socket Mode" if app_token else "HTTP mode"
        self._socket: AsyncSocketModeHandler | None = None
        self._started = False

    async def start(self) -> None:
        """Check the tokens with Slack (SlackConfigError, one line, when refused), then connect."""
        await verify_tokens(self.bot, self.app_token)
        if self.app_token:
            self._socket = AsyncSocketModeHandler(self.bot.app, self.app_token)
            await self._socket.connect_async()
        self._started = True

    async def ready(self) -> bool:
        """Started, and in Socket Mode connected (HTTP mode has no connection to keep)."""
        if self._socket is None:
            return self._started
        return self._started and bool(await self._socket.client.is_connected())

    async def drain(self) -> None:
        """Wait for the answers still being posted."""
        await self.bot.drain()

    async def stop(self) -> None:
        self._started = False
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None

    def http_routes(self) -> list[web.RouteDef]:
        """In HTTP mode, Slack's requests (events, commands, buttons) at EVENTS_PATH on the caller's server."""
        return [] if self.app_token else [web.post(EVENTS_PATH, SignedRequests.for_bot(self.bot).handle)]


async def run_http(bot: SlackBot, host: str, port: int) -> None:
    runner = web.AppRunner(http_app(bot))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"kgbot: serving Slack requests at http://{host}:{port}{EVENTS_PATH} (Ctrl-C to stop)", flush=True)
    try:
        await _until_stopped()
    finally:
        await runner.cleanup()


async def serve(settings: Settings, http: bool = False, host: str = "0.0.0.0", port: int = 3000) -> None:
    """Run the Slack app until stopped, then finish the answers under way and close the assistant."""
    check_settings(settings, http)
    assistant = Assistant.from_settings(settings)
    try:
        adapter = SlackAdapter(
            build_app(assistant), "" if http else settings.slack_app_token.get_secret_value()
        )
        await adapter.start()
        try:
            if http:
                await run_http(adapter.bot, host, port)
            else:
                print("kgbot: connected to Slack in Socket Mode (Ctrl-C to stop)", flush=True)
                await _until_stopped()
        finally:
            await adapter.stop()
        await asyncio.wait_for(adapter.drain(), timeout=30)
    finally:
        await assistant.close()
