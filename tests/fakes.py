"""Stand-ins for wiring tests: quick, deterministic, and honest about being fakes."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from assistant.lexical import tokens
from assistant.types import WordVectors

_WORD = re.compile(r"[^\W_]+")


class HashEmbedder:
    """An :class:`assistant.protocols.Embedder` without a model: each word stem is hashed to a
    fixed random direction and a text is the normalised sum of its words, so texts sharing
    words are close. No meaning: "kids" and "children" are unrelated here."""

    name = "hash-embedder"

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.calls = 0

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def _text(self, text: str) -> np.ndarray:
        vector = sum((self._word(t) for t in tokens(text)), np.zeros(self.dim, dtype=np.float32))
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else np.full(self.dim, 1 / np.sqrt(self.dim), dtype=np.float32)

    def load(self) -> None:
        """Nothing to load."""

    def clear_caches(self) -> None:
        """Nothing is cached."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return [self._text(t).tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._text(text).tolist()

    def word_vectors(self, texts: list[str]) -> list[WordVectors]:
        out = []
        for text in texts:
            words = _WORD.findall(text)
            vectors = np.array([self._text(w) for w in words], dtype=np.float32).reshape(len(words), self.dim)
            out.append(WordVectors(words, vectors))
        return out
