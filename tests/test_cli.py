"""The command line, run as a user runs it: the installed `assistant` script in a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import extracted_text

# The console script installed beside this interpreter, as `pip install -e .` puts it.
ASSISTANT = str(Path(sys.executable).parent / "assistant")


def run(project, *args, stdin=None):
    env = {**os.environ, "ASSISTANT_ROOT": str(project)}
    return subprocess.run([ASSISTANT, *args], input=stdin, capture_output=True, text=True, env=env, timeout=300)


def test_ask_json_and_jsonl(assistant, project):
    result = run(project, "ask", "--json", "How large was the military aid package the U.S. approved on Monday?")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) >= {"question", "answer", "abstained", "quotes", "latency_ms"}
    quote = next(q for q in answer["quotes"] if "$725 million" in q["text"])
    assert extracted_text(project, quote["source"])[quote["start"]:quote["end"]] == quote["text"]

    lines = "\n".join([
        "What share of Ukraine's territory do Russian forces control?",
        "What is the capital of Australia?",
        json.dumps({"question": "What did he co-author earlier this year?", "history": ["Who is Trump's special envoy for the war?"]}),
        "",
    ])
    result = run(project, "ask", "--json", stdin=lines)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 3
    assert "20 percent" in answers[0]["answer"] and not answers[0]["abstained"]
    assert answers[1]["abstained"] and answers[1]["quotes"] == []
    assert "strategy paper" in answers[2]["answer"]


@pytest.mark.slow
def test_index_reports_changes_and_help_lists_commands(fresh_project):
    first = run(fresh_project, "index")
    assert first.returncode == 0, first.stderr
    assert "added: seeds/000_74b09fb6327d5bb6.txt" in first.stdout
    (fresh_project / "seeds" / "bad.txt").write_bytes(b"\x00\x00")
    second = run(fresh_project, "index")
    assert "added 0, replaced 0, removed 0, kept 1, skipped 1" in second.stdout
    assert "skipped seeds/bad.txt" in second.stderr
    help_text = run(fresh_project, "--help").stdout
    listed = {line.split()[0] for line in help_text.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == {"ask", "bench", "chat", "eval", "index", "status"}


@pytest.mark.slow
def test_readable_ask_and_clear_errors(assistant, project):
    result = run(project, "ask", "Who did Trump appoint as special envoy?")
    assert result.returncode == 0 and "Keith Kellogg" in result.stdout and "seeds/" in result.stdout
    empty = run(project, "ask", "   ")
    assert empty.returncode != 0 and "empty" in empty.stderr and "Traceback" not in empty.stderr


def one_line_error(result) -> str:
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.mark.slow
def test_a_misspelt_documents_folder_is_said_and_changes_nothing(fresh_project):
    env = {**os.environ, "ASSISTANT_ROOT": str(fresh_project), "ASSISTANT_SEEDS_DIR": "nothere"}

    def misspelt(*command):
        return subprocess.run([ASSISTANT, *command], capture_output=True, text=True, env=env, timeout=300)

    for command in (["ask", "Who is the Kremlin's spokesman?"], ["ask", "--json", "Who is the Kremlin's spokesman?"], ["index"]):
        assert f"the documents folder {fresh_project / 'nothere'} does not exist" in one_line_error(misspelt(*command))
    assert run(fresh_project, "index").returncode == 0
    assert "the index was not changed" in one_line_error(misspelt("index"))  # a misspelt folder never empties the index
    assert run(fresh_project, "status").stdout.startswith("1 documents, ")


@pytest.mark.slow
def test_a_folder_with_nothing_readable_is_said(tmp_path):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "slides.pptx").write_bytes(b"PK\x03\x04")
    message = one_line_error(run(tmp_path, "ask", "What is in the slides?"))
    assert f"no documents are indexed: {tmp_path / 'seeds'} holds no file the assistant can read" in message


@pytest.mark.slow
def test_an_unreachable_chroma_server_is_said(fresh_project):
    from conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "ASSISTANT_ROOT": str(fresh_project), "ASSISTANT_CHROMA_URL": url}
    for command in (["ask", "Who is the Kremlin's spokesman?"], ["index"], ["status"]):
        result = subprocess.run([ASSISTANT, *command], capture_output=True, text=True, env=env, timeout=300)
        assert f"cannot reach the Chroma server at {url}" in one_line_error(result), command
