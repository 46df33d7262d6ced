"""Answer generators. The default one is extractive: it answers with the documents' own sentences.

Abstention does not rest on similarity alone (a question about Peskov's birthday is *similar*
to every sentence about Peskov). Support combines how close the sentence is in meaning with how
much of what the question asks for, weighted by rarity, the sentence actually contains, and
whether it holds the kind of thing asked for (a number for "how many", a time for "when").
"""

from __future__ import annotations

import re
from typing import Protocol

from .lexical import matches, normalize, tokens
from .retrieval import Corpus
from .settings import Settings
from .types import Answer, Passage, Quote

NOT_FOUND = "The documents do not answer this question."

_NUMBER_Q = re.compile(r"\b(how (many|much|large|big|long|far|old)|what (share|percentage|percent|proportion|number|amount|sum|fraction|portion))\b")
_TIME_Q = re.compile(r"\b(when|what (year|month|day|date|time))\b")
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


class ExtractiveGenerator:
    """Quotes the best-supported sentence(s); abstains when the best support is too weak."""

    name = "extractive"

    def __init__(self, settings: Settings):
        self.settings = settings

    def score_sentences(self, question: str, passages: list[Passage], corpus: Corpus) -> list[tuple[float, str, int, int]]:
        """(support, source, start, end) for every sentence of the passages, best first."""
        terms = set(tokens(question))
        if not terms:
            return []
        weights = {t: corpus.idf(t) for t in terms}
        total = sum(weights.values())
        needed = wants_type(question)
        lexical_weight = self.settings.lexical_weight
        best: dict[tuple[str, int], tuple[float, str, int, int]] = {}
        for passage in passages:
            chunk = passage.chunk
            text = corpus.texts.get(chunk.source, "")
            for start, end in corpus.sentences_in(chunk):
                sentence = text[start:end]
                vocabulary = set(tokens(sentence))
                coverage = sum(w for t, w in weights.items() if matches(t, vocabulary)) / total
                support = lexical_weight * coverage + (1 - lexical_weight) * passage.dense
                if needed is not None and not needed.search(normalize(sentence)):
                    support *= self.settings.missing_type_penalty
                key = (chunk.source, start)
                if key not in best or best[key][0] < support:
                    best[key] = (support, chunk.source, start, end)
        return sorted(best.values(), key=lambda item: (-item[0], item[1], item[2]))

    def generate(self, question: str, passages: list[Passage], corpus: Corpus) -> Answer:
        ranked = self.score_sentences(question, passages, corpus)
        top = ranked[0][0] if ranked else 0.0
        if top < self.settings.abstain_threshold:
            return Answer(question=question, answer=NOT_FOUND, abstained=True, passages=passages, support=top, generator=self.name)
        chosen = [ranked[0]]
        for candidate in ranked[1:]:
            if len(chosen) >= self.settings.max_quotes:
                break
            if candidate[0] >= max(self.settings.abstain_threshold, self.settings.second_quote_ratio * top):
                chosen.append(candidate)
        chosen.sort(key=lambda item: (item[1], item[2]))  # reading order
        quotes = [
            Quote(text=corpus.texts[source][start:end], source=source, start=start, end=end, score=round(score, 4))
            for score, source, start, end in chosen
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
