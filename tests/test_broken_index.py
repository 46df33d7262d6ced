"""A broken index (damaged or missing files, an older format): `ask`, `status` and `index` say in
one line to run `assistant index --rebuild`, never with a traceback, and the rebuild recovers."""

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SEEDS, index_contents, make_project

from assistant import Assistant, Settings, registry
from assistant.chunking import Chunker
from assistant.cli import cli
from assistant.errors import IndexConflict
from assistant.loaders import load_documents
from assistant.settings import IndexSettings

HINT = "Run `assistant index --rebuild` to rebuild it."
_DEFAULTS = IndexSettings.model_fields  # not Settings(): read at collection, before the suite's environment is set
CHUNKS = len(Chunker(_DEFAULTS["chunk_size"].default, _DEFAULTS["chunk_overlap"].default).split(load_documents(SEEDS, SEEDS.parent)[0][0]))
QUESTION = "Who is the Kremlin's spokesman?"


@pytest.fixture(scope="module")
def good_index(tmp_path_factory, embedder) -> Path:
    """A built index, closed, to copy into each broken project."""
    root = make_project(tmp_path_factory.mktemp("good"))
    assistant = Assistant(Settings(root=root), embedder=embedder)
    assistant.index()
    assistant.store.close()
    assistant.docstore.close()
    return root / "index"


@pytest.fixture
def cli_run(embedder, monkeypatch):
    """`assistant ARGS` in this process (the loaded model reused): (exit code, stdout, stderr)."""
    monkeypatch.setattr(registry, "make_embedder", lambda settings: embedder)

    def invoke(root: Path, *args: str):
        result = CliRunner().invoke(cli, list(args), env={"ASSISTANT_ROOT": str(root)})
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.exit_code, result.stdout, result.stderr

    return invoke


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = b"\x5a" * 100
    path.write_bytes(bytes(data))


