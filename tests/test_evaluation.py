"""The grounding eval: the scorer on hand-made answers, the case files, and --check failing for real."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PROJECT, SEEDS

from assistant import evaluation as ev
from assistant import reports
from assistant.answering import ExtractiveGenerator
from assistant.cli import cli
from assistant.protocols import Generator
from assistant.types import Answer, Chunk, Passage, Quote

EVALS = PROJECT / "evals"
SOURCE = "seeds/doc.txt"
TEXT = "Kyiv got nine tanks on Monday. The talks are off. Qatar’s envoy left."


def _quote(fragment: str, shift: int = 0) -> Quote:
    start = TEXT.index(fragment) + shift
    return Quote(text=fragment, source=SOURCE, start=start, end=start + len(fragment))


def _answer(question: str, quotes: list[Quote], abstained: bool = False, retrieved: str = TEXT) -> Answer:
    chunk = Chunk(id="c0", source=SOURCE, start=0, end=len(retrieved), text=retrieved)
    return Answer(
        question=question,
        answer="The documents do not answer this question." if abstained else " ".join(q.text for q in quotes),
        abstained=abstained,
        quotes=quotes,
        passages=[Passage(chunk=chunk, score=1.0)],
    )


def _case(id: str, expect=(), answerable=True) -> ev.Case:
    return ev.Case(id=id, question=f"question {id}?", expect=tuple(tuple(f) for f in expect), answerable=answerable)


def _score(case: ev.Case, answer: Answer, latency: float = 10.0) -> ev.CaseResult:
    return ev.score_case(case, answer, {SOURCE: TEXT}.get, latency)


# --- normalisation -----------------------------------------------------------------------------


def test_normalise_folds_case_space_typography_and_number_words():
    assert ev.normalise("Qatar’s  “Envoy”\n LEFT") == "qatar's \"envoy\" left"
    assert ev.normalise("Nine children, twenty-five tanks, Twenty one days") == "9 children, 25 tanks, 21 days"
    assert ev.contains("involving nine Russian and Ukrainian children", ("9",))
    assert ev.contains("involving 9 children", ("nine",))
    assert ev.contains("delay in Ukraine’s membership", ("Ukraine's membership",))
    assert ev.contains("about 20 percent of it", ("one fifth", "20 percent"))


def test_contains_matches_whole_words_only():
    assert not ev.contains("since 1990", ("nine",))
    assert not ev.contains("a seasoned negotiator", ("one",))
    assert not ev.contains("Russians", ("Russia",))
    assert ev.contains("worth $725 million to Kyiv", ("$725 million",))
    assert not ev.contains("worth $7250 million", ("$725",))


# --- scoring hand-made answers -------------------------------------------------------------------


def test_right_answer_scores_on_every_count():
    result = _score(_case("right", [["nine", "9"], ["Monday"]]), _answer("q", [_quote("Kyiv got nine tanks on Monday.")]))
    assert result.passed and result.fact_correct and result.quote_supported and result.retrieved
    assert result.quotes_valid and result.why() == ""


def test_wrong_answer_names_the_missing_fact():
    result = _score(_case("wrong", [["Qatar"]]), _answer("q", [_quote("The talks are off.")]))
    assert not result.passed and not result.fact_correct and not result.quote_supported
    assert result.retrieved  # the passage held it; the answerer picked the wrong sentence
    assert result.missing_in_answer == ["Qatar"] and "missing Qatar" in result.why()


def test_quote_with_wrong_offsets_is_invalid_even_when_the_text_is_right():
    result = _score(_case("shifted", [["talks"]]), _answer("q", [_quote("The talks are off.", shift=1)]))
    assert result.fact_correct  # the words are right ...
    assert not result.quotes_valid and not result.passed  # ... but the offsets do not point at them
    assert "offsets" in result.why()


def test_quote_from_an_unknown_source_is_invalid():
    quote = replace(_quote("The talks are off."), source="seeds/missing.txt")
    assert not _score(_case("unknown", [["talks"]]), _answer("q", [quote])).quotes_valid


def test_fact_said_but_not_quoted_is_not_quote_supported():
    answer = _answer("q", [_quote("The talks are off.")])
    answer.answer = "Qatar. The talks are off."
    result = _score(_case("unquoted", [["Qatar"]]), answer)
    assert result.fact_correct and not result.quote_supported


def test_abstentions_right_and_wrong():
    wrong = _score(_case("false-abstain", [["Monday"]]), _answer("q", [], abstained=True))
    right = _score(_case("abstain", answerable=False), _answer("q", [], abstained=True))
    answered = _score(_case("answered", answerable=False), _answer("q", [_quote("The talks are off.")]))
    assert not wrong.passed and "abstained on an answerable" in wrong.why()
    assert right.passed
    assert not answered.passed and "do not answer" in answered.why()


def test_metrics_over_hand_made_results():
    results = [
        _score(_case("right", [["nine"]]), _answer("q", [_quote("Kyiv got nine tanks on Monday.")]), 10),
        _score(_case("wrong", [["Qatar"]]), _answer("q", [_quote("The talks are off.")]), 20),
        _score(_case("shifted", [["talks"]]), _answer("q", [_quote("The talks are off.", shift=1)]), 30),
        _score(_case("not-retrieved", [["Qatar"]]), _answer("q", [], abstained=True, retrieved="The talks are off."), 40),
        _score(_case("abstain", answerable=False), _answer("q", [], abstained=True), 50),
        _score(_case("answered", answerable=False), _answer("q", [_quote("Qatar’s envoy left.")]), 1000),
    ]
    m = ev.compute_metrics(results)
    assert (m["fact_accuracy"].count, m["fact_accuracy"].total) == (2, 4)  # right + shifted (words right)
    assert (m["quote_validity"].count, m["quote_validity"].total) == (3, 4)
    assert (m["quote_support"].count, m["quote_support"].total) == (2, 4)
    assert (m["retrieval_recall"].count, m["retrieval_recall"].total) == (3, 4)
    assert (m["abstention_precision"].count, m["abstention_precision"].total) == (1, 2)
    assert (m["abstention_recall"].count, m["abstention_recall"].total) == (1, 2)
    assert (m["false_abstention_rate"].count, m["false_abstention_rate"].total) == (1, 4)
    assert m["latency_median_ms"].value == 35
    assert m["latency_p95_ms"].value == 1000
    assert [r.id for r in results if not r.passed] == ["wrong", "shifted", "not-retrieved", "answered"]


def test_nothing_to_measure_is_none_and_fails_the_check():
    metrics = ev.compute_metrics([_score(_case("abstain", answerable=False), _answer("q", [], abstained=True))])
    assert metrics["fact_accuracy"].value is None and metrics["quote_validity"].value is None
    report = ev.Report("2026-01-01T00:00:00+00:00", [], {"generator": "x", "top_k": 1}, metrics, [])
    problems = ev.check(report, ev.Thresholds(minimum={"quote_validity": 1.0}, maximum={}))
    assert problems and "not measured" in problems[0]


def test_percentile_is_nearest_rank():
    assert ev.percentile([5, 1, 4, 2, 3], 95) == 5
    assert ev.percentile(list(range(1, 101)), 95) == 95
    assert ev.percentile([], 95) is None


# --- case files and thresholds ----------------------------------------------------------------------


def test_repo_cases_are_well_formed_and_their_facts_are_in_the_article():
    cases = ev.load_cases([EVALS])
    article = (SEEDS / "000_74b09fb6327d5bb6.txt").read_text(encoding="utf-8")
    answerable = [c for c in cases if c.answerable]
    assert len(cases) >= 45 and len(cases) - len(answerable) >= 12
    for case in answerable:
        for fact in case.expect:
            assert ev.contains(article, fact), (case.id, fact)
    follow_up = next(c for c in cases if c.question == "What did he co-author earlier this year?")
    assert follow_up.history == ("Who is Trump's special envoy for the war?",) and follow_up.expect == (("strategy paper",),)
    assert any(("20 percent" in f) for c in cases for f in c.expect)


def test_short_answer_accuracy_counts_the_fact_inside_the_span():
    from assistant.types import AnswerSpan

    quote = _quote("Kyiv got nine tanks on Monday.")
    right = _answer("How many tanks?", [quote])
    right.answer_span = AnswerSpan(0, quote.start + 9, quote.start + 19, "nine tanks")
    wrong = _answer("How many tanks?", [quote])
    wrong.answer_span = AnswerSpan(0, quote.start, quote.start + 4, "Kyiv")
    plain = _answer("What happened?", [quote])  # no span: not counted either way
    results = [_score(_case("a", [["9"]]), right), _score(_case("b", [["9"]]), wrong), _score(_case("c", [["9"]]), plain)]
    assert [r.short_answer for r in results] == ["nine tanks", "Kyiv", None]
    metric = ev.compute_metrics(results)["short_answer_accuracy"]
    assert (metric.count, metric.total) == (1, 2)
    assert all(r.fact_correct for r in results)  # the full answer text still holds the fact


@pytest.mark.slow
def test_corpus_cases_are_well_formed_and_their_facts_are_in_their_documents():
    """Each corpus case names its document in its first tag; every expected fact (one of its
    alternatives) is in that document's extracted text, so a typo fails here, not the answerer."""
    from assistant.loaders import extract, scan

    corpus = EVALS / "corpus"
    cases = ev.load_cases([corpus / "cases"])
    files, problems = scan(corpus / "docs", PROJECT, 10**9)
    texts = {f.path.name: extract(f).text for f in files}
    assert not problems and len(texts) >= 15
    assert {suffix for suffix in (Path(name).suffix for name in texts)} >= {".html", ".pdf", ".txt", ".md", ".docx"}
    answerable = [c for c in cases if c.answerable]
    assert len(cases) >= 160 and len(cases) - len(answerable) >= len(cases) // 8
    for case in cases:
        assert case.tags and case.tags[0] in texts, (case.id, case.tags)
    missing = {c.id for c in answerable for f in c.expect if not ev.contains(texts[c.tags[0]], f)}
    assert missing == set(READER_LIMITS), missing


