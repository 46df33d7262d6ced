"""Answer generators. The default one is extractive: it answers with the documents' own sentences.

Abstention does not rest on similarity alone (a question about Peskov's birthday is *similar*
to every sentence about Peskov). Support combines how close the sentence is in meaning with how
much of what the question asks for, weighted by rarity, the sentence actually contains, and
whether it holds the kind of thing asked for (a number for "how many", a time for "when").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .composing import answer_span
from .corpus import Corpus
from .entities import Entity, EntityRecognizer, make_recognizer
from .folding import fold
from .lexical import VECTOR_WORD, digits, matches, tokens
from .lexicon import word_list
from .protocols import Embedder, Generator
from .segmenting import SENTENCE_END
from .settings import AnswererSettings, Settings
from .types import Answer, Passage, Quote

NOT_FOUND = "The documents do not answer this question."

_NUMBER_Q = re.compile(
    r"\b(how (many|much|large|big|far|old|high)|(what|which) (share|percentage|percent|proportion|number|amount|sum|fraction|portion)"
    r"|in (kilometres|kilometers|km|miles|metres|meters|dollars|euros|percent|tons|tonnes))\b"
)
# "what exact date", "what was the date", "which particular year": asking for the same unit.
_UNIT_ASK = r"(?:what|which)(?: (?:is|was|are|were) the)? (?:(?:exact|precise|specific|particular|calendar) )?"
# "When…?", "Since when…?"; a "when" further on opens a clause ("Who was president when the war began?").
_TIME_Q = re.compile(rf"^\W*(\w+\s+)?when\b|\b({_UNIT_ASK}(year|month|day|date|time|week|decade|century)|how long ago)\b")
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundred|thousand|million|billion|"
    r"half|third|quarter|fifth|dozen)\b"
)
_TIME = re.compile(
    r"\b(\d{4}|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july|"
    r"august|september|october|november|december|yesterday|today|tomorrow|week|weeks|month|months|year|years|"
    r"recently|earlier|later|ago|since|until|after|before)\b"
)


_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow"
_DATE = rf"\b({_MONTHS})\b|\b\d{{1,2}}/\d{{1,2}}(/\d{{2,4}})?\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b"
# A question naming the unit of time it wants is answered by that unit, not by "earlier" or "after".
_TIME_UNITS = [
    (re.compile(r"\bday of the week\b"), re.compile(rf"\b({_WEEKDAYS})\b")),
    (re.compile(rf"\b{_UNIT_ASK}(day|date)\b"), re.compile(rf"\b({_WEEKDAYS})\b|{_DATE}")),
    (re.compile(rf"\b{_UNIT_ASK}month\b"), re.compile(rf"\b({_MONTHS})\b")),
    (re.compile(rf"\b{_UNIT_ASK}year\b"), re.compile(r"\b(1[5-9]\d\d|20\d\d)\b|\b(last|this|next) year\b")),
]


def _asked_kind(question: str) -> set[str]:
    """The words of "how large", "what share", "which year": the kind of answer, not its subject."""
    q = fold(question)
    return {t for pattern in (_NUMBER_Q, _TIME_Q) for m in pattern.finditer(q) for t in tokens(m.group(0))}


# Words that end a noun phrase: "which country *did* the leader visit" asks for a country.
_PHRASE_END = frozenset(
    """is was are were be been being do does did has have had will would can could should may might must
    of in on at for to from with by about into over under after before during as than that and or but
    the a an this these those his her its their our my your he she it they we you i there""".split()
)


@dataclass(frozen=True)
class Named:
    """What a "who", "where" or "which <city>" question asks for: an entity with one of these labels
    that the question does not name itself."""

    labels: frozenset[str]
    words: frozenset[str] = frozenset()  # the question's word for the kind ("city"): held when such a name is


_PLACE = Named(frozenset({"GPE", "LOC", "FAC"}))
_PRODUCT = Named(frozenset({"PRODUCT"}))  # "what model of missile"
_VENUE = Named(frozenset({"GPE", "LOC", "FAC", "ORG"}))  # "where": a city, or "in an interview with Izvestia"
_GROUP = Named(frozenset({"ORG", "NORP"}))
_PERSON = Named(frozenset({"PERSON"}))
# In the news "who" is as often a country or an organisation as a person ("Who mediated…?" Qatar).
_SOMEONE = Named(frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC"}))
_KIND_NOUNS = {
    noun: kind
    for nouns, kind in (
        ("city cities town towns village villages capital country countries nation nations state states region regions "
         "province provinces territory place places location", _PLACE),
        ("company companies firm firms organization organisation organizations organisations newspaper newspapers "
         "agency agencies alliance bloc party parties outlet broadcaster", _GROUP),
        ("person people official officials leader leaders man woman minister ministers spokesman spokeswoman "
         "spokesperson envoy diplomat ambassador journalist reporter author authors writer editor architect designer "
         "engineer founder owner director chairman chairwoman president mayor governor senator commander judge "
         "lawyer scientist researcher artist player coach candidate king queen", _PERSON),
        ("member members partner partners ally allies", _SOMEONE),
        ("model models brand brands product products", _PRODUCT),
    )
    for noun in nouns.split()
}
_KINDS = "|".join(sorted(_KIND_NOUNS, key=len, reverse=True))
_MODIFIER = rf"(?:(?!(?:{'|'.join(_PHRASE_END)})\b)[\w'’-]+\s+)"  # a word of a noun phrase, not a function word
# "which <Gulf> <state>", "which NATO member <states>": the last such noun within three words, none of
# them a function word ("which *country* did the leader visit"), nor part of a compound ("man-made").
_WHICH_KIND = re.compile(rf"\bwhich\s+{_MODIFIER}{{0,3}}({_KINDS})\b(?!-\w)")
# "What" is as often the subject ("What worries European *officials*?") as a determiner: the noun
# counts right after it or after capitalised words only ("What European *country*…").
_WHAT_KIND = re.compile(rf"\b[Ww]hat\s+(?:[A-Z][\w'’-]*\s+){{0,3}}({_KINDS})\b(?!-\w)")
# "the name of the Qatari *official*", "the *model* name": a question for a name of that kind.
_NAME_OF_KIND = re.compile(
    rf"\bnames?\s+(?:of\s+)?(?:(?:the|a|an)\s+)?{_MODIFIER}{{0,3}}({_KINDS})\b(?!-\w)"
    # "name" the noun, not the verb ("Did the minister *name* a successor?")
    rf"|\b({_KINDS})(?:['’]s)?\s+names?\b(?!-\w)(?=\s*(?:[?.,!]|$|(?:of|is|was|for)\b))"
)
# "Who…?", "To whom…?", "Who is NATO's chief?"; not "Who is Dmitry Peskov?", which asks for a description.
_NAME_ONLY = r"[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*)*"  # no possessive; one way to split it, so no backtracking blow-up
_WHO = re.compile(rf"^\W*(?:\w+\s+)?(?i:who|whom)\b(?!(?:\s+(?:is|was|are|were)|['’]s)\s+{_NAME_ONLY}\W*$)")
_WHERE = re.compile(r"^\W*(?:\w+\s+)?(?i:where)\b")


def _span_kind(needed: re.Pattern | Named | None) -> str | frozenset[str] | None:
    """What the short answer is: a number, a time, a name with one of these labels, or none."""
    if isinstance(needed, Named):
        return needed.labels
    if needed is None:
        return None
    return "number" if needed is _NUMBER else "time"


def _kind_name(needed: re.Pattern | Named) -> str:
    if isinstance(needed, Named):
        return "a name of the kind"
    return "a number" if needed is _NUMBER else "a time or date"


def wants_type(question: str) -> re.Pattern | Named | None:
    """The kind of evidence a question needs: a number, a time (of the unit it names), a name of
    the kind asked for, or nothing in particular."""
    q = fold(question)
    if _NUMBER_Q.search(q):
        return _NUMBER
    for asks, unit in _TIME_UNITS:
        if asks.search(q):
            return unit
    if _TIME_Q.search(q):
        return _TIME
    which = _WHICH_KIND.search(q) or _WHAT_KIND.search(question) or _NAME_OF_KIND.search(q)
    if which:
        noun = next(g for g in which.groups() if g).lower()
        return Named(_KIND_NOUNS[noun].labels, frozenset(tokens(noun)))
    if _WHERE.search(question):
        return _VENUE
    if _WHO.search(question):
        return _SOMEONE
    return None


# A year names a time, not a quantity: "in February 2022" does not say how many.
_YEAR = re.compile(r"(?<![$€£\d.,])\b(1[5-9]\d\d|20\d\d)\b(?![.,]\d| ?(%|percent|million|billion|thousand|hundred))")


_NUMBER_TOKEN = re.compile(r"[$€£]?\d[\d.,]*(?:\s*(?:%|percent|million|billion|thousand|hundred))?")


@lru_cache(maxsize=64)
def _stated_numbers(question: str) -> re.Pattern | None:
    """The numbers a question states, as one pattern (built once per question, not per sentence)."""
    stated = sorted(set(_NUMBER_TOKEN.findall(digits(fold(question)))), key=len, reverse=True)
    return re.compile(rf"(?<![\w$€£])({'|'.join(map(re.escape, stated))})(?!\w)") if stated else None


def holds(kind: re.Pattern | Named | None, sentence: str, question: str = "", entities: tuple[Entity, ...] | None = None) -> bool:
    """Whether the sentence has the kind of thing asked for (always, when nothing is), other than
    what the question itself states: "How much of the $725 million package…" is not answered by
    the sentence that says "$725 million", nor "Who co-authored it with Kellogg?" by one whose only
    name is Kellogg. A name is checked against the sentence's ``entities``; unknown, it holds."""
    if kind is None:
        return True
    if isinstance(kind, Named):
        if entities is None:
            return True
        stated = set(tokens(question))
        return any(e.label in kind.labels and not all(matches(t, stated) for t in named) for e in entities if (named := tokens(e.text)))
    text = fold(sentence)
    numbers = _stated_numbers(question)
    if numbers is not None:
        text = numbers.sub(" ", digits(text))
    if kind is _NUMBER:
        text = _YEAR.sub(" ", text)
    return bool(kind.search(text))


