"""Uploaded files -> documents in ``seeds/<upload_dir>/``: checked, safely named, written atomically.

The app is a thin shell over this. Every refusal is an :class:`UploadError` whose message says
why. A file is moved into place only after the loader has read it from a hidden temporary file
(which the indexer skips), so the index never sees a half-written or unreadable upload, and an
existing document is only replaced when the caller says so.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import LoadError, UploadError
from .loaders import SUPPORTED_SUFFIXES, SourceFile, extract, relative_source
from .settings import Settings

MIB = 1024 * 1024  # Streamlit's unit for upload limits
MAX_STEM_CHARS = 100  # keeps names well inside the 255-byte limit of common file systems
_UNSAFE = re.compile(r"[^\w.\-]+")  # \w is Unicode-aware: letters and digits of any script stay


@dataclass(frozen=True)
class SavedUpload:
    source: str  # where it was saved, relative to the project root
    replaced: bool = False  # an earlier document of that name was overwritten
    unchanged: bool = False  # the same content was already there: nothing written

    def __str__(self) -> str:
        if self.unchanged:
            return f"{self.source} is already there with the same content"
        return f"{'Replaced' if self.replaced else 'Saved'} {self.source}"


def allowed_suffixes() -> list[str]:
    return sorted(SUPPORTED_SUFFIXES)


def safe_name(name: str) -> str:
    """A plain file name from whatever the browser sent: the last path part, safe characters only.

    Directory parts (``/`` or ``\\``) are dropped, runs of other characters become ``_``, and
    leading dots, dashes and underscores are removed so the result is never hidden or an option.
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip("._-")
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot:
        stem, suffix = cleaned, ""
    stem = stem.rstrip("._-")[:MAX_STEM_CHARS].rstrip("._-")
    if not stem:
        raise UploadError("the file name has no usable characters")
    return f"{stem}.{suffix.lower()}" if dot else stem


def check(name: str, size: int, settings: Settings) -> str:
    """The safe name to save under, or UploadError saying why the upload is refused."""
    safe = safe_name(name)
    suffix = Path(safe).suffix
    if suffix not in SUPPORTED_SUFFIXES:
        kind = f"{suffix} files" if suffix else "files without an extension"
        raise UploadError(f"{kind} are not accepted (allowed: {' '.join(allowed_suffixes())})")
    limit = settings.app.upload_max_mb * MIB
    if size > limit:
        raise UploadError(f"the file is {size / MIB:.1f} MB, over the {settings.app.upload_max_mb} MB upload limit")
    return safe


def save(name: str, data: bytes, settings: Settings, replace: bool = False) -> SavedUpload:
    """Check an upload, make sure the loader can read it, and move it into the uploads folder.

    Without ``replace`` an existing file is never overwritten, even by a concurrent upload of
    the same name (the final step is a hard link, which fails if the name exists).
    """
    safe = check(name, len(data), settings)
    folder = settings.upload_path
    target = folder / safe
    source = relative_source(target, settings.root)
    if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
        return SavedUpload(source, unchanged=True)
    if target.exists() and not replace:
        raise UploadError(f"a different document named {safe} is already there; choose replace to overwrite it")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=target.suffix)
    except OSError as exc:
        raise UploadError(f"cannot write to {relative_source(folder, settings.root)} ({exc.strerror or exc})") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            extract(SourceFile(source, tmp, hashlib.sha256(data).hexdigest()))
        except LoadError as exc:
            raise UploadError(f"the file cannot be read as a document: {exc}") from exc
        existed = target.exists()
        try:
            if replace:
                os.replace(tmp, target)
            else:
                os.link(tmp, target)
        except FileExistsError as exc:
            raise UploadError(f"a different document named {safe} is already there; choose replace to overwrite it") from exc
        except OSError as exc:
            raise UploadError(f"cannot save {safe} ({exc.strerror or exc})") from exc
        _fsync_dir(folder)
        return SavedUpload(source, replaced=existed)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable, so a crash right after saving cannot lose the new name."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
