"""One call to a chat model with a prompt of kg/prompts.py, bounded by a timeout and measured in tokens; whole
(`complete`) or streamed as the model writes it (`stream_complete`).

LangChain is imported on the first call, not with this module: answering offline never loads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kg.text.tokens import count_tokens

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.language_models import BaseChatModel

    from kg.model import Turn

# After a streamed reply's first chunk, a silence longer than this share of the call's timeout means the stream
# stalled: the first chunk may take the whole timeout (the model reads the prompt), later ones come steadily.
STALL_SHARE = 0.25


@dataclass
class ModelReply:
    text: str
    prompt_tokens: int
    completion_tokens: int


def message_text(message: Any) -> str:
    """The text of a chat model's reply, whether plain content or a list of content blocks."""
    content = getattr(message, "content", message)
    if isinstance(content, list):
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return str(content)


async def complete(
    model: BaseChatModel,
    system: str,
    human: str,
    variables: dict[str, Any],
    timeout: float | None,  # noqa: ASYNC109 - the model call is the one thing bounded here
) -> ModelReply:
    """The reply of the chain `prompt | model`, the prompt being the system and human templates filled with
    `variables`.

    Token counts come from the provider when it reports them, otherwise from our own counter.
    """
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages([("system", system), ("human", human)])
    reply = await asyncio.wait_for((prompt | model).ainvoke(variables), timeout)
    return _measured(reply, prompt.format(**variables))


async def stream_complete(
    model: BaseChatModel,
    system: str,
    human: str,
    variables: dict[str, Any],
    timeout: float | None,  # noqa: ASYNC109 - the model call is the one thing bounded here
    on_text: Callable[[str], Awaitable[None]],
) -> ModelReply:
    """`complete`, streamed: each piece of text the model writes goes to `on_text` as it arrives.

    The whole stream is bounded by `timeout`, as one `complete` call is, and so is the wait for its first
    chunk; after that, a gap between chunks longer than STALL_SHARE of `timeout` raises TimeoutError too.
    """
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages([("system", system), ("human", human)])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (timeout or 0.0)
    stream = (prompt | model).astream(variables)
    reply: Any = None
    try:
        while True:
            wait = None  # unbounded without a timeout
            if timeout is not None:
                wait = max(0.0, deadline - loop.time())
                if reply is not None:  # past the first chunk
                    wait = min(wait, timeout * STALL_SHARE)
            try:
                chunk = await asyncio.wait_for(anext(stream), wait)
            except StopAsyncIteration:
                break
            reply = chunk if reply is None else reply + chunk
            if text := message_text(chunk):  # not the empty chunks that carry only metadata
                await on_text(text)
    finally:
        await stream.aclose()
    return _measured(reply if reply is not None else "", prompt.format(**variables))


def _measured(reply: Any, prompt_text: str) -> ModelReply:
    """The reply's text and tokens: the provider's counts when it reports them, otherwise our own."""
    text = message_text(reply)
    meta = getattr(reply, "usage_metadata", None) or {}
    return ModelReply(
        text=text,
        prompt_tokens=int(meta.get("input_tokens") or count_tokens(prompt_text)),
        completion_tokens=int(meta.get("output_tokens") or count_tokens(text)),
    )


def history_text(history: Sequence[Turn]) -> str:
    """The last turns of the conversation, as the answer prompts show them (empty without history)."""
    if not history:
        return ""
    lines = [f"{t.role}: {' '.join(t.text.split())[:1000]}" for t in history[-6:]]
    return "Earlier in this conversation:\n" + "\n".join(lines) + "\n\n"


def timed_out(exc: BaseException) -> bool:
    """Whether a model failure was a timeout (ours or the provider client's)."""
    return isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__
