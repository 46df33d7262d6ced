"""The lexical index kept on disk, and the vector store's batching, on the real seed index."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from assistant.corpus import Corpus, LexicalIndex
from assistant.lexical import tokens
from assistant.store import ChromaStore, make_client
from assistant.types import Chunk

QUESTION = "How large was the military aid package the U.S. approved on Monday?"


def test_lexical_index_is_kept_per_index_state(assistant, tmp_path):
    chunks = assistant.docstore.chunks()
    sentences = [c.text for c in chunks]
    built = LexicalIndex.build(chunks, sentences)
    saved = LexicalIndex.cached(chunks, sentences, tmp_path)
    [folder] = list(tmp_path.iterdir())
    loaded = LexicalIndex.cached(chunks, sentences, tmp_path)  # from disk this time
    query = tokens(QUESTION)
    assert loaded.doc_freq == saved.doc_freq == built.doc_freq
    assert (loaded.sentence_freq, loaded.sentence_count) == (built.sentence_freq, built.sentence_count) == (saved.sentence_freq, len(sentences))
    assert np.array_equal(loaded.bm25.get_scores(query), built.bm25.get_scores(query))

    edited = [replace(chunks[0], text=chunks[0].text + " Izvestia")] + chunks[1:]
    assert LexicalIndex.cached(edited, sentences, tmp_path).doc_freq != built.doc_freq
    [current] = list(tmp_path.iterdir())  # a new state, a new folder; the old one is gone
    assert current != folder and not folder.exists()
    assert LexicalIndex.cached(edited, sentences[1:], tmp_path).sentence_count == len(sentences) - 1  # sentences are in the key too

    for part in tmp_path.iterdir():
        for file in part.iterdir():
            file.write_text("damaged")
    assert LexicalIndex.cached(edited, sentences, tmp_path).doc_freq == LexicalIndex.build(edited).doc_freq


def test_corpus_loads_the_index_the_assistant_built(assistant):
    corpus = Corpus.load(assistant.docstore, assistant.settings.index_path / "lexical")
    assert (assistant.settings.index_path / "lexical").is_dir()
    assert corpus.doc_freq == LexicalIndex.build(corpus.chunks).doc_freq
    assert corpus.lexical.sentence_count == sum(map(len, corpus.sentences.values())) > len(corpus.chunks) / 2
    assert "$725 million" in assistant.ask(QUESTION).answer


def test_store_splits_writes_larger_than_one_call(tmp_path):
    store = ChromaStore(make_client(tmp_path, None), "passages")
    store._max_batch = 2  # Chroma's own limit is thousands; the split is the same
    chunks = [Chunk(id=f"c{i}", source="seeds/a.txt", start=i, end=i + 1, text=f"t{i}") for i in range(5)]
    vectors = np.eye(5, 8, dtype=np.float32).tolist()
    store.add(chunks, vectors)
    assert store.count() == 5
    assert store.query(vectors[3], 1)[0].id == "c3"


def test_dense_retrieval_is_exact_up_to_the_limit(assistant):
    """Every chunk is scored against the question: the nearest ones by exact cosine come back,
    whatever Chroma's approximate graph would have reached; beyond the limit Chroma searches."""
    from assistant.retrieval import HybridRetriever

    corpus = assistant._ensure_retriever().corpus
    exact = HybridRetriever(assistant.embedder, assistant.store, corpus, fetch_k=5, lexical_weight=0.3, exact_max=10**6)
    searched = HybridRetriever(assistant.embedder, assistant.store, corpus, fetch_k=5, lexical_weight=0.3, exact_max=0)
    assert exact._matrix is not None and searched._matrix is None
    ids, vectors = assistant.store.vectors()
    assert sorted(ids) == sorted(c.id for c in corpus.chunks) and vectors.shape == (len(ids), 384)
    paged_ids, paged = assistant.store.vectors(page=5)  # read in pages: the same vectors
    assert paged_ids == ids and np.array_equal(paged, vectors)
    query = np.asarray(assistant.embedder.embed_query(QUESTION), dtype=np.float32)
    nearest = [ids[i] for i in np.argsort(-(vectors @ query))[:5]]
    assert set(exact._dense(QUESTION)) == set(nearest)
    assert set(searched._dense(QUESTION)) == set(nearest)  # 18 chunks: the graph reaches them all