# Facts a reader of the printed page sees that the text layer does not hold as printed.
READER_LIMITS = {"census-female-total": "the PDF's text layer sets the decimals of its totals row apart: '2,799 .2'"}


def test_whole_sentences_are_judged_from_the_text_and_its_blocks():
    from assistant.types import Block, Layout

    text = "Install it with pip\nand run it. Then read the quotes.\nfirst = 1\nsecond = 2"
    layout = Layout(blocks=(Block(0, 52), Block(53, len(text), "code")))
    def whole(part):
        return ev.whole_sentences(text, text.index(part), text.index(part) + len(part), layout)
    assert whole("Install it with pip\nand run it.") and whole("Then read the quotes.")
    assert whole("second = 2")  # a whole line of a code block
    assert not whole("and run it.")  # starts after a wrapped line, mid-sentence
    assert not whole("Install it with pip")  # ends mid-sentence
    assert not whole("read the quotes.")


@pytest.mark.parametrize(
    "body,message",
    [
        ("- {id: a, question: Q}", "at least one expected fact"),
        ("- {id: a, question: Q, expect: [x], answerable: false}", "expects abstention"),
        ("- {id: a, question: Q, expect: [x], colour: red}", "unknown keys"),
        ("- {id: a, question: Q, expect: [x]}\n- {id: a, question: R, expect: [y]}", "duplicate case id"),
        ("- {id: a, question: Q, expect: [[]]}", "non-empty text"),
        ("{id: a}", "list of cases"),
    ],
)
def test_bad_case_files_are_refused_with_the_reason(tmp_path, body, message):
    (tmp_path / "cases.yaml").write_text(body)
    with pytest.raises(ev.CaseError, match=message):
        ev.load_cases([tmp_path / "cases.yaml"])


