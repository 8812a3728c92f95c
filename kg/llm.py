"""Chat models from settings. The only module of kg/ that imports a model provider package.

Any OpenAI-compatible endpoint works (OpenAI, Ollama, vLLM, LM Studio) through `OPENAI_BASE_URL`. Every call
has a timeout and bounded retries, so a slow or rate-limiting provider degrades an answer, never hangs a bot.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from kg.config import Settings


def chat_model(settings: Settings) -> BaseChatModel | None:
    """The configured chat model, or None when no model is configured (extractive answers)."""
    if not settings.has_chat_model:
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=settings.kg_chat_model,
        api_key=settings.openai_api_key.get_secret_value() or "not-needed",  # local servers ignore it
        base_url=settings.openai_base_url or None,
        timeout=settings.kg_llm_timeout,
        max_retries=3,
        temperature=0,
    )
