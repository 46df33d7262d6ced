"""Plain text and Markdown: the extracted text is the file's exact content; the structure comes
from markdown-it-py's block parser.

A single newline inside a paragraph does not end anything (hard-wrapped text); blank lines, list
items, headings (``#``, underlined), code fences, block quotes and table rows are blocks. In plain
text, indentation is not code and ``[1]: …`` is not a link reference, and a line that is a
numbered section title ("2.1 Scope") or in capitals ("TERMS AND CONDITIONS") is a heading.
A file that starts with a byte-order mark is decoded as the mark says, without the mark.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

from ..errors import LoadError
from ..types import Block
from . import Extracted

# Longest marks first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
]
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")  # not tab, newlines, form feed or ESC
_BINARY_SHARE = 0.05  # text has next to no control bytes; random or compressed data has about 9 %

_MARKER = re.compile(r"[ \t]*(?:>[ \t]?)*[ \t]*(?:(?:[-*+]|\d{1,9}[.)])(?=[ \t]))?[ \t]*")  # list and quote marks opening an item's line
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")  # lines as markdown-it counts them (not at form feeds or U+2028)
_FRONT_MATTER = re.compile(r"---[ \t]*\r?\n.*?\n---[ \t]*(?:\r?\n|$)", re.DOTALL)
# "2.1 Scope", "Section 3. Terms", "A. Definitions", "IV) Remedies": a number, then a capitalised title.
_NUMBERED_TITLE = re.compile(
    r"(?:(?i:section|chapter|part|article|appendix)\s+)?(\d+(?:\.\d+)*\.?|(?:[A-Z]|[IVXLC]+)[.)])\s+[A-Z(\"'“][^\n]*"
)
_SENTENCE_END = re.compile(r"[.,;:!?]$")
_TITLE_SHARE = 0.6  # a title line opening a block is at most this share of the longest line under it
_TITLE_WORDS_WITH_STOP = 4  # a numbered line ending in a full stop is a title only when this short


def decode_text(data: bytes) -> str:
    """UTF-8, or the encoding a byte-order mark names; anything else is refused with the reason."""
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)  # these codecs drop the mark itself
            except UnicodeDecodeError as exc:
                raise LoadError(f"starts with a {name} byte-order mark but is not valid {name} (byte {exc.start}); save it as UTF-8") from exc
    if b"\x00" in data or len(_CONTROL_BYTES.findall(data)) > _BINARY_SHARE * len(data):
        raise LoadError("binary content, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 (byte {exc.start}); another encoding? Save it as UTF-8") from exc


def read_text(data: bytes) -> Extracted:
    text = _nonblank(decode_text(data))
    blocks = _titled(text, _blocks(text, _parser(False)))
    return Extracted(text, *first_line_title(text, blocks))


def first_line_title(text: str, blocks: list[Block]) -> tuple[list[Block], str]:
    """A document without headings of its own whose first block is one short line with no
    sentence end ("How to report a bug in Debian") opens with its title: a heading above the rest."""
    first = blocks[0] if blocks else None
    if first is None or len(blocks) < 2 or first.kind != "paragraph":
        return blocks, ""
    line = text[first.start:first.end]
    if "\n" in line or len(line) > 80 or _SENTENCE_END.search(line) or not line[:1].isalpha():
        return blocks, ""
    return [Block(first.start, first.end, "heading", 1), *blocks[1:]], line


def read_markdown(data: bytes) -> Extracted:
    text = _nonblank(decode_text(data))
    front = _FRONT_MATTER.match(text)  # YAML front matter is metadata, not a heading or a sentence
    blocks = [b for b in _blocks(text, _parser(True)) if not front or b.start >= front.end()]
    title = next((text[b.start:b.end] for b in blocks if b.kind == "heading" and b.level == 1), "")
    return Extracted(text, blocks, title)


def _nonblank(text: str) -> str:
    if not text.strip():
        raise LoadError("no text (only whitespace)")
    return text


@lru_cache(maxsize=2)
def _parser(markdown: bool):
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    if markdown:
        return parser.enable("table")
    return parser.disable(["code", "html_block", "reference"])


def _blocks(text: str, parser) -> list[Block]:
    """Block spans from the parser's line map, trimmed, list and quote marks left out."""
    lines = [m.group() for m in _LINE.finditer(text) if m.group()]
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def span(first: int, last: int) -> tuple[int, int]:
        start, end = starts[first], starts[min(last, len(lines))]
        while end > start and text[end - 1].isspace():
            end -= 1
        return start, end

    blocks: list[Block] = []
    context: list[str] = []
    for token in parser.parse(text):
        if token.type in ("list_item_open", "blockquote_open"):
            context.append("item" if token.type == "list_item_open" else "quote")
        elif token.type in ("list_item_close", "blockquote_close"):
            context.pop()
        elif token.map is None:
            continue
        elif token.type == "paragraph_open":
            start, end = span(*token.map)
            if context:  # only an item's or a quotation's first line opens with a mark ("-5 degrees" keeps its minus)
                start = _MARKER.match(text, start, end).end()  # type: ignore[union-attr]  # every part of it is optional: it always matches
            blocks.append(Block(_after_space(text, start, end), end, context[-1] if context else "paragraph"))
        elif token.type == "heading_open":
            first, last = token.map
            if token.markup in ("=", "-"):  # underlined: the title is the lines above the rule
                start, end = span(first, last - 1)
            else:
                start, end = span(first, last)
                line = text[start:end]
                inner = line.lstrip(" \t#")
                inner = re.sub(r"[ \t]+#+[ \t]*$|^#+[ \t]*$", "", inner).rstrip()
                start, end = start + (len(line) - len(line.lstrip(" \t#"))), start + (len(line) - len(line.lstrip(" \t#"))) + len(inner)
            blocks.append(Block(_after_space(text, start, end), end, "heading", int(token.tag[1])))
        elif token.type in ("fence", "code_block"):
            first, last = token.map
            if token.type == "fence":
                first, last = first + 1, last - 1 if text[starts[last - 1]:starts[min(last, len(lines))]].strip().startswith(token.markup) else last
            start, end = span(first, last)
            if end > start:
                blocks.append(Block(start, end, "code"))
        elif token.type == "tr_open":
            start, end = span(*token.map)
            blocks.append(Block(_after_space(text, start, end), end, "row"))
    return [b for b in blocks if b.end > b.start]


