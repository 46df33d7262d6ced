"""Odd questions get a clear reply (a QuestionError message or an answer/abstention), never a
crash: through the API, `assistant ask` and `assistant ask --json` JSONL."""

import json
import os
import subprocess

import pytest
from click.testing import CliRunner
from conftest import extracted_text
from test_cli import ASSISTANT

from assistant import registry
from assistant.cli import cli
from assistant.errors import QuestionError

HUGE = "Who is the Kremlin's spokesman? " * 3200  # about 100 kB
ODD = [
    "Кто является пресс-секретарём Кремля?",  # Cyrillic
    "克里姆林宫的发言人是谁？",  # Chinese
    "مَن هو المتحدث باسم الكرملين؟",  # Arabic, right to left
    "Who\x00 is the\x1b[31m Kremlin's\x07 spokesman?\r\x7f",  # control characters
    "\ud800Who is the Kremlin's spokesman?\udfff",  # lone surrogates (undecodable input)
    "???!!!",
    "🙂" * 500,
]


@pytest.mark.parametrize("question, message", [
    ("", "the question is empty"),
    (" \n\t ", "the question is empty"),
    ("\x00\x01\x1b\x7f", "the question is empty"),
    (HUGE, f"the question is {len(HUGE.strip())} characters long; the limit is 2000"),
    (None, "the question must be text"),
])
def test_unaskable_questions_raise_a_clear_error(assistant, question, message):
    with pytest.raises(QuestionError) as error:
        assistant.ask(question)
    assert str(error.value) == message


@pytest.mark.parametrize("question", ODD)
def test_odd_questions_get_an_answer_or_an_abstention(assistant, project, question):
    answer = assistant.ask(question)
    assert answer.answer and answer.question.isprintable()
    assert answer.abstained == (answer.quotes == [])
    for quote in answer.quotes:
        assert extracted_text(project, quote.source)[quote.start:quote.end] == quote.text
    json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")  # printable as --json gives it


def test_control_characters_do_not_hide_the_question(assistant):
    assert "Peskov" in assistant.ask("Who\x00 is the\x1b Kremlin's\x07 spokesman?\r").answer


def test_cli_ask_replies_in_one_line_or_answers(assistant, project, embedder, monkeypatch):
    monkeypatch.setattr(registry, "make_embedder", lambda settings: embedder)
    runner = CliRunner()
    env = {"ASSISTANT_ROOT": str(project)}
    for question, message in [("", "the question is empty"), ("\x01\x02", "the question is empty"), (HUGE, "characters long; the limit is 2000")]:
        result = runner.invoke(cli, ["ask", question], env=env)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)  # a message, not an exception
        assert result.stderr.startswith("Error: ") and message in result.stderr and result.stderr.count("\n") == 1
    for question in ODD:
        for args in (["ask", question], ["ask", "--json", question]):
            result = runner.invoke(cli, args, env=env)
            assert result.exit_code == 0, (question, result.output, result.exception)
        assert json.loads(result.stdout)["question"].isprintable()


@pytest.mark.slow
def test_jsonl_gives_one_line_per_question_whatever_it_holds(assistant, project):
    lines = [
        b"",
        b"   ",
        json.dumps({"question": ""}).encode(),
        HUGE.encode(),
        *(json.dumps({"question": q}).encode() for q in ODD),  # escaped: control characters, surrogates
        "Кто является пресс-секретарём Кремля?".encode(),  # raw UTF-8
        b"Who\x07 is the Kremlin's\x1b spokesman?\x0b",  # raw control characters on the line itself
        b"caf\xe9 in Latin-1, not UTF-8",
        json.dumps({"question": 42}).encode(),
        json.dumps({"question": "Who is Peskov?", "history": 5}).encode(),
        json.dumps({"question": "Who is Peskov?", "history": [{"x": 1}]}).encode(),
        b"{not json",
        b"Who is the Kremlin's spokesman?",
    ]
    env = {**os.environ, "ASSISTANT_ROOT": str(project)}
    result = subprocess.run([ASSISTANT, "ask", "--json"], input=b"\n".join(lines) + b"\n", capture_output=True, env=env, timeout=300)
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 0 and "Traceback" not in stderr, stderr
    replies = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert len(replies) == len(lines) - 2  # blank lines are skipped
    errors = [r["error"] for r in replies if "error" in r]
    assert errors == [
        "the question is empty",
        f"the question is {len(HUGE.strip())} characters long; the limit is 2000",
        "line 14 is not valid UTF-8 (byte 3)",
        "the question must be text",
        "history must be a list of earlier questions",
        "history entries must be strings or question/answer objects, not {'x': 1}",
        "invalid JSON line: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    ]
    assert all("answer" in r for r in replies if "error" not in r)
    assert "Peskov" in replies[-1]["answer"]
