"""Files -> extracted text.

Scanning (which files, their hashes) is separate from extraction so the indexer can skip
unchanged files without parsing them. For ``.txt``/``.md`` the extracted text is the file's
UTF-8 content exactly; a file that starts with a byte-order mark is decoded as the mark says
(UTF-8, UTF-16 or UTF-32) and its text is the decoded content without the mark. Every quote
offset refers to that text.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import io
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .types import Document

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES

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
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


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
        return f"skipped {one_line(self.source)}: {one_line(self.reason)}"


def one_line(text: str) -> str:
    """``text`` with control characters (a newline in a file name) shown as escapes."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def relative_source(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` as the user sees it (symbolic links not resolved)."""
    for p, r in ((Path(os.path.abspath(path)), Path(os.path.abspath(root))), (path.resolve(), root.resolve())):
        try:
            return p.relative_to(r).as_posix()
        except ValueError:
            continue
    return Path(os.path.abspath(path)).as_posix()


def scan(folder: Path, root: Path, max_bytes: int) -> tuple[list[SourceFile], list[Problem]]:
    """Every supported file under ``folder`` with its content hash; unreadable ones as problems.

    Symbolic links are followed, but a folder is never entered twice, so a link loop ends the
    walk of that branch with a report instead of trapping it. Sources are paths as found under
    ``folder`` (a linked file keeps its own name).
    """
    files: list[SourceFile] = []
    problems: list[Problem] = []
    if not folder.is_dir():
        return files, [Problem(relative_source(folder, root), "documents folder does not exist")]
    base = relative_source(folder, root)

    def source_of(path: Path) -> str:
        rel = path.relative_to(folder).as_posix()
        return rel if base == "." else f"{base}/{rel}"

    def walk_error(exc: OSError) -> None:
        problems.append(Problem(source_of(Path(exc.filename)), f"cannot read folder ({exc.strerror or exc})"))

    entered: dict[tuple[int, int], str] = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True, onerror=walk_error):
        here = Path(dirpath)
        info = here.stat()
        entered[(info.st_dev, info.st_ino)] = source_of(here) if here != folder else base
        keep = []
        for name in sorted(dirnames):
            path = here / name
            if name.startswith("."):
                continue
            if not _utf8_name(name):
                problems.append(Problem(_shown(source_of(path)), "folder name is not valid UTF-8; rename it"))
                continue
            if path.is_symlink():
                try:
                    target = path.stat()
                except OSError as exc:
                    problems.append(Problem(source_of(path), _link_error(exc)))
                    continue
                seen_as = entered.get((target.st_dev, target.st_ino))
                if seen_as is not None:
                    problems.append(Problem(source_of(path), f"symbolic link loop (leads back to {seen_as}); not followed"))
                    continue
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            path = here / name
            if name.startswith(".") or path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if not _utf8_name(name):
                problems.append(Problem(_shown(source_of(path)), "file name is not valid UTF-8; rename it"))
                continue
            source = source_of(path)
            try:
                size = path.stat().st_size
                if size > max_bytes:
                    problems.append(Problem(source, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit (ASSISTANT_MAX_FILE_MB)"))
                    continue
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:
                problems.append(Problem(source, _link_error(exc) if path.is_symlink() else _read_error(exc)))
                continue
            files.append(SourceFile(source, path, digest))
    return files, problems


def _utf8_name(name: str) -> bool:
    try:
        name.encode("utf-8")  # undecodable bytes arrive as lone surrogates
        return True
    except UnicodeEncodeError:
        return False


def _shown(name: str) -> str:
    """A name with undecodable bytes, printable: the bytes as \\x escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _read_error(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "file disappeared while indexing (deleted or moved)"
    return f"cannot read file ({exc.strerror or exc})"


def _link_error(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop; not followed"
    if exc.errno == errno.ENOENT:
        return "broken symbolic link (its target does not exist)"
    return f"cannot follow symbolic link ({exc.strerror or exc})"


def extract(file: SourceFile, max_chars: int | None = None) -> Document:
    """Extract a file's text; raises LoadError with a readable reason.

    The document's hash is of the bytes read here, so a file that changed since the scan is
    recorded with the hash of the text actually indexed (and re-indexed by the next run).
    """
    suffix = file.path.suffix.lower()
    try:
        data = file.path.read_bytes()
    except OSError as exc:
        raise LoadError(_read_error(exc)) from exc
    if not data:
        raise LoadError("empty file")
    if suffix in PDF_SUFFIXES:
        text = _pdf_text(data)
        if not text.strip():
            raise LoadError("PDF has no text layer (a scanned image?); run OCR on it to index it")
    else:
        text = decode_text(data)
        if suffix in HTML_SUFFIXES:
            text = _html_text(text)
            if not text.strip():
                raise LoadError("no visible text (only markup or scripts)")
        elif not text.strip():
            raise LoadError("no text (only whitespace)")
    if max_chars is not None and len(text) > max_chars:
        raise LoadError(f"text is {len(text):,} characters long, over the {max_chars:,} limit (ASSISTANT_MAX_TEXT_CHARS)")
    return Document(source=file.source, text=text, sha256=hashlib.sha256(data).hexdigest())


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


def _html_text(html: str) -> str:
    """Visible text only: scripts, styles, comments and markup never reach the index."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head", "svg", "iframe", "object"]):
        tag.decompose()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in soup.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line)


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about odd files would garble CLI output
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many kinds on damaged or encrypted files
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise LoadError(f"unreadable PDF ({detail})") from exc
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
