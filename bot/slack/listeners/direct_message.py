"""`message`: direct messages to the bot are questions; everything else is ignored.

In channels, a mention also arrives as a `message` event when the app subscribes to channel messages; the
`app_mention` listener answers it, and both copies share one delivery key, so it is answered once.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.app import SlackBot, answer_message_event, is_from_a_person


def register(bot: SlackBot) -> None:
    @bot.app.event("message")
    async def on_message(
        body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        # Acknowledged by Bolt whatever happens here, so Slack does not retry ignored messages.
        if event.get("channel_type") == "im" and is_from_a_person(event):
            bot.spawn(answer_message_event(bot, client, body, event, context.bot_user_id))
