"""`/reindex`: admins rebuild the channel's knowledge graph; progress edits one message, then the summary."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import NOT_ADMIN, ReindexRequest
from bot.slack import render
from bot.slack.app import SlackBot

log = logging.getLogger(__name__)


def register(bot: SlackBot) -> None:
    @bot.app.command("/reindex")
    async def on_reindex(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        bot.spawn(_reindex(bot, client, respond, command))


async def workspace_admin(client: AsyncWebClient, user: str) -> tuple[bool, str]:
    """Whether Slack says `user` is a workspace admin or owner; and why not, when Slack could not say."""
    try:
        info = await client.users_info(user=user)
    except SlackApiError as exc:
        error = exc.response.get("error", "") if exc.response is not None else type(exc).__name__
        log.warning("users.info failed for /reindex (%s)", error)
        return False, str(error)
    person = info.get("user") or {}
    return bool(person.get("is_admin") or person.get("is_owner") or person.get("is_primary_owner")), ""


async def _reindex(
    bot: SlackBot, client: AsyncWebClient, respond: AsyncRespond, command: dict[str, Any]
) -> None:
    assistant = bot.assistant
    channel, user = str(command["channel_id"]), str(command["user_id"])
    is_admin, problem = (True, "") if assistant.is_admin(user, False) else await workspace_admin(client, user)
    if not assistant.is_admin(user, is_admin):
        why = f" (I could not check your Slack role: {problem}.)" if problem else ""
        await respond(
            text=render.reindex_text(NOT_ADMIN + why), response_type="ephemeral", replace_original=False
        )
        return
    namespace = assistant.namespace_for(channel)
    try:
        posted = await client.chat_postMessage(
            channel=channel, text=render.reindex_text(f"Reindexing '{namespace}': starting…")
        )
    except SlackApiError as exc:
        error = exc.response.get("error", "") if exc.response is not None else type(exc).__name__
        await respond(
            text=f"I can't post the reindex progress here ({error}); invite me to the channel first.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    ts = str(posted["ts"])
    lock = asyncio.Lock()  # progress edits arrive as concurrent tasks: apply them in order

    async def show(line: str) -> None:
        async with lock:
            try:
                await client.chat_update(channel=channel, ts=ts, text=render.reindex_text(line))
            except SlackApiError as exc:
                log.info("could not show reindex progress (%s)", exc.response.get("error", ""))

    request = ReindexRequest("slack", str(command.get("team_id", "")), channel, user, is_admin=is_admin)
    try:
        summary = await assistant.reindex(request, show)
    except Exception as exc:  # noqa: BLE001 - one line to the channel, details to the log
        log.exception("reindex from Slack failed")
        summary = (
            f"Reindex of '{namespace}' failed ({type(exc).__name__}); the previous index is still serving."
        )
    await show(summary)
