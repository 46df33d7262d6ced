"""The embedding backends: ONNX gives torch's vectors, and the model loads only when needed."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import PROJECT

from assistant import Assistant, Settings
from assistant.chunking import Chunker
from assistant.embeddings import SentenceTransformerEmbedder
from assistant.loaders import load_documents
from assistant.onnx_embeddings import OnnxEmbedder
from assistant.registry import make_embedder
from assistant.segmenting import sentences as split_sentences

QUESTION = "What share of Ukraine's territory do Russian forces control?"


@pytest.mark.slow
def test_onnx_export_gives_the_torch_vectors(tmp_path):
    documents, _ = load_documents(PROJECT / "seeds", PROJECT)
    chunks = [c.text for d in documents for c in Chunker(250, 60).split(d)]
    sentences = [s.text for d in documents for s in split_sentences(d)][:12]
    onnx = OnnxEmbedder(cache_dir=tmp_path)  # an empty cache: exported here, from the packaged model
    torch = SentenceTransformerEmbedder()
    assert not onnx.onnx_path.exists()

    assert np.abs(np.array(onnx.embed_documents(chunks)) - np.array(torch.embed_documents(chunks))).max() < 1e-5
    assert onnx.onnx_path.is_file()
    assert np.abs(np.array(onnx.embed_query(QUESTION)) - np.array(torch.embed_query(QUESTION))).max() < 1e-5
    for ours, theirs in zip(onnx.word_vectors([QUESTION, *sentences]), torch.word_vectors([QUESTION, *sentences])):
        assert ours.words == theirs.words and ours.words
        assert np.abs(ours.vectors - theirs.vectors).max() < 1e-5


@pytest.mark.slow
def test_int8_model_is_quantised_here_from_the_export_and_stays_close_to_it(tmp_path):
    documents, _ = load_documents(PROJECT / "seeds", PROJECT)
    chunks = [c.text for d in documents for c in Chunker(250, 60).split(d)]
    fp32, int8 = OnnxEmbedder(cache_dir=tmp_path), OnnxEmbedder(cache_dir=tmp_path, int8=True)
    exact, quantised = np.array(fp32.embed_documents(chunks)), np.array(int8.embed_documents(chunks))
    assert int8.onnx_path.is_file() and int8.onnx_path != fp32.onnx_path
    assert int8.onnx_path.stat().st_size < fp32.onnx_path.stat().st_size / 3  # 8-bit weights, not 32
    assert int8.name != fp32.name  # other vectors: an index built with one is not used by the other
    cosines = (exact * quantised).sum(axis=1)
    assert cosines.min() > 0.95 and not np.allclose(exact, quantised, atol=1e-4)
    question = int8.embed_query(QUESTION)
    assert chunks[int(np.argmax(quantised @ question))] == chunks[int(np.argmax(exact @ fp32.embed_query(QUESTION)))]


def test_model_loads_only_when_something_is_embedded(assistant, settings):
    again = Assistant(Settings(root=settings.root))  # a new process would start like this
    report = again.index()
    assert report.kept and not report.changed
    assert not again.embedder.loaded
    assert again.status().chunks > 0 and not again.embedder.loaded
    assert "20 percent" in again.ask(QUESTION).answer
    assert again.embedder.loaded


def test_backend_setting_picks_the_embedder(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_EMBEDDING_BACKEND", "torch")
    assert type(make_embedder(Settings(root=tmp_path))) is SentenceTransformerEmbedder
    onnx = make_embedder(Settings(root=tmp_path, embedding_backend="onnx", cache_dir="cache"))
    assert type(onnx) is OnnxEmbedder and onnx.cache_dir == tmp_path / "cache"
    assert not onnx.loaded and not onnx.int8
    int8 = make_embedder(Settings(root=tmp_path, embedding_backend="onnx-int8"))
    assert type(int8) is OnnxEmbedder and int8.int8 and int8.name.startswith(f"{onnx.name}-int8") and not int8.loaded


def test_word_vectors_survive_their_own_cache_evicting_them(embedder):
    """Texts cached before a call may be evicted while the call remembers new ones; each is still returned."""
    size = embedder.words_cache_size
    embedder.clear_caches()
    try:
        embedder.words_cache_size = 2
        embedder.word_vectors(["kept one", "kept two"])
        got = embedder.word_vectors(["kept one", "new three", "new four", "kept two"])
        assert [w.words for w in got] == [["kept", "one"], ["new", "three"], ["new", "four"], ["kept", "two"]]
    finally:
        embedder.words_cache_size = size
        embedder.clear_caches()
