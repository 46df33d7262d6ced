"""The vector store: a Chroma collection, embedded on disk or on a Chroma server.

Vectors are computed by our embedder and passed in, so Chroma's own default embedding
function (which downloads a model) is never used.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from .errors import BrokenIndex, StoreUnreachable
from .types import Chunk, Hit

if TYPE_CHECKING:
    import numpy as np

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


# Cosine for normalised vectors. Chroma's HNSW index is approximate: with its default search
# breadth (10, raised to the k asked for) two builds of the same chunks, whose graphs differ with
# thread timing, returned different neighbours and changed an answer of the corpus eval. A breadth
# of 200 and one insertion thread make the nearest chunks the same for every build.
COLLECTION_METADATA = {"hnsw:space": "cosine", "hnsw:search_ef": 200, "hnsw:num_threads": 1}


def embedded_store_path(index_path: Path) -> Path:
    """Where an index folder keeps its embedded Chroma store (its database is ``chroma.sqlite3`` there)."""
    return index_path / "chroma"


def make_client(index_path: Path, chroma_url: str | None):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https", settings=chroma_settings
            )
        except Exception as exc:  # chromadb raises ValueError for a server that does not answer, httpx errors below it
            raise unreachable(chroma_url, exc) from exc
    index_path.mkdir(parents=True, exist_ok=True)
    path = str(embedded_store_path(index_path))
    try:
        return chromadb.PersistentClient(path=path, settings=chroma_settings)
    except BaseException as exc:  # a damaged chroma.sqlite3 fails here, or panics in Chroma's Rust core (a BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        _forget_system(path)
        raise BrokenIndex(f"the vector store at {path} cannot be opened ({_one_line(exc)})") from exc


def remove_embedded_store(index_path: Path) -> None:
    """Delete an embedded store that cannot be opened (for a rebuild)."""
    path = embedded_store_path(index_path)
    _forget_system(str(path))
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _forget_system(path: str) -> None:
    """Drop Chroma's per-path cache entry, which keeps a half-started system after a failed
    open, so the next client for this path starts afresh."""
    from chromadb.api.shared_system_client import SharedSystemClient

    systems = getattr(SharedSystemClient, "_identifier_to_system", {})
    system = systems.pop(path, None)
    getattr(SharedSystemClient, "_identifier_to_refcount", {}).pop(path, None)
    if system is not None:
        try:
            system.stop()
        except Exception:  # a system that never started cannot stop cleanly; it is dropped anyway
            pass


def unreachable(chroma_url: str, exc: BaseException) -> StoreUnreachable:
    return StoreUnreachable(
        f"cannot reach the Chroma server at {chroma_url} ({_one_line(exc)}): is `chroma run` running there, "
        "and is ASSISTANT_CHROMA_URL (--chroma-url) right?"
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _transport_errors() -> type[BaseException]:
    try:
        import httpx
    except ImportError:  # chromadb's HTTP client brings httpx; without it there is no server to lose
        return ConnectionError
    return httpx.TransportError


@contextmanager
def guarded():
    """Chroma's database errors (and Rust panics) on a damaged store become BrokenIndex."""
    from chromadb.errors import InternalError

    try:
        yield
    except InternalError as exc:
        raise BrokenIndex(f"the vector store is damaged ({_one_line(exc)})") from exc
    except (ConnectionError, _transport_errors()) as exc:  # a server that went away after the client was made
        raise StoreUnreachable(f"lost the Chroma server ({_one_line(exc)}): is `chroma run` still running?") from exc
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        raise BrokenIndex(f"the vector store is damaged ({_one_line(exc)})") from exc


class ChromaStore:
    """The :class:`assistant.protocols.VectorStore` on a Chroma collection."""

    def __init__(self, client, collection: str):
        self._client = client
        self._name = collection
        self._max_batch: int | None = None
        with guarded():
            self._collection = client.get_or_create_collection(
                collection, metadata=COLLECTION_METADATA, embedding_function=None
            )
        space = (self._collection.metadata or {}).get("hnsw:space")
        if space != "cosine":
            raise BrokenIndex(f"the vector store's collection {collection!r} was built by another version ({space} distance, not cosine)")

    def add(self, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        if not chunks:
            return
        with guarded():
            if self._max_batch is None:
                self._max_batch = self._client.get_max_batch_size()
            for i in range(0, len(chunks), self._max_batch):  # a huge document is more than one call may hold
                part = chunks[i:i + self._max_batch]
                self._collection.upsert(
                    ids=[c.id for c in part],
                    embeddings=vectors[i:i + self._max_batch],
                    documents=[c.text for c in part],
                    metadatas=[{"source": c.source, "start": c.start, "end": c.end, "header": c.header} for c in part],
                )

    def delete_source(self, source: str) -> None:
        with guarded():
            self._collection.delete(where={"source": source})

    def query(self, vector: list[float], n: int) -> list[Hit]:
        """The ``n`` nearest chunks (fewer when the collection holds fewer): one round trip."""
        with guarded():
            result = self._collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
        return [Hit(id=i, similarity=1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0])]

    def vectors(self, page: int = 5000) -> tuple[list[str], np.ndarray]:
        """Every stored vector with its id, read page by page: for exact search."""
        import numpy as np

        ids: list[str] = []
        parts: list = []
        with guarded():
            while True:
                got = self._collection.get(include=["embeddings"], limit=page, offset=len(ids))
                ids.extend(got["ids"])
                if len(got["ids"]):
                    parts.append(np.asarray(got["embeddings"], dtype=np.float32))
                if len(got["ids"]) < page:
                    break
        return ids, np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    def warm(self) -> None:
        """Have Chroma load the collection's vector index now (seconds at 15k chunks), not at the first query."""
        self.count()

    def count(self) -> int:
        with guarded():
            return self._collection.count()

    def entries(self) -> list[tuple[str, str, int, int, str]]:
        """Every stored chunk as (id, source, start, end, text): for checking the index against the document store."""
        with guarded():
            got = self._collection.get(include=["metadatas", "documents"])
        return [(i, m["source"], m["start"], m["end"], d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])]

    def sources(self) -> set[str]:
        metadatas = self._collection.get(include=["metadatas"])["metadatas"] or []
        return {m["source"] for m in metadatas}

    def close(self) -> None:
        """Release the client (Chroma stops an embedded store when its last client closes)."""
        close = getattr(self._client, "close", None)
        if close is not None:
            close()

    def reset(self) -> None:
        with guarded():
            self._client.delete_collection(self._name)
            self._collection = self._client.get_or_create_collection(
                self._name, metadata=COLLECTION_METADATA, embedding_function=None
            )
