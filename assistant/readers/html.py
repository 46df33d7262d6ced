"""HTML: the visible text of the page's main content, block by block.

Inline elements (``<code>``, ``<a>``, ``<em>``) stay inside their sentence; block elements end a
block; ``<pre>`` keeps its lines as one code block; a table is read row by row, cells separated
by `` | ``. Where a page marks its main content (``<main>``, ``role="main"``, one ``<article>``),
only that is read, so menus, sidebars and footers never reach the index; elsewhere navigation,
forms and footers are dropped. Scripts, styles and comments never reach the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import LoadError
from ..types import Block
from . import Extracted
from .plain import decode_text

_INVISIBLE = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "canvas", "map"}
_CHROME = {"nav", "form", "button", "input", "select", "textarea", "label", "footer", "dialog"}
_CHROME_ROLES = {"navigation", "search", "banner", "contentinfo", "complementary", "menu", "menubar", "toolbar"}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCK_KINDS = {
    "p": "paragraph", "li": "item", "dd": "paragraph", "blockquote": "quote",
    "figcaption": "paragraph", "caption": "paragraph", "address": "paragraph", "summary": "paragraph",
}
# Elements that end a block without being one themselves: their text directly inside is a paragraph.
_CONTAINERS = {
    "div", "section", "article", "main", "header", "aside", "body", "html", "ul", "ol", "dl", "table", "thead",
    "tbody", "tfoot", "figure", "details", "fieldset", "center", "hr", "menu", "hgroup", "search",
}
# A container whose text is nearly all links, a few words a link, is a menu or a table of contents.
_LINK_SHARE = 0.75
_WORDS_PER_LINK = 6
_LINK_LISTS = {"ul", "ol", "div", "table", "dl", "header", "aside", "section", "menu"}
_SPACE = re.compile(r"[ \t\r\n\f\v\u200b]+")
_PERMALINK = re.compile(r"(?:\s*[¶§🔗]|\s+#)+\s*$")  # the anchor mark themes append to headings ("C#" keeps its #)


def read_html(data: bytes) -> Extracted:
    from bs4 import BeautifulSoup, Comment, Declaration, Doctype, ProcessingInstruction

    soup = BeautifulSoup(decode_text(data), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(list(_INVISIBLE)):
        tag.decompose()
    skipped = (Comment, Declaration, Doctype, ProcessingInstruction)
    main = _main_content(soup)
    builder = _Builder(_text_counts(main, skipped))
    try:
        builder.walk(main, skipped)
    except RecursionError as exc:  # thousands of unclosed elements nest that deep
        raise LoadError("HTML nested too deeply to read (unclosed elements?)") from exc
    builder.flush()
    if not builder.blocks:
        raise LoadError("no visible text (only markup or scripts)")
    return Extracted("".join(builder.parts), builder.blocks, title)


def _main_content(soup):
    """The element holding the page's own content, or the whole page."""
    for found in (soup.find("main"), soup.find(attrs={"role": "main"})):
        if found is not None:
            return found
    articles = soup.find_all("article")
    return articles[0] if len(articles) == 1 else soup


def _is_chrome(tag, links: dict[int, _Text]) -> bool:
    role = (tag.get("role") or "").lower()
    if tag.name in _CHROME or role in _CHROME_ROLES or tag.has_attr("hidden") or tag.get("aria-hidden") == "true":
        return True
    return tag.name in _LINK_LISTS and links[id(tag)].mostly_links()


@dataclass
class _Text:
    """How much text an element holds and how much of it is inside links, counted once for the whole
    page (bottom-up), not per container: a page of thousands of nested divs reads in one pass."""

    chars: int = 0  # characters of its words
    words: int = 0
    linked: int = 0  # characters of its links' text, spaces between their words included
    links: int = 0

    @property
    def length(self) -> int:
        return self.chars + max(self.words - 1, 0)

    def add(self, other: _Text) -> None:
        self.chars += other.chars
        self.words += other.words
        self.linked += other.linked
        self.links += other.links

    def mostly_links(self) -> bool:
        return self.links >= 2 and self.length > 0 and self.linked >= _LINK_SHARE * self.length and self.words <= _WORDS_PER_LINK * self.links