# Words that name the kind of answer rather than what it is about: a sentence saying "Wednesday"
# answers "on what *day* of the *week*" without either word.
_TYPE_WORDS = """day days week month year date time decade century number amount sum share percentage percent
    proportion fraction portion figure""".split()


@lru_cache(maxsize=1)
def _type_terms() -> frozenset[str]:
    return frozenset(t for w in _TYPE_WORDS for t in tokens(w, keep_stopwords=True))


# The phrase a which/what question names its answer with ("which <Gulf state>", "what <day>"): its
# words describe the answer, so a capitalised one there is no name the sentence must repeat. It ends
# at the first function word or past-tense verb ("Which Gulf state brokered…").
_WH_PHRASE = re.compile(r"\b(?:which|what|whose)\s+((?:[\w'’-]+\s*){1,3})")

def answer_phrase(question: str) -> set[str]:
    """The words of 'which/what <phrase>' that describe the answer."""
    match = _WH_PHRASE.search(fold(question))
    if not match:
        return set()
    words = []
    for i, word in enumerate(match.group(1).split()):
        word = word.strip("?.,!;:")
        if word in _PHRASE_END or (i and word.endswith("ed")):
            break
        words.append(word)
    return {t for w in words for t in tokens(w)}


_ENTITY = re.compile(r"(?<!^)(?<![.?!:] )(?<![.?!:]\n)\b([A-Z][\w’'-]+|\d[\d.,]*)")
_FOCUS = [
    re.compile(r"\bhow (?:many|much) ([a-z]+)"),
    re.compile(r"\b(?:what|who|which)(?:'s| is| was| are| were) (?:the |an? )?([a-z]+) (?:of|for|in)\b"),
    re.compile(r"'s ([a-z]+)(?: [a-z]+)?\s*\??$"),
    re.compile(r"\bname of (?:the |an? )?([a-z]+)"),
]
_NOT_FOCUS = {
    "did", "does", "do", "is", "was", "are", "were", "has", "have", "had", "will", "would", "can", "could", "more", "less", "longer",
    "time", "name", "role", "position", "view", "stance",
}


