"""Chat and embedding models from settings: the only module of kg/ that imports a model provider package.

Any OpenAI-compatible endpoint works (OpenAI, Ollama, vLLM, LM Studio) through `OPENAI_BASE_URL`. LangChain
and the provider package are imported when a model is made, not with this module: the CLI and the bots import
it to find out whether a model is configured, and answering offline must never load them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel

    from kg.config import Settings
    from kg.model import Embed

log = logging.getLogger(__name__)

EMBED_BATCH = 64  # texts per embedding request
LOCAL_EMBEDDING_MODEL = "local"  # the KG_EMBEDDING_MODEL value that selects kg.llm.local_embeddings


def configured_models(settings: Settings) -> tuple[BaseChatModel | None, Embed | None]:
    """The chat model and question embedder the settings configure, (None, None) without any."""
    if not (settings.has_chat_model or settings.has_embedding_model):
        return None, None
    return chat_model(settings), query_embedder(settings)


def chat_model(settings: Settings, max_retries: int = 3) -> BaseChatModel | None:
    """The configured chat model, or None when no model is configured (extractive answers)."""
    if not settings.has_chat_model:
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.kg_chat_model,
        api_key=settings.openai_api_key.get_secret_value() or "not-needed",  # local servers ignore it
        base_url=settings.openai_base_url or None,
        timeout=_client_timeout(settings.kg_llm_timeout),
        max_retries=max_retries,
        temperature=0,
    )


def embedding_model(settings: Settings, max_retries: int = 2) -> Embeddings | None:
    """The configured embedding model, or None without KG_EMBEDDING_MODEL (full-text search only).

    Texts are sent as they are: no tiktoken (which downloads its encodings at run time, and does not know the
    models of OpenAI-compatible servers) and no client-side splitting; entity descriptions are short.
    """
    if not settings.has_embedding_model:
        return None
    if settings.kg_embedding_model == LOCAL_EMBEDDING_MODEL:
        from kg.llm.local_embeddings import LocalEmbeddings

        return LocalEmbeddings()
    from langchain_openai import OpenAIEmbeddings

    return OpenAIEmbeddings(
        model=settings.kg_embedding_model,
        api_key=settings.openai_api_key.get_secret_value() or "not-needed",
        base_url=settings.openai_base_url or None,
        timeout=_client_timeout(settings.kg_llm_timeout),
        max_retries=max_retries,
        tiktoken_enabled=False,
        check_embedding_ctx_length=False,
        chunk_size=EMBED_BATCH,
    )


def _client_timeout(seconds: float) -> Any:
    """The OpenAI SDK's own timeout type, whichever HTTP library that SDK version is built on (httpx, httpx2).

    Not a float: a timeout object is unhashable, so langchain-openai gives each model its own connection pool
    instead of one cached for the process, which would outlive the event loop it was made on (a CLI or a test
    runs several asyncio.run in one process).
    """
    import openai

    return openai.Timeout(seconds)


def query_embedder(settings: Settings) -> Embed | None:
    """What local search uses to embed a question, or None without an embedding model.

    A failing or slow embedding call costs the question its vector match, never its answer: the search then
    runs on full text alone.
    """
    embeddings = embedding_model(settings, max_retries=1)
    if embeddings is None:
        return None
    timeout = settings.kg_llm_timeout

    async def embed(text: str) -> Sequence[float]:
        try:
            return await asyncio.wait_for(embeddings.aembed_query(text), timeout)
        except Exception as exc:  # noqa: BLE001 - full-text search still answers
            log.warning("embedding the question failed (%s); using full-text search only", type(exc).__name__)
            return []

    return embed
