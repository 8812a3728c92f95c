"""The answer path as a LangChain Runnable: `answer_chain(settings)` composes, streams and traces like any chain.

It is `kg.search.answer.ask` (one pipeline: route, local or global search, a model or the extractive answerer,
checked citations), wrapped for LangChain:

- `invoke` / `ainvoke` / `batch` / `abatch` return the `Answer` that `ask` returns.
- `stream` / `astream` yield the answer's text as `str` chunks while it is written, then, as the last item,
  the `Answer`. With a model the chunks are its tokens as they arrive (the raw text: citations unchecked);
  without one, or when the model failed before its first token, the finished answer sentence by sentence.
  `Answer.text` is the checked text: when `differs_from_streamed(streamed, answer.text)`
  (kg/search/progress.py), a front-end replaces what it showed with it.
- Stages ("search", "read", "write") are LangChain custom events named STAGE_EVENT, seen by
  `astream_events(version="v2")`, and also go to an async callback `config={"configurable": {"on_stage": f}}`,
  called with a `Stage` before the text they precede.

Imports LangChain at module level: nothing on the offline command-line path imports this module.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal, Required, TypedDict

from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.runnables import Runnable, RunnableConfig

from kg.config import Settings
from kg.llm.models import chat_model, query_embedder
from kg.model import Embed, Turn
from kg.search.answer import Answer, ask
from kg.search.progress import Progress, Stage, StageSink
from kg.search.sync import BackgroundLoop
from kg.store.base import GraphStore

STAGE_EVENT = "kgbot_stage"


class AnswerInput(TypedDict, total=False):
    """What the chain takes (a plain string is taken as the question)."""

    question: Required[str]
    history: Sequence[Turn]  # earlier turns of the conversation, oldest first, for follow-up questions
    namespace: str  # default: the settings' KG_NAMESPACE
    mode: Literal["auto", "local", "global"]  # which search; default: the settings' KG_SEARCH


class _Failed:
    """The pipeline raised: the stream re-raises it in the consumer's context."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class AnswerChain(Runnable[AnswerInput | str, Answer]):
    """`ask` as a Runnable over one store and model; see the module docstring for what each method gives."""

    def __init__(self, settings: Settings, store: GraphStore | None, model: Any, embed: Embed | None) -> None:
        self.settings = settings
        self.model = model
        self.embed = embed
        self._store = store
        self._owns_store = store is None
        self._sync = BackgroundLoop()  # invoke, batch and stream all run here: the model's client stays on it

    @property
    def store(self) -> GraphStore:
        """The store given, or one opened from the settings on first use (closed by `aclose`)."""
        if self._store is None:
            from kg.store import store_from_settings

            self._store = store_from_settings(self.settings)
        return self._store

    async def aclose(self) -> None:
        """Close the store the chain opened itself (a store passed in stays its owner's to close)."""
        if self._owns_store and self._store is not None:
            await self._store.close()
            self._store = None

    async def _ask(self, value: AnswerInput | str, progress: Progress) -> Answer:
        data: AnswerInput = {"question": value} if isinstance(value, str) else value
        if not isinstance(data, dict) or "question" not in data:
            raise TypeError('answer_chain takes a question: a string or {"question": ..., "history": ...}')
        s = self.settings
        return await ask(
            self.store,
            data["question"],
            history=list(data.get("history") or ()),
            namespace=data.get("namespace") or s.kg_namespace,
            budget=s.kg_context_budget,
            top_k=s.kg_top_k,
            model=self.model,
            embed=self.embed,
            timeout=s.kg_llm_timeout,
            search=data.get("mode") or s.kg_search,
            concurrency=s.kg_llm_concurrency,
            progress=progress,
        )

    @staticmethod
    def _stage_reporter(config: RunnableConfig) -> StageSink:
        """Reports a stage as a custom event of the current run and to the configured `on_stage`."""
        on_stage = (config.get("configurable") or {}).get("on_stage")

        async def report(stage: Stage) -> None:
            await adispatch_custom_event(
                STAGE_EVENT, {"stage": stage.stage, "text": stage.text}, config=config
            )
            if on_stage is not None:
                await on_stage(stage)

        return report

    async def ainvoke(
        self, input: AnswerInput | str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Answer:
        async def answer(value: AnswerInput | str, config: RunnableConfig) -> Answer:
            return await self._ask(value, Progress(on_stage=self._stage_reporter(config)))

        return await self._acall_with_config(answer, input, config, **kwargs)

    def invoke(self, input: AnswerInput | str, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        return self._sync.run(self.ainvoke(input, config, **kwargs))

    def batch(
        self,
        inputs: list[AnswerInput | str],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Answer]:
        """`abatch` on the chain's own loop: the questions run concurrently (up to the config's
        max_concurrency), sharing the model's connections."""
        return self._sync.run(self.abatch(inputs, config, return_exceptions=return_exceptions, **kwargs))

    async def astream(
        self, input: AnswerInput | str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[str | Answer]:  # type: ignore[override]
        async def one() -> AsyncIterator[AnswerInput | str]:
            yield input

        async for item in self._atransform_stream_with_config(one(), self._stream, config, **kwargs):
            yield item

    async def _stream(
        self, inputs: AsyncIterator[AnswerInput | str], config: RunnableConfig
    ) -> AsyncIterator[str | Answer]:
        """Runs `ask` in a task that reports into a queue, and yields what it reports: stages are dispatched
        here, in the run's own context, so that they reach its callbacks before the text that follows."""
        value = [v async for v in inputs][-1]  # one input: astream hands over exactly one
        items: asyncio.Queue[str | Stage | Answer | _Failed] = asyncio.Queue()
        report = self._stage_reporter(config)

        async def run() -> None:
            try:
                items.put_nowait(await self._ask(value, Progress(items.put, items.put)))
            except Exception as exc:  # noqa: BLE001 - handed to the consumer, which raises it
                items.put_nowait(_Failed(exc))

        task = asyncio.create_task(run())
        try:
            while True:
                item = await items.get()
                if isinstance(item, Stage):
                    await report(item)
                elif isinstance(item, _Failed):
                    raise item.error
                else:
                    yield item
                    if isinstance(item, Answer):
                        return
        finally:
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def stream(
        self, input: AnswerInput | str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[str | Answer]:  # type: ignore[override]
        """`astream` on the chain's own loop, its items handed over as they come; stopping early cancels it."""
        items: queue.Queue[str | Answer | _Failed | None] = queue.Queue()

        async def pump() -> None:
            try:
                async for item in self.astream(input, config, **kwargs):
                    items.put(item)
            except Exception as exc:  # noqa: BLE001 - handed to the consumer, which raises it
                items.put(_Failed(exc))
            items.put(None)

        running = self._sync.submit(pump())
        try:
            while (item := items.get()) is not None:
                if isinstance(item, _Failed):
                    raise item.error
                yield item
        finally:
            running.cancel()


def answer_chain(
    settings: Settings,
    *,
    store: GraphStore | None = None,
    model: Any = None,
    embed: Embed | None = None,
) -> AnswerChain:
    """kgbot's answer path as a LangChain Runnable (see the module docstring for the streaming contract).

    `store` defaults to the one the settings name (opened on first use; `await chain.aclose()` closes it);
    `model` and `embed` default to the chat model and question embedder the settings configure (none: the
    extractive answerer and full-text search). Budget, top-k, timeout and concurrency come from `settings`.
    """
    return AnswerChain(
        settings,
        store,
        model if model is not None else chat_model(settings),
        embed if embed is not None else query_embedder(settings),
    )
