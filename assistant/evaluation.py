"""The grounding eval: run question cases through :class:`Assistant` and score what a reader relies on.

Facts are checked in the answer, in the quotes and in the retrieved passages separately, so a
failure says where it happened (retrieval missed it, the answerer picked the wrong sentence, or
the answer says it without quoting it). Quotes are checked against text re-extracted from the
files by :mod:`assistant.loaders`, never against the index's own copy, so a stale or corrupted
index cannot vouch for itself.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from .errors import CaseError, LoadError
from .folding import fold
from .lexical import digits
from .loaders import extract, scan
from .segmenting import SENTENCE_END
from .settings import Settings

if TYPE_CHECKING:
    from .pipeline import Assistant
    from .types import Answer, Document, Layout

Fact = tuple[str, ...]  # alternatives: any one of them counts

# --- cases -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    expect: tuple[Fact, ...] = ()
    answerable: bool = True
    history: tuple[str, ...] = ()  # earlier questions in the same chat
    tags: tuple[str, ...] = ()
    file: str = ""


_CASE_KEYS = {"id", "question", "expect", "answerable", "history", "tags"}


def _fact(value, where: str) -> Fact:
    alternatives = value if isinstance(value, list) else [value]
    if not alternatives or not all(isinstance(a, (str, int, float)) and str(a).strip() for a in alternatives):
        raise CaseError(f"{where}: each expected fact must be non-empty text or a list of alternatives, not {value!r}")
    return tuple(str(a) for a in alternatives)


def parse_case(entry, where: str) -> Case:
    if not isinstance(entry, dict):
        raise CaseError(f"{where}: a case must be a mapping, not {type(entry).__name__}")
    unknown = set(entry) - _CASE_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_CASE_KEYS)})")
    for key in ("id", "question"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise CaseError(f"{where}: '{key}' must be non-empty text")
    where = f"{where} ({entry['id']})"
    answerable = entry.get("answerable", True)
    if not isinstance(answerable, bool):
        raise CaseError(f"{where}: 'answerable' must be true or false")
    expect = entry.get("expect") or []
    if not isinstance(expect, list):
        raise CaseError(f"{where}: 'expect' must be a list of facts")
    if answerable and not expect:
        raise CaseError(f"{where}: an answerable case needs at least one expected fact")
    if not answerable and expect:
        raise CaseError(f"{where}: an unanswerable case expects abstention, not facts")
    history = entry.get("history") or []
    tags = entry.get("tags") or []
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise CaseError(f"{where}: 'history' must be a list of earlier questions")
    if not isinstance(tags, list):
        raise CaseError(f"{where}: 'tags' must be a list")
    return Case(
        id=entry["id"].strip(),
        question=entry["question"].strip(),
        expect=tuple(_fact(f, where) for f in expect),
        answerable=answerable,
        history=tuple(history),
        tags=tuple(str(t) for t in tags),
    )


def case_files(paths: list[Path]) -> list[Path]:
    """YAML files named directly, or found (not recursively) in the folders named."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"}))
        else:
            files.append(path)
    return files


def load_cases(paths: list[Path]) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in case_files(paths):
        try:
            entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except (OSError, yaml.YAMLError) as exc:
            raise CaseError(f"{path}: {exc}") from exc
        if not isinstance(entries, list):
            raise CaseError(f"{path}: the file must be a list of cases")
        for i, entry in enumerate(entries, 1):
            case = parse_case(entry, f"{path.name} entry {i}")
            if case.id in seen:
                raise CaseError(f"{path.name}: duplicate case id {case.id!r} (also in {seen[case.id]})")
            seen[case.id] = path.name
            cases.append(replace(case, file=path.name))
    if not cases:
        raise CaseError(f"no cases found in {', '.join(map(str, paths)) or 'nothing'}")
    return cases


# --- matching facts ----------------------------------------------------------------------------

def normalise(text: str) -> str:
    """Fold case, whitespace, typography (:func:`assistant.folding.fold`) and number words ("nine" -> "9")."""
    return " ".join(digits(fold(text)).split())


def contains(text: str, fact: Fact) -> bool:
    """Whether any alternative occurs in ``text`` as whole words ("9" is not found in "1990")."""
    haystack = normalise(text)
    for alternative in fact:
        needle = normalise(alternative)
        left = r"(?<!\w)" if needle[:1].isalnum() else ""
        right = r"(?!\w)" if needle[-1:].isalnum() else ""
        if re.search(left + re.escape(needle) + right, haystack):
            return True
    return False


def missing_facts(text: str, facts: tuple[Fact, ...]) -> list[str]:
    """The expected facts not found in ``text``, each shown as its alternatives joined by '|'."""
    return ["|".join(fact) for fact in facts if not contains(text, fact)]


