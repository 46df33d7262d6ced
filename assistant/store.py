"""The vector store: a Chroma collection, embedded on disk or on a Chroma server.

Vectors are computed by our embedder and passed in, so Chroma's own default embedding
function (which downloads a model) is never used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from .types import Chunk

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@dataclass
class Hit:
    id: str
    similarity: float  # cosine similarity (1 - cosine distance)


def make_client(index_path: Path, chroma_url: str | None):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https", settings=chroma_settings
        )
    index_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(index_path / "chroma"), settings=chroma_settings)


class VectorStore:
    def __init__(self, client, collection: str):
        self._client = client
        self._name = collection
        self._max_batch: int | None = None
        self._collection = client.get_or_create_collection(
            collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    def add(self, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        if not chunks:
            return
        if self._max_batch is None:
            self._max_batch = self._client.get_max_batch_size()
        for i in range(0, len(chunks), self._max_batch):  # a huge document is more than one call may hold
            part = chunks[i:i + self._max_batch]
            self._collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[i:i + self._max_batch],
                documents=[c.text for c in part],
                metadatas=[{"source": c.source, "start": c.start, "end": c.end} for c in part],
            )

    def delete_source(self, source: str) -> None:
        self._collection.delete(where={"source": source})

    def query(self, vector: list[float], n: int) -> list[Hit]:
        """The ``n`` nearest chunks (fewer when the collection holds fewer): one round trip."""
        result = self._collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
        return [Hit(id=i, similarity=1.0 - d) for i, d in zip(result["ids"][0], result["distances"][0])]

    def warm(self) -> None:
        """Have Chroma load the collection's vector index now (seconds at 15k chunks), not at the first query."""
        self.count()

    def count(self) -> int:
        return self._collection.count()

    def sources(self) -> set[str]:
        metadatas = self._collection.get(include=["metadatas"])["metadatas"] or []
        return {m["source"] for m in metadatas}

    def reset(self) -> None:
        self._client.delete_collection(self._name)
        self._collection = self._client.get_or_create_collection(
            self._name, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
