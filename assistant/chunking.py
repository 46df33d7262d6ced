"""Document -> chunks and sentences, each an exact span of the extracted text."""

from __future__ import annotations

import hashlib
import re

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .types import Chunk, Document, Sentence

# Lookbehinds keep the punctuation with the sentence it ends; the splitter falls back to
# clauses, then words, only when a sentence is longer than a chunk.
_SENTENCE_SEPARATORS = [
    r"\n\s*\n",
    r"\n",
    r"(?<=[.!?])\s+",
    r"(?<=[.!?][\"'”’)\]])\s+",
    r"(?<=[;:])\s+",
    r"(?<=,)\s+",
    r"\s+",
    "",
]

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "sen", "rep", "gov", "lt", "col", "capt", "sgt", "st",
    "jr", "sr", "vs", "etc", "no", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "e.u", "i.e", "e.g", "a.m", "p.m",
}
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])|\n+")


def split_sentences(text: str, source: str = "") -> list[Sentence]:
    """Sentence spans of ``text``; a line break always ends a sentence."""
    sentences: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group().startswith((".",)) and _is_abbreviation(text, match.start()):
            continue
        _append(sentences, text, source, start, match.end())
        start = match.end()
    _append(sentences, text, source, start, len(text))
    return sentences


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"([A-Za-z][A-Za-z.]*)$", text[max(0, dot - 12):dot])
    if not word:
        return False
    token = word.group(1).lower().rstrip(".")
    return token in _ABBREVIATIONS or len(token) == 1


def _append(out: list[Sentence], text: str, source: str, start: int, end: int) -> None:
    span = text[start:end]
    stripped = span.strip()
    if not stripped:
        return
    s = start + (len(span) - len(span.lstrip()))
    out.append(Sentence(source=source, start=s, end=s + len(stripped), text=stripped))


class Chunker:
    """LangChain's recursive splitter with sentence-first separators, keeping exact offsets."""

    def __init__(self, chunk_size: int, chunk_overlap: int):
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=min(chunk_overlap, chunk_size // 2),
            separators=_SENTENCE_SEPARATORS,
            is_separator_regex=True,
            keep_separator="end",
            add_start_index=True,
        )

    def split(self, document: Document) -> list[Chunk]:
        prefix = hashlib.sha1(f"{document.source}\0{document.sha256}".encode()).hexdigest()[:16]
        chunks = []
        for i, piece in enumerate(self._splitter.create_documents([document.text])):
            start = piece.metadata["start_index"]
            text = piece.page_content
            if start < 0 or document.text[start:start + len(text)] != text:
                start = document.text.find(text)  # the splitter lost its place; find is exact or -1
                if start < 0:
                    continue
            chunks.append(Chunk(id=f"{prefix}-{i}", source=document.source, start=start, end=start + len(text), text=text))
        return chunks
