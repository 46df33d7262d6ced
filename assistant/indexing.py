"""Incremental sync of the documents folder into the index.

Change detection is by the hash of each file's bytes, so unchanged files are neither parsed
nor embedded. LangChain's ``index()`` API does hash-based sync too, but it cannot skip
extraction, keep the extracted texts and sentence spans that quotes are cut from, or journal
a source before touching its vectors; the document store does all three.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from filelock import FileLock, Timeout

from .chunking import Chunker, split_sentences
from .docstore import DocStore
from .loaders import LoadError, Problem, extract, scan
from .settings import Settings
from .store import VectorStore
from .types import Chunk, Document

CHUNKER_VERSION = "1"
Progress = Callable[[int, int], None]


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
    def __init__(self, settings: Settings, embedder, store: VectorStore, docstore: DocStore):
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.docstore = docstore
        self.chunker = Chunker(settings.chunk_size, settings.chunk_overlap)

    def fingerprint(self) -> str:
        s = self.settings
        return f"{getattr(self.embedder, 'name', type(self.embedder).__name__)}|{s.chunk_size}|{s.chunk_overlap}|{CHUNKER_VERSION}"

    def sync(self, rebuild: bool = False, progress: Progress | None = None, on_wait: Callable[[], None] | None = None) -> IndexReport:
        """Bring the index in line with the documents folder; one run at a time per index."""
        lock = FileLock(str(self.settings.index_path / ".index.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_wait:
                on_wait()
            lock.acquire()
        try:
            return self._sync(rebuild, progress)
        finally:
            lock.release()

    def _sync(self, rebuild: bool, progress: Progress | None) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport()
        fingerprint = self.fingerprint()
        known_chunks = self.docstore.counts()[1]
        if rebuild or self.docstore.get_meta("fingerprint") != fingerprint or self.store.count() != known_chunks:
            self.store.reset()
            self.docstore.clear()
            report.rebuilt = True
        for source in self.docstore.pending():  # left by a run that died mid-write
            self.store.delete_source(source)
            self.docstore.remove(source)

        known = self.docstore.hashes()
        files, report.problems = scan(self.settings.seeds_path, self.settings.root, int(self.settings.max_file_mb * 1e6))
        changed: list[tuple[Document, list[Chunk], list]] = []
        seen = set()
        for file in files:
            seen.add(file.source)
            if known.get(file.source) == file.sha256:
                report.kept.append(file.source)
                continue
            try:
                document = extract(file)
            except LoadError as exc:
                report.problems.append(Problem(file.source, str(exc)))
                seen.discard(file.source)  # a stale copy must not stay quotable
                continue
            changed.append((document, self.chunker.split(document), split_sentences(document.text, document.source)))

        total = sum(len(chunks) for _, chunks, _ in changed)
        done = 0
        batch: list[tuple[Document, list[Chunk], list]] = []
        for item in changed:
            batch.append(item)
            if sum(len(c) for _, c, _ in batch) >= 256:
                done = self._write(batch, known, report, done, total, progress)
                batch = []
        if batch:
            self._write(batch, known, report, done, total, progress)

        for source in sorted(set(known) - seen):
            self.docstore.mark_pending(source)
            self.store.delete_source(source)
            self.docstore.remove(source)
            report.removed.append(source)

        self.docstore.set_meta("fingerprint", fingerprint)
        if report.changed or report.rebuilt or self.docstore.get_meta("built_at") is None:
            self.docstore.set_meta("built_at", str(time.time()))
        report.seconds = time.perf_counter() - started
        return report

    def _write(self, batch, known, report: IndexReport, done: int, total: int, progress: Progress | None) -> int:
        """Embed a batch of documents in one pass, store their vectors in one call, then record
        each document atomically (all are journalled as pending until recorded)."""
        texts = [c.text for _, chunks, _ in batch for c in chunks]
        vectors = self.embedder.embed_documents(texts)  # one call: the embedder batches texts of like length
        done += len(texts)
        if progress:
            progress(done, total)
        for document, _, _ in batch:
            self.docstore.mark_pending(document.source)
            if document.source in known:
                self.store.delete_source(document.source)
        self.store.add([c for _, chunks, _ in batch for c in chunks], vectors)  # one upsert: Chroma's cost is per call
        for document, chunks, sentences in batch:
            self.docstore.record(document, chunks, sentences)
            (report.replaced if document.source in known else report.added).append(document.source)
            report.chunks_embedded += len(chunks)
        return done
