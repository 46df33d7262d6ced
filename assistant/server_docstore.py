"""The document store on a Chroma server, beside the vectors: what makes an instance with an
empty index folder and no documents folder able to answer, with exact quotes.

Same records and the same journal as :class:`assistant.docstore.DocStore`, in a second collection
(``<collection>-documents``) whose records carry a one-number placeholder vector and are only
ever read by id or by metadata: an extracted text, its sentence spans and layout, each chunk's
text and offsets, the build record (fingerprint, build stamp, the folder it was indexed from) and
the ``pending`` journal. A server has no transactions, so every write for a source happens while
its journal record stands, and that record is removed last: a run killed in between leaves the
source pending, and the next run undoes it, as for the embedded store.

One writer at a time across hosts: :func:`lease`, a record in the same collection.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import BrokenIndex
from .store import guarded
from .types import Chunk, Document, Layout, Sentence

SCHEMA_VERSION = "1"
PLACEHOLDER = [0.0]  # records are looked up by id and metadata, never by vector
META, DOCUMENT, SPANS, CHUNK, PENDING = "meta", "document", "spans", "chunk", "pending"
LEASE = "lease"


def documents_collection(collection: str) -> str:
    return f"{collection}-documents"


class ChromaDocStore:
    """The :class:`assistant.protocols.DocumentStore` in a collection of a Chroma server."""

    def __init__(self, client, collection: str, page: int = 5000):
        self._client = client
        self.location = documents_collection(collection)
        self._page = page
        self._max_batch: int | None = None
        with guarded():
            self._collection = client.get_or_create_collection(self.location, embedding_function=None)
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise BrokenIndex(f"the collection {self.location!r} was built by another version (format {version}): `assistant index --rebuild`")

    # --- records ----------------------------------------------------------------------------
    def _get(self, where: dict, include: list[str]) -> list[tuple[str, dict, str | None]]:
        """Every record matching ``where``, read page by page: (id, metadata, document)."""
        out: list[tuple[str, dict, str | None]] = []
        with guarded():
            while True:
                got = self._collection.get(where=where, include=include, limit=self._page, offset=len(out))
                metadatas = got.get("metadatas") or [{}] * len(got["ids"])
                documents = got.get("documents") or [None] * len(got["ids"])
                out.extend(zip(got["ids"], metadatas, documents))
                if len(got["ids"]) < self._page:
                    return out

    def _put(self, ids: list[str], metadatas: list[dict], documents: list[str] | None = None) -> None:
        with guarded():
            if self._max_batch is None:
                self._max_batch = self._client.get_max_batch_size()
            for i in range(0, len(ids), self._max_batch):
                part = slice(i, i + self._max_batch)
                self._collection.upsert(
                    ids=ids[part], embeddings=[PLACEHOLDER] * len(ids[part]), metadatas=metadatas[part],
                    documents=documents[part] if documents is not None else None,
                )

    def _delete(self, where: dict) -> None:
        with guarded():
            self._collection.delete(where=where)

    def _delete_ids(self, ids: list[str]) -> None:
        with guarded():
            self._collection.delete(ids=ids)

    # --- metadata -------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with guarded():
            got = self._collection.get(ids=[f"{META}:{key}"], include=["metadatas"])
        return got["metadatas"][0]["value"] if got["ids"] else None

    def set_meta(self, key: str, value: str) -> None:
        self._put([f"{META}:{key}"], [{"kind": META, "key": key, "value": value}])

    # --- reading --------------------------------------------------------------------------
    def hashes(self) -> dict[str, str]:
        return {m["source"]: m["sha256"] for _, m, _ in self._get({"kind": DOCUMENT}, ["metadatas"])}

    def text(self, source: str) -> str | None:
        with guarded():
            got = self._collection.get(ids=[f"{DOCUMENT}:{source}"], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def texts(self) -> dict[str, str]:
        return {m["source"]: d or "" for _, m, d in self._get({"kind": DOCUMENT}, ["metadatas", "documents"])}

    def _spans(self) -> dict[str, dict]:
        return {m["source"]: json.loads(d or "{}") for _, m, d in self._get({"kind": SPANS}, ["metadatas", "documents"])}

    def sentences(self) -> dict[str, list[tuple[int, int]]]:
        return {s: [(a, b) for a, b in spans["sentences"]] for s, spans in self._spans().items()}

    def layouts(self) -> dict[str, Layout]:
        return {s: Layout.from_json(spans["layout"]) for s, spans in self._spans().items()}

    def chunks(self) -> list[Chunk]:
        chunks = [
            Chunk(i.removeprefix(f"{CHUNK}:"), m["source"], m["start"], m["end"], d or "", m["header"])
            for i, m, d in self._get({"kind": CHUNK}, ["metadatas", "documents"])
        ]
        return sorted(chunks, key=lambda c: (c.source, c.start))

    def counts(self) -> tuple[int, int]:
        return len(self._get({"kind": DOCUMENT}, [])), len(self._get({"kind": CHUNK}, []))

    def pending(self) -> list[str]:
        return [m["source"] for _, m, _ in self._get({"kind": PENDING}, ["metadatas"])]

    # --- writing --------------------------------------------------------------------------
    def mark_pending(self, *sources: str) -> None:
        self._put([f"{PENDING}:{source}" for source in sources], [{"kind": PENDING, "source": source} for source in sources])

    def record(self, entries: list[tuple[Document, list[Chunk], list[Sentence]]]) -> None:
        """Replace the entries' records, a few calls for all of them; the caller journalled each
        source (see the module docstring)."""
        if not entries:
            return
        sources = [document.source for document, _, _ in entries]
        self._forget(sources)
        chunks = [c for _, source_chunks, _ in entries for c in source_chunks]
        self._put(
            [f"{CHUNK}:{c.id}" for c in chunks],
            [{"kind": CHUNK, "source": c.source, "start": c.start, "end": c.end, "header": c.header} for c in chunks],
            [c.text for c in chunks],
        )
        self._put(
            [f"{SPANS}:{source}" for source in sources], [{"kind": SPANS, "source": source} for source in sources],
            [json.dumps({"sentences": [[s.start, s.end] for s in sentences], "layout": document.layout.to_json()})
             for document, _, sentences in entries],
        )
        # The document records after the rest: a source's hash says "indexed" only once all of it is there.
        self._put(
            [f"{DOCUMENT}:{source}" for source in sources],
            [{"kind": DOCUMENT, "source": d.source, "sha256": d.sha256, "indexed_at": time.time()} for d, _, _ in entries],
            [document.text for document, _, _ in entries],
        )
        self._delete_ids([f"{PENDING}:{source}" for source in sources])

    def remove(self, source: str) -> None:
        self._forget([source])
        self._delete_ids([f"{PENDING}:{source}"])

    def clear(self) -> None:
        self._delete({"kind": {"$in": [DOCUMENT, SPANS, CHUNK, PENDING]}})

    def _forget(self, sources: list[str]) -> None:
        self._delete_ids([f"{DOCUMENT}:{source}" for source in sources])  # first: a half-forgotten source is not "indexed"
        self._delete({"$and": [{"source": {"$in": sources}}, {"kind": {"$in": [SPANS, CHUNK]}}]})

    def close(self) -> None:
        """Nothing to release: the client belongs to the vector store too."""

    # --- one writer across hosts ----------------------------------------------------------
    def lease_holder(self) -> dict | None:
        """Who holds the writer's lease and until when, or None when nobody does (or it ran out)."""
        with guarded():
            got = self._collection.get(ids=[f"{META}:{LEASE}"], include=["metadatas"])
        if not got["ids"]:
            return None
        holder = json.loads(got["metadatas"][0]["value"])
        return holder if holder["until"] > time.time() else None

    def write_lease(self, holder: dict) -> None:
        self.set_meta(LEASE, json.dumps(holder))

    def release_lease(self, holder_id: str) -> None:
        holder = self.lease_holder()
        if holder is not None and holder["id"] == holder_id:
            self._delete_ids([f"{META}:{LEASE}"])


