"""Typed objects passed between pipeline stages: documents -> chunks -> passages -> answer."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class WordVectors:
    """Each word of a text with its contextual vector (mean of its word pieces, normalised)."""

    words: list[str]
    vectors: np.ndarray  # shape (len(words), dim)


@dataclass(frozen=True)
class TokenVectors:
    """A text's word pieces: character span of each and its contextual vector (one row each)."""

    offsets: list[tuple[int, int]]
    vectors: np.ndarray  # shape (len(offsets), dim)


@dataclass
class Hit:
    """A chunk the vector store found near a query."""

    id: str
    similarity: float  # cosine similarity (1 - cosine distance)


@dataclass(frozen=True)
class Block:
    """A structural unit of a document's extracted text: ``text[start:end]`` is a heading, a
    paragraph, a list item, a table row, a code block or a quotation. No sentence crosses a
    block's edge; a heading opens a section for the blocks after it."""

    start: int
    end: int
    kind: str = "paragraph"  # heading, paragraph, item, row, code, quote
    level: int = 0  # a heading's depth, 1 the outermost
    page: int | None = None  # 1-based page of a PDF
    section: int = -1  # index into Layout.sections of the headings it stands under; -1: none

    @property
    def atomic(self) -> bool:
        """Read as one unit, never cut into sentences: a code block, a table row, a heading."""
        return self.kind in ("code", "row", "heading")


@dataclass(frozen=True)
class Layout:
    """A document's structure: its title, its blocks in order, and the section paths (headings,
    outermost first) they stand under, so any offset knows its page and section."""

    title: str = ""
    blocks: tuple[Block, ...] = ()
    sections: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(cls, text: str, blocks: list[Block], title: str = "") -> Layout:
        """Blocks in reading order, each given the section its headings open."""
        stack: list[tuple[int, str]] = []
        paths: dict[tuple[str, ...], int] = {}
        placed = []
        for block in blocks:
            if block.kind == "heading":
                while stack and stack[-1][0] >= block.level:
                    stack.pop()
                stack.append((block.level, " ".join(text[block.start:block.end].split())))
            path = tuple(t for _, t in stack)
            section = paths.setdefault(path, len(paths)) if path else -1
            placed.append(Block(block.start, block.end, block.kind, block.level, block.page, section))
        return cls(" ".join(title.split()), tuple(placed), tuple(paths))

    @cached_property
    def _starts(self) -> list[int]:
        return [b.start for b in self.blocks]

    def _before(self, offset: int) -> Block | None:
        i = bisect_right(self._starts, offset) - 1
        return self.blocks[i] if i >= 0 else None

    def block_at(self, offset: int) -> Block | None:
        """The block holding ``offset``, or None between blocks."""
        block = self._before(offset)
        return block if block and offset < block.end else None

    def page_at(self, offset: int) -> int | None:
        block = self._before(offset)
        return block.page if block else None

    def section_at(self, offset: int) -> tuple[str, ...]:
        block = self._before(offset)
        return self.sections[block.section] if block and block.section >= 0 else ()

    def to_json(self) -> dict:
        return {
            "title": self.title,
            "sections": [list(p) for p in self.sections],
            "blocks": [[b.start, b.end, b.kind, b.level, b.page, b.section] for b in self.blocks],
        }

    @classmethod
    def from_json(cls, data: dict) -> Layout:
        return cls(data.get("title", ""), tuple(Block(*b) for b in data.get("blocks", [])), tuple(tuple(p) for p in data.get("sections", [])))


@dataclass(frozen=True)
class Document:
    """A loaded file. ``text`` is the extracted text every offset refers to."""

    source: str  # path relative to the project root, with forward slashes
    text: str
    sha256: str  # hash of the file's bytes: the key for incremental indexing
    layout: Layout = Layout()


