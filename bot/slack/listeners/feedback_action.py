"""The 👍/👎 buttons under every answer, and the private "what was wrong?" question a 👎 opens.

A vote is kept in the graph store through `Assistant.record_vote`, once per person and answer: a double click
or a redelivered click changes nothing, and only a new 👎 asks what was wrong.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import REASONS, Vote
from bot.slack import render
from bot.slack.app import SlackBot

log = logging.getLogger(__name__)

_REASON_ACTIONS = re.compile(f"^{render.FEEDBACK_REASON}:")


def _vote(body: dict[str, Any], vote: str, answer_id: str, reason: str = "") -> Vote:
    user = body.get("user") or {}
    container = body.get("container") or {}
    return Vote(
        platform="slack",
        workspace=str((body.get("team") or {}).get("id") or user.get("team_id") or ""),
        channel=str(container.get("channel_id") or (body.get("channel") or {}).get("id", "")),
        user=str(user.get("id", "")),
        answer_id=answer_id,
        vote=vote,
        reason=reason,
    )


def register(bot: SlackBot) -> None:
    @bot.app.action(render.FEEDBACK)
    async def on_vote(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        bot.spawn(_record(bot, client, body, action))

    @bot.app.action(_REASON_ACTIONS)
    async def on_reason(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        bot.spawn(_reason(bot, respond, body, action))


async def _record(
    bot: SlackBot, client: AsyncWebClient, body: dict[str, Any], action: dict[str, Any]
) -> None:
    vote, answer_id = render.parse_feedback_value(str(action.get("value", "")))
    if not vote:
        return
    cast = _vote(body, vote, answer_id)
    if not await bot.assistant.record_vote(cast) or vote != "down":
        return
    thread_ts = (body.get("message") or {}).get("thread_ts")
    try:
        await client.chat_postEphemeral(
            channel=cast.channel,
            user=cast.user,
            thread_ts=thread_ts,
            **render.reason_prompt(answer_id, REASONS).payload(),
        )
    except SlackApiError as exc:
        error = exc.response.get("error", "") if exc.response is not None else ""
        log.info("could not ask what was wrong (%s)", error)


async def _reason(bot: SlackBot, respond: AsyncRespond, body: dict[str, Any], action: dict[str, Any]) -> None:
    key, answer_id = render.parse_reason_value(str(action.get("value", "")))
    if key not in REASONS or not answer_id:
        return
    if await bot.assistant.record_reason(_vote(body, "down", answer_id, key)):
        await respond(text=render.REASON_THANKS, response_type="ephemeral", replace_original=True)
