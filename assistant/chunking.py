"""Sentences -> chunks: whole sentences packed up to the chunk size, never across a heading.

A chunk is an exact span of the extracted text that starts and ends at sentence edges, so a
passage never begins mid-sentence; neighbouring chunks share whole sentences up to the overlap.
Each chunk carries its header (the document's title and the headings it stands under), which
is embedded and indexed with it but never quoted.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right

from .types import SECTION_SEPARATOR, Chunk, Document, Layout, Sentence


def header(layout: Layout, offset: int) -> str:
    """The title and innermost heading at ``offset``: "Datatypes In SQLite › 3.3. Column Affinity
    For Views". Every word of a header is embedded with every chunk under it, so the headings in
    between are left out, and so is a title that repeats the first heading ("General Python FAQ —
    Python 3.11.2 documentation" above "General Python FAQ")."""
    path = list(layout.section_at(offset))
    title = layout.title
    if title and not (path and (_folded(path[0]) in _folded(title) or _folded(title) in _folded(path[0]))):
        path.insert(0, title)
    return SECTION_SEPARATOR.join(path[:1] + path[-1:] if len(path) > 2 else path)  # what, and where in it


def _folded(text: str) -> str:
    return " ".join(text.lower().split())


class Chunker:
    """Packs sentences into chunks; a new paragraph starts a new chunk once the current one holds
    ``join_below`` of the chunk size (short paragraphs and list items are packed together)."""

    join_below = 0.5

    def __init__(self, chunk_size: int, chunk_overlap: int):
        self.chunk_size = chunk_size
        self.chunk_overlap = min(chunk_overlap, chunk_size // 2)

    def split(self, document: Document, sentences: list[Sentence] | None = None) -> list[Chunk]:
        """The document's chunks, from its sentences (segmented here unless given)."""
        if sentences is None:
            from .segmenting import sentences as segment

            sentences = segment(document)
        prefix = hashlib.sha1(f"{document.source}\0{document.sha256}".encode()).hexdigest()[:16]
        layout = document.layout
        headings = [b.start for b in layout.blocks if b.kind == "heading"]
        blocks = [b.start for b in layout.blocks]
        runs: dict[int, list[Sentence]] = {}
        for sentence in sentences:  # the sentences under one heading
            runs.setdefault(bisect_right(headings, sentence.start), []).append(sentence)
        block_of = {s.start: bisect_right(blocks, s.start) for s in sentences}
        chunks: list[Chunk] = []
        for run in runs.values():
            for first, last in self._windows(run, block_of):
                start, end = run[first].start, run[last].end
                chunks.append(Chunk(
                    id=f"{prefix}-{len(chunks)}", source=document.source, start=start, end=end,
                    text=document.text[start:end], header=header(layout, start),
                ))
        return chunks

    def _windows(self, run: list[Sentence], block_of: dict[int, int]) -> list[tuple[int, int]]:
        """(first, last) sentence indexes of each chunk: as many whole sentences as fit (at least
        one), the next chunk starting at the sentences of this one's end that fit the overlap."""
        windows: list[tuple[int, int]] = []
        first = 0
        while first < len(run):
            last = first
            while last + 1 < len(run) and run[last + 1].end - run[first].start <= self.chunk_size:
                if block_of[run[last + 1].start] != block_of[run[last].start] and run[last].end - run[first].start >= self.chunk_size * self.join_below:
                    break
                last += 1
            windows.append((first, last))
            if last + 1 >= len(run):
                break
            following = last + 1
            while following - 1 > first and run[last].end - run[following - 1].start <= self.chunk_overlap:
                following -= 1
            first = following
        return windows
