"""One call to a chat model with a prompt of kg/prompts.py, bounded by a timeout and measured in tokens.

LangChain is imported on the first call, not with this module: answering offline never loads it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kg.text.tokens import count_tokens

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.language_models import BaseChatModel

    from kg.model import Turn


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
    chain = prompt | model
    reply = await asyncio.wait_for(chain.ainvoke(variables), timeout)
    text = message_text(reply)
    meta = getattr(reply, "usage_metadata", None) or {}
    return ModelReply(
        text=text,
        prompt_tokens=int(meta.get("input_tokens") or count_tokens(prompt.format(**variables))),
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
