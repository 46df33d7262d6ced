"""Verify quotes a language model gives: find each in the documents, at exact offsets.

A model that copies a passage may still change its typography: straight for curly quotes, "-"
for an em dash, "..." for "…", one space for a line break. The tolerant match folds those
variants on both sides while remembering where each folded character came from, so the span it
finds maps back to exact offsets and ``Quote.text`` is always the source's own text. A quote
that is not in the retrieved passages is dropped, never shown.
"""

from __future__ import annotations

import re

from .corpus import Corpus
from .folding import fold_with_offsets
from .types import Claim, Passage, Quote

_EDGE_ELLIPSIS = re.compile(r"^\s*(?:\.\.\.|…)\s*|\s*(?:\.\.\.|…)\s*$")


def locate(quote: str, text: str, start: int = 0, end: int | None = None) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``text[start:end]``: an exact match first, then the tolerant one.

    Leading and trailing ellipses ("...the war...") mark a cut, not text, and are ignored.
    """
    end = len(text) if end is None else end
    wanted = _EDGE_ELLIPSIS.sub("", quote.strip()).strip()
    if not wanted:
        return None
    at = text.find(wanted, start, end)
    if at >= 0:
        return at, at + len(wanted)
    folded, where = fold_with_offsets(text[start:end])
    folded_quote = fold_with_offsets(wanted)[0].strip()
    at = folded.find(folded_quote) if folded_quote else -1
    if at < 0:
        return None
    return start + where[at], start + where[at + len(folded_quote) - 1] + 1


def verify_quote(quote: Quote, text: str) -> bool:
    """Whether ``quote`` is verbatim in ``text`` (the source's extracted text) at its offsets."""
    return bool(quote.text) and 0 <= quote.start < quote.end <= len(text) and text[quote.start:quote.end] == quote.text


def verify_claims(claims: list[Claim], passages: list[Passage], corpus: Corpus, min_chars: int = 1) -> tuple[list[Quote], int]:
    """The claims found in the passages, as exact quotes, and how many were dropped.

    A claim is looked for in the passage it cites first, then in the other retrieved passages
    (models miscount); one found nowhere, or shorter than ``min_chars``, is dropped. The same
    span quoted twice is kept once.
    """
    quotes: list[Quote] = []
    seen: set[tuple[str, int, int]] = set()
    dropped = 0
    for claim in claims:
        found = None
        if len(claim.text.strip()) >= min_chars:
            cited = [passages[claim.passage - 1]] if 1 <= claim.passage <= len(passages) else []
            for passage in cited + [p for p in passages if p not in cited]:
                chunk = passage.chunk
                text = corpus.texts.get(chunk.source, "")
                span = locate(claim.text, text, chunk.start, min(chunk.end, len(text)))
                if span:
                    found = corpus.quote(chunk.source, span[0], span[1], round(passage.score, 4))
                    break
        if found is None:
            dropped += 1
        elif (found.source, found.start, found.end) not in seen:
            seen.add((found.source, found.start, found.end))
            quotes.append(found)
    return quotes, dropped
