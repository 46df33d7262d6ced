"""Files -> documents: which files there are (with their hashes), and their extracted text.

Scanning is separate from extraction so the indexer can skip unchanged files without parsing
them. What a format's text and structure are is each reader's job (:mod:`assistant.readers`);
for ``.txt``/``.md`` the extracted text is the file's exact content. Every quote offset refers
to the extracted text. A file in a format no reader reads is reported, never passed over in
silence.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import LoadError
from .readers import SUPPORTED_SUFFIXES, reader_for
from .readers.plain import decode_text
from .types import Document, Layout

__all__ = ["SUPPORTED_SUFFIXES", "LoadError", "Problem", "SourceFile", "decode_text", "extract", "load_documents", "scan"]

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


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
            if name.startswith("."):
                continue
            if not _utf8_name(name):
                problems.append(Problem(_shown(source_of(path)), "file name is not valid UTF-8; rename it"))
                continue
            source = source_of(path)
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                problems.append(Problem(source, _unsupported(path.suffix)))
                continue
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


def _unsupported(suffix: str) -> str:
    what = f"{suffix.lower()} files are" if suffix else "a file without a suffix is"
    return f"{what} not read (readable: {' '.join(sorted(SUPPORTED_SUFFIXES))})"


def extract(file: SourceFile, max_chars: int | None = None) -> Document:
    """Extract a file's text and structure; raises LoadError with a readable reason.

    The document's hash is of the bytes read here, so a file that changed since the scan is
    recorded with the hash of the text actually indexed (and re-indexed by the next run).
    """
    try:
        data = file.path.read_bytes()
    except OSError as exc:
        raise LoadError(_read_error(exc)) from exc
    if not data:
        raise LoadError("empty file")
    extracted = reader_for(file.path.suffix)(data)
    text = extracted.text
    if max_chars is not None and len(text) > max_chars:
        raise LoadError(f"text is {len(text):,} characters long, over the {max_chars:,} limit (ASSISTANT_MAX_TEXT_CHARS)")
    layout = Layout.of(text, extracted.blocks, extracted.title)
    return Document(source=file.source, text=text, sha256=hashlib.sha256(data).hexdigest(), layout=layout)


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