# Words that frame a question rather than say what it is about: "What *position* does Matviyenko
# *hold*?" is answered by a sentence that names her role without either word.
_FRAME_WORDS = """position role job title kind type way outcome thing things part exactly roughly approximately
    actually currently still yet think thinks indicate indicated describe described respond responded response
    happen happened exist exists hold holds held give gave get got help helps helped""".split()
_FRAME_WEIGHT = 0.3


@lru_cache(maxsize=1)
def _frame_terms() -> frozenset[str]:
    return frozenset(t for w in _FRAME_WORDS for t in tokens(w, keep_stopwords=True))


def term_weight(term: str, corpus: Corpus) -> float:
    """How much a question word counts: rarer words more, question-framing words little."""
    weight = corpus.idf(term)
    return weight * _FRAME_WEIGHT if term in _frame_terms() else weight


def entity_terms(question: str) -> set[str]:
    """Names and numbers in the question (capitalised words past its start, digits), except
    those describing the answer ("Which *Gulf* state…")."""
    return {t for word in _ENTITY.findall(question) for t in tokens(word)} - answer_phrase(question)


def focus_terms(question: str) -> set[str]:
    """The thing asked about: 'how many <tanks>', 'the <population> of', "Kellogg's <age>"."""
    q = fold(question)
    found = set()
    for pattern in _FOCUS:
        for word in pattern.findall(q):
            if word not in _NOT_FOCUS:
                found.update(tokens(word))
    return found


