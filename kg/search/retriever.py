"""kgbot's local search as a LangChain retriever, so teams can drop the graph search into their own chains.

Kept apart from kg/search/answer.py, which answers without importing LangChain when no model is configured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from kg.model import Embed, Turn
from kg.search.context import Context
from kg.search.local import build_context


class GraphRetriever(BaseRetriever):
    """Local search as a LangChain retriever: one Document per context row, `dataset` and `id` in metadata.

    Pass `history=[Turn(...)]` as a keyword to `invoke`/`ainvoke` for follow-up questions.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any
    namespace: str = "default"
    budget: int = 12000
    top_k: int = 10
    embed: Any = None  # Embed | None

    async def aget_context(self, question: str, history: Sequence[Turn] = ()) -> Context:
        embed: Embed | None = self.embed
        return await build_context(
            self.store, question, history, self.namespace, self.budget, self.top_k, embed
        )

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, history: Sequence[Turn] = ()
    ) -> list[Document]:
        return context_documents(await self.aget_context(query, history))

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, history: Sequence[Turn] = ()
    ) -> list[Document]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # plain synchronous code: run the search on a loop of our own
            return context_documents(asyncio.run(self.aget_context(query, history)))
        # a synchronous chain called from async code: that loop is busy running us, so use another thread's
        with ThreadPoolExecutor(max_workers=1) as pool:
            context = pool.submit(asyncio.run, self.aget_context(query, history)).result()
        return context_documents(context)


def context_documents(context: Context) -> list[Document]:
    data = context.to_json()
    docs = []
    for dataset, key in (
        ("Reports", "reports"),
        ("Entities", "entities"),
        ("Relationships", "relationships"),
        ("Sources", "sources"),
    ):
        for row in data[key]:
            meta = {"dataset": dataset, **{k: v for k, v in row.items() if k != "text"}}
            docs.append(Document(page_content=str(row["text"]), metadata=meta))
    return docs
