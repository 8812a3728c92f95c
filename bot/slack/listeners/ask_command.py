"""`/ask question`: the question is posted visibly in the channel and answered in its thread.

A question that cannot be answered as asked (empty, too long) is refused in a reply only its author sees,
before anything is posted in the channel.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Question, QuestionError, clean_question
from bot.slack import render
from bot.slack.app import SlackBot, answer_in_thread

log = logging.getLogger(__name__)

NOT_IN_CHANNEL = (
    "I can't post in this conversation; invite me first (for example `/invite @kgbot`), then ask again."
)


def register(bot: SlackBot) -> None:
    @bot.app.command("/ask")
    async def on_ask(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        text = " ".join(str(command.get("text", "")).split())
        if not text:
            await ack(text=render.ASK_USAGE, response_type="ephemeral")
            return
        try:
            text = clean_question(text)
        except QuestionError as exc:
            await ack(text=render.safe(str(exc)), response_type="ephemeral")
            return
        await ack()
        bot.spawn(_ask(bot, client, respond, command, text))


async def _ask(
    bot: SlackBot, client: AsyncWebClient, respond: AsyncRespond, command: dict[str, Any], text: str
) -> None:
    channel, user = str(command["channel_id"]), str(command["user_id"])
    try:
        posted = await client.chat_postMessage(
            channel=channel,
            unfurl_links=False,
            unfurl_media=False,
            **render.asked_message(user, text).payload(),
        )
    except SlackApiError as exc:
        error = exc.response.get("error", "") if exc.response is not None else ""
        log.info("could not post an /ask question in %s (%s)", channel, error)
        line = (
            NOT_IN_CHANNEL
            if error in {"not_in_channel", "channel_not_found"}
            else (f"Sorry, I could not post your question ({error or type(exc).__name__}).")
        )
        await respond(text=line, response_type="ephemeral", replace_original=False)
        return
    thread_ts = str(posted["ts"])
    question = Question(
        platform="slack",
        workspace=str(command.get("team_id", "")),
        channel=channel,
        thread=thread_ts,
        user=user,
        text=text,
    )
    await answer_in_thread(bot, client, question, channel, thread_ts, thread_ts)