@dataclass(frozen=True)
class Chunk:
    """A span of a document's extracted text: ``text == document.text[start:end]``."""

    id: str
    source: str
    start: int
    end: int
    text: str
    header: str = ""  # the document title and section path it stands under: embedded and indexed with it, never quoted

    @property
    def indexed_text(self) -> str:
        """What the embedder and BM25 read: the header gives a passage the context its words lack."""
        return f"{self.header}\n{self.text}" if self.header else self.text


@dataclass(frozen=True)
class Sentence:
    source: str
    start: int
    end: int
    text: str


@dataclass
class Passage:
    """A retrieved chunk with the evidence of why it was retrieved."""

    chunk: Chunk
    score: float  # fused dense + lexical score
    dense: float = 0.0  # cosine similarity to the query, 0 when only BM25 found it
    lexical: float = 0.0  # BM25 score, 0 when only the dense retriever found it


@dataclass(frozen=True)
class Quote:
    """A verbatim span of a source: ``extracted_text(source)[start:end] == text``."""

    text: str
    source: str
    start: int
    end: int
    score: float = 0.0
    page: int | None = None  # 1-based PDF page the quote starts on
    section: str = ""  # the headings it stands under, outermost first, joined by " › "

    def citation(self) -> str:
        """Where to find it, as a reader looks: ``manual.pdf, p. 4, § Installing [12034:12160]``."""
        parts = [self.source]
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.section:
            parts.append(f"§ {self.section}")
        return f"{', '.join(parts)} [{self.start}:{self.end}]"


@dataclass(frozen=True)
class AnswerSpan:
    """The short answer: ``text`` is ``quotes[quote].text`` at document offsets ``[start:end]``."""

    quote: int
    start: int
    end: int
    text: str


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    quotes: list[Quote] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    latency_ms: float = 0.0
    generator: str = "extractive"
    dropped_quotes: int = 0
    unsupported_claims: int = 0  # what an LLM answer named, or the question asked for, that its quotes did not hold (the answer was not shown)
    support: float = 0.0  # the evidence score abstention was decided on
    query: str = ""  # the retrieval query, after follow-up rewriting
    notice: str = ""  # one line on what went wrong and what was done instead (an LLM fallback)
    closest: list[Quote] = field(default_factory=list)  # on abstention: the best sentences found, too weak to answer with
    answer_span: AnswerSpan | None = None  # the span a typed question asks for (a number, a time, a name), inside a quote
    reason: str = ""  # on abstention: why, in one line
    evidence: list[dict] = field(default_factory=list)  # per quote: the features that decided it ({} for a quote that continues another)

    @property
    def lead(self) -> str:
        """What to show above the quotes: the span the question asks for, else the answer text,
        else nothing when that text is only the quotes again (a reader never sees it twice)."""
        return lead(self.answer, [q.text for q in self.quotes], self.answer_span.text if self.answer_span else None)

    def to_dict(self) -> dict:
        """The JSON shape of ``assistant ask --json``."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "quotes": [asdict(q) for q in self.quotes],
            "latency_ms": round(self.latency_ms, 2),
            "generator": self.generator,
            "dropped_quotes": self.dropped_quotes,
            "unsupported_claims": self.unsupported_claims,
            "support": round(self.support, 4),
            **({"notice": self.notice} if self.notice else {}),
            **({"closest": [asdict(q) for q in self.closest]} if self.closest else {}),
            "answer_span": asdict(self.answer_span) if self.answer_span else None,
            **({"reason": self.reason} if self.reason else {}),
            **({"evidence": self.evidence} if self.evidence else {}),
        }


@dataclass(frozen=True)
class Claim:
    """A quote as a language model gave it, unverified: ``passage`` is the 1-based number it cited."""

    passage: int
    text: str


def lead(answer: str, quotes: list[str], span: str | None) -> str:
    """See :attr:`Answer.lead` (also used on the JSON shape of an answer)."""
    if span:
        return span
    if quotes and " ".join(answer.split()) == " ".join(" ".join(q.split()) for q in quotes):
        return ""
    return answer