def old_format(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value='0' WHERE key='schema_version'")


def unknown_layout(path: Path) -> None:
    path.unlink()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE docs (path TEXT, body TEXT)")


def l2_collection(index: Path) -> None:
    import chromadb

    client = chromadb.PersistentClient(path=str(index / "chroma"), settings=chromadb.Settings(anonymized_telemetry=False))
    client.delete_collection("passages")
    client.create_collection("passages", metadata={"hnsw:space": "l2"}, embedding_function=None)
    client.close()


def replace_with_file(path: Path) -> None:
    shutil.rmtree(path)
    path.write_text("not a folder")


def replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


BREAKAGES = {
    "docstore truncated": (lambda i: truncate(i / "docstore.sqlite3"), "is damaged (database disk image is malformed)"),
    "docstore garbled": (lambda i: garble(i / "docstore.sqlite3"), "is damaged (file is not a database)"),
    "docstore is a folder": (lambda i: replace_with_folder(i / "docstore.sqlite3"), "cannot be read (unable to open database file)"),
    "docstore of an older format": (lambda i: old_format(i / "docstore.sqlite3"), "was built by another version (format 0)"),
    "docstore of an unknown layout": (lambda i: unknown_layout(i / "docstore.sqlite3"), "has an unknown layout"),
    "chroma.sqlite3 truncated": (lambda i: truncate(i / "chroma" / "chroma.sqlite3"), "database disk image is malformed"),
    "chroma.sqlite3 garbled": (lambda i: garble(i / "chroma" / "chroma.sqlite3"), "file is not a database"),
    "chroma folder is a file": (lambda i: replace_with_file(i / "chroma"), "cannot be opened"),
    "chroma folder deleted": (lambda i: shutil.rmtree(i / "chroma"), f"the index is incomplete (the vector store holds 0 vectors for {CHUNKS} chunks)"),
    "chroma collection of an older format": (l2_collection, "was built by another version (l2 distance, not cosine)"),
}


# One damage of each store runs in the fast lane; the rest with the slow tests.
FAST_BREAKAGES = {"docstore truncated", "chroma.sqlite3 truncated"}


@pytest.mark.parametrize("breakage", [b if b in FAST_BREAKAGES else pytest.param(b, marks=pytest.mark.slow) for b in BREAKAGES])
def test_broken_index_says_rebuild_and_rebuild_recovers(breakage, good_index, tmp_path, cli_run, embedder):
    root = make_project(tmp_path)
    shutil.copytree(good_index, root / "index")
    damage, message = BREAKAGES[breakage]
    damage(root / "index")

    commands = [("status",), ("ask", QUESTION), ("ask", "--json", QUESTION)]
    if breakage != "chroma folder deleted":  # a plain run repairs that one (next test)
        commands.append(("index",))
    for command in commands:
        code, _, stderr = cli_run(root, *command)
        assert code == 1, (command, stderr)
        assert stderr.startswith("Error: ") and stderr.endswith(f"{HINT}\n") and stderr.count("\n") == 1, (command, stderr)
        assert message in stderr, (command, stderr)

    code, stdout, stderr = cli_run(root, "index", "--rebuild")
    assert code == 0, stderr
    assert "added: seeds/000_74b09fb6327d5bb6.txt" in stdout
    code, stdout, _ = cli_run(root, "status")
    assert code == 0 and stdout.startswith(f"1 documents, {CHUNKS} chunks, built 20")
    code, stdout, _ = cli_run(root, "ask", QUESTION)
    assert code == 0 and "Peskov" in stdout
    index_contents(Assistant(Settings(root=root), embedder=embedder))


@pytest.mark.parametrize("lost, note", [
    ("chroma", f"note: rebuilt the index: the vector store held 0 vectors for the document store's {CHUNKS} chunks"),
    ("docstore.sqlite3", f"note: rebuilt the index: the document store was missing, the vector store held {CHUNKS} vectors"),
])
def test_plain_index_run_repairs_a_lost_store(lost, note, good_index, tmp_path, cli_run, embedder):
    root = make_project(tmp_path)
    shutil.copytree(good_index, root / "index")
    target = root / "index" / lost
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    code, stdout, stderr = cli_run(root, "index")
    assert code == 0 and note in stderr, stderr
    assert "added: seeds/000_74b09fb6327d5bb6.txt" in stdout
    code, stdout, _ = cli_run(root, "ask", QUESTION)
    assert code == 0 and "Peskov" in stdout
    assert len(index_contents(Assistant(Settings(root=root), embedder=embedder))) == CHUNKS


def test_unknown_files_in_the_index_folder_are_left_alone(good_index, tmp_path, cli_run):
    root = make_project(tmp_path)
    shutil.copytree(good_index, root / "index")
    (root / "index" / "faiss.index").write_bytes(os.urandom(64))  # say, from another tool or an old layout
    (root / "index" / "notes").mkdir()
    code, stdout, _ = cli_run(root, "status")
    assert code == 0 and stdout.startswith(f"1 documents, {CHUNKS} chunks")
    code, _, stderr = cli_run(root, "index", "--rebuild")
    assert code == 0, stderr
    assert (root / "index" / "faiss.index").exists() and (root / "index" / "notes").is_dir()
    code, stdout, _ = cli_run(root, "ask", QUESTION)
    assert code == 0 and "Peskov" in stdout


def test_rebuild_killed_between_the_two_stores_is_repaired_by_a_plain_run(fresh_project, embedder, monkeypatch):
    """A rebuild empties the document store, then the vector store. Killed in between (here: the
    vector store cannot be opened), the next plain run must not trust the vector store unseen."""
    Assistant(Settings(root=fresh_project), embedder=embedder).index()
    from assistant import pipeline

    def killed(*args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "make_client", killed)
        with pytest.raises(KeyboardInterrupt):
            Assistant(Settings(root=fresh_project), embedder=embedder).index(rebuild=True)
    seed = next((fresh_project / "seeds").glob("*.txt"))
    seed.write_text(seed.read_text(encoding="utf-8") + "\nA sentence added later.\n", encoding="utf-8")
    after = Assistant(Settings(root=fresh_project), embedder=embedder)
    report = after.index()
    assert report.rebuilt, report  # "the vector store held N vectors for the document store's 0 chunks"
    assert after.index_problem() is None
    index_contents(after)  # both stores hold the same chunks, none twice


def test_an_index_built_with_another_embedding_model_says_so(fresh_project, embedder, fake_embedder):
    """Questions embedded by one model and compared with another's vectors would retrieve nonsense."""
    Assistant(Settings(root=fresh_project), embedder=embedder).index()
    other = Assistant(Settings(root=fresh_project), embedder=fake_embedder)
    names = f"\\('{embedder.name}'; this instance uses '{fake_embedder.name}'\\)"
    with pytest.raises(IndexConflict, match=f"built with another embedding model {names}.*`assistant index`"):
        other.ask("Who did Trump appoint as special envoy?")
    assert other.index().rebuilt  # a plain run rebuilds for the new model, as the message says
    assert other.ask("Who did Trump appoint as special envoy?").question
