"""The promises a reader relies on: right facts, verbatim quotes, abstention when unsupported."""

import pytest

from conftest import extracted_text

ANSWERABLE = {
    "What share of Ukraine's territory do Russian forces control?": "20 percent",
    "How large was the military aid package the U.S. approved on Monday?": "$725 million",
    "What percentage of Ukraine is held by Russia?": "20 percent",
    "Who did Trump name as his special envoy for the war?": "Keith Kellogg",
    "Which country helped bring children back during the war?": "Qatar",
    "How many children were involved in the latest humanitarian exchange?": "nine",
}
UNANSWERABLE = [
    "What is the capital of Australia?",
    "When was Dmitry Peskov born?",
    "How much does a barrel of oil cost?",
]


@pytest.mark.parametrize("question,fact", ANSWERABLE.items())
def test_answerable_questions_quote_the_fact(assistant, question, fact):
    answer = assistant.ask(question)
    assert not answer.abstained, answer.support
    assert any(fact in quote.text for quote in answer.quotes), answer.answer
    assert fact in answer.answer


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_unanswerable_questions_abstain_without_quotes(assistant, question):
    answer = assistant.ask(question)
    assert answer.abstained, answer.answer
    assert answer.quotes == []
    assert "do not" in answer.answer


def test_every_quote_is_verbatim_at_its_offsets(assistant, project):
    quotes = [q for question in ANSWERABLE for q in assistant.ask(question).quotes]
    assert len(quotes) >= len(ANSWERABLE)
    for quote in quotes:
        assert extracted_text(project, quote.source)[quote.start:quote.end] == quote.text
        assert quote.source.startswith("seeds/")


def test_follow_up_uses_history(assistant):
    first = "Who is Trump's special envoy for the war?"
    answer = assistant.ask("What did he co-author earlier this year?", history=[first])
    assert not answer.abstained
    assert any("strategy paper" in q.text for q in answer.quotes)


def test_bad_questions_get_clear_errors(assistant):
    from assistant.pipeline import QuestionError

    with pytest.raises(QuestionError, match="empty"):
        assistant.ask("   \x00 ")
    with pytest.raises(QuestionError, match="limit"):
        assistant.ask("why " * 10_000)
