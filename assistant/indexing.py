"""Incremental sync of the documents folder into the index.

Change detection is by the hash of each file's bytes, so unchanged files are neither parsed
nor embedded. LangChain's ``index()`` API does hash-based sync too, but it cannot skip
extraction, keep the extracted texts and sentence spans that quotes are cut from, or journal
a source before touching its vectors; the document store does all three.

Crash safety: a source is journalled (``pending``) before its vectors change and unjournalled
in the transaction that records it, so the next run undoes whatever a killed run left half
done; a vector store that does not match the document store is rebuilt (its vectors are counted
whenever its database file changed since the last complete run).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import LoadError, NoDocuments
from .loaders import Problem, SourceFile, extract, scan
from .protocols import DocumentStore, Embedder, VectorStore
from .readers import kind_of, reader_version
from .settings import Settings
from .types import Chunk, Document, Sentence

VECTOR_FILE_MARK = "vector_file_mark"
FINGERPRINT_SEPARATOR = "|"  # between model name, chunk size, overlap and reader version
Progress = Callable[[int, int], object]  # (done, total); what it returns is ignored


def fingerprint_model(fingerprint: str | None) -> str | None:
    """The embedding model an index was built with, from its recorded fingerprint."""
    return fingerprint.split(FINGERPRINT_SEPARATOR, 1)[0] if fingerprint else None


def forget_vector_file_mark(docstore: DocumentStore) -> None:
    """Before either store is written: the next run must count the vectors again."""
    docstore.set_meta(VECTOR_FILE_MARK, "")


def _writer_lock(index_path: Path) -> FileLock:
    return FileLock(str(index_path / ".index.lock"))


def index_busy(index_path: Path) -> bool:
    """Whether another process holds the index lock (is indexing) right now."""
    lock = _writer_lock(index_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


@contextmanager
def index_lock(index_path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """One writer per index folder, across processes; ``on_wait`` is told when another holds it."""
    index_path.mkdir(parents=True, exist_ok=True)
    lock = _writer_lock(index_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait:
            on_wait()
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0
    rebuilt: bool = False
    repaired: str = ""  # why the index was rebuilt without being asked to, for the user

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, replaced {len(self.replaced)}, removed {len(self.removed)}, "
            f"kept {len(self.kept)}, skipped {len(self.problems)} "
            f"({self.chunks_embedded} chunks embedded in {self.seconds:.1f} s)"
        )


class Indexer:
    """Syncs one index; the caller holds :func:`index_lock` while it runs."""

    def __init__(self, settings: Settings, embedder: Embedder, open_store: Callable[[], VectorStore], docstore: DocumentStore, vector_file: Path | None = None):
        self.settings = settings
        self.embedder = embedder
        self.open_store = open_store
        self.docstore = docstore
        self.vector_file = vector_file  # the embedded store's database file; None: always count its vectors

    # Opened only when needed: a run with nothing to do then never imports Chroma or the splitters.
    @cached_property
    def store(self) -> VectorStore:
        return self.open_store()

    @cached_property
    def chunker(self):
        from .chunking import Chunker

        return Chunker(self.settings.index.chunk_size, self.settings.index.chunk_overlap)

    def fingerprint(self) -> str:
        s = self.settings
        return FINGERPRINT_SEPARATOR.join(map(str, (self.embedder.name, s.index.chunk_size, s.index.chunk_overlap, reader_version())))

    def sync(self, rebuild: bool = False, progress: Progress | None = None) -> IndexReport:
        """Bring the index in line with the documents folder; a folder that does not exist changes
        nothing (a misspelt path must not empty the index)."""
        if not self.settings.seeds_path.is_dir():
            raise NoDocuments(f"the documents folder {self.settings.seeds_path} does not exist (ASSISTANT_SEEDS_DIR, --seeds-dir); the index was not changed")
        started = time.perf_counter()
        report = IndexReport()
        trusted = self._mark_unchanged()
        forget_vector_file_mark(self.docstore)  # whatever this run writes, a killed run must not look complete
        for source in self.docstore.pending():  # left by a run that died mid-write
            trusted = False
            self.store.delete_source(source)
            self.docstore.remove(source)
        fingerprint = self.fingerprint()
        why = self._rebuild_reason(fingerprint, trusted)
        if rebuild or why is not None:
            self.store.reset()
            self.docstore.clear()
            self.docstore.set_meta("fingerprint", fingerprint)  # the empty index matches it: a crash from here keeps progress
            report.rebuilt, report.repaired = True, "" if rebuild else why or ""

        from .segmenting import sentences  # imported here: a run with nothing to do needs no segmenter

        known = self.docstore.hashes()
        files, report.problems = scan(self.settings.seeds_path, self.settings.root, int(self.settings.index.max_file_mb * 1e6))
        files, copies = unique_contents(files)
        changed: list[tuple[Document, list[Chunk], list[Sentence]]] = []
        seen, failed = set(), set()
        for file in files:
            seen.add(file.source)
            if known.get(file.source) == file.sha256:
                report.kept.append(file.source)
                continue
            try:
                document = extract(file, self.settings.index.max_text_chars)
                spans = sentences(document)
                if not spans:
                    raise LoadError("nothing to quote: the text is only headings")
            except LoadError as exc:
                report.problems.append(Problem(file.source, str(exc)))
                seen.discard(file.source)  # a stale copy must not stay quotable
                failed.add(file.source)
                continue
            changed.append((document, self.chunker.split(document, spans), spans))
        for copy, original in copies.items():
            done = "which was skipped too" if original in failed else "indexed once, under that name"
            report.problems.append(Problem(copy, f"same content as {original}; {done}"))

        self._embed_and_record(changed, known, report, progress)
        for source in sorted(set(known) - seen):
            self.docstore.mark_pending(source)
            self.store.delete_source(source)
            self.docstore.remove(source)
            report.removed.append(source)

        if report.changed or report.rebuilt or self.docstore.get_meta("built_at") is None:
            self.docstore.set_meta("built_at", str(time.time()))
        self.docstore.set_meta(VECTOR_FILE_MARK, self._vector_file_mark() or "")  # complete: vectors match chunks
        report.seconds = time.perf_counter() - started
        return report

    def _rebuild_reason(self, fingerprint: str, trusted: bool = False) -> str | None:
        """Why the stored index cannot be updated incrementally, or None when it can; ``trusted``:
        the vector store's database is as the last complete run left it, so its count is known."""
        stored = self.docstore.get_meta("fingerprint")
        if trusted and stored == fingerprint:
            return None
        chunks = self.docstore.counts()[1]
        vectors = self.store.count()
        if stored is None:  # a new index, or a document store that was lost
            return f"the document store was missing, the vector store held {vectors} vectors" if vectors else ""
        if stored != fingerprint:
            return f"the embedding model, the chunk settings or the document readers changed ({stored} -> {fingerprint})"
        if vectors != chunks:
            return f"the vector store held {vectors} vectors for the document store's {chunks} chunks"
        return None

    def _vector_file_mark(self) -> str | None:
        """Size and modification time of the embedded vector store's database, or None.

        Recorded at the end of every complete run and forgotten before anything is written: while
        it is unchanged, the store still holds the vectors that run checked, and a run with nothing
        to do need not open Chroma to count them.
        """
        if self.vector_file is None:
            return None
        try:
            stat = self.vector_file.stat()
        except OSError:
            return None
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    def _mark_unchanged(self) -> bool:
        mark = self._vector_file_mark()
        return bool(mark) and mark == self.docstore.get_meta(VECTOR_FILE_MARK)

    def _embed_and_record(self, changed, known: dict[str, str], report: IndexReport, progress: Progress | None) -> None:
        """Embed every chunk in batches and record each document as soon as its vectors are
        ready: a crash loses at most two calls' work (one being written, one being embedded),
        and what was recorded stays.

        The stores are written by one writer thread while the next batch is embedded, one write
        in flight at a time and in order, so the journal sees what a sequential run does; a
        Chroma server's round trips (half of a build on loopback) then overlap the encoder.
        """
        texts = [c.indexed_text for _, chunks, _ in changed for c in chunks]
        waiting = deque(changed)
        ready: list = []  # vectors of chunks whose document is not recorded yet, in order
        in_flight: Future | None = None

        def record_ready() -> None:
            nonlocal in_flight
            if in_flight is not None:
                done, in_flight = in_flight, None
                done.result()  # the previous write is done (or its error is raised here, once)
            batch, taken = [], 0
            while waiting and taken + len(waiting[0][1]) <= len(ready):
                batch.append(waiting.popleft())
                taken += len(batch[-1][1])
            in_flight = writer.submit(self._record, batch, ready[:taken], known, report) if batch else None
            del ready[:taken]

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-writer") as writer:
            try:
                record_ready()
                step = self.settings.embedding.call_texts
                for i in range(0, len(texts), step):
                    ready.extend(self.embedder.embed_documents(texts[i:i + step]))
                    if progress:
                        progress(min(i + step, len(texts)), len(texts))
                    record_ready()
            finally:
                if in_flight is not None:
                    in_flight.result()  # nothing is written after this run returns or fails

    def _record(self, batch, vectors, known: dict[str, str], report: IndexReport) -> None:
        """Store a batch of documents' vectors in one call (Chroma's cost is per call), then record
        each document atomically; all are journalled as pending before their vectors change."""
        self.docstore.mark_pending(*(document.source for document, _, _ in batch))
        for document, _, _ in batch:
            if document.source in known:
                self.store.delete_source(document.source)
        self.store.add([c for _, chunks, _ in batch for c in chunks], vectors)
        self.docstore.record(batch)
        for document, chunks, _ in batch:
            (report.replaced if document.source in known else report.added).append(document.source)
            report.chunks_embedded += len(chunks)


def unique_contents(files: list[SourceFile]) -> tuple[list[SourceFile], dict[str, str]]:
    """Files with identical content are indexed once, under the first name in path order (a
    copy would crowd the same passage into answers twice; the index stays a function of the
    folder alone). Returns the files to index and, for each copy left out, the source it repeats."""
    groups: dict[tuple[str, str], list[SourceFile]] = {}
    for file in sorted(files, key=lambda f: f.source):
        groups.setdefault((file.sha256, kind_of(file.path.suffix)), []).append(file)  # same bytes, same text
    unique = sorted((group[0] for group in groups.values()), key=lambda f: f.source)
    copies = {f.source: group[0].source for group in groups.values() for f in group[1:]}
    return unique, copies