def test_thresholds_refuse_unknown_metrics(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("[min]\nfact_acuracy = 0.9\n")
    with pytest.raises(ev.CaseError, match="unknown metrics"):
        ev.Thresholds.load(path)
    assert set(ev.Thresholds.load(EVALS / "thresholds.toml").minimum) <= set(ev.METRICS)


# --- the real suite through the real assistant ---------------------------------------------------------


@pytest.fixture(scope="module")
def report(assistant) -> ev.Report:
    return ev.run(assistant, ev.load_cases([EVALS]))


def test_full_run_quotes_are_all_verbatim_and_reports_are_written(report, tmp_path):
    assert len(report.results) >= 45
    assert report.metrics["quote_validity"].total > 0
    assert report.value("quote_validity") == 1.0
    assert all(r.latency_ms > 0 for r in report.results)
    thresholds = ev.Thresholds.load(EVALS / "thresholds.toml")
    folder = reports.write_report(report, tmp_path / "reports", thresholds)
    assert {p.name for p in folder.iterdir()} == {"report.json", "report.md"} | ({"chart.png"} if reports.chart_available() else set())
    assert (folder / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert reports.latest_report(tmp_path / "reports") == folder
    again = reports.read_report(folder)
    assert again.metrics == report.metrics and [r.passed for r in again.results] == [r.passed for r in report.results]
    table = reports.format_table(report, thresholds)
    for failed in report.failed:
        assert f"[{failed.id}]" in table


def _eval_cli(project: Path, out: Path, thresholds: str, *options: str):
    path = out / "thresholds.toml"
    path.write_text(thresholds)
    args = [*options, "eval", "--check", "--json", "--cases", str(EVALS), "--thresholds", str(path), "--out", str(out)]
    return CliRunner().invoke(cli, args, env={"ASSISTANT_ROOT": str(project)})


class ShiftedQuotes(Generator):
    """A generator that points every quote one character off: text right, offsets wrong."""

    name = "shifted"

    def __init__(self, inner):
        self.inner = inner

    def generate(self, question, passages, corpus):
        answer = self.inner.generate(question, passages, corpus)
        answer.quotes = [replace(q, start=q.start + 1, end=q.end + 1) for q in answer.quotes]
        return answer


@pytest.fixture
def shared_embedder(monkeypatch, embedder):
    """CLI runs build their own Assistant; give it the session's (real) model instead of loading another."""
    monkeypatch.setattr("assistant.registry.make_embedder", lambda settings: embedder)


def test_check_passes_on_the_real_answerer_and_fails_when_quote_offsets_break(assistant, project, tmp_path, monkeypatch, shared_embedder):
    limits = "[min]\nquote_validity = 1.0\n"
    good = _eval_cli(project, tmp_path, limits)
    assert good.exit_code == 0, good.output
    assert json.loads(good.stdout)["metrics"]["quote_validity"]["value"] == 1.0

    monkeypatch.setattr("assistant.registry.make_generator", lambda settings, embedder=None: ShiftedQuotes(ExtractiveGenerator(settings, embedder)))
    broken = _eval_cli(project, tmp_path, limits)
    assert broken.exit_code == 1
    assert "eval check failed: quote_validity" in broken.stderr
    assert json.loads(broken.stdout)["metrics"]["quote_validity"]["value"] < 0.5


@pytest.mark.slow
def test_check_fails_when_abstention_is_switched_off(report, project, tmp_path, shared_embedder):
    recall, false_rate = report.value("abstention_recall"), report.value("false_abstention_rate")
    assert recall > 0 and false_rate < 1  # held at what the answerer measures now, so only the break can fail it
    limits = f"[min]\nabstention_recall = {recall}\n[max]\nfalse_abstention_rate = {false_rate}\n"
    same = _eval_cli(project, tmp_path, limits)
    assert same.exit_code == 0, same.output
    never = _eval_cli(project, tmp_path, limits, "--abstain-threshold", "0")
    assert never.exit_code == 1
    assert "eval check failed: abstention_recall" in never.stderr and "false_abstention_rate" not in never.stderr
    always = _eval_cli(project, tmp_path, limits, "--abstain-threshold", "1.01")
    assert always.exit_code == 1 and "eval check failed: false_abstention_rate" in always.stderr


def test_without_matplotlib_the_report_is_written_without_its_chart(report, tmp_path, monkeypatch):
    """matplotlib comes with the ui extra; the library's eval writes everything else without it."""
    monkeypatch.setattr(reports, "chart_available", lambda: False)
    folder = reports.write_report(report, tmp_path / "reports")
    assert {p.name for p in folder.iterdir()} == {"report.json", "report.md"}
    assert "chart.png" not in (folder / "report.md").read_text()
