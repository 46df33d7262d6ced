"""The claim check: what an LLM answer names must stand in its quotes (or in the question)."""

import pytest

from assistant.claims import claimed, is_refusal, unsupported

TERRITORY = "Russian forces now control about 20 percent of Ukraine’s territory."
AID = "The package, worth $725 million, includes long-range missiles."


@pytest.mark.parametrize("answer, missing", [
    ("Russia controls about 20% of Ukraine.", []),  # % and percent, Russia in Russian, Ukraine in Ukraine’s
    ("Unemployment rose to 40%.", ["40 percent"]),
    ("It ended on the 21st, as in the 1990s, at $725m.", ["21", "1990"]),  # glued letters are no unit
    ("Russian forces control twenty percent of Ukraine.", []),  # a number word is its digits
    ("Russian forces control about 18 percent of Ukraine.", ["18 percent"]),
    ("The package was worth 725 million dollars.", []),
    ("The package was worth $800 million.", ["800 million"]),
    ("Dmitry Peskov is 45 years old.", ["45 years", "Dmitry Peskov"]),
    ("Russian forces control about 20 years of Ukraine.", ["20 years"]),  # a number counts with its unit
    ("Trump will be inaugurated on January 20, 2021.", ["2021", "January"]),
])
def test_numbers_and_names_must_be_in_the_quotes(answer, missing):
    assert unsupported(answer, [TERRITORY, AID]) == missing


def test_percent_signs_and_glued_letters_match_themselves():
    assert unsupported("Unemployment rose to 40%.", ["Unemployment rose to 40%."]) == []
    assert unsupported("It grew 8.5 percent.", ["It grew 8.5%."]) == []
    assert unsupported("On the 21st, in the 1990s, $725m.", ["On the 21st, in the 1990s, $725m."]) == []


def test_a_name_opening_a_sentence_is_checked_when_the_recogniser_found_it():
    assert unsupported("Witkoff will lead the delegation.", ["Kellogg will lead the delegation."]) == []  # unknown: a sentence start
    assert unsupported("Witkoff will lead the delegation.", ["Kellogg will lead the delegation."], names=["Witkoff"]) == ["Witkoff"]


def test_the_questions_own_words_are_not_claims():
    assert unsupported("He says Peskov and Qatar helped.", ["Qatar helped."], "What does Peskov say about Qatar?") == []
    assert unsupported("He says Peskov and Qatar helped.", ["Qatar helped."]) == ["Peskov"]


def test_a_capitalised_word_opening_a_sentence_is_not_a_name():
    assert [shown for shown, _ in claimed("According to the text, Kellogg is the envoy. Yes.")] == ["Kellogg"]


@pytest.mark.parametrize("answer, refusal", [
    ("The passages do not mention his age.", True),
    ("Peskov’s age is not mentioned in the passages.", True),
    ("There is no information about his birth.", True),
    ("The bodies were not found.", False),
    ("Kellogg does not support NATO membership yet.", False),
    ("The treaty does not contain a withdrawal clause.", False),
    ("He cannot answer questions about the deal.", False),
    ("The passages don't specify who leads it.", True),
])
def test_refusals_in_the_models_own_words(answer, refusal):
    assert is_refusal(answer) is refusal