@contextmanager
def lease(docstore: ChromaDocStore, seconds: float, on_wait: Callable[[], None] | None = None, poll: float = 0.2) -> Iterator[None]:
    """Hold the writer's lease of a server's index while the block runs, across hosts.

    The lease is a record with an expiry, renewed every third of ``seconds`` while held, so a
    writer that died frees it within ``seconds``. Chroma has no compare-and-set: a writer writes
    its claim, waits ``poll``, and holds the lease only if its claim is still the one recorded
    (two claims at once: the later write wins, and the other waits). Hosts' clocks must agree to
    well within ``seconds``.
    """
    me: dict[str, str | int] = {"id": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid()}
    told = False
    while True:
        holder = docstore.lease_holder()
        if holder is None or holder["id"] == me["id"]:
            docstore.write_lease({**me, "until": time.time() + seconds})
            time.sleep(poll)
            holder = docstore.lease_holder()
            if holder is not None and holder["id"] == me["id"]:
                break
        if not told and on_wait is not None:
            on_wait()
            told = True
        time.sleep(poll)

    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(seconds / 3):
            try:
                docstore.write_lease({**me, "until": time.time() + seconds})
            except Exception:  # a server that went away: the run itself reports it
                return

    renewer = threading.Thread(target=renew, name="index-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        docstore.release_lease(str(me["id"]))
