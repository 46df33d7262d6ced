"""Load: many threads asking through one Assistant get the answers they get one by one."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from assistant import Assistant
from assistant.embeddings import SentenceTransformerEmbedder

EVALS = Path(__file__).resolve().parent.parent / "evals"


def comparable(answer) -> dict:
    result = answer.to_dict()
    del result["latency_ms"]
    return result


def test_32_questions_from_8_threads_match_asked_one_by_one(assistant, settings):
    cases = yaml.safe_load((EVALS / "seed_article.yaml").read_text(encoding="utf-8"))
    questions = [case["question"] for case in cases][:32]
    assert len(questions) == 32
    # A fresh assistant with a fresh model and empty caches, so the threads race to load the
    # index, fill the caches and run the model at the same time.
    shared = Assistant(settings, embedder=SentenceTransformerEmbedder())
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(shared.ask, questions))
    alone = [assistant.ask(q) for q in questions]
    assert [comparable(a) for a in together] == [comparable(a) for a in alone]
    assert sum(not a.abstained for a in alone) >= 16  # the comparison covers real answers, not just abstentions
