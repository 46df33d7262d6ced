"""English word lists, kept as data: ``assistant/data/<name>.txt``, words separated by spaces or
lines, ``#`` starting a comment line. Code names a list; changing a list changes no code."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def word_list(name: str) -> frozenset[str]:
    text = resources.files("assistant").joinpath(f"data/{name}.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.lstrip().startswith("#") for w in line.split())
