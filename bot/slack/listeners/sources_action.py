"""The "Show sources" / "Hide sources" buttons (used where Slack does not accept collapsible containers).

The sources come from `Assistant.sources(key)`, which keeps them in conversation memory, so the buttons keep
working after a restart; the answer itself is taken from the message Slack sends with the click.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import render
from bot.slack.app import SlackBot

_ACTIONS = re.compile(f"^({render.SHOW_SOURCES}|{render.HIDE_SOURCES})$")


def register(bot: SlackBot) -> None:
    @bot.app.action(_ACTIONS)
    async def on_sources_button(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        bot.spawn(_toggle(bot, client, respond, body, action))


async def _toggle(
    bot: SlackBot, client: AsyncWebClient, respond: AsyncRespond, body: dict[str, Any], action: dict[str, Any]
) -> None:
    message = body.get("message") or {}
    container = body.get("container") or {}
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id", ""))
    ts = str(container.get("message_ts") or message.get("ts", ""))
    key, count = render.parse_toggle_value(str(action.get("value", "")))
    show = action.get("action_id") == render.SHOW_SOURCES
    sources = await bot.assistant.sources(key) if show else None
    if show and sources is None:
        await respond(text=render.SOURCES_EXPIRED, response_type="ephemeral", replace_original=False)
        return
    blocks = render.toggle_sources(message.get("blocks") or [], sources, key, count, show)
    await client.chat_update(channel=channel, ts=ts, text=str(message.get("text", "")), blocks=blocks)
