"""`app_mention`: a question asked by mentioning the bot, answered in the mention's thread."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.app import SlackBot, answer_message_event, is_from_a_person


def register(bot: SlackBot) -> None:
    @bot.app.event("app_mention")
    async def on_mention(
        body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        # Bolt has already acknowledged the event; the answer is background work.
        if is_from_a_person(event):
            bot.spawn(answer_message_event(bot, client, body, event, context.bot_user_id))
