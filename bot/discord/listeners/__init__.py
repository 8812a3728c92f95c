"""One module per Discord listener, each registering itself on the client with `register(bot)`."""

from __future__ import annotations

from bot.discord.client import DiscordBot
from bot.discord.listeners import (
    ask_command,
    feedback_buttons,
    graph_button,
    mention,
    reindex_command,
    sources_button,
)

MODULES = (mention, ask_command, reindex_command, sources_button, graph_button, feedback_buttons)


def register(bot: DiscordBot) -> None:
    for module in MODULES:
        module.register(bot)
