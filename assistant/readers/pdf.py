"""PDF: the text layer page by page (pypdf), lines unwrapped into paragraphs, running headers,
footers and page numbers dropped; every block knows its page.

A printed line that runs (nearly) to the page's full width, or ends in a hyphen, continues in the
next line, so the two are joined with a space; a short line ends its block (a paragraph's last line, a heading, a
list item, a table row). A hyphen at a line end is dropped where the joined word is the
document's own ("infor-mation" when "information" occurs), kept where the hyphenated word or
both halves are ("well-known"). Lines repeated at the top or bottom of most pages are running
headers and footers; a lone number there is a page number.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter

from ..errors import LoadError
from ..types import Block
from . import Extracted
from .plain import first_line_title, title_level

_EDGE_LINES = 3  # lines at the top and at the bottom of a page that may be running headers/footers
_RUNNING_SHARE = 0.5  # a line on at least this share of pages (and on three) is a running header/footer
_PAGE_NUMBER = re.compile(r"(?i)(?:page\s+)?[-–—(\[]?\s*(?:\d+|[ivxlc]+)\s*[-–—)\]]?(?:\s*(?:of|/)\s*\d+)?")
_PAGE_OFFSET = 500  # printed page numbers may start later than 1 (a chapter, a volume), not thousands later
_FULL_LINE = 0.7  # a line at least this share of the document's typical line length runs on
_BULLET = re.compile(r"[•●▪■◦‣∙·\-–*]\s|\(?[a-z0-9]{1,3}[.)]\s")
_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
_HYPHENATED_END = re.compile(r"([A-Za-z]+)-$")
_LOWER_START = re.compile(r"([a-z]+)")


def read_pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about odd files would garble CLI output
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str(reader.metadata.get("/Title") or "") if reader.metadata else ""
    except Exception as exc:  # pypdf raises many kinds on damaged or encrypted files
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise LoadError(f"unreadable PDF ({detail})") from exc
    lines = _drop_running(pages)
    if not any(text for _, text in lines if text):
        raise LoadError("PDF has no text layer (a scanned image?); run OCR on it to index it")
    text, blocks = _paragraphs(lines)
    if title.strip():
        return Extracted(text, blocks, title)
    blocks, title = first_line_title(text, blocks)
    return Extracted(text, blocks, title)


def _drop_running(pages: list[str]) -> list[tuple[int, str | None]]:
    """(page, line) for every line of every page, without running headers, footers and page
    numbers; an empty line is kept as a paragraph break."""
    page_lines = [[" ".join(line.split()) for line in page.splitlines()] for page in pages]
    edges = []
    for lines in page_lines:
        filled = [i for i, line in enumerate(lines) if line]
        edges.append(set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]))
    seen: Counter[str] = Counter()
    for lines, edge in zip(page_lines, edges):
        seen.update({_shape(lines[i]) for i in edge})
    needed = max(3, _RUNNING_SHARE * len(pages))
    out: list[tuple[int, str | None]] = []
    for number, (lines, edge) in enumerate(zip(page_lines, edges), 1):
        for i, line in enumerate(lines):
            if i in edge and (seen[_shape(line)] >= needed or _page_number(line, len(pages))):
                continue
            out.append((number, line))
        out.append((number, None))  # a page break; the next page may continue its paragraph
    return out


def _page_number(line: str, pages: int) -> bool:
    """A lone number at a page's edge that could number its pages ("12", "Page 3 of 17", "iv");
    a year such as "2019" on a short document's title page is text."""
    if not _PAGE_NUMBER.fullmatch(line):
        return False
    number = re.search(r"\d+", line)
    return number is None or int(number.group()) <= pages + _PAGE_OFFSET


def _shape(line: str) -> str:
    """A line with its numbers blanked: "Page 3 of 17" and "Page 4 of 17" repeat as one."""
    return re.sub(r"\d+", "#", line.lower())


def _paragraphs(lines: list[tuple[int, str | None]]) -> tuple[str, list[Block]]:
    lengths = sorted(len(text) for _, text in lines if text and len(text) >= 20)
    typical = lengths[int(0.75 * (len(lengths) - 1))] if lengths else 80
    vocabulary = {w.lower() for _, text in lines if text for w in _WORD.findall(text)}
    parts: list[str] = []
    blocks: list[Block] = []
    current: list[str] = []
    page = 0
    length = 0  # of the text so far, blocks joined by newlines
    runs_on = False  # the last line reached the full width: the next line continues it

    def close() -> None:
        nonlocal length
        if not current:
            return
        text = "".join(current)
        start = length + (1 if parts else 0)
        length = start + len(text)
        parts.append(text)
        one_line = len(current) == 1
        level = title_level(text, alone=True) if one_line else None
        kind = "heading" if level is not None else "item" if _BULLET.match(text) else "paragraph"
        blocks.append(Block(start, start + len(text), kind, level or 0, page))
        current.clear()

    for number, text in lines:
        if text is None:  # a page break: a paragraph that ran to the page's end goes on
            if not runs_on:
                close()
            continue
        if not text:
            close()
            runs_on = False
            continue
        if current and runs_on and not _BULLET.match(text) and title_level(text, alone=True) is None:
            end, start = _HYPHENATED_END.search(current[-1]), _LOWER_START.match(text)
            if end and start and _joined(end.group(1), start.group(1), vocabulary):
                current[-1] = current[-1][:-1]
                current.append(text)
            else:
                current.append(text if end and start else " " + text)
        else:
            close()
            page = number
            current.append(text)
        runs_on = len(text) >= _FULL_LINE * typical or bool(_HYPHENATED_END.search(text))
    close()
    return "\n".join(parts), blocks


def _joined(before: str, after: str, vocabulary: set[str]) -> bool:
    """Whether "before-" at a line end and "after" on the next line are one word hyphenated by
    the typesetter (join them) rather than a hyphenated word ("well-known": keep the hyphen)."""
    joined, hyphenated = f"{before}{after}".lower(), f"{before}-{after}".lower()
    if joined in vocabulary:
        return True
    if hyphenated in vocabulary:
        return False
    return not (len(before) > 1 and before.lower() in vocabulary and after.lower() in vocabulary)
