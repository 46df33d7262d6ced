"""Typed objects passed between pipeline stages: documents -> chunks -> passages -> answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Document:
    """A loaded file. ``text`` is the extracted text every offset refers to."""

    source: str  # path relative to the project root, with forward slashes
    text: str
    sha256: str  # hash of the file's bytes: the key for incremental indexing


@dataclass(frozen=True)
class Chunk:
    """A span of a document's extracted text: ``text == document.text[start:end]``."""

    id: str
    source: str
    start: int
    end: int
    text: str


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
    support: float = 0.0  # the evidence score abstention was decided on
    query: str = ""  # the retrieval query, after follow-up rewriting
    notice: str = ""  # one line on what went wrong and what was done instead (an LLM fallback)
    closest: list[Quote] = field(default_factory=list)  # on abstention: the best sentences found, too weak to answer with

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
            "support": round(self.support, 4),
            **({"notice": self.notice} if self.notice else {}),
            **({"closest": [asdict(q) for q in self.closest]} if self.closest else {}),
        }


@dataclass(frozen=True)
class Claim:
    """A quote as a language model gave it, unverified: ``passage`` is the 1-based number it cited."""

    passage: int
    text: str