# --- scoring one case ------------------------------------------------------------------------


class SourceTexts:
    """Each source's extracted text and layout, re-read from its file through the loaders (not the index)."""

    def __init__(self, settings: Settings):
        files, _ = scan(settings.seeds_path, settings.root, int(settings.index.max_file_mb * 1_000_000))
        self._files = {f.source: f for f in files}
        self._documents: dict[str, Document | None] = {}

    def document(self, source: str) -> Document | None:
        if source not in self._documents:
            file = self._files.get(source)
            try:
                self._documents[source] = extract(file) if file else None
            except LoadError:
                self._documents[source] = None
        return self._documents[source]

    def get(self, source: str) -> str | None:
        document = self.document(source)
        return document.text if document else None

    def layout(self, source: str) -> Layout | None:
        document = self.document(source)
        return document.layout if document else None


def whole_sentences(text: str, start: int, end: int, layout: Layout | None) -> bool:
    """Whether ``text[start:end]`` starts and ends at sentence or block edges, never mid-sentence.

    Judged from the text and the reader's blocks alone, not from the segmenter that cut it: it
    starts a block or follows a sentence end, and it ends a block or ends a sentence. In a code
    block or table row a whole line counts.
    """
    block = layout.block_at(start) if layout else None
    before = text[block.start if block else 0:start]
    starts = not before.strip() or bool(SENTENCE_END.search(before.rstrip())) or (block is not None and block.atomic and before.endswith("\n"))
    after = text[end:block.end if block else len(text)]
    ends = not after.strip() or bool(SENTENCE_END.search(text[start:end])) or (block is not None and block.atomic and after.startswith("\n"))
    return starts and ends


@dataclass
class QuoteCheck:
    text: str
    source: str
    start: int
    end: int
    valid: bool
    whole: bool = True  # starts and ends at sentence edges (see whole_sentences)


@dataclass
class CaseResult:
    id: str
    question: str
    answerable: bool
    expect: list[list[str]]
    history: list[str]
    tags: list[str]
    answer: str
    abstained: bool
    quotes: list[QuoteCheck]
    latency_ms: float
    missing_in_answer: list[str] = field(default_factory=list)
    missing_in_quotes: list[str] = field(default_factory=list)
    missing_in_passages: list[str] = field(default_factory=list)
    error: str | None = None
    short_answer: str | None = None  # the span the answer led with, when the question asked for one
    unsupported_claims: int = 0  # what an LLM answer named that its quotes did not hold (that answer was not shown)

    @property
    def short_correct(self) -> bool:
        return self.answerable and self.short_answer is not None and not missing_facts(self.short_answer, tuple(tuple(f) for f in self.expect))

    @property
    def fact_correct(self) -> bool:
        return self.answerable and self.error is None and not self.abstained and not self.missing_in_answer

    @property
    def quote_supported(self) -> bool:
        return self.answerable and self.error is None and bool(self.quotes) and not self.missing_in_quotes

    @property
    def retrieved(self) -> bool:
        return self.answerable and self.error is None and not self.missing_in_passages

    @property
    def quotes_valid(self) -> bool:
        return all(q.valid for q in self.quotes)

    @property
    def passed(self) -> bool:
        """Right behaviour: the facts quoted verbatim when answerable, an abstention when not."""
        if not self.quotes_valid or self.error is not None:
            return False
        return self.fact_correct if self.answerable else self.abstained

    def why(self) -> str:
        """What went wrong, in a few words (empty when the case passed)."""
        if self.error:
            return f"error: {self.error}"
        reasons = []
        if not self.quotes_valid:
            reasons.append("quote text differs from the source at its offsets")
        if self.answerable and self.abstained:
            reasons.append("abstained on an answerable question")
        elif self.answerable and self.missing_in_answer:
            reasons.append("missing " + ", ".join(self.missing_in_answer))
        elif not self.answerable and not self.abstained:
            reasons.append("answered a question the documents do not answer")
        return "; ".join(reasons)


