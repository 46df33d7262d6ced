"""The pipeline's seams, declared in one place: what an embedder, a vector store and a generator
must do. Parts are looked up by name in :mod:`assistant.registry`; a test or another front end
passes its own to :class:`assistant.Assistant` instead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from .corpus import Corpus
    from .types import Answer, Chunk, Hit, Passage, WordVectors


@runtime_checkable
class Embedder(Protocol):
    """Normalised sentence vectors (cosine similarity is a dot product) and word vectors.

    LangChain's ``Embeddings`` interface (``embed_documents``, ``embed_query``) plus what the
    answerer needs: each word of a text with its vector, to credit a paraphrase ("hold" for
    "control"). A plain LangChain embedder is adapted by :func:`assistant.embeddings.as_embedder`.
    """

    name: str  # recorded in the index fingerprint: another model means another index

    def load(self) -> None:
        """Load the model now, not at the first call that needs it."""

    def clear_caches(self) -> None:
        """Forget cached vectors, so a benchmark times each question from scratch."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def word_vectors(self, texts: list[str]) -> list[WordVectors]: ...


class VectorStore(Protocol):
    """Chunk vectors by id, with their chunk's source and offsets (:class:`assistant.store.ChromaStore`)."""

    def add(self, chunks: list[Chunk], vectors: list[list[float]]) -> None: ...

    def delete_source(self, source: str) -> None: ...

    def query(self, vector: list[float], n: int) -> list[Hit]:
        """The ``n`` nearest chunks (fewer when the store holds fewer)."""
        ...

    def vectors(self) -> tuple[list[str], np.ndarray]:
        """Every vector with its chunk id, for exact search."""
        ...

    def count(self) -> int: ...

    def entries(self) -> list[tuple[str, str, int, int, str]]:
        """Every chunk as (id, source, start, end, text), to check the store against the document store."""
        ...

    def sources(self) -> set[str]: ...

    def warm(self) -> None:
        """Load what the first query would otherwise wait for."""

    def reset(self) -> None:
        """Remove every vector (for a rebuild)."""

    def close(self) -> None: ...


class Generator(ABC):
    """Writes an answer from retrieved passages; every quote it returns must be verbatim.

    ``generate`` is the one method to write. Streaming and follow-up handling have defaults: the
    answer in one piece, and the extractive rule for a follow-up question.
    """

    name: str

    @abstractmethod
    def generate(self, question: str, passages: list[Passage], corpus: Corpus) -> Answer: ...

    def stream(self, question: str, passages: list[Passage], corpus: Corpus) -> Iterator[str | Answer]:
        """The answer text in pieces as it is written, then the verified Answer."""
        answer = self.generate(question, passages, corpus)
        yield answer.answer
        yield answer

    def clear_caches(self) -> None:  # noqa: B027 - a hook with a default: a generator that caches nothing has nothing to do
        """Forget what was cached for earlier questions, so a benchmark times each from scratch."""

    def standalone(self, question: str, history) -> tuple[str, str]:
        """(retrieval query, question to answer) for ``question`` asked after ``history``: the
        previous question carried along for retrieval, and a pronoun standing for the person the
        last turn was about replaced by that person's name."""
        from .chat import resolve_references, standalone_query

        return standalone_query(question, history), resolve_references(question, history)
