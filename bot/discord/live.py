"""An answer's Discord message while its text is written: sent with the first text, then edited as more
arrives, at most once per `interval` seconds (Discord rate-limits edits per channel; discord.py also waits out
any 429 itself). The finished reply replaces it with the numbered citations, footer and buttons, and long
answers continue in further messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import discord

from bot.core import Event, Reply, TextDelta
from bot.discord import render
from bot.discord.client import NO_PINGS

log = logging.getLogger(__name__)

EDIT_INTERVAL = 1.0  # seconds between two changes of one message

# Sends one message of the answer: (content, view or None, is it part of an answer) -> the message sent.
Send = Callable[[str, discord.ui.View | None, bool], Awaitable[discord.Message]]
ViewFor = Callable[[Reply], discord.ui.View | None]


class LiveReply:
    """The first message of an answer, from its first text to its final content."""

    def __init__(self, send: Send, view_for: ViewFor, interval: float = EDIT_INTERVAL) -> None:
        self.send, self.view_for, self.interval = send, view_for, interval
        self.message: discord.Message | None = None
        self._raw = ""
        self._shown = ""
        self._last = 0.0
        self._frozen = False  # an edit failed: the final edit shows everything

    async def add(self, delta: str) -> None:
        """More raw text; shown now unless the message changed less than `interval` ago."""
        self._raw += delta
        if self._frozen or (self.message is not None and time.monotonic() - self._last < self.interval):
            return
        text = render.streamed_text(self._raw)
        if not text or text == self._shown:
            return
        try:
            if self.message is None:
                self.message = await self.send(text, None, True)
            else:
                await self.message.edit(content=text, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            log.info("could not show more of the answer (%s); the final edit will", exc.status)
            self._frozen = self.message is not None
            return
        self._shown, self._last = text, time.monotonic()

    async def finish(self, reply: Reply) -> list[discord.Message]:
        """Show the final reply: the live message edited to its first part (after waiting out the interval),
        further parts sent after it, the buttons on the last."""
        contents = render.answer_messages(reply) or [render.FAILED]
        view = self.view_for(reply)
        sent: list[discord.Message] = []
        for n, content in enumerate(contents, 1):
            last_view = view if n == len(contents) else None
            if n == 1 and self.message is not None:
                await asyncio.sleep(max(0.0, self._last + self.interval - time.monotonic()))
                edited = await self.message.edit(content=content, view=last_view, allowed_mentions=NO_PINGS)
                sent.append(edited or self.message)
            else:
                sent.append(await self.send(content, last_view, reply.kind == "answer"))
        return sent


async def follow(events: AsyncIterator[Event], live: LiveReply) -> Reply | None:
    """Show an answer's text as it streams; the final Reply (None when there is none) for the caller to show."""
    reply: Reply | None = None
    async with contextlib.aclosing(events):  # closed even when showing the answer fails
        async for event in events:
            if isinstance(event, TextDelta):
                await live.add(event.text)
            elif isinstance(event, Reply):
                reply = event
    return reply