def score_case(
    case: Case, answer: Answer, texts: Callable[[str], str | None], latency_ms: float,
    layouts: Callable[[str], Layout | None] = lambda source: None,
) -> CaseResult:
    """Score one answer; ``texts(source)`` gives the source's re-extracted text (None if
    unreadable), ``layouts(source)`` its blocks (None: judge sentence edges from the text alone)."""
    quotes = []
    for q in answer.quotes:
        text = texts(q.source)
        valid = bool(q.text) and text is not None and 0 <= q.start <= q.end <= len(text) and text[q.start:q.end] == q.text
        whole = valid and text is not None and whole_sentences(text, q.start, q.end, layouts(q.source))
        quotes.append(QuoteCheck(q.text, q.source, q.start, q.end, valid, whole))
    result = CaseResult(
        id=case.id,
        question=case.question,
        answerable=case.answerable,
        expect=[list(f) for f in case.expect],
        history=list(case.history),
        tags=list(case.tags),
        answer=answer.answer,
        abstained=answer.abstained,
        quotes=quotes,
        latency_ms=latency_ms,
        short_answer=answer.answer_span.text if answer.answer_span and not answer.abstained else None,
        unsupported_claims=answer.unsupported_claims,
    )
    if case.answerable:
        result.missing_in_answer = missing_facts(answer.answer, case.expect)
        result.missing_in_quotes = missing_facts("\n".join(q.text for q in answer.quotes), case.expect)
        result.missing_in_passages = missing_facts("\n".join(p.chunk.text for p in answer.passages), case.expect)
    return result


def error_result(case: Case, error: str) -> CaseResult:
    """A case whose question the assistant refused with an error: it counts as failed."""
    return CaseResult(
        id=case.id, question=case.question, answerable=case.answerable, expect=[list(f) for f in case.expect],
        history=list(case.history), tags=list(case.tags), answer="", abstained=False, quotes=[], latency_ms=0.0,
        missing_in_answer=["|".join(f) for f in case.expect], missing_in_quotes=["|".join(f) for f in case.expect],
        missing_in_passages=["|".join(f) for f in case.expect], error=error,
    )


# --- the report ----------------------------------------------------------------------------------


@dataclass
class Metric:
    name: str
    value: float | None  # None: nothing to measure it on
    count: int | None = None  # numerator of a rate
    total: int | None = None  # denominator of a rate
    unit: str = "rate"  # "rate" (0..1) or "ms"
    description: str = ""

    def shown(self) -> str:
        if self.value is None:
            return "n/a"
        if self.unit == "ms":
            return f"{self.value:.1f} ms"
        return f"{100 * self.value:.1f}% ({self.count}/{self.total})"


METRICS = {
    "fact_accuracy": "answerable cases whose answer contains every expected fact",
    "quote_validity": "quotes whose text equals the re-extracted source text at their offsets",
    "quote_support": "answerable cases whose expected facts all appear inside the quotes",
    "whole_quotes": "quotes that start and end at sentence edges (no fragment of a sentence)",
    "short_answer_accuracy": "answerable cases answered with a short answer (a span) that holds every expected fact, of those with one",
    "retrieval_recall": "answerable cases whose retrieved passages (top k) contain every expected fact",
    "abstention_precision": "abstentions that were on unanswerable cases",
    "abstention_recall": "unanswerable cases the assistant abstained on",
    "false_abstention_rate": "answerable cases the assistant abstained on",
    "unsupported_answers": "cases whose LLM answer was not shown (fell back or refused): it named something its quotes do not "
    "hold, or its quotes lack what the question asks for",
    "latency_median_ms": "median time to answer one question (models already loaded)",
    "latency_p95_ms": "95th-percentile time to answer one question (nearest rank)",
}


def _rate(name: str, count: int, total: int) -> Metric:
    return Metric(name, count / total if total else None, count, total, "rate", METRICS[name])


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile: a value that was actually observed."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def compute_metrics(results: list[CaseResult]) -> dict[str, Metric]:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    abstained = [r for r in results if r.abstained]
    quotes = [q for r in results for q in r.quotes]
    latencies = [r.latency_ms for r in results if r.error is None]
    metrics = [
        _rate("fact_accuracy", sum(r.fact_correct for r in answerable), len(answerable)),
        _rate("quote_validity", sum(q.valid for q in quotes), len(quotes)),
        _rate("quote_support", sum(r.quote_supported for r in answerable), len(answerable)),
        _rate("whole_quotes", sum(q.whole for q in quotes), len(quotes)),
        _rate("short_answer_accuracy", sum(r.short_correct for r in answerable), sum(r.short_answer is not None for r in answerable)),
        _rate("retrieval_recall", sum(r.retrieved for r in answerable), len(answerable)),
        _rate("abstention_precision", sum(not r.answerable for r in abstained), len(abstained)),
        _rate("abstention_recall", sum(r.abstained for r in unanswerable), len(unanswerable)),
        _rate("false_abstention_rate", sum(r.abstained for r in answerable), len(answerable)),
        _rate("unsupported_answers", sum(r.unsupported_claims > 0 for r in results), len(results)),
        Metric("latency_median_ms", statistics.median(latencies) if latencies else None, unit="ms", description=METRICS["latency_median_ms"]),
        Metric("latency_p95_ms", percentile(latencies, 95), unit="ms", description=METRICS["latency_p95_ms"]),
    ]
    return {m.name: m for m in metrics}