def _text_counts(root, skipped) -> dict[int, _Text]:
    from bs4 import NavigableString, Tag

    counts: dict[int, _Text] = {}
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in node.children if isinstance(child, Tag))
            continue
        total = _Text()
        for child in node.children:
            if isinstance(child, Tag):
                total.add(counts[id(child)])
            elif isinstance(child, NavigableString) and not isinstance(child, skipped):
                words = str(child).split()
                total.chars += sum(map(len, words))
                total.words += len(words)
        if node.name == "a":
            total.linked, total.links = total.length, total.links + 1
        counts[id(node)] = total
    return counts


class _Builder:
    """Walks the tree, gathering inline text and closing a block at each block element."""

    def __init__(self, links: dict[int, _Text]):
        self.links = links
        self.parts: list[str] = []
        self.length = 0
        self.blocks: list[Block] = []
        self.inline: list[str] = []
        self.kinds = ["paragraph"]  # the kind of block the pending inline text belongs to
        self.term = False  # the pending text is a definition term, waiting for its description

    def walk(self, node, skipped) -> None:
        from bs4 import NavigableString, Tag

        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, skipped):
                    self.inline.append(_SPACE.sub(" ", str(child)))
            elif isinstance(child, Tag):
                self.element(child, skipped)

    def element(self, tag, skipped) -> None:
        name = tag.name
        if _is_chrome(tag, self.links):
            return
        if name == "br":
            self.inline.append("\n")
        elif name == "pre":
            self.flush()
            for br in tag.find_all("br"):  # a line break in preformatted text is a line
                br.replace_with("\n")
            self.add(tag.get_text().strip("\n").rstrip(), "code")
        elif name == "tr":
            self.flush()
            cells = [" ".join(c.get_text(" ").split()) for c in tag.find_all(["td", "th"], recursive=False)]
            self.add(" | ".join(c for c in cells if c), "row")
        elif name in _HEADINGS:
            self.flush()
            self.kinds.append("heading")
            self.walk(tag, skipped)
            self.flush(level=_HEADINGS[name])
            self.kinds.pop()
        elif name == "dt":
            # A term opens the block of its description: "100..499: will only be installed if…"
            self.flush()
            self.walk(tag, skipped)
            term = _PERMALINK.sub("", "".join(self.inline))
            if term.strip():
                self.inline = [term, ": "]
                self.term = True
        elif name in _BLOCK_KINDS or name in _CONTAINERS:
            if not self.term:
                self.flush()
            inherited = self.kinds[-1] if name not in ("ul", "ol", "dl", "table") else "paragraph"
            if name == "p" and inherited in ("item", "quote"):  # <li><p>…</p></li> is a list item
                self.kinds.append(inherited)
            else:
                self.kinds.append(_BLOCK_KINDS.get(name, inherited))
            self.walk(tag, skipped)
            self.flush()
            self.kinds.pop()
        else:
            self.walk(tag, skipped)

    def flush(self, level: int = 0) -> None:
        """The pending inline text, whitespace folded, as one block of the current kind."""
        self.term = False
        text = "".join(self.inline)
        self.inline = []
        lines = [" ".join(line.split()) for line in text.split("\n")]
        text = "\n".join(line for line in lines if line)
        kind = self.kinds[-1]
        if kind == "heading":
            text = _PERMALINK.sub("", text)
        self.add(text, kind, level)

    def add(self, text: str, kind: str, level: int = 0) -> None:
        if not text.strip():
            return
        if self.parts:
            self.parts.append("\n")
            self.length += 1
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        self.blocks.append(Block(start, self.length, kind, level if kind == "heading" else 0))
