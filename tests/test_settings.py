"""Settings in sections, with the flat names people already use in their shells and scripts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant import Settings
from assistant.settings import SECTIONS


def test_sections_hold_every_field_described():
    settings = Settings()
    assert set(SECTIONS) == {"index", "embedding", "retrieval", "answerer", "llm", "app"}
    for name, section in SECTIONS.items():
        assert isinstance(getattr(settings, name), section)
        missing = [f for f, info in section.model_fields.items() if not info.description]
        assert not missing, f"{name}: {missing} have no description"


def test_flat_environment_names_still_work(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TOP_K", "9")
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "llama3.2")
    monkeypatch.setenv("ASSISTANT_EMBEDDING_BACKEND", "torch")
    monkeypatch.setenv("ASSISTANT_SEEDS_DIR", "docs")
    settings = Settings(fetch_k=30)
    assert (settings.retrieval.top_k, settings.retrieval.fetch_k) == (9, 30)
    assert settings.llm.model == "llama3.2" and settings.embedding.backend == "torch"
    assert settings.seeds_dir == Path("docs")


def test_flat_keywords_and_replace_validate_like_the_environment(tmp_path):
    settings = Settings(root=tmp_path, top_k=3, llm_max_tokens=100, upload_max_mb=5)
    assert (settings.retrieval.top_k, settings.llm.max_tokens, settings.app.upload_max_mb) == (3, 100, 5)
    changed = settings.replace(top_k=4, generator="openai")
    assert (changed.retrieval.top_k, changed.answerer.generator, changed.llm.max_tokens, changed.root) == (4, "openai", 100, tmp_path)
    assert settings.retrieval.top_k == 3  # the original is untouched
    assert changed.flat()["llm_max_tokens"] == 100 and "llm" not in changed.flat()
    with pytest.raises(ValidationError, match="top_k"):
        settings.replace(top_k=0)
    with pytest.raises(ValidationError, match="topk"):
        Settings(topk=3)
