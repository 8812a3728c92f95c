"""One module per Slack listener, each registering itself on the app with `register(bot)`."""

from __future__ import annotations

from bot.slack.app import SlackBot
from bot.slack.listeners import (
    ask_command,
    assistant_panel,
    direct_message,
    feedback_action,
    graph_action,
    mention,
    reindex_command,
    sources_action,
)

MODULES = (
    assistant_panel,
    mention,
    direct_message,
    ask_command,
    reindex_command,
    sources_action,
    graph_action,
    feedback_action,
)


def register(bot: SlackBot) -> None:
    for module in MODULES:
        module.register(bot)
