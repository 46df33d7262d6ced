"""Load: many threads asking through one Assistant get the answers they get one by one."""

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml

from assistant import Assistant
from assistant.registry import make_embedder

EVALS = Path(__file__).resolve().parent.parent / "evals"


def comparable(answer) -> dict:
    result = answer.to_dict()
    del result["latency_ms"]
    return result


@pytest.mark.slow
def test_32_questions_from_8_threads_match_asked_one_by_one(assistant, settings):
    cases = yaml.safe_load((EVALS / "seed_article.yaml").read_text(encoding="utf-8"))
    questions = [case["question"] for case in cases][:32]
    assert len(questions) == 32
    # A fresh assistant with a fresh model (the default backend, as the app uses) and empty caches,
    # so the threads race to load the index, fill the caches and run the model at the same time.
    shared = Assistant(settings, embedder=make_embedder(settings))
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(shared.ask, questions))
    alone = [assistant.ask(q) for q in questions]
    assert [comparable(a) for a in together] == [comparable(a) for a in alone]
    assert sum(not a.abstained for a in alone) >= 16  # the comparison covers real answers, not just abstentions


@pytest.mark.slow
def test_embedder_serves_threads_that_mix_batches_and_word_vectors(embedder):
    """Padded batches (embeddings) and unpadded calls (word offsets) share one tokenizer, whose
    padding settings are state: without a lock, threads got ragged tensors ("Unable to create
    tensor") in about one call in 200."""
    rng = random.Random(5)
    words = "war talks Peskov Kellogg envoy Kremlin Ukraine territory percent aid package Monday Qatar".split()
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 40))) + f" {rng.random()}" for _ in range(1600)]

    def work(i):
        if i % 2:
            return embedder.word_vectors(texts[4 * i:4 * i + 4])
        return embedder.embed_documents([texts[4 * i], texts[4 * i + 1] + " " + texts[4 * i + 2]])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(400)))  # raises the first error a thread met
    for i in range(0, 40, 2):
        assert np.allclose(results[i], work(i), atol=1e-5)  # the same vectors as one thread alone gets
