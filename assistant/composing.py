"""Composition: the short answer a question asks for, as a verbatim span of one of its quotes.

"How big was the aid package?" is answered by "$725 million" inside the quoted sentence, "When
did the invasion begin?" by "February 2022", "Who is the Kremlin's spokesman?" by the name. A
question that asks how, why or what something is has no span: its quotes are its answer. A span
is never something the question states itself ("How much of the $725 million…").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .folding import fold
from .lexical import digits, matches, tokens
from .types import AnswerSpan, Quote

_SCALE = r"(?:hundred|thousand|million|billion|trillion|percent|per cent|%)"
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|dozen|half)"
)
_NUMBER = re.compile(
    rf"(?:[$€£]\s?)?(?<![\w.])\d[\d,]*(?:\.\d+)?(?:\s?{_SCALE}\b|%)?"
    rf"|\b{_NUMBER_WORD}(?:[- ]{_NUMBER_WORD})?(?:\s{_SCALE})?\b",
    re.IGNORECASE,
)
_YEAR_ONLY = re.compile(r"(1[5-9]\d\d|20\d\d)")
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DATE = re.compile(
    rf"\b(?:(?:early|mid|late)[- ])?{_MONTH}\.?(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s+\d{{4}})?\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?\b"
    rf"|\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b{_WEEKDAY}\b|\b(?:1[5-9]\d\d|20\d\d)\b"
    r"|\b(?:(?:early|late) )?(?:last|next|this) (?:week|month|year)\b|\byesterday\b|\btoday\b"
)

_LABEL_ORDER = ["PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "NORP"]

Entities = Callable[[list[str]], list]  # texts -> per text a tuple of (label, text) entities, or None


def answer_span(
    kind: str | frozenset[str] | None, question: str, quotes: Sequence[Quote], best_first: Sequence[int],
    focus: frozenset[str] = frozenset(), entities: Entities | None = None,
) -> AnswerSpan | None:
    """The span of the best quote (in ``best_first`` order) that answers a question asking for
    ``kind``: "number", "time", or a set of entity labels (a name); None for any other question."""
    if kind is None:
        return None
    stated = set(_NUMBER.findall(digits(fold(question)))) | {m.group() for m in _DATE.finditer(question)}
    for i in best_first:
        quote = quotes[i]
        found = _find(kind, quote.text, question, stated, focus, entities)
        if found is not None:
            start, end = found
            return AnswerSpan(quote=i, start=quote.start + start, end=quote.start + end, text=quote.text[start:end])
    return None


def _find(kind, text: str, question: str, stated: set[str], focus: frozenset[str], entities: Entities | None) -> tuple[int, int] | None:
    if kind == "number":
        for match in _NUMBER.finditer(text):
            value = match.group().strip()
            if digits(fold(value)) in stated:
                continue
            span = _with_unit(text, match.start(), match.end(), focus)
            if _YEAR_ONLY.fullmatch(value) and span[1] == match.end():  # "in 2019" is a time; "1800 people" a count
                continue
            return span
        return None
        return None
    if kind == "time":
        for match in _DATE.finditer(text):
            if match.group() not in stated:
                return match.start(), match.end()
        return None
    if entities is None:
        return None
    named = set(tokens(question))
    found = [
        e for e in entities([text])[0] or ()
        if e.label in kind and not all(matches(t, named) for t in tokens(e.text)) and e.text in text
    ]
    # A person before an organisation before a place: "Who is the president…?" names someone,
    # though the sentence may name the West first.
    found.sort(key=lambda e: _LABEL_ORDER.index(e.label) if e.label in _LABEL_ORDER else len(_LABEL_ORDER))
    for entity in found:  # where it stands as a word, never inside another ("Ann" in "Annual")
        at = re.search(rf"(?<!\w){re.escape(entity.text)}(?!\w)", text)
        if at:
            return at.start(), at.end()
    return None


def _with_unit(text: str, start: int, end: int, focus: frozenset[str]) -> tuple[int, int]:
    """The number and, when the next word is the thing the question counts ("How many *troops*…?"
    → "90,000 troops"), that word too."""
    following = re.match(r"\s+([A-Za-z][\w-]*)", text[end:])
    if following and focus and set(tokens(following.group(1))) & focus:
        return start, end + following.end()
    return start, end