_CAPITALISED = re.compile(r"(\S*?)\s*\b([A-Z][\w’'-]*)")
_PREPOSITIONS = frozenset("of in on at to for from with by about into onto over under after before during between against among".split())


def antecedents(sentence: str) -> set[str]:
    """Names in a sentence that a "he", "his" or "this" in the next one can point back to.

    A name after a preposition ("an interview with Izvestia") or in a possessive ("praised
    Qatar’s mediation") is seldom what the next sentence's pronoun means; the subject or the
    object is ("Peskov praised…" → "His comments…").
    """
    found = set()
    for before, word in _CAPITALISED.findall(sentence):
        if before.lower() in _PREPOSITIONS or re.search(r"['’]s$", word):
            continue
        found.update(tokens(word))
    return found


# "…, and what did he co-author?": a second question joined to the first.
_PART_SPLIT = re.compile(
    r",?\s+and\s+(?=(?:what|which|who|whom|whose|when|where|why|how|did|does|do|is|was|are|were|has|have|had|can|could|will|would)\b)",
    re.IGNORECASE,
)


def question_parts(question: str) -> list[str]:
    """The questions a compound question asks, each on its own (one part for a simple question)."""
    parts = [p.strip(" ,") for p in _PART_SPLIT.split(question)]
    return [p for p in parts if tokens(p)] if len(parts) > 1 else [question]


@dataclass(frozen=True)
class Asked:
    """What a question asks, worked out once: its words with their weights, the names and the
    thing it is about that a supporting sentence must hold, and the kind of answer it needs."""

    weights: dict[str, float]
    entities: frozenset[str]
    focus: frozenset[str]
    needed: re.Pattern | Named | None
    counted: bool  # "how many <galleries>": a number only answers it next to the thing counted
    question: str = ""
    unseen: frozenset[str] = frozenset()  # words no document uses (beyond the answer's kind): a sentence must hold a word close in meaning

    @classmethod
    def of(cls, question: str, corpus: Corpus, settings: AnswererSettings) -> Asked:
        terms = set(tokens(question))
        phrase = answer_phrase(question)
        return cls(
            weights={t: term_weight(t, corpus) * (settings.answer_phrase_weight if t in phrase else 1.0) for t in terms},
            entities=frozenset(entity_terms(question) & terms),
            focus=frozenset(focus_terms(question) & terms),
            needed=wants_type(question),
            counted=any(w not in _NOT_FOCUS and tokens(w) for w in _FOCUS[0].findall(fold(question))),
            question=question,
            unseen=frozenset(t for t in terms - phrase - _frame_terms() - _asked_kind(question) if not corpus.doc_freq.get(t)),
        )

    def present(self, vocabulary: set[str], typed: bool) -> set[str]:
        """The question's words a sentence with this vocabulary holds; words naming the kind of
        answer ("day", "percentage") count as held when the sentence has that kind of thing."""
        found = {t for t in self.weights if matches(t, vocabulary)}
        if typed and isinstance(self.needed, re.Pattern):
            found |= self.weights.keys() & _type_terms()
        return found


_COUNTED_WINDOW = 4  # words after a number in which the thing it counts stands ("nine Russian and Ukrainian children")


def not_held(question: str, quotes: list[str], corpus: Corpus, settings: AnswererSettings, embedder: Embedder | None = None) -> list[str]:
    """What the question asks for that no one quote holds, for checking an answer's quotes: the
    kind of answer a "how many" or "when" question needs (a number, a time), and for "how many X"
    a number followed closely by X or a word near it in meaning (``focus_similarity``: "children"
    for "kids"). Names go unchecked here. Empty: held."""
    asked = Asked.of(question, corpus, settings)
    counted = [w for w in _FOCUS[0].findall(fold(question)) if w not in _NOT_FOCUS and tokens(w)] if asked.counted else []
    closest: list[str] | None = None
    for text in quotes:
        typed = holds(asked.needed, text, question)
        missing = [] if typed or not isinstance(asked.needed, re.Pattern) else [_kind_name(asked.needed)]
        missing += [w for w in counted if not _counts(w, question, text, embedder, settings.focus_similarity)]
        if not missing:
            return []
        if closest is None or len(missing) < len(closest):
            closest = missing
    return closest or []


