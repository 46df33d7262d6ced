"""Blocks -> sentences: every sentence is an exact span of the extracted text inside one block.

A block (a paragraph, a list item) is cut at sentence ends: a full stop, question or exclamation
mark (with any closing quote or bracket) followed by space and a capital, a digit or an opening
quote, unless the word before the stop is an abbreviation ("U.S.", "e.g.", "Fig. 3") or an
initial ("J. R. R. Tolkien"). A newline inside a block is a space: hard-wrapped lines never end a
sentence. Headings are not sentences (they name the section a passage stands under); a code
block or a table row is one unit, cut only at its lines when it is longer than ``max_chars``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from .types import Block, Document, Sentence

_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")


@lru_cache(maxsize=1)
def abbreviations() -> frozenset[str]:
    """The abbreviation list, kept as data (``assistant/data/abbreviations.txt``)."""
    text = resources.files("assistant").joinpath("data/abbreviations.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


def split_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]``, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    at = start
    for match in _BOUNDARY.finditer(text, start, end):
        if match.group().startswith(".") and _is_abbreviation(text, match.start()):
            continue
        _append(spans, text, at, match.end())
        at = match.end()
    _append(spans, text, at, end)
    return spans


def _is_abbreviation(text: str, dot: int) -> bool:
    word = _WORD_BEFORE.search(text, max(0, dot - 12), dot)
    if not word:
        return False
    token = word.group(1).lower().rstrip(".")
    return token in abbreviations() or len(token) == 1


def _append(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def _lines(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """A long code block or row as runs of whole lines of at most ``max_chars`` (a longer line alone)."""
    spans: list[tuple[int, int]] = []
    run_start = line_start = start
    while line_start < end:
        line_end = text.find("\n", line_start, end)
        line_end = end if line_end < 0 else line_end + 1
        if line_end - run_start > max_chars and line_start > run_start:
            _append(spans, text, run_start, line_start)
            run_start = line_start
        line_start = line_end
    _append(spans, text, run_start, end)
    return spans


def sentences(document: Document, max_chars: int = 1000) -> list[Sentence]:
    """Every sentence of the document in reading order; a document without blocks is one block."""
    text = document.text
    spans: list[tuple[int, int]] = []
    for block in document.layout.blocks or (Block(0, len(text)),):
        if block.kind == "heading":
            continue
        if block.atomic:
            spans.extend(_lines(text, block.start, block.end, max_chars))
        else:
            spans.extend(split_block(text, block.start, block.end))
    return [Sentence(document.source, s, e, text[s:e]) for s, e in spans]
