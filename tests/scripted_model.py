"""Scripted LangChain chat and embedding models: replies chosen by the test, every call recorded."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable

from tests import fake_openai

Reply = AIMessage | Exception | Callable[[list[BaseMessage], dict[str, Any]], "AIMessage | Exception"]


def tool_reply(
    name: str, args: dict[str, Any], prompt_tokens: int = 100, completion_tokens: int = 20
) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": "call_1", "type": "tool_call"}],
        usage_metadata={
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    )


def text_reply(text: str, prompt_tokens: int = 100, completion_tokens: int = 20) -> AIMessage:
    return AIMessage(
        content=text,
        usage_metadata={
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    )


class BrokenStream(Exception):
    """A reply that streams `text` word by word and then fails with this exception, like a model dying
    mid-answer (a call that does not stream fails at once)."""

    def __init__(self, text: str, message: str = "connection lost mid-stream") -> None:
        super().__init__(message)
        self.text = text


class ScriptedChatModel(BaseChatModel):
    """Replies in order from `replies` (the last one repeats); a callable reply gets (messages, kwargs).

    Streamed (`astream`), a text reply arrives one word per chunk, `chunk_delay` seconds apart, its usage on
    the last chunk; a `BrokenStream` reply streams its text, then raises. `chunks_sent` counts the chunks.

    `calls` records (messages, kwargs) of every call; kwargs hold the bound `tools` and `tool_choice`. With
    `tools=False` the model cannot bind tools, like a model without tool calling. `delay` slows each call
    down; `max_in_flight` is the most calls seen running at once.
    """

    replies: list[Any] = []
    tools: bool = True
    delay: float = 0.0
    chunk_delay: float = 0.0
    chunks_sent: int = 0
    calls: list[Any] = []
    in_flight: int = 0
    max_in_flight: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable:
        if not self.tools:
            raise NotImplementedError("this scripted model has no tool calling")
        return self.bind(tools=list(tools), tool_choice=tool_choice, **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kw: Any) -> ChatResult:
        raise NotImplementedError("use the async API")

    async def _reply(self, messages: list[BaseMessage], kw: dict[str, Any]) -> AIMessage | Exception:
        self.calls.append((list(messages), kw))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        index = min(len(self.calls) - 1, len(self.replies) - 1)
        reply = self.replies[index]
        if callable(reply) and not isinstance(reply, AIMessage):
            reply = reply(list(messages), kw)
        return reply

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        reply = await self._reply(messages, kw)
        if isinstance(reply, Exception):
            raise reply
        return ChatResult(generations=[ChatGeneration(message=reply)])

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        reply = await self._reply(messages, kw)
        if isinstance(reply, Exception) and not isinstance(reply, BrokenStream):
            raise reply
        text = reply.text if isinstance(reply, BrokenStream) else str(reply.content)
        words = re.findall(r"\s*\S+\s*", text) or [text]
        for i, word in enumerate(words):
            await asyncio.sleep(self.chunk_delay)
            last = i == len(words) - 1 and isinstance(reply, AIMessage)
            usage = reply.usage_metadata if last and isinstance(reply, AIMessage) else None
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word, usage_metadata=usage))
            if run_manager is not None:
                await run_manager.on_llm_new_token(word, chunk=chunk)
            self.chunks_sent += 1
            yield chunk
        if isinstance(reply, BrokenStream):
            raise reply


class KeywordEmbeddings(Embeddings):
    """Vectors by topic: a text mentioning any keyword of topic i points along axis i.

    Lets a test show vector search finding an entity whose text shares no word with the question.
    """

    def __init__(self, topics: Sequence[Sequence[str]]) -> None:
        self.topics = [[k.lower() for k in t] for t in topics]
        self.calls: list[list[str]] = []

    def _vector(self, text: str) -> list[float]:
        low = text.lower()
        v = [1.0 if any(k in low for k in topic) else 0.0 for topic in self.topics]
        return v + [0.0 if any(v) else 1.0]  # texts of no topic point elsewhere

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def args_of(message: AIMessage) -> str:
    return json.dumps(message.tool_calls[0]["args"]) if message.tool_calls else str(message.content)


def graph_reply(messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
    """A scripted model doing the indexing work, like `fake_openai.graph_responder` (usage: 100 in, 20 out)."""
    request = {
        "messages": [
            {
                "role": {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}[m.type],
                "content": m.content,
            }
            for m in messages
        ],
        "tool_choice": {"function": {"name": kwargs["tool_choice"]}} if kwargs.get("tool_choice") else None,
    }
    spec = fake_openai.graph_responder(request)
    if spec.get("tool_calls"):
        call = spec["tool_calls"][0]
        return tool_reply(call["name"], call["arguments"])
    return text_reply(spec["content"])