def _counts(thing: str, question: str, text: str, embedder: Embedder | None, similarity: float) -> bool:
    """Whether a number in ``text`` is followed, within a few words, by ``thing`` or a word that
    means it: "2,000 soldiers" counts troops; "20 percent of Ukraine's territory" does not."""
    words = VECTOR_WORD.findall(text)  # as the embedder splits it, so word i is vector i
    after = {i + k for i, w in enumerate(words) if any(c.isdigit() for c in digits(fold(w))) for k in range(1, _COUNTED_WINDOW + 1)}
    window = [i for i in sorted(after) if i < len(words)]
    term = tokens(thing)[0]
    if any(matches(term, set(tokens(words[i]))) for i in window):
        return True
    if embedder is None or not window:
        return False
    asked_words, text_words = embedder.word_vectors([question, text])
    wanted = [v for w, v in zip(asked_words.words, asked_words.vectors) if fold(w) == thing]
    if not wanted or len(text_words.words) != len(words):
        return False
    return any(float(wanted[0] @ text_words.vectors[i]) >= similarity for i in window)


@dataclass
class Evidence:
    """Why a sentence might answer the question: the features support is computed from."""

    source: str
    start: int
    end: int
    coverage: float  # rarity-weighted share of the question's words found in the sentence
    dense: float  # embedding similarity of the question and the sentence's chunk
    has_type: bool  # holds the kind of answer asked for: a number, a time, a name (see ``check_names``)
    counted: bool  # the question counts a thing ("how many galleries"): a number elsewhere counts something else
    missing_entities: float  # names and numbers of the question absent from the sentence (in part when only the one before has them)
    missing_focus: int  # the asked-about thing ("age", "population") absent from the sentence
    unmatched: int = 0  # question words no document uses with no word close in meaning in the sentence
    covered: frozenset[str] = frozenset()  # the question's words the sentence contains
    carried: frozenset[str] = frozenset()  # the question's names only the sentence before holds
    meaning: float | None = None  # coverage where absent words count by their closest word in meaning
    names_read: bool = False  # whether the entity recogniser has read it (until then a name asked for counts as held)

    def support(self, s: AnswererSettings) -> float:
        coverage = self.coverage if self.meaning is None else self.meaning
        score = s.lexical_weight * coverage + (1 - s.lexical_weight) * self.dense
        if not self.has_type or (self.counted and self.missing_focus):
            score *= s.missing_type_penalty
        penalties = s.missing_entity_penalty ** self.missing_entities * s.missing_focus_penalty ** self.missing_focus
        return score * penalties * s.unseen_word_penalty ** self.unmatched


