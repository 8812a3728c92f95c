"""One module per Slack listener, each with `register(app, bot)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import ask_command, direct_message, mention, reindex_command, sources_action
from bot.slack.threads import SlackBot

MODULES = (mention, direct_message, ask_command, reindex_command, sources_action)


def register_all(app: AsyncApp, bot: SlackBot) -> None:
    for module in MODULES:
        module.register(app, bot)