@dataclass
class Report:
    created: str  # ISO time, UTC
    case_files: list[str]
    settings: dict
    metrics: dict[str, Metric]
    results: list[CaseResult]

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    def value(self, name: str) -> float | None:
        metric = self.metrics.get(name)  # a report written before the metric existed did not measure it
        return metric.value if metric else None

    def to_dict(self) -> dict:
        data = asdict(self)
        for row, result in zip(data["results"], self.results):
            row["passed"] = result.passed
            row["why"] = result.why()
        data["failed"] = [r.id for r in self.failed]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        results = []
        for row in data["results"]:
            row = {k: v for k, v in row.items() if k not in {"passed", "why"}}
            row["quotes"] = [QuoteCheck(**q) for q in row["quotes"]]
            results.append(CaseResult(**row))
        return cls(
            created=data["created"],
            case_files=data["case_files"],
            settings=data["settings"],
            metrics={name: Metric(**m) for name, m in data["metrics"].items()},
            results=results,
        )


# --- running ---------------------------------------------------------------------------------------


def run(assistant: Assistant, cases: list[Case], progress: Callable[[int, int], object] | None = None) -> Report:
    """Ask every case through the one ``assistant`` (models load once) and score the answers.

    A case's ``history`` is replayed as a real chat: each earlier question is asked with the
    turns before it, so a follow-up sees the answers a user would have seen.
    """
    from .errors import QuestionError

    texts = SourceTexts(assistant.settings)
    assistant.index()  # the eval measures the documents and the readers as they are now
    assistant.text("")  # load the models and the index now, not inside the first question's latency
    results = []
    for i, case in enumerate(cases):
        try:
            turns: list[dict] = []
            for earlier in case.history:
                turns.append({"question": earlier, "answer": assistant.ask(earlier, history=list(turns)).answer})
            started = time.perf_counter()
            answer = assistant.ask(case.question, history=turns or None)
            latency = (time.perf_counter() - started) * 1000
            results.append(score_case(case, answer, texts.get, latency, texts.layout))
        except QuestionError as exc:
            results.append(error_result(case, str(exc)))
        if progress:
            progress(i + 1, len(cases))
    s = assistant.settings
    return Report(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        case_files=sorted({c.file for c in cases}),
        settings={
            "generator": s.answerer.generator, "top_k": s.retrieval.top_k, "fetch_k": s.retrieval.fetch_k, "abstain_threshold": s.answerer.abstain_threshold,
            "chunk_size": s.index.chunk_size, "chunk_overlap": s.index.chunk_overlap, "seeds_dir": str(s.seeds_dir),
        },
        metrics=compute_metrics(results),
        results=results,
    )


# --- thresholds ------------------------------------------------------------------------------------


@dataclass
class Thresholds:
    minimum: dict[str, float]
    maximum: dict[str, float]

    @classmethod
    def load(cls, path: Path) -> Thresholds:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise CaseError(f"{path}: {exc}") from exc
        unknown_tables = set(data) - {"min", "max"}
        if unknown_tables:
            raise CaseError(f"{path}: unknown tables {sorted(unknown_tables)} (use [min] and [max])")
        thresholds = cls(minimum=dict(data.get("min", {})), maximum=dict(data.get("max", {})))
        unknown = (set(thresholds.minimum) | set(thresholds.maximum)) - set(METRICS)
        if unknown:
            raise CaseError(f"{path}: unknown metrics {sorted(unknown)} (known: {sorted(METRICS)})")
        return thresholds

    def limit(self, name: str) -> str:
        """The threshold of one metric as shown in tables: '>= 90%' or '<= 800 ms'."""
        parts = []
        for sign, table in ((">=", self.minimum), ("<=", self.maximum)):
            if name in table:
                parts.append(f"{sign} {table[name]:.0f} ms" if name.endswith("_ms") else f"{sign} {100 * table[name]:.0f}%")
        return ", ".join(parts)


def check(report: Report, thresholds: Thresholds) -> list[str]:
    """One message per metric outside its threshold; an unmeasurable metric fails too."""
    failures = []
    for name, floor in thresholds.minimum.items():
        value = report.value(name)
        if value is None:
            failures.append(f"{name}: not measured (no cases or quotes to measure it on), minimum {floor}")
        elif value < floor:
            failures.append(f"{name}: {value:.4g} is below the minimum {floor}")
    for name, ceiling in thresholds.maximum.items():
        value = report.value(name)
        if value is None:
            failures.append(f"{name}: not measured (no cases to measure it on), maximum {ceiling}")
        elif value > ceiling:
            failures.append(f"{name}: {value:.4g} is above the maximum {ceiling}")
    return failures