class ExtractiveGenerator(Generator):
    """Quotes the best-supported sentence(s); abstains when the best support is too weak."""

    name = "extractive"

    def __init__(self, settings: Settings, embedder: Embedder | None = None, entities: EntityRecognizer | None = None):
        self.settings = settings
        self.embedder = embedder  # for word vectors; without one, coverage stays purely lexical
        self.entities = entities if entities is not None else make_recognizer(settings)  # None: names go unchecked

    def clear_caches(self) -> None:
        if self.entities is not None:
            self.entities.clear_cache()

    def evidence(self, asked: Asked, passages: list[Passage], corpus: Corpus) -> list[Evidence]:
        """Features of every sentence of the passages (each sentence once, best passage kept)."""
        s = self.settings.answerer
        total = sum(asked.weights.values())
        if not total:
            return []
        found: dict[tuple[str, int], Evidence] = {}
        for passage in passages:
            chunk = passage.chunk
            text = corpus.texts.get(chunk.source, "")
            spans = corpus.sentences.get(chunk.source, [])
            for start, end in corpus.sentences_in(chunk):
                key = (chunk.source, start)
                if key in found and found[key].dense >= passage.dense:
                    continue
                sentence = text[start:end]
                vocabulary = set(tokens(sentence))
                typed = holds(asked.needed, sentence, asked.question)  # a name is checked later, on the leaders only
                present = asked.present(vocabulary, typed)
                missing = {t for t in asked.entities if t not in present}
                # "His comments came after…": a sentence that refers back may leave the name to
                # the sentence before it, which then counts in part.
                before = bisect_left(spans, (start, end)) - 1
                carried: set[str] = set()
                if missing and before >= 0 and set(tokens(sentence, keep_stopwords=True)) & word_list("referring"):
                    carried = {t for t in missing if matches(t, antecedents(text[slice(*spans[before])]))}
                credit = s.carried_name_credit
                found[key] = Evidence(
                    source=chunk.source,
                    start=start,
                    end=end,
                    coverage=(sum(asked.weights[t] for t in present) + credit * sum(asked.weights[t] for t in carried)) / total,
                    dense=passage.dense,
                    has_type=typed,
                    counted=asked.counted,
                    missing_entities=len(missing) - credit * len(carried),
                    missing_focus=len(asked.focus - present),
                    unmatched=len(asked.unseen - present),  # until weigh_meaning finds close words
                    covered=frozenset(present),
                    carried=frozenset(carried),
                )
        return list(found.values())

    def weigh_meaning(self, question: str, asked: Asked, candidates: list[Evidence], corpus: Corpus) -> None:
        """Set ``meaning`` on the candidates: each question word counts by its best match in the
        sentence, 1 for the same word, else by the cosine of their contextual vectors above the
        level unrelated words reach (``meaning_floor``).

        A paraphrase ("hold" for "control") keeps most of its weight; a question about something
        the sentence never touches ("age", "born") does not. The thing asked about ("how many
        *kids*") counts as present when a word close enough in meaning stands for it ("children").
        """
        if not candidates or self.embedder is None:
            return
        texts = [corpus.texts[e.source][e.start:e.end] for e in candidates]
        question_words, *sentence_words = self.embedder.word_vectors([question, *texts])
        words_asked: dict[str, tuple[float, np.ndarray]] = {}
        for word, vector in zip(question_words.words, question_words.vectors):
            for term in tokens(word)[:1]:
                if len(term) > 1 and term in asked.weights and term not in words_asked:
                    words_asked[term] = (asked.weights[term], vector)
        total = sum(weight for weight, _ in words_asked.values())
        if not total:
            return
        floor = self.settings.answerer.meaning_floor
        for evidence, words in zip(candidates, sentence_words):
            content = [i for i, w in enumerate(words.words) if tokens(w)]  # "a", "with" stand for nothing
            vocabulary = {t for i in content for t in tokens(words.words[i])}
            vectors = words.vectors[content]
            score = 0.0
            evidence.missing_focus = len(asked.focus - evidence.covered)
            evidence.unmatched = 0
            for term, (weight, vector) in words_asked.items():
                if term in evidence.covered or matches(term, vocabulary):
                    score += weight
                elif len(vectors):
                    cosine = float(np.max(vectors @ vector))
                    closeness = max(0.0, (cosine - floor) / (1 - floor))
                    if term in evidence.carried:
                        closeness = max(closeness, self.settings.answerer.carried_name_credit)
                    score += weight * closeness
                    if term in asked.focus and cosine >= self.settings.answerer.focus_similarity:  # "children" for "kids"
                        evidence.missing_focus -= 1
                    if term in asked.unseen and cosine < self.settings.answerer.unseen_word_similarity:
                        evidence.unmatched += 1  # "who will lead the *delegation*": nothing here is about one
            evidence.meaning = score / total

    def check_names(self, asked: Asked, candidates: list[Evidence], corpus: Corpus) -> int:
        """For a question asking for a name ("who", "which city"), whether each candidate names
        one of that kind: the entity recogniser costs milliseconds a sentence, so it reads only
        the sentences that may be quoted. Returns how many it read."""
        if not isinstance(asked.needed, Named) or self.entities is None or not candidates:
            return 0
        texts = [corpus.texts[e.source][e.start:e.end] for e in candidates]
        total = sum(asked.weights.values())
        for evidence, text, found in zip(candidates, texts, self.entities.entities(texts)):
            evidence.has_type = holds(asked.needed, text, asked.question, found)
            evidence.names_read = True
            # Like "day" for a sentence saying "Wednesday": "state" is held by one naming Qatar.
            gained = asked.needed.words & asked.weights.keys() - evidence.covered if evidence.has_type else set()
            if gained:
                evidence.covered |= gained
                evidence.coverage += sum(asked.weights[t] for t in gained) / total
        return len(candidates)

    def rank(self, question: str, passages: list[Passage], corpus: Corpus, asked: Asked | None = None) -> list[Evidence]:
        """Every sentence of the passages, best supported first.

        All sentences are ranked lexically; the leaders are then re-weighed by meaning.
        """
        asked = asked or Asked.of(question, corpus, self.settings.answerer)
        s = self.settings.answerer

        def best_first(evidence: list[Evidence]) -> list[Evidence]:
            return sorted(evidence, key=lambda e: (-e.support(s), e.source, e.start))

        found = best_first(self.evidence(asked, passages, corpus))
        leaders = found[: s.rerank_sentences]
        self.check_names(asked, leaders, corpus)
        self.weigh_meaning(question, asked, leaders, corpus)
        ranked = best_first(found)
        # With the leaders marked down for naming nothing of the kind, an unread sentence may lead:
        # read the new leaders too, until every one that may be quoted has been read.
        window = max(s.rerank_sentences, s.max_quotes)
        while self.check_names(asked, [e for e in ranked[:window] if not e.names_read], corpus):
            ranked = best_first(found)
        return ranked

    def choose(self, question: str, passages: list[Passage], corpus: Corpus, asked: Asked | None = None) -> list[Evidence]:
        """The sentences to quote for one (simple) question, best first; none when support is weak."""
        s = self.settings.answerer
        asked = asked or Asked.of(question, corpus, s)
        ranked = self.rank(question, passages, corpus, asked)
        if not ranked or ranked[0].support(s) < s.abstain_threshold:
            return ranked[: s.max_quotes]  # too weak to quote; the caller may show them as the closest
        top = ranked[0].support(s)
        chosen = [ranked[0]]
        weights = asked.weights
        total = sum(weights.values()) or 1.0

        def adds(candidate: Evidence) -> float:
            known = frozenset().union(*(c.covered for c in chosen))
            return sum(weights.get(t, 0.0) for t in candidate.covered - known) / total

        # A second sentence is quoted when it answers a part of the question the first one does
        # not touch ("…, and how large was the aid?", "…position shifted" → "This represents a
        # shift…"), else when it is nearly as good as the first.
        for candidate in ranked[1:]:
            if len(chosen) < s.max_quotes and candidate.support(s) >= s.second_quote_floor * s.abstain_threshold and adds(candidate) >= s.second_quote_gain:
                chosen.append(candidate)
        for candidate in ranked[1:]:
            if len(chosen) < s.max_quotes and candidate not in chosen and candidate.support(s) >= max(s.abstain_threshold, s.second_quote_ratio * top):
                chosen.append(candidate)
        return chosen

    def _with_continuations(self, quotes: list[Quote], corpus: Corpus) -> list[Quote]:
        """A quoted sentence that ends in a colon introduces what follows it ("…add this line:",
        then the line; "one of the following storage classes:", then the list): the next sentence
        of its section is quoted with it, and when that opens a list, the list's items after it
        (up to ``list_items_quoted``)."""
        out: list[Quote] = []
        quoted = {(q.source, q.start) for q in quotes}
        for quote in quotes:
            out.append(quote)
            if not quote.text.rstrip().endswith(":"):
                continue
            spans = corpus.sentences.get(quote.source, [])
            layout = corpus.layouts.get(quote.source)
            i = bisect_left(spans, (quote.end, quote.end))
            items: list[int] = []  # the list items taken, by their block's start
            while i < len(spans) and (quote.source, spans[i][0]) not in quoted:
                following = corpus.quote(quote.source, *spans[i], quote.score)
                block = layout.block_at(following.start) if layout else None
                item = block.start if block is not None and block.kind == "item" else None
                is_item = item is not None
                if following.section != quote.section or (out[-1] is not quote and not is_item):
                    break
                if item is not None and item not in items:
                    if len(items) == self.settings.answerer.list_items_quoted:
                        break
                    items.append(item)
                last = out[-1]
                if last is not quote and block is not None and block.start <= last.start:  # the same item: one quote
                    out[-1] = corpus.quote(quote.source, last.start, following.end, quote.score)
                else:
                    out.append(following)
                quoted.add((quote.source, following.start))
                if not is_item:
                    break
                i += 1
        return out

    def _with_next(self, quote: Quote, corpus: Corpus, quoted: set[tuple[str, int]]) -> Quote:
        """The quote extended by the sentences after it in its paragraph (``next_sentences``), so
        a best sentence that only sets out the topic brings the one that answers."""
        spans = corpus.sentences.get(quote.source, [])
        layout = corpus.layouts.get(quote.source)
        block = layout.block_at(quote.start) if layout else None
        if block is None or block.kind != "paragraph":
            return quote
        end = quote.end
        i = bisect_left(spans, (quote.end, quote.end))
        for start, stop in spans[i : i + self.settings.answerer.next_sentences]:
            text = corpus.texts[quote.source][start:stop]
            if stop > block.end or (quote.source, start) in quoted or not (stop == block.end or SENTENCE_END.search(text.rstrip())):
                break  # past the paragraph, quoted already, or a piece cut from an overlong sentence
            end = stop
        return quote if end == quote.end else corpus.quote(quote.source, quote.start, end, quote.score)

    def _quote(self, e: Evidence, corpus: Corpus) -> Quote:
        return corpus.quote(e.source, e.start, e.end, round(e.support(self.settings.answerer), 4))

    def generate(self, question: str, passages: list[Passage], corpus: Corpus) -> Answer:
        """Answer each part of the question ("Who is the envoy, and what did he write?") with its
        own best sentences; abstain when no part is supported."""
        s = self.settings.answerer
        parts = question_parts(question)
        askeds = [Asked.of(part, corpus, s) for part in parts]
        picks = [self.choose(part, passages, corpus, asked) for part, asked in zip(parts, askeds)]
        supports = [p[0].support(s) if p else 0.0 for p in picks]
        top = max(supports)
        if top < s.abstain_threshold:
            near: dict[tuple[str, int], Evidence] = {}  # each sentence once, at its best support
            for e in sorted((e for pick in picks for e in pick), key=lambda e: -e.support(s)):
                if e.support(s) >= s.closest_min_support:
                    near.setdefault((e.source, e.start), e)
            best = max((pick[0] for pick in picks if pick), key=lambda e: e.support(s), default=None)
            return Answer(
                question=question, answer=NOT_FOUND, abstained=True, passages=passages, support=top, generator=self.name,
                closest=[self._quote(e, corpus) for e in list(near.values())[: s.max_quotes]],
                reason=self._refusal(best, askeds[0].needed if len(parts) == 1 else None),
            )
        chosen: dict[tuple[str, int], Evidence] = {}
        for pick, support in zip(picks, supports):
            if support >= s.abstain_threshold:
                for e in pick[: s.max_quotes if len(parts) == 1 else 1]:
                    chosen.setdefault((e.source, e.start), e)
        ordered = sorted(chosen.values(), key=lambda e: (e.source, e.start))  # reading order
        leaders = {(pick[0].source, pick[0].start) for pick, support in zip(picks, supports) if support >= s.abstain_threshold}
        quotes = [self._quote(e, corpus) for e in ordered]
        quoted = {(e.source, e.start) for e in ordered}
        quotes = [self._with_next(q, corpus, quoted) if (q.source, q.start) in leaders else q for q in quotes]
        quotes = self._with_continuations(quotes, corpus)
        decided = {(e.source, e.start): e for e in ordered}
        evidence = [self._features(decided[(q.source, q.start)]) if (q.source, q.start) in decided else {} for q in quotes]
        best_first = sorted(range(len(quotes)), key=lambda i: -evidence[i].get("support", -1.0))
        span = None
        if len(parts) == 1:
            asked = askeds[0]
            span = answer_span(
                _span_kind(asked.needed), question, quotes, best_first, asked.focus,
                self.entities.entities if self.entities is not None else None,
            )
        return Answer(
            question=question,
            answer=" ".join(" ".join(q.text.split()) for q in quotes),
            abstained=False,
            quotes=quotes,
            passages=passages,
            support=top,
            generator=self.name,
            answer_span=span,
            evidence=evidence,
        )

    def _refusal(self, best: Evidence | None, needed) -> str:
        """Why it abstains, in one line."""
        s = self.settings.answerer
        if best is None:
            return "nothing in the documents comes close to this question"
        if not best.has_type and needed is not None:
            return f"no sentence found holds {_kind_name(needed)}, which the question asks for"
        return f"the best sentence's support {best.support(s):.2f} is below the threshold {s.abstain_threshold:.2f}"

    def _features(self, e: Evidence) -> dict:
        """What decided a quote, as ``--json`` shows it."""
        return {
            "support": round(e.support(self.settings.answerer), 4), "dense": round(e.dense, 4), "coverage": round(e.coverage, 4),
            "meaning": None if e.meaning is None else round(e.meaning, 4), "has_type": e.has_type,
            "missing_entities": round(e.missing_entities, 2), "missing_focus": e.missing_focus, "unmatched": e.unmatched,
            "covered": sorted(e.covered),
        }
