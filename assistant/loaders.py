"""Files -> extracted text.

Scanning (which files, their hashes) is separate from extraction so the indexer can skip
unchanged files without parsing them. For ``.txt``/``.md`` the extracted text is exactly the
file's UTF-8 content, so every quote offset can be checked against the file itself.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .types import Document

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES


class LoadError(Exception):
    """A file that cannot be turned into text; the message says why, for the user."""


@dataclass(frozen=True)
class SourceFile:
    source: str  # relative to the project root, forward slashes
    path: Path
    sha256: str


@dataclass(frozen=True)
class Problem:
    source: str
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.source}: {self.reason}"


def relative_source(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def scan(folder: Path, root: Path, max_bytes: int) -> tuple[list[SourceFile], list[Problem]]:
    """Every supported file under ``folder`` with its content hash; unreadable ones as problems.

    Symlinked folders are not followed, so a symlink loop cannot trap the walk.
    """
    files: list[SourceFile] = []
    problems: list[Problem] = []
    if not folder.is_dir():
        return files, [Problem(relative_source(folder, root), "documents folder does not exist")]
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            source = relative_source(path, root)
            try:
                size = path.stat().st_size
                if size > max_bytes:
                    problems.append(Problem(source, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit"))
                    continue
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:
                problems.append(Problem(source, f"cannot read file ({exc.strerror or exc})"))
                continue
            files.append(SourceFile(source, path, digest))
    return files, problems


def extract(file: SourceFile) -> Document:
    """Extract a file's text; raises LoadError with a readable reason."""
    suffix = file.path.suffix.lower()
    try:
        data = file.path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read file ({exc.strerror or exc})") from exc
    if suffix in PDF_SUFFIXES:
        text = _pdf_text(file.path)
    else:
        if b"\x00" in data:
            raise LoadError("binary content (NUL bytes), not text")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LoadError(f"not valid UTF-8 (byte {exc.start})") from exc
        if suffix in HTML_SUFFIXES:
            text = _html_text(text)
    if not text.strip():
        raise LoadError("no text in file" if suffix not in PDF_SUFFIXES else "PDF has no text layer")
    return Document(source=file.source, text=text, sha256=file.sha256)


def _html_text(html: str) -> str:
    """Visible text only: scripts, styles and markup never reach the index."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe", "object"]):
        tag.decompose()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, OSError, KeyError) as exc:
        raise LoadError(f"unreadable PDF ({exc})") from exc
    return "\n\n".join(p.strip() for p in pages if p.strip())


def load_documents(folder: Path, root: Path, max_bytes: int = 50_000_000) -> tuple[list[Document], list[Problem]]:
    """Scan and extract everything: the simple path for callers that do not index incrementally."""
    files, problems = scan(folder, root, max_bytes)
    documents = []
    for file in files:
        try:
            documents.append(extract(file))
        except LoadError as exc:
            problems.append(Problem(file.source, str(exc)))
    return documents, problems
