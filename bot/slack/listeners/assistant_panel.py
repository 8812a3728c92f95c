"""Slack's assistant panel, through Bolt's Assistant middleware: a new assistant thread is offered suggested
questions drawn from the graph's top communities. A question asked there is an ordinary direct message in a
thread, which the direct-message listener answers (this middleware leaves those to it)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.set_suggested_prompts.async_set_suggested_prompts import AsyncSetSuggestedPrompts
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.errors import SlackApiError

from bot.slack import render
from bot.slack.app import SlackBot

log = logging.getLogger(__name__)


def register(bot: SlackBot) -> None:
    panel = AsyncAssistant()

    @panel.thread_started
    async def on_thread_started(
        payload: dict[str, Any], set_suggested_prompts: AsyncSetSuggestedPrompts
    ) -> None:
        bot.spawn(_suggest(bot, payload, set_suggested_prompts))

    bot.app.assistant(panel)


async def _suggest(
    bot: SlackBot, payload: dict[str, Any], set_suggested_prompts: AsyncSetSuggestedPrompts
) -> None:
    channel = str((payload.get("assistant_thread") or {}).get("channel_id", ""))
    questions = await bot.assistant.suggested_questions(channel)
    try:
        await set_suggested_prompts(prompts=render.suggested_prompts(questions), title=render.PROMPTS_TITLE)
    except SlackApiError as exc:
        error = exc.response.get("error", "") if exc.response is not None else ""
        log.info("could not suggest questions (%s)", error)
