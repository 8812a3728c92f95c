"""The "Show graph" button: uploads the picture of an answer's evidence into the answer's thread, once.

The evidence comes from `Assistant.picture(key)`, which draws it from the ids kept beside the answer's sources,
so the button works after a restart too. The upload is claimed in conversation memory before any work, so a
second click, a click from someone else or a redelivered action uploads nothing more; when drawing or
uploading fails the claim is given back, so that a later click can try again.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import PictureError
from bot.slack import render
from bot.slack.app import SlackBot

log = logging.getLogger(__name__)


def register(bot: SlackBot) -> None:
    @bot.app.action(render.SHOW_GRAPH)
    async def on_graph_button(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        bot.spawn(_upload(bot, client, respond, body, str(action.get("value", ""))))


async def _upload(
    bot: SlackBot, client: AsyncWebClient, respond: AsyncRespond, body: dict[str, Any], key: str
) -> None:
    message = body.get("message") or {}
    container = body.get("container") or {}
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id", ""))
    thread = str(message.get("thread_ts") or container.get("message_ts") or message.get("ts", ""))
    memory = bot.assistant.memory
    if not await memory.claim(f"graph:{key}"):
        await _say(respond, render.GRAPH_ALREADY)
        return
    try:
        picture = await bot.assistant.picture(key)
        await client.files_upload_v2(
            channel=channel,
            thread_ts=thread,
            content=picture.data,
            filename=picture.filename,
            title="Evidence graph",
            initial_comment=render.GRAPH_COMMENT,
        )
    except PictureError as exc:
        await memory.unclaim(f"graph:{key}")
        await _say(respond, str(exc))
    except Exception:  # noqa: BLE001 - an API error, a refused upload, a timeout: one line, details to the log
        await memory.unclaim(f"graph:{key}")
        log.warning("could not upload a graph", exc_info=True)
        await _say(respond, render.GRAPH_FAILED)


async def _say(respond: AsyncRespond, text: str) -> None:
    """One line only the clicker sees; a failure to say it is logged by the spawned task."""
    await respond(text=render.notice(text).text, response_type="ephemeral", replace_original=False)
