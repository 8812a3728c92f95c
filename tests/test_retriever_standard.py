"""LangChain's own standard tests for retrievers (package langchain-tests), run on GraphRetriever over a real
SQLite index of the small hand-written graph: `k` is the number of Documents returned, given to the
constructor or to `invoke`, and `invoke`/`ainvoke` return Documents."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from kg.search.retriever import GraphRetriever
from kg.store.sqlite.store import SqliteStore
from tests.small_graph import small_store


@pytest.fixture(scope="class", autouse=True)
def indexed_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqliteStore]:
    """One index for the whole class; the standard tests build their retrievers from class properties."""
    store = asyncio.run(small_store(tmp_path_factory.mktemp("standard") / "kg.db"))
    request.cls.store = store
    yield store
    asyncio.run(store.close())


class TestGraphRetrieverStandard(RetrieversIntegrationTests):
    store: SqliteStore

    @property
    def retriever_constructor(self) -> type[GraphRetriever]:
        return GraphRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"store": self.store}

    @property
    def retriever_query_example(self) -> str:
        return "How many heads does Multi-Head Attention use?"
