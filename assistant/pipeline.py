"""The one API every front end uses: ``Assistant(settings).ask(question, history) -> Answer``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from . import registry
from .corpus import Corpus
from .docstore import DocStore
from .errors import BrokenIndex, IndexConflict, NoDocuments, QuestionError
from .protocols import DocumentStore, Embedder, Generator, VectorStore
from .retrieval import HybridRetriever
from .settings import Settings
from .store import ChromaStore, embedded_store_path, make_client, remove_embedded_store
from .types import Answer

ORIGIN = "origin"  # the build record's "host:documents folder" on a server

if TYPE_CHECKING:  # the indexer is imported where it is used: answering needs none of it
    from .indexing import IndexReport, Progress


@dataclass
class IndexStatus:
    documents: int
    chunks: int
    built_at: datetime | None
    location: str
    problem: str | None = None  # why the index cannot be used as it is (see Assistant.index_problem)
    indexing: bool = False  # another process is indexing: what looks half-written is being written


class Assistant:
    """Loads models lazily, builds the index when it is missing, answers with verbatim quotes.

    Parts can be passed in prebuilt (an embedder, a generator, a Chroma client), so tests and
    other front ends swap them without patching; a plain LangChain embedder is adapted (see
    :func:`assistant.embeddings.as_embedder`).
    """

    def __init__(self, settings: Settings | None = None, *, embedder=None, generator: Generator | None = None, client=None):
        self.settings = settings or Settings()
        self._embedder: Embedder | None = None
        if embedder is not None:
            from .embeddings import as_embedder  # LangChain's core, which it imports, is not needed to answer from a status check

            self._embedder = as_embedder(embedder)
        self._generator = generator
        self._client = client
        self._client_given = client is not None  # a caller's store: not ours to watch or delete
        self._store: VectorStore | None = None
        self._docstore: DocumentStore | None = None
        self._retriever: HybridRetriever | None = None
        self._built_at: str | None = None  # the index build the retriever was loaded from
        self._lock = threading.RLock()

    # --- parts, built on first use ----------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = registry.make_embedder(self.settings)
        return self._embedder

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            self._generator = registry.make_generator(self.settings, self.embedder)
        return self._generator

    @property
    def on_server(self) -> bool:
        """Whether the index lives on a Chroma server (vectors and documents), not in the index folder."""
        return bool(self.settings.index.chroma_url)

    @property
    def docstore(self) -> DocumentStore:
        if self._docstore is None:
            if self.on_server:
                from .server_docstore import ChromaDocStore

                self._docstore = ChromaDocStore(self._chroma_client, self.settings.index.collection)
            else:
                self._docstore = DocStore(self._docstore_path)
        return self._docstore

    @property
    def _docstore_path(self):
        return self.settings.index_path / "docstore.sqlite3"

    @property
    def _chroma_client(self):
        if self._client is None:
            self._client = make_client(self.settings.index_path, self.settings.index.chroma_url)
        return self._client

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            self._store = ChromaStore(self._chroma_client, self.settings.index.collection)
        return self._store

    @contextmanager
    def _writer_lock(self, on_wait=None) -> Iterator[None]:
        """One indexing run at a time: per index folder, and on a server across every host."""
        from .indexing import index_lock

        with index_lock(self.settings.index_path, on_wait):
            if not self.on_server:
                yield
                return
            from .server_docstore import ChromaDocStore, lease

            assert isinstance(self.docstore, ChromaDocStore)
            with lease(self.docstore, self.settings.index.lease_seconds, on_wait):
                yield

    def _busy(self) -> bool:
        """Whether another run is indexing right now (what looks half-written is being written)."""
        if self.on_server:
            from .server_docstore import ChromaDocStore

            return isinstance(self.docstore, ChromaDocStore) and self.docstore.lease_holder() is not None
        from .indexing import index_busy

        return index_busy(self.settings.index_path)

    def _ensure_retriever(self) -> HybridRetriever:
        """The retriever over the index as it is now: reloaded when another instance sharing the
        index folder (an `assistant index`, another app process) has changed it since."""
        with self._lock:
            built = self.docstore.get_meta("built_at")
            if built is None:
                self.index()
                built = self.docstore.get_meta("built_at")
            if self._retriever is None or built != self._built_at:
                if self.on_server:
                    self._store = None  # a rebuild on another host may have replaced the collection held
                if self.index_problem():
                    with self._writer_lock():  # a run in another process (or on another host) finishes first
                        problem = self.index_problem()
                    if problem:
                        raise BrokenIndex(problem)
                    built = self.docstore.get_meta("built_at")
                self._load_retriever(built)
                # What the first question would pay for otherwise: the model, Chroma's vector index.
                self.embedder.load()
                self.store.warm()
            assert self._retriever is not None  # loaded just now, or kept from the same build
            return self._retriever

    def _load_retriever(self, built: str | None) -> None:
        self._check_embedder()
        corpus = Corpus.load(self.docstore, self.settings.index_path / "lexical")
        self._retriever = HybridRetriever(
            self.embedder, self.store, corpus, self.settings.retrieval.fetch_k, self.settings.retrieval.bm25_weight, self.settings.retrieval.exact_search_max
        )
        self._built_at = built

    # --- the API ---------------------------------------------------------------------------
    def index(self, rebuild: bool = False, progress: Progress | None = None, on_wait=None) -> IndexReport:
        """Sync the index with the documents folder (incremental unless ``rebuild``), one run at
        a time per index folder; ``on_wait`` is called when another run makes this one wait."""
        from .indexing import Indexer

        with self._lock, self._writer_lock(on_wait):
            if rebuild:
                self._empty_stores()
            else:
                self._check_origin()
            embedded = not self.on_server and not self._client_given  # a file this run can watch
            vector_file = embedded_store_path(self.settings.index_path) / "chroma.sqlite3" if embedded else None
            indexer = Indexer(self.settings, self.embedder, lambda: self.store, self.docstore, vector_file)
            report = indexer.sync(rebuild=rebuild, progress=progress)
            if self.on_server:
                self.docstore.set_meta(ORIGIN, self._origin())
            self._retriever = None
            if report.changed or report.rebuilt:  # BM25 built now and kept, not at the next question
                self._load_retriever(self.docstore.get_meta("built_at"))
            return report

    def _empty_stores(self) -> None:
        """Empty both stores for a rebuild; one that cannot be opened or emptied is deleted and
        made anew, so a rebuild recovers from any damage to the index files."""
        from .indexing import forget_vector_file_mark

        try:
            forget_vector_file_mark(self.docstore)  # a rebuild killed between the two stores must not look complete
            self.docstore.clear()
        except BrokenIndex:
            if self.on_server:
                raise  # a server's collection is not ours to delete
            if self._docstore is not None:
                self._docstore.close()
                self._docstore = None
            DocStore.remove_files(self._docstore_path)
        try:
            self.store.reset()
        except BrokenIndex:
            if self.on_server or self._client_given:
                raise  # a server's or a caller's store is not ours to delete
            if self._store is not None:
                self._store.close()
                self._store = None
            self._client = None  # closed with the store: the next one opens the new store
            remove_embedded_store(self.settings.index_path)

    def index_problem(self) -> str | None:
        """Why the index on disk cannot answer as it is (a killed indexing run, a lost vector
        store), or None. Damage that stops it from being read at all raises BrokenIndex."""
        pending = self.docstore.pending()
        if pending:
            return f"the last indexing run did not finish ({len(pending)} document{'s' if len(pending) != 1 else ''} half-written)"
        chunks, vectors = self.docstore.counts()[1], self.store.count()
        if chunks != vectors:
            return f"the index is incomplete (the vector store holds {vectors} vectors for {chunks} chunks)"
        return None

    def _check_embedder(self) -> None:
        """Questions are embedded by this instance's model and compared with vectors the index's
        model made: another model's vectors would retrieve nonsense, so say so instead."""
        from .indexing import fingerprint_model

        built_with = fingerprint_model(self.docstore.get_meta("fingerprint"))
        if built_with is not None and built_with != self.embedder.name:
            rebuild = ("`assistant index --rebuild` on the host with the documents, to rebuild it for every instance with this one"
                       if self.on_server else "`assistant index` to rebuild it with this one")
            raise IndexConflict(
                f"the index at {self.status_location()} was built with another embedding model ({built_with!r}; this instance uses "
                f"{self.embedder.name!r}): set ASSISTANT_EMBEDDING_MODEL and ASSISTANT_EMBEDDING_BACKEND as they were, or run {rebuild}"
            )

    def status_location(self) -> str:
        if self.on_server:
            return f"{self.settings.index.chroma_url}, collection '{self.settings.index.collection}'"
        return str(self.settings.index_path)

    def _origin(self) -> str:
        return f"{socket.gethostname()}:{self.settings.seeds_path.resolve()}"

    def _check_origin(self) -> None:
        """On a server, the index mirrors one documents folder: a sync from another folder (or
        host) would replace its documents with that folder's, so it takes ``--rebuild`` to say so."""
        if not self.on_server or not self.settings.seeds_path.is_dir():
            return  # a missing folder is reported by the sync, which then changes nothing
        origin = self.docstore.get_meta(ORIGIN)
        if origin is None or origin == self._origin() or not self.docstore.counts()[0]:
            return
        raise IndexConflict(
            f"the index in collection '{self.settings.index.collection}' on {self.settings.index.chroma_url} was built from {origin}, "
            f"not from {self._origin()}: index it from there, or `assistant index --rebuild` here to replace its documents with these"
        )

    def _ready_retriever(self) -> HybridRetriever:
        """The retriever, refusing to answer from an index that holds no document at all: "the
        documents do not answer" would then be a claim about documents nobody read."""
        retriever = self._ensure_retriever()
        if not retriever.corpus.texts:
            from .readers import SUPPORTED_SUFFIXES

            if not self.settings.seeds_path.is_dir():
                raise NoDocuments(f"the documents folder {self.settings.seeds_path} does not exist (ASSISTANT_SEEDS_DIR, --seeds-dir)")
            raise NoDocuments(
                f"no documents are indexed: {self.settings.seeds_path} holds no file the assistant can read "
                f"({' '.join(sorted(SUPPORTED_SUFFIXES))}); `assistant index` lists what it skipped and why"
            )
        return retriever

    def ask(self, question: str, history=None) -> Answer:
        question = self.check_question(question)
        retriever = self._ready_retriever()  # one-time loading is not part of a question's latency
        started = time.perf_counter()
        query, asked = self._standalone(question, history)
        passages = retriever.retrieve(query, self.settings.retrieval.top_k)
        answer = self.generator.generate(asked, passages, retriever.corpus)
        return self._stamp(answer, question, query, started)

    def ask_stream(self, question: str, history=None) -> Iterator[str | Answer]:
        """Like :meth:`ask`, but yields the answer text in pieces as it is written, then the Answer.

        The final Answer is the verified one: its text may differ from the pieces (an LLM answer
        whose quotes were all dropped falls back or abstains), so show it in their place.
        """
        question = self.check_question(question)
        retriever = self._ready_retriever()
        started = time.perf_counter()
        query, asked = self._standalone(question, history)
        passages = retriever.retrieve(query, self.settings.retrieval.top_k)
        for piece in self.generator.stream(asked, passages, retriever.corpus):
            if isinstance(piece, str):
                yield piece
            else:
                yield self._stamp(piece, question, query, started)

    def _standalone(self, question: str, history) -> tuple[str, str]:
        """(retrieval query, question for the generator): see :meth:`Generator.standalone`."""
        if not history:
            return question, question
        return self.generator.standalone(question, history)

    @staticmethod
    def _stamp(answer: Answer, question: str, query: str, started: float) -> Answer:
        answer.question = question
        answer.query = query
        answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer

    def check_question(self, question: str) -> str:
        if not isinstance(question, str):
            raise QuestionError("the question must be text")
        cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in question).strip()
        if not cleaned:
            raise QuestionError("the question is empty")
        if len(cleaned) > self.settings.answerer.max_question_chars:
            raise QuestionError(f"the question is {len(cleaned)} characters long; the limit is {self.settings.answerer.max_question_chars}")
        return cleaned

    def text(self, source: str) -> str | None:
        """The extracted text of an indexed document: what quote offsets refer to."""
        return self._ensure_retriever().corpus.texts.get(source)

    def status(self) -> IndexStatus:
        documents, chunks = self.docstore.counts()
        built = self.docstore.get_meta("built_at")
        location = self.status_location()
        problem = self.index_problem() if built else None
        indexing = bool(problem) and self._busy()  # what looks half-written may be being written
        return IndexStatus(
            documents=documents,
            chunks=chunks,
            built_at=datetime.fromtimestamp(float(built), tz=timezone.utc) if built else None,
            location=location,
            problem=None if indexing else problem,
            indexing=indexing,
        )
