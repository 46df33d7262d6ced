"""What an LLM answer claims, checked against its verified quotes.

An exact quote proves a passage exists, not that the answer is in it: a model asked "When was
Peskov born?" may answer from memory and attach a real sentence about Peskov. So every factual
token of the answer must be found in its quotes (or in the question, which the reader wrote):
each number, with number words read as digits, and each capitalised word of a name. Words are
compared folded and stemmed (:func:`assistant.lexical.tokens`), a name also by its derived forms
("Russia" in "Russian").
"""

from __future__ import annotations

import re
from collections.abc import Collection

from .folding import fold
from .lexical import digits, matches, tokens
from .lexicon import phrase_list

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME_RUN = re.compile(r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*)$")
_UNIT = re.compile(r"[\s-]+([^\W\d_]+)")  # a word after a space or hyphen: "45 years", "45-year"; not "21st", "725m"


def _normal(text: str) -> str:
    """Folded, number words as digits, "%" as "percent"."""
    return digits(fold(text)).replace("%", " percent")


def _numbers(text: str) -> list[tuple[str, str | None, str]]:
    """(value, unit stem or None, as written) for each number: "45 years" -> ("45", "year", "45 years")."""
    out = []
    for match in _NUMBER.finditer(text):
        unit = _UNIT.match(text, match.end())
        word = unit.group(1) if unit else ""
        stems = tokens(word)
        value = match.group().replace(",", "").rstrip(".")
        out.append((value, stems[0] if stems else None, f"{match.group()} {word}" if stems else match.group()))
    return out


def claimed(answer: str, names: Collection[str] = ()) -> list[tuple[str, list[str]]]:
    """The answer's factual tokens as (what it says, the terms to find): each number with the
    word after it unless that is a function word ("45 years": 45 and year), and each name
    ("Dmitry Peskov"). A lone capitalised word opening a sentence ("According", "Yes",
    "Witkoff") is a name only when the entity recogniser found it among ``names``."""
    out: list[tuple[str, list[str]]] = []
    for value, unit, shown in _numbers(_normal(answer)):
        out.append((shown, [value, unit] if unit else [value]))
    named = {w for name in names for w in name.split()}
    for match in _NAME_RUN.finditer(answer):
        words = match.group().split()
        if len(words) == 1 and _SENTENCE_START.search(answer[: match.start()]) and match.group().rstrip(".'’") not in named:
            continue
        terms = [t for t in tokens(match.group()) if not t[0].isdigit()]
        if terms:
            out.append((match.group().rstrip(".'’"), terms))
    return out


def unsupported(answer: str, quotes: list[str], question: str = "", names: Collection[str] = ()) -> list[str]:
    """What the answer says that neither its quotes nor the question hold, as the answer says it.
    A number counts when the quotes hold it and its unit's word ("45" and "year" for "45 years");
    ``names``: the answer's named entities, when a recogniser read it."""
    given = " ".join([*quotes, question])
    numbers = {value for value, _, _ in _numbers(_normal(given))}
    vocabulary = set(tokens(_normal(given)))
    missing = []
    for shown, terms in claimed(answer, names):
        if terms[0][0].isdigit():
            found = terms[0] in numbers and all(matches(t, vocabulary) for t in terms[1:])
        else:
            found = all(matches(term, vocabulary) for term in terms)
        if not found and shown not in missing:
            missing.append(shown)
    return missing


def is_refusal(answer: str) -> bool:
    """Whether the answer says the passages do not answer ("The passages do not mention his
    age", "not found in the text"): the phrases are data (``assistant/data/refusals.txt``)."""
    text = " ".join(fold(answer).split())
    return any(phrase in text for phrase in phrase_list("refusals"))
