"""The pipeline's seams, declared in one place: what an embedder, a vector store, a document
store and a generator must do. Parts are looked up by name in :mod:`assistant.registry`; a test or another front end
passes its own to :class:`assistant.Assistant` instead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from .corpus import Corpus
    from .types import Answer, Chunk, Document, Hit, Layout, Passage, Sentence, WordVectors


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


class DocumentStore(Protocol):
    """What the index holds besides vectors: each document's extracted text (every quote is cut
    from it), sentence spans, layout and chunks, the build record, and the ``pending`` journal that
    makes indexing crash-safe. In SQLite in the index folder (:class:`assistant.docstore.DocStore`),
    or on the Chroma server beside the vectors (:class:`assistant.server_docstore.ChromaDocStore`)."""

    location: str  # where it is, for messages

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def hashes(self) -> dict[str, str]:
        """source -> sha256 of the file's bytes, for every indexed document."""
        ...

    def text(self, source: str) -> str | None: ...

    def texts(self) -> dict[str, str]: ...

    def sentences(self) -> dict[str, list[tuple[int, int]]]: ...

    def layouts(self) -> dict[str, Layout]: ...

    def chunks(self) -> list[Chunk]:
        """Every chunk, in order of source and start."""
        ...

    def counts(self) -> tuple[int, int]:
        """(documents, chunks)."""
        ...

    def pending(self) -> list[str]: ...

    def mark_pending(self, *sources: str) -> None:
        """Journal sources before their vectors change."""

    def record(self, entries: list[tuple[Document, list[Chunk], list[Sentence]]]) -> None:
        """Replace each entry's source's records and unjournal it: a source that was journalled
        stays journalled until all of its records are there (a store's cost is per call, so all
        entries at once)."""

    def remove(self, source: str) -> None: ...

    def clear(self) -> None:
        """Remove every document (the build record stays)."""

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
