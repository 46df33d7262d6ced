"""Readers: a file's bytes -> its extracted text and its structure, one module per format.

Each reader is one function ``read(data: bytes) -> Extracted`` registered under the suffixes it
reads. The extracted text is what every quote offset refers to; the blocks say where headings,
paragraphs, list items, table rows and code blocks lie in it (and, for PDFs, on which page), so
sentences never cross a block and every offset knows its section and page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module

from ..errors import LoadError
from ..types import Block


def reader_version() -> str:
    """A digest of the code and data that turn files into documents, sentences and chunks: the
    index fingerprint includes it, so documents are read again whenever any of it changes."""
    import hashlib
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    files = [*Path(__file__).parent.glob("*.py"), *(package / name for name in ("segmenting.py", "chunking.py", "lexicon.py", "data/abbreviations.txt"))]
    for path in sorted(files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Extracted:
    text: str
    blocks: list[Block] = field(default_factory=list)
    title: str = ""


Reader = Callable[[bytes], Extracted]

# suffix -> (module, kind); modules are imported on first use (python-docx, pypdf, bs4 are slow to import).
_READERS: dict[str, tuple[str, str]] = {
    ".txt": ("plain", "text"),
    ".md": ("plain", "markdown"),
    ".markdown": ("plain", "markdown"),
    ".html": ("html", "html"),
    ".htm": ("html", "html"),
    ".pdf": ("pdf", "pdf"),
    ".docx": ("docx", "docx"),
}
SUPPORTED_SUFFIXES = frozenset(_READERS)


def kind_of(suffix: str) -> str:
    """The format family of a suffix ("html" for .htm and .html): same bytes, same text."""
    return _READERS[suffix.lower()][1]


def reader_for(suffix: str) -> Reader:
    """The reader registered for a file suffix; LoadError for a format nobody reads."""
    try:
        module, kind = _READERS[suffix.lower()]
    except KeyError:
        raise LoadError(f"{suffix or 'files without a suffix'} is not a format the assistant reads ({', '.join(sorted(_READERS))})") from None
    reader = import_module(f"{__name__}.{module}")
    return getattr(reader, f"read_{kind}")