def _after_space(text: str, start: int, end: int) -> int:
    """The first offset in ``text[start:end]`` that is not white space (``end`` if none is)."""
    while start < end and text[start].isspace():
        start += 1
    return start


def _titled(text: str, blocks: list[Block]) -> list[Block]:
    """Plain text's headings: a block's first line that is a numbered section title or in capitals."""
    out: list[Block] = []
    for block in blocks:
        if block.kind not in ("paragraph", "item"):
            out.append(block)
            continue
        line_start = text.rfind("\n", 0, block.start) + 1
        body = text[block.start:block.end]
        first_end = body.find("\n")
        first = body if first_end < 0 else body[:first_end]
        head = (text[line_start:block.start] + first).strip()  # with its list number: "0. Definitions."
        # A title above its text is shorter than the text's lines; a wrapped first line is not.
        below = body[first_end + 1:].splitlines() if first_end >= 0 else []
        if below and len(first.strip()) > _TITLE_SHARE * max(len(line.strip()) for line in below):
            out.append(block)
            continue
        level = title_level(head, alone=first_end < 0)
        if level is None:
            out.append(block)
            continue
        at = _after_space(text, line_start, block.start)
        out.append(Block(at, block.start + len(first.rstrip()), "heading", level))
        if first_end >= 0:
            rest = _after_space(text, block.start + first_end + 1, block.end)
            out.append(Block(rest, block.end, block.kind))
    return out


def title_level(line: str, alone: bool) -> int | None:
    """Heading depth of a line that is a section title, else None: "2.1 Scope" is 3, "TERMS AND CONDITIONS" 1."""
    words = line.split()
    if not words or len(line) > 80 or len(words) > 10:
        return None
    numbered = _NUMBERED_TITLE.fullmatch(line)
    title = line[numbered.end(1):] if numbered else ""
    # "0. Definitions." alone is a title; "1. Connect the yellow cable to the WAN port." is a step.
    titled = not _SENTENCE_END.search(line) or (alone and len(words) <= _TITLE_WORDS_WITH_STOP)
    if numbered and sum(c.isdigit() for c in title) <= 0.2 * len(title) and titled and not line.rstrip(".").replace(".", "").isdigit():
        return 2 + numbered.group(1).rstrip(".").count(".")
    letters = [c for c in line if c.isalpha()]
    spelled = [w for w in words if len(w) >= 3 and w.isalpha()]
    if alone and len(spelled) >= 2 and line[0].isalpha() and all(c.isupper() for c in letters) and not _SENTENCE_END.search(line.rstrip(".")):
        return 1
    return None
