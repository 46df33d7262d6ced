"""Incremental indexing: only what changed is embedded; deletions leave no orphans."""

import pytest
from conftest import index_contents

from assistant import Assistant, Settings


class CountingEmbedder:
    """Wraps the real embedder and counts what it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.name, self.embedded = inner, inner.name, 0

    def embed_documents(self, texts):
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)

    def word_vectors(self, texts):
        return self.inner.word_vectors(texts)

    def load(self):
        self.inner.load()

    def clear_caches(self):
        self.inner.clear_caches()


def test_incremental_index(fresh_project, embedder):
    counting = CountingEmbedder(embedder)
    assistant = Assistant(Settings(root=fresh_project), embedder=counting)
    seeds = fresh_project / "seeds"

    first = assistant.index()
    assert first.added == ["seeds/000_74b09fb6327d5bb6.txt"] and counting.embedded > 0

    counting.embedded = 0
    second = assistant.index()
    assert counting.embedded == 0
    assert second.kept == ["seeds/000_74b09fb6327d5bb6.txt"] and not second.changed

    (seeds / "new.md").write_text("The lighthouse keeper counted 412 gulls on Tuesday.", encoding="utf-8")
    seed = seeds / "000_74b09fb6327d5bb6.txt"
    seed.write_text(seed.read_text(encoding="utf-8").replace("$725 million", "$999 million"), encoding="utf-8")
    third = assistant.index()
    assert third.added == ["seeds/new.md"]
    assert third.replaced == ["seeds/000_74b09fb6327d5bb6.txt"]
    answer = assistant.ask("How large was the military aid package the U.S. approved on Monday?")
    assert "$999 million" in answer.answer
    assert "412 gulls" in assistant.ask("How many gulls did the lighthouse keeper count?").answer

    (seeds / "new.md").unlink()
    fourth = assistant.index()
    assert fourth.removed == ["seeds/new.md"]
    assert assistant.store.sources() == {"seeds/000_74b09fb6327d5bb6.txt"}
    assert assistant.store.count() == assistant.docstore.counts()[1]
    assert assistant.ask("How many gulls did the lighthouse keeper count?").abstained


def test_unreadable_file_is_reported_and_skipped(fresh_project, embedder):
    (fresh_project / "seeds" / "broken.txt").write_bytes(b"\xff\xfe\xfa not utf-8")
    assistant = Assistant(Settings(root=fresh_project), embedder=embedder)
    report = assistant.index()
    assert [p.source for p in report.problems] == ["seeds/broken.txt"]
    assert "UTF-8" in report.problems[0].reason
    assert report.added == ["seeds/000_74b09fb6327d5bb6.txt"]


def test_ask_builds_a_missing_index(fresh_project, embedder):
    assistant = Assistant(Settings(root=fresh_project), embedder=embedder)
    assert assistant.status().built_at is None
    assert "20 percent" in assistant.ask("How much of Ukraine do Russian forces control?").answer
    assert assistant.status().documents == 1


def test_nothing_changed_run_skips_the_vector_store_until_its_file_changes(fresh_project, embedder):
    Assistant(Settings(root=fresh_project), embedder=embedder).index()
    idle = Assistant(Settings(root=fresh_project), embedder=embedder)
    report = idle.index()
    assert report.kept and not report.changed
    assert idle._store is None  # Chroma never opened: nothing to embed, and its file is as the last run left it

    database = fresh_project / "index" / "chroma" / "chroma.sqlite3"
    database.touch()  # written by someone else since: the vectors are counted again
    checked = Assistant(Settings(root=fresh_project), embedder=embedder)
    assert not checked.index().changed and checked._store is not None
    # (a lost or damaged store is still found: tests/test_broken_index.py, in new processes)


def test_a_change_to_the_readers_reads_every_document_again(fresh_project, embedder, monkeypatch):
    from assistant import indexing
    from assistant.readers import reader_version

    assistant = Assistant(Settings(root=fresh_project), embedder=embedder)
    assistant.index()
    assert assistant.index().kept == ["seeds/000_74b09fb6327d5bb6.txt"]
    assert reader_version() == reader_version() and len(reader_version()) == 12  # a digest of the readers' code and data
    monkeypatch.setattr(indexing, "reader_version", lambda: "0" * 12)  # as after an upgrade of the readers
    report = assistant.index()
    assert report.rebuilt and report.added == ["seeds/000_74b09fb6327d5bb6.txt"]
    assert "the document readers changed" in report.repaired


def _six_documents(root):
    (root / "seeds").mkdir(parents=True)
    for i in range(6):
        (root / "seeds" / f"keeper{i}.md").write_text(f"On day {i} the lighthouse keeper counted {i + 400} gulls.\n", encoding="utf-8")
    return Settings(root=root, embedding_call_texts=2)  # one chunk a document: three embedder calls


def test_a_run_whose_encoder_fails_keeps_what_it_recorded_while_encoding(tmp_path):
    """The stores are written by a writer thread while the next batch is embedded: when a batch
    fails, the documents of the batches before it are recorded whole, and nothing is pending."""
    from fakes import HashEmbedder

    class DiesOnThirdCall(HashEmbedder):
        def embed_documents(self, texts):
            if self.calls == 2:
                raise RuntimeError("the encoder died")
            return super().embed_documents(texts)

    assistant = Assistant(_six_documents(tmp_path), embedder=DiesOnThirdCall())
    with pytest.raises(RuntimeError, match="the encoder died"):
        assistant.index()
    assert sorted(assistant.docstore.hashes()) == [f"seeds/keeper{i}.md" for i in range(4)]
    assert not assistant.docstore.pending()
    index_contents(assistant)  # the two stores agree
    assistant.embedder.calls = 3  # it works again
    assert sorted(assistant.index().added) == ["seeds/keeper4.md", "seeds/keeper5.md"]


def test_a_store_write_that_fails_in_the_writer_is_the_runs_error(tmp_path, fake_embedder, monkeypatch):
    assistant = Assistant(_six_documents(tmp_path), embedder=fake_embedder)
    real_add, adds = assistant.store.add, []

    def add(chunks, vectors):
        adds.append(len(chunks))
        if len(adds) == 2:
            raise OSError("disk full")
        return real_add(chunks, vectors)

    monkeypatch.setattr(assistant.store, "add", add)
    with pytest.raises(OSError, match="disk full"):
        assistant.index()
    assert adds == [2, 2]  # the third batch was never written after the second failed
    assert sorted(assistant.docstore.hashes()) == ["seeds/keeper0.md", "seeds/keeper1.md"]
    monkeypatch.setattr(assistant.store, "add", real_add)
    report = assistant.index()  # the next run undoes the journalled batch and finishes
    assert sorted(report.added) == [f"seeds/keeper{i}.md" for i in range(2, 6)]
    index_contents(assistant)
