"""Bounded, retried and metered model calls: every call has a timeout and bounded retries, so a slow or
rate-limiting provider degrades a build, never hangs it.

Indexing talks to models through a `ModelClient`: at most `KG_LLM_CONCURRENCY` calls in flight, each retried
with exponential backoff (or the server's Retry-After) when rate-limited, timed out or failing on the server
side, and every call counted per phase (extract, summarize, report, embed) in a `UsageMeter`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.exceptions import (
    ModelAPIError,
    ModelConnectionError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from kg.config import Settings
from kg.llm.calls import message_text
from kg.llm.models import EMBED_BATCH, chat_model, embedding_model
from kg.text.tokens import count_tokens

log = logging.getLogger(__name__)

PHASES = ("extract", "summarize", "report", "embed")
_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_MAX_BACKOFF = 30.0


# --- usage ---------------------------------------------------------------------------------------------------


@dataclass
class PhaseUsage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class UsageMeter:
    """Model calls and tokens per phase. Tokens are the provider's counts when it reports them, else estimates."""

    def __init__(self) -> None:
        self._phases: dict[str, PhaseUsage] = {}

    def add(self, phase: str, prompt_tokens: int, completion_tokens: int = 0, calls: int = 1) -> None:
        usage = self._phases.setdefault(phase, PhaseUsage())
        usage.calls += calls
        usage.prompt_tokens += prompt_tokens
        usage.completion_tokens += completion_tokens

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {phase: asdict(u) for phase, u in self._phases.items()}

    def since(self, before: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        """What was used after `before` (a snapshot), phases without calls left out."""
        out: dict[str, dict[str, int]] = {}
        for phase, now in self.snapshot().items():
            then = before.get(phase, {})
            diff = {k: v - then.get(k, 0) for k, v in now.items()}
            if diff["calls"]:
                out[phase] = diff
        return out


def usage_totals(usage: dict[str, dict[str, int]]) -> dict[str, int]:
    keys = ("calls", "prompt_tokens", "completion_tokens")
    return {k: sum(p.get(k, 0) for p in usage.values()) for k in keys}


def describe_usage(usage: dict[str, dict[str, int]]) -> str:
    """One line: "12 model calls, 30,114 prompt + 4,208 completion tokens (extract 5 calls, ...)"."""
    totals = usage_totals(usage)
    if not totals["calls"]:
        return "no model calls"
    order = [p for p in PHASES if p in usage] + sorted(set(usage) - set(PHASES))
    parts = [f"{phase} {usage[phase]['calls']}" for phase in order]
    return (
        f"{totals['calls']:,} model calls, {totals['prompt_tokens']:,} prompt + "
        f"{totals['completion_tokens']:,} completion tokens ({', '.join(parts)} calls)"
    )


# --- the client --------------------------------------------------------------------------------------------


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        value = float(headers.get("retry-after", ""))
    except (TypeError, ValueError):
        return None
    return min(max(value, 0.0), 60.0)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: rate limits, timeouts, connection and server errors."""
    if isinstance(
        exc, TimeoutError | ModelRateLimitError | ModelTimeoutError | ModelConnectionError | ModelAPIError
    ) or getattr(exc, "is_retryable", False):
        return True
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai depends on it
        openai = None  # type: ignore[assignment]
    if openai is not None and isinstance(
        exc,
        openai.RateLimitError
        | openai.APITimeoutError
        | openai.APIConnectionError
        | openai.InternalServerError,
    ):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and status in _RETRY_STATUS


def _estimate_prompt(messages: Sequence[BaseMessage], tools: Sequence[dict] | None) -> int:
    total = sum(count_tokens(message_text(m)) for m in messages)
    for m in messages:
        for call in getattr(m, "tool_calls", None) or []:
            total += count_tokens(json.dumps(call.get("args", {})))
    return total + (count_tokens(json.dumps(list(tools))) if tools else 0)


def _estimate_completion(reply: AIMessage) -> int:
    calls = [json.dumps(c.get("args", {})) for c in reply.tool_calls] + [
        str(c.get("args") or "") for c in reply.invalid_tool_calls
    ]
    return count_tokens(message_text(reply)) + sum(count_tokens(c) for c in calls)


class ModelClient:
    """Bounded, retried and metered access to a chat model and an embedding model (either may be None)."""

    def __init__(
        self,
        chat: BaseChatModel | None,
        embeddings: Embeddings | None = None,
        *,
        chat_name: str = "",
        embedding_name: str = "",
        concurrency: int = 4,
        timeout: float | None = 60.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        meter: UsageMeter | None = None,
    ) -> None:
        self.chat_model = chat
        self.embeddings = embeddings
        self.chat_name = chat_name or _model_name(chat)
        self.embedding_name = embedding_name or _model_name(embeddings)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.meter = meter or UsageMeter()
        self.tool_calling: bool | None = None  # None until a call shows whether the model calls tools
        self._semaphore = asyncio.Semaphore(concurrency)

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelClient | None:
        """None when no model is configured: the offline path (with local embeddings, a client for them only)."""
        if not settings.has_chat_model:
            if not settings.has_embedding_model:
                return None
            return cls(None, embedding_model(settings), embedding_name=settings.kg_embedding_model)
        return cls(
            chat_model(settings, max_retries=0),  # retries are ours: one policy, with backoff
            embedding_model(settings, max_retries=0),
            chat_name=settings.kg_chat_model,
            embedding_name=settings.kg_embedding_model,
            concurrency=settings.kg_llm_concurrency,
            timeout=settings.kg_llm_timeout,
            max_retries=settings.kg_llm_max_retries,
        )

    async def _with_retries(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        attempt = 0
        while True:
            try:
                async with self._semaphore:
                    return await asyncio.wait_for(call(), self.timeout)
            except Exception as exc:
                if attempt >= self.max_retries or not is_transient(exc):
                    raise
                delay = _retry_after(exc)
                if delay is None:
                    delay = min(_MAX_BACKOFF, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
                attempt += 1
                log.warning(
                    "%s failed (%s), retry %d of %d in %.1f s",
                    what,
                    type(exc).__name__,
                    attempt,
                    self.max_retries,
                    delay,
                )
                await asyncio.sleep(delay)

    async def chat(
        self,
        phase: str,
        messages: Sequence[BaseMessage],
        *,
        tools: Sequence[dict] | None = None,
        tool_choice: str | None = None,
    ) -> AIMessage:
        """One chat completion (with `tools` bound, if given), counted under `phase`.

        Raises NotImplementedError when tools are given and the model class cannot bind tools.
        """
        if self.chat_model is None:
            raise RuntimeError("no chat model is configured")
        model: Any = self.chat_model
        if tools:
            model = self.chat_model.bind_tools(list(tools), tool_choice=tool_choice)
        reply = await self._with_retries(f"{phase} call", lambda: model.ainvoke(list(messages)))
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=message_text(reply))
        meta = reply.usage_metadata or {}
        prompt = int(meta.get("input_tokens") or 0) or _estimate_prompt(messages, tools)
        completion = int(meta.get("output_tokens") or 0) or _estimate_completion(reply)
        self.meter.add(phase, prompt, completion)
        return reply

    async def embed(self, texts: Sequence[str], phase: str = "embed") -> list[list[float]]:
        """Vectors of `texts`, one request per EMBED_BATCH texts. Token counts are estimates (the
        embeddings API's usage is not passed through LangChain)."""
        if self.embeddings is None:
            raise RuntimeError("no embedding model is configured")
        embeddings = self.embeddings
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = list(texts[start : start + EMBED_BATCH])
            result = await self._with_retries(
                "embedding call", lambda b=batch: embeddings.aembed_documents(b)
            )
            if len(result) != len(batch):
                raise ValueError(f"the embedding model returned {len(result)} vectors for {len(batch)} texts")
            vectors.extend([float(x) for x in v] for v in result)
            self.meter.add(phase, sum(count_tokens(t) for t in batch))
        return vectors


def _model_name(model: Any) -> str:
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__ if model is not None else ""
