"""Server mode: the whole index (vectors and documents) in a real `chroma run` server on loopback,
shared by instances that share nothing else: as on two hosts."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import chroma_server, extracted_text

from assistant import Assistant, Settings
from assistant.errors import IndexConflict, NoDocuments
from assistant.server_docstore import ChromaDocStore, lease

pytestmark = pytest.mark.slow  # a real `chroma run` server per test

SEED = "seeds/000_74b09fb6327d5bb6.txt"


@pytest.fixture
def chroma_url(tmp_path):
    with chroma_server(tmp_path / "chroma-data") as url:
        yield url


def host(root, chroma_url, embedder, **settings) -> Assistant:
    return Assistant(Settings(root=root, chroma_url=chroma_url, **settings), embedder=embedder)


def test_an_instance_with_an_empty_folder_answers_from_the_server(fresh_project, tmp_path, embedder, chroma_url):
    """A indexes its documents; B has its own root with no documents folder and an empty index
    folder, and answers from the server with quotes exact in A's files; A re-indexes a changed
    file and B's next answer reflects it."""
    a = host(fresh_project, chroma_url, embedder)
    assert a.index().added == [SEED]
    assert sorted(p.name for p in a.settings.index_path.iterdir()) == [".index.lock", "lexical"]  # nothing of the index itself

    root_b = tmp_path / "b"
    root_b.mkdir()
    b = host(root_b, chroma_url, embedder)
    assert not b.settings.seeds_path.exists()
    status = b.status()
    assert (status.documents, status.chunks) == (1, a.status().chunks) and status.built_at is not None
    assert chroma_url in status.location

    answer = b.ask("What share of Ukraine's territory do Russian forces control?")
    assert "20 percent" in answer.answer and answer.quotes
    for quote in answer.quotes:
        assert extracted_text(fresh_project, quote.source)[quote.start:quote.end] == quote.text
    assert not (root_b / "index" / "docstore.sqlite3").exists() and not (root_b / "index" / "chroma").exists()

    seed = fresh_project / SEED
    seed.write_text(seed.read_text(encoding="utf-8").replace("20 percent", "23 percent"), encoding="utf-8")
    (fresh_project / "seeds" / "gulls.md").write_text("The lighthouse keeper counted 412 gulls on Tuesday.\n", encoding="utf-8")
    report = a.index()
    assert (report.replaced, report.added) == ([SEED], ["seeds/gulls.md"])

    changed = b.ask("What share of Ukraine's territory do Russian forces control?")
    assert "23 percent" in changed.answer and "20 percent" not in changed.answer
    quote = next(q for q in changed.quotes if "23 percent" in q.text)
    assert extracted_text(fresh_project, quote.source)[quote.start:quote.end] == quote.text
    assert "412 gulls" in b.ask("How many gulls did the lighthouse keeper count?").answer

    # B has no documents folder: indexing from it changes nothing, and says why.
    with pytest.raises(NoDocuments, match="does not exist"):
        b.index()
    assert b.status().documents == 2


def test_another_documents_folder_takes_the_index_over_only_with_rebuild(fresh_project, tmp_path, embedder, chroma_url):
    a = host(fresh_project, chroma_url, embedder)
    a.index()
    root_c = tmp_path / "c"
    (root_c / "seeds").mkdir(parents=True)
    (root_c / "seeds" / "gulls.md").write_text("The lighthouse keeper counted 412 gulls on Tuesday.\n", encoding="utf-8")
    c = host(root_c, chroma_url, embedder)
    with pytest.raises(IndexConflict, match="was built from .*--rebuild"):
        c.index()
    assert a.status().documents == 1 and a.index().kept == [SEED]  # A's index is untouched and still A's

    assert c.index(rebuild=True).added == ["seeds/gulls.md"]
    assert "412 gulls" in a.ask("How many gulls did the lighthouse keeper count?").answer  # A reads what C built


def test_one_indexing_run_at_a_time_across_hosts(fresh_project, tmp_path, embedder, chroma_url):
    """While one host holds the server's writer lease, another host's run waits for it; its
    questions wait too when the index looks half-written, then get the finished index."""
    a = host(fresh_project, chroma_url, embedder)
    a.index()
    other_host = host(fresh_project, chroma_url, embedder, index_dir=tmp_path / "elsewhere")  # no shared lock file
    third_host = host(fresh_project, chroma_url, embedder, index_dir=tmp_path / "third")
    docstore = a.docstore
    assert isinstance(docstore, ChromaDocStore)

    waited, indexed, answers = threading.Event(), threading.Event(), []
    (fresh_project / "seeds" / "gulls.md").write_text("The lighthouse keeper counted 412 gulls on Tuesday.\n", encoding="utf-8")
    with lease(docstore, seconds=30):
        assert docstore.lease_holder() is not None
        docstore.mark_pending("seeds/being-written.md")  # as a run that is mid-write
        assert other_host.status().indexing and other_host.status().problem is None

        asking = threading.Thread(target=lambda: answers.append(third_host.ask("What share of Ukraine's territory do Russian forces control?")))
        indexing = threading.Thread(target=lambda: (other_host.index(on_wait=waited.set), indexed.set()))
        asking.start()
        indexing.start()
        assert waited.wait(30)
        time.sleep(1.0)
        assert not indexed.is_set() and not answers  # both wait for the lease
        docstore.remove("seeds/being-written.md")  # the run finishes
    for thread in (asking, indexing):
        thread.join(120)
    assert indexed.is_set() and docstore.lease_holder() is None
    assert answers and answers[0].quotes  # an answer from a finished index, not a refusal of a half-written one
    assert "412 gulls" in a.ask("How many gulls did the lighthouse keeper count?").answer


def test_a_lease_whose_holder_died_runs_out(fresh_project, embedder, chroma_url):
    a = host(fresh_project, chroma_url, embedder)
    a.index()
    docstore = a.docstore
    assert isinstance(docstore, ChromaDocStore)
    docstore.write_lease({"id": "dead", "host": "gone", "pid": 1, "until": time.time() + 2})
    started = time.monotonic()
    assert a.index().kept == [SEED]
    assert 1.5 < time.monotonic() - started < 30
