"""Word (.docx) through python-docx: paragraphs in body order, headings by their style, list
paragraphs as items, tables row by row with cells separated by `` | ``."""

from __future__ import annotations

import io
import re

from ..errors import LoadError
from ..types import Block
from . import Extracted

_HEADING = re.compile(r"heading\s*(\d)", re.IGNORECASE)


def read_docx(data: bytes) -> Extracted:
    try:
        import docx
        import docx.enum.style
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as exc:  # a dependency of the project; only a broken install lacks it
        raise LoadError("reading .docx needs python-docx (pip install python-docx)") from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises zip, XML and key errors on damaged files
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise LoadError(f"unreadable Word file ({detail})") from exc

    parts: list[str] = []
    blocks: list[Block] = []
    length = 0
    styles = {style.style_id: style.name or "" for style in document.styles}  # looked up once, not per paragraph
    default = document.styles.default(docx.enum.style.WD_STYLE_TYPE.PARAGRAPH)

    def add(text: str, kind: str, level: int = 0) -> None:
        nonlocal length
        text = "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
        if not text:
            return
        start = length + (1 if parts else 0)  # one newline between blocks
        length = start + len(text)
        parts.append(text)
        blocks.append(Block(start, length, kind, level))

    body = document.element.body
    for element in body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(element, document)
            style = styles.get(element.style, "") if element.style else (default.name if default is not None else "")
            heading = _HEADING.match(style)
            if style.lower() == "title":
                add(paragraph.text, "heading", 1)
            elif heading:
                add(paragraph.text, "heading", 1 + int(heading.group(1)))
            elif "list" in style.lower() or element.pPr is not None and element.pPr.numPr is not None:
                add(paragraph.text, "item")
            else:
                add(paragraph.text, "paragraph")
        elif tag == "tbl":
            for row in Table(element, document).rows:
                cells, seen = [], []
                for cell in row.cells:
                    if cell._tc in seen:  # a merged cell is listed once per column it spans
                        continue
                    seen.append(cell._tc)
                    cells.append(" ".join(_cell_text(cell).split()))
                add(" | ".join(c for c in cells if c), "row")
    if not blocks:
        raise LoadError("no text (an empty document, or only images)")
    title = " ".join((document.core_properties.title or "").split())
    return Extracted("\n".join(parts), blocks, title)


def _cell_text(cell) -> str:
    """A cell's paragraphs and the text of any table nested in it (python-docx's ``cell.text`` has only the first)."""
    nested = [" ".join(_cell_text(c) for row in table.rows for c in row.cells) for table in cell.tables]
    return " ".join([cell.text, *nested])
