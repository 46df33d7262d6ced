"""Answer generators. The default one is extractive: it answers with the documents' own sentences.

Abstention does not rest on similarity alone (a question about Peskov's birthday is *similar*
to every sentence about Peskov). Support combines how close the sentence is in meaning with how
much of what the question asks for, weighted by rarity, the sentence actually contains, and
whether it holds the kind of thing asked for (a number for "how many", a time for "when").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from .lexical import matches, normalize, tokens
from .retrieval import Corpus
from .settings import Settings
from .types import Answer, Passage, Quote

NOT_FOUND = "The documents do not answer this question."

_NUMBER_Q = re.compile(
    r"\b(how (many|much|large|big|far|old|high)|(what|which) (share|percentage|percent|proportion|number|amount|sum|fraction|portion)"
    r"|in (kilometres|kilometers|km|miles|metres|meters|dollars|euros|percent|tons|tonnes))\b"
)
_TIME_Q = re.compile(r"\b(when|(what|which) (year|month|day|date|time|week|decade|century)|how long ago)\b")
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundred|thousand|million|billion|half|third|quarter|fifth|dozen)\b")
_TIME = re.compile(
    r"\b(\d{4}|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|"
    r"august|september|october|november|december|yesterday|today|tomorrow|week|weeks|month|months|year|years|"
    r"recently|earlier|later|ago|since|until|after|before)\b"
)


class Generator(Protocol):
    """Writes an answer from retrieved passages. Every quote it returns must be verbatim."""

    name: str

    def generate(self, question: str, passages: list[Passage], corpus: Corpus) -> Answer: ...


def wants_type(question: str) -> re.Pattern | None:
    """The kind of evidence a question needs: a number, a time, or nothing in particular."""
    q = normalize(question)
    if _NUMBER_Q.search(q):
        return _NUMBER
    if _TIME_Q.search(q):
        return _TIME
    return None


_ENTITY = re.compile(r"(?<!^)(?<![.?!:] )(?<![.?!:]\n)\b([A-Z][\w’'-]+|\d[\d.,]*)")
_FOCUS = [
    re.compile(r"\bhow (?:many|much) ([a-z]+)"),
    re.compile(r"\b(?:what|who|which)(?:'s| is| was| are| were) (?:the |an? )?([a-z]+) (?:of|for|in)\b"),
    re.compile(r"'s ([a-z]+)(?: [a-z]+)?\s*\??$"),
    re.compile(r"\bname of (?:the |an? )?([a-z]+)"),
]
_NOT_FOCUS = {"did", "does", "do", "is", "was", "are", "were", "has", "have", "had", "will", "would", "can", "could", "more", "less", "longer", "time", "name", "role", "position", "view", "stance"}


# Words that frame a question rather than say what it is about: "What *position* does Matviyenko
# *hold*?" is answered by a sentence that names her role without either word.
_FRAME_WORDS = """position role job title kind type way outcome thing things part exactly roughly approximately
    actually currently still yet think thinks indicate indicated describe described respond responded response
    happen happened exist exists hold holds held give gave get got""".split()
_FRAME_WEIGHT = 0.3


@lru_cache(maxsize=1)
def _frame_terms() -> frozenset[str]:
    return frozenset(t for w in _FRAME_WORDS for t in tokens(w, keep_stopwords=True))


def term_weight(term: str, corpus: Corpus) -> float:
    """How much a question word counts: rarer words more, question-framing words little."""
    weight = corpus.idf(term)
    return weight * _FRAME_WEIGHT if term in _frame_terms() else weight


def entity_terms(question: str) -> set[str]:
    """Names and numbers in the question (capitalised words past its start, digits)."""
    return {t for word in _ENTITY.findall(question) for t in tokens(word)}


def focus_terms(question: str) -> set[str]:
    """The thing asked about: 'how many <tanks>', 'the <population> of', "Kellogg's <age>"."""
    q = normalize(question)
    found = set()
    for pattern in _FOCUS:
        for word in pattern.findall(q):
            if word not in _NOT_FOCUS:
                found.update(tokens(word))
    return found


@dataclass
class Evidence:
    """Why a sentence might answer the question: the features support is computed from."""

    source: str
    start: int
    end: int
    coverage: float  # rarity-weighted share of the question's words found in the sentence
    dense: float  # embedding similarity of the question and the sentence's chunk
    has_type: bool  # holds a number/time when the question asks for one
    missing_entities: int  # names and numbers of the question absent from the sentence
    missing_focus: int  # the asked-about thing ("age", "population") absent from the sentence
    covered: frozenset[str] = frozenset()  # the question's words the sentence contains
    meaning: float | None = None  # coverage where absent words count by their closest word in meaning

    def support(self, s: Settings) -> float:
        coverage = self.coverage if self.meaning is None else self.meaning
        score = s.lexical_weight * coverage + (1 - s.lexical_weight) * self.dense
        if not self.has_type:
            score *= s.missing_type_penalty
        return score * s.missing_entity_penalty ** self.missing_entities * s.missing_focus_penalty ** self.missing_focus


class ExtractiveGenerator:
    """Quotes the best-supported sentence(s); abstains when the best support is too weak."""

    name = "extractive"

    def __init__(self, settings: Settings, embedder=None):
        self.settings = settings
        self.embedder = embedder  # needs word_vectors(); without it coverage stays purely lexical

    def evidence(self, question: str, passages: list[Passage], corpus: Corpus) -> list[Evidence]:
        """Features of every sentence of the passages (each sentence once, best passage kept)."""
        terms = set(tokens(question))
        if not terms:
            return []
        weights = {t: term_weight(t, corpus) for t in terms}
        total = sum(weights.values())
        entities = entity_terms(question) & terms
        focus = focus_terms(question) & terms
        needed = wants_type(question)
        found: dict[tuple[str, int], Evidence] = {}
        for passage in passages:
            chunk = passage.chunk
            text = corpus.texts.get(chunk.source, "")
            previous_vocabulary: set[str] = set()
            for start, end in corpus.sentences_in(chunk):
                sentence = text[start:end]
                vocabulary = set(tokens(sentence))
                # "His comments came after…": names from the sentence before count as present.
                named = {t for t in entities if matches(t, vocabulary | previous_vocabulary)}
                previous_vocabulary = vocabulary
                key = (chunk.source, start)
                if key in found and found[key].dense >= passage.dense:
                    continue
                present = {t for t in terms if matches(t, vocabulary)}
                found[key] = Evidence(
                    source=chunk.source,
                    start=start,
                    end=end,
                    coverage=sum(weights[t] for t in present) / total,
                    dense=passage.dense,
                    has_type=needed is None or bool(needed.search(normalize(sentence))),
                    missing_entities=len(entities - named),
                    missing_focus=len(focus - present),
                    covered=frozenset(present),
                )
        return list(found.values())

    def weigh_meaning(self, question: str, candidates: list[Evidence], corpus: Corpus) -> None:
        """Set ``meaning`` on the candidates: each question word counts by its best match in the
        sentence, 1 for the same word, else the cosine of their contextual vectors (never below 0).

        A paraphrase ("hold" for "control") keeps most of its weight; a question about something
        the sentence never touches ("age", "born") does not.
        """
        if not candidates or not hasattr(self.embedder, "word_vectors"):
            return
        texts = [corpus.texts[e.source][e.start:e.end] for e in candidates]
        question_words, *sentence_words = self.embedder.word_vectors([question, *texts])
        asked: dict[str, tuple[float, np.ndarray]] = {}
        for word, vector in zip(question_words.words, question_words.vectors):
            for term in tokens(word)[:1]:
                if len(term) > 1 and term not in asked:
                    asked[term] = (term_weight(term, corpus), vector)
        total = sum(weight for weight, _ in asked.values())
        if not total:
            return
        for evidence, words in zip(candidates, sentence_words):
            vocabulary = {t for w in words.words for t in tokens(w)}
            score = 0.0
            for term, (weight, vector) in asked.items():
                if matches(term, vocabulary):
                    score += weight
                elif len(words.words):
                    score += weight * max(0.0, float(np.max(words.vectors @ vector)))
            evidence.meaning = score / total

    def rank(self, question: str, passages: list[Passage], corpus: Corpus) -> list[Evidence]:
        """Every sentence of the passages, best supported first.

        All sentences are ranked lexically; the leaders are then re-weighed by meaning.
        """
        found = sorted(self.evidence(question, passages, corpus), key=lambda e: -e.support(self.settings))
        self.weigh_meaning(question, found[: self.settings.rerank_sentences], corpus)
        return sorted(found, key=lambda e: (-e.support(self.settings), e.source, e.start))

    def generate(self, question: str, passages: list[Passage], corpus: Corpus) -> Answer:
        s = self.settings
        ranked = self.rank(question, passages, corpus)
        top = ranked[0].support(s) if ranked else 0.0
        if top < s.abstain_threshold:
            return Answer(question=question, answer=NOT_FOUND, abstained=True, passages=passages, support=top, generator=self.name)
        chosen = [ranked[0]]
        weights = {t: term_weight(t, corpus) for t in tokens(question)}
        total = sum(weights.values()) or 1.0
        for candidate in ranked[1:]:
            if len(chosen) >= s.max_quotes:
                break
            support = candidate.support(s)
            known = frozenset().union(*(c.covered for c in chosen))
            adds = sum(weights.get(t, 0.0) for t in candidate.covered - known) / total
            # A second sentence is quoted when it is nearly as good, or when it answers a part of
            # the question ("…, and how large was the aid?") that the first one does not touch.
            if support >= max(s.abstain_threshold, s.second_quote_ratio * top) or (
                adds >= s.second_quote_gain and support >= s.second_quote_floor * s.abstain_threshold
            ):
                chosen.append(candidate)
        chosen.sort(key=lambda e: (e.source, e.start))  # reading order
        quotes = [
            Quote(text=corpus.texts[e.source][e.start:e.end], source=e.source, start=e.start, end=e.end, score=round(e.support(s), 4))
            for e in chosen
        ]
        return Answer(
            question=question,
            answer=" ".join(q.text for q in quotes),
            abstained=False,
            quotes=quotes,
            passages=passages,
            support=top,
            generator=self.name,
        )
