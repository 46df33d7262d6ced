"""What the index holds, loaded once per build: the texts quotes are cut from, their layouts,
sentence spans, and the term statistics (BM25 and word rarity) that retrieval and answering share."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import lexical
from .lexical import tokens
from .protocols import DocumentStore
from .types import SECTION_SEPARATOR, Chunk, Layout, Quote

LEXICAL_FORMAT = "2"  # bump when what LexicalIndex saves changes


@dataclass
class LexicalIndex:
    """BM25 over the chunks, each term's chunk frequency, and each term's sentence frequency.

    Tokenising every chunk and sentence (stemming in Python) is the slow part of loading an
    index: seconds at 15k chunks. So it is done once per state of the index and kept on disk,
    under a key that changes with the chunks, the sentences and the tokenizer's code.
    """

    doc_freq: dict[str, int]  # chunks (with their headers) holding each term
    bm25: Any  # a bm25s.BM25 (which ships no types); None for an empty index
    sentence_freq: dict[str, int] = field(default_factory=dict)  # sentences holding each term
    sentence_count: int = 0

    @classmethod
    def build(cls, chunks: list[Chunk], sentences: Sequence[str] = ()) -> LexicalIndex:
        chunk_tokens = [tokens(c.indexed_text) for c in chunks]
        doc_freq: Counter = Counter()
        for terms in chunk_tokens:
            doc_freq.update(set(terms))
        sentence_freq: Counter = Counter()
        for sentence in sentences:
            sentence_freq.update(set(tokens(sentence)))
        bm25 = None
        if chunks:
            import bm25s

            bm25 = bm25s.BM25()
            bm25.index([terms or ["\0"] for terms in chunk_tokens], show_progress=False)
        return cls(dict(doc_freq), bm25, dict(sentence_freq), len(sentences))

    @classmethod
    def cached(cls, chunks: list[Chunk], sentences: list[str], folder: Path | None) -> LexicalIndex:
        """Loaded from ``folder`` when it holds this state's index; else built and saved there."""
        if folder is None or not chunks:
            return cls.build(chunks, sentences)
        path = folder / _lexical_key(chunks, sentences)
        if path.is_dir():
            try:
                return cls.load(path)
            except (OSError, ValueError, KeyError):
                pass  # damaged or half-deleted: build it again
        index = cls.build(chunks, sentences)
        index.save(path)
        return index

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        import bm25s

        doc_freq = json.loads((path / "doc_freq.json").read_text(encoding="utf-8"))
        sentences = json.loads((path / "sentence_freq.json").read_text(encoding="utf-8"))
        return cls(doc_freq, bm25s.BM25.load(str(path)), sentences["freq"], sentences["count"])

    def save(self, path: Path) -> None:
        """Write to a temporary folder, then rename it into place: readers never see half a file.
        Other states' folders are removed. A read-only index folder is served from memory."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.mkdir(parents=True, exist_ok=True)
            self.bm25.save(str(tmp))
            (tmp / "doc_freq.json").write_text(json.dumps(self.doc_freq), encoding="utf-8")
            (tmp / "sentence_freq.json").write_text(json.dumps({"freq": self.sentence_freq, "count": self.sentence_count}), encoding="utf-8")
            os.rename(tmp, path)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            return
        for old in path.parent.iterdir():
            if old != path and not old.name.startswith("."):
                shutil.rmtree(old, ignore_errors=True)


def _lexical_key(chunks: list[Chunk], sentences: list[str]) -> str:
    import bm25s

    digest = hashlib.sha256(f"{LEXICAL_FORMAT}|{bm25s.__version__}|".encode())
    package = Path(lexical.__file__).parent
    for code in (package / "lexical.py", package / "folding.py", package / "lexicon.py", package / "data" / "stopwords.txt"):
        digest.update(code.read_bytes())  # tokens() changed: the statistics are stale
    for c in chunks:
        digest.update(f"\0{c.id}\0{c.start}\0{c.end}\0{c.header}\0{c.text}".encode())
    for sentence in sentences:
        digest.update(f"\1{sentence}".encode())
    return digest.hexdigest()[:32]


@dataclass
class Corpus:
    """What the index holds, loaded once: texts to quote from, their layouts, sentence spans,
    term statistics."""

    texts: dict[str, str]
    sentences: dict[str, list[tuple[int, int]]]
    chunks: list[Chunk]
    lexical: LexicalIndex
    layouts: dict[str, Layout] = field(default_factory=dict)

    @classmethod
    def load(cls, docstore: DocumentStore, cache: Path | None = None) -> Corpus:
        """``cache``: the folder the lexical index is kept in (see :class:`LexicalIndex`)."""
        chunks, texts, sentences = docstore.chunks(), docstore.texts(), docstore.sentences()
        sentence_texts = [texts[source][start:end] for source in sorted(sentences) for start, end in sentences[source]]
        return cls(
            texts=texts, sentences=sentences, chunks=chunks,
            lexical=LexicalIndex.cached(chunks, sentence_texts, cache), layouts=docstore.layouts(),
        )

    def quote(self, source: str, start: int, end: int, score: float = 0.0) -> Quote:
        """The exact text at these offsets, with the page and section a reader finds it under."""
        layout = self.layouts.get(source, Layout())
        return Quote(
            text=self.texts[source][start:end], source=source, start=start, end=end, score=score,
            page=layout.page_at(start), section=SECTION_SEPARATOR.join(layout.section_at(start)),
        )

    @property
    def doc_freq(self) -> dict[str, int]:
        return self.lexical.doc_freq

    def idf(self, term: str) -> float:
        """Inverse sentence frequency; a word the corpus never uses weighs the most. Sentences,
        the unit the answerer weighs, not chunks: how rare a word is must not change with the
        chunk size or with the headings chunks carry."""
        n = max(self.lexical.sentence_count, 1)
        return math.log(1 + (n + 1) / (self.lexical.sentence_freq.get(term, 0) + 0.5))

    def sentences_in(self, chunk: Chunk) -> list[tuple[int, int]]:
        """Sentences that lie mostly inside the chunk, as spans of the whole document."""
        spans = self.sentences.get(chunk.source, [])
        out = []
        for start, end in spans[max(bisect_right(spans, (chunk.start, chunk.start)) - 1, 0):]:
            if start >= chunk.end:
                break
            if end <= chunk.start:
                continue
            inside = min(end, chunk.end) - max(start, chunk.start)
            if inside >= 0.5 * (end - start):
                out.append((start, end))
        return out
