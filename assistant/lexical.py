"""Word-level text handling shared by BM25 retrieval and answer support scoring."""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from os.path import commonprefix

import snowballstemmer

from .folding import fold
from .lexicon import word_list

STOPWORDS = word_list("stopwords")

_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
    "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
    "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100",
}
_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_NUMBER_WORD = re.compile(rf"\b(?:({'|'.join(_TENS)})(?:[- ]({'|'.join(_UNITS[1:10])}))?|({'|'.join(_UNITS)}))\b")
_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()
_WORD = re.compile(r"[^\W_]+(?:[.,]\d+)*", re.UNICODE)
# A text's words as its word vectors are given for (assistant.embeddings.words_of): runs of letters and digits.
VECTOR_WORD = re.compile(r"[^\W_]+")




@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball (Porter 2) stem: 'approved'/'approve', 'negotiations'/'negotiate' meet."""
    if word.isdigit() or len(word) <= 3:
        return word
    with _STEMMER_LOCK:  # a Snowball stemmer object keeps state while it works
        return _STEMMER.stemWord(word)


def _digits(match: re.Match) -> str:
    tens, unit, small = match.groups()
    if small:
        return str(_UNITS.index(small))
    return str(_TENS[tens] + (_UNITS.index(unit) if unit else 0))


def digits(text: str) -> str:
    """Number words of lower-case text as digits ("nine" → "9", "twenty-five" → "25"), so a number
    reads the same however it is written."""
    return _NUMBER_WORD.sub(_digits, text)


def tokens(text: str, keep_stopwords: bool = False) -> list[str]:
    """Stemmed content words; number words become digits and thousands separators vanish."""
    out = []
    for raw in _WORD.findall(re.sub(r"'s\b", "", fold(text))):
        word = _NUMBER_WORDS.get(raw, raw.replace(",", "") if raw[0].isdigit() else raw)
        if not keep_stopwords and word in STOPWORDS:
            continue
        out.append(stem(word))
    return out


# Word-forming prefixes: 'preconditions' is about conditions, 'co-author' about authoring.
_PREFIXES = ("pre", "re", "co", "un", "non", "anti", "counter", "over", "under", "sub", "post", "inter", "mis", "dis", "de")


def matches(term: str, vocabulary: set[str]) -> bool:
    """A term is present when a word shares its stem, or most of a long prefix with it, or is
    the term with a word-forming prefix.

    The prefix rule joins derived forms the stemmer keeps apart: 'russia'/'russian',
    'percentag'/'percent', 'invad'/'invas'; the last one 'condit'/'precondit'.
    """
    if term in vocabulary:
        return True
    if len(term) < 5 or term[0].isdigit():
        return False
    for word in vocabulary:
        if len(word) > len(term) and word.endswith(term) and word[: len(word) - len(term)] in _PREFIXES:
            return True
        if len(word) < 5 or word[:4] != term[:4]:
            continue
        shared = len(commonprefix((word, term)))
        if shared >= 0.75 * min(len(word), len(term)):
            return True
    return False
