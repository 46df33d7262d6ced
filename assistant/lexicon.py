"""English word lists, kept as data: ``assistant/data/<name>.txt``, ``#`` starting a comment line.
Code names a list; changing a list changes no code."""

from __future__ import annotations

from functools import cache
from importlib import resources


def _lines(name: str) -> list[str]:
    text = resources.files("assistant").joinpath(f"data/{name}.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@cache
def word_list(name: str) -> frozenset[str]:
    """Words separated by spaces or lines."""
    return frozenset(w for line in _lines(name) for w in line.split())


@cache
def phrase_list(name: str) -> tuple[str, ...]:
    """Phrases, one per line, in lower case."""
    return tuple(line.lower() for line in _lines(name))
