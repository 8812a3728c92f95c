"""kgbot's local search as a LangChain retriever, so teams can drop the graph search into their own chains.

Kept apart from kg/search/answer.py, which answers without importing LangChain when no model is configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, zip_longest
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from kg.model import Embed, Turn
from kg.search.context import Context
from kg.search.local import build_context
from kg.search.sync import run_sync

# The order in which the datasets' best rows take turns: the passages themselves first, then what the graph
# says about the things they mention, then the community summaries.
DATASET_ORDER = (
    ("Sources", "sources"),
    ("Entities", "entities"),
    ("Relationships", "relationships"),
    ("Reports", "reports"),
)


class GraphRetriever(BaseRetriever):
    """Local search as a LangChain retriever: one Document per context row, `dataset` and `id` in metadata.

    `k` is how many Documents come back (all the context's rows when None), best first: the datasets take
    turns, each giving its next best row (see `context_documents`). `top_k` is how many entities the search
    starts from, which decides what the context holds. Both `k` and `history=[Turn(...)]` (for follow-up
    questions) may also be passed as keywords to `invoke`/`ainvoke`, overriding the retriever's own.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any
    namespace: str = "default"
    budget: int = 12000
    top_k: int = 10
    k: int | None = Field(default=None, ge=1)
    embed: Any = None  # Embed | None

    async def aget_context(self, question: str, history: Sequence[Turn] = ()) -> Context:
        embed: Embed | None = self.embed
        return await build_context(
            self.store, question, history, self.namespace, self.budget, self.top_k, embed
        )

    async def _documents(self, query: str, k: int | None, history: Sequence[Turn]) -> list[Document]:
        limit = self.k if k is None else k
        return context_documents(await self.aget_context(query, history))[:limit]

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        history: Sequence[Turn] = (),
    ) -> list[Document]:
        return await self._documents(query, k, history)

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        history: Sequence[Turn] = (),
    ) -> list[Document]:
        return run_sync(self._documents(query, k, history))


def context_documents(context: Context) -> list[Document]:
    """The context's rows as Documents, best first: each dataset's rows keep the order local search ranked
    them in, and the datasets take turns (a source, an entity, a relationship, a report, the next source...),
    so that any first k Documents hold the best evidence of every kind."""
    data = context.to_json()
    columns = [
        [
            Document(
                page_content=str(row["text"]),
                metadata={"dataset": dataset, **{k: v for k, v in row.items() if k != "text"}},
            )
            for row in data[key]
        ]
        for dataset, key in DATASET_ORDER
    ]
    return [doc for doc in chain.from_iterable(zip_longest(*columns)) if doc is not None]
