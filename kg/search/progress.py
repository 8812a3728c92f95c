"""What an answer is doing while it is written: its stages ("Searching the graph…") and its text as it arrives.

`ask` (kg/search/answer.py) reports both to a `Progress` when given one; kg/search/chain.py turns them into a
LangChain stream. No LangChain here: chat front-ends and the offline path may import this module freely.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from kg.text.sentences import sentence_pieces

SEARCH, READ, WRITE = "search", "read", "write"


@dataclass(frozen=True)
class Stage:
    """One step of answering, in the order they happen: "search", then "read" (only when something was found),
    then "write". `text` is a status line for people, e.g. "Reading 12 passages…"."""

    stage: str
    text: str


StageSink = Callable[[Stage], Awaitable[None]]
TextSink = Callable[[str], Awaitable[None]]


def differs_from_streamed(streamed: str, final: str) -> bool:
    """Whether a front-end that showed the `streamed` chunks (joined) must replace them with the `final`
    answer text: its citations were checked (invalid ids dropped, report sources added) or the model failed
    mid-stream and the answer became extractive. Blanks at either end do not count."""
    return streamed.strip() != final.strip()


class Progress:
    """Where `ask` reports its stages and, when streaming, its text; either sink may be None."""

    def __init__(self, on_stage: StageSink | None = None, on_text: TextSink | None = None) -> None:
        self.on_stage = on_stage
        self.on_text = on_text
        self.streamed = ""  # the text passed to on_text so far

    @property
    def streaming(self) -> bool:
        return self.on_text is not None

    async def stage(self, stage: str, text: str) -> None:
        if self.on_stage is not None:
            await self.on_stage(Stage(stage, text))

    async def text(self, chunk: str) -> None:
        if self.on_text is not None and chunk:
            self.streamed += chunk
            await self.on_text(chunk)

    async def pieces(self, text: str) -> None:
        """A finished text, streamed sentence by sentence."""
        for piece in sentence_pieces(text):
            await self.text(piece)


def counted(n: int, noun: str) -> str:
    """ "1 passage", "12 passages"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
