"""Crash safety: `assistant index` killed with SIGKILL at random moments, again and again; the
next `assistant index` must leave exactly what a clean build holds. Two runs at once wait for
each other.

Each run is a real process running the `assistant` command's own entry point. They are forked
from a server process that has imported the libraries once (multiprocessing's forkserver), so a
round costs the model load and the indexing, not 10 s of imports, and a kill lands in the work.
"""

import json
import multiprocessing
import os
import random
import shutil
import signal
import sys
import time
import types
from pathlib import Path

import pytest
from conftest import chroma_server

from assistant import Settings
from assistant.chunking import Chunker
from assistant.indexing import index_lock, unique_contents
from assistant.loaders import extract, scan

LICENCES = Path("/usr/share/common-licenses")
PRELOAD = ["assistant.cli", "assistant.pipeline", "assistant.indexing", "assistant.embeddings", "sentence_transformers", "chromadb", "bm25s"]
WAITING = "another `assistant index` is running on this index; waiting for it to finish"


def use_settings(root: str, env: dict[str, str]) -> None:
    for key in [k for k in os.environ if k.startswith("ASSISTANT_")]:
        del os.environ[key]
    os.environ.update(env, ASSISTANT_ROOT=root)


def run_cli(args: list[str], root: str, out: str, env: dict[str, str]) -> None:
    """`assistant ARGS` in this process, as the console script runs it, output to the file OUT."""
    use_settings(root, env)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    from assistant.cli import main

    sys.argv = ["assistant", *args]
    main()


def dump_index(root: str, out: str, env: dict[str, str]) -> None:
    """What the index holds, read by a fresh process: both stores, the journal, and the ids the
    vector index itself returns for a query that asks for everything."""
    use_settings(root, env)
    from assistant import Assistant

    assistant = Assistant()
    entries = assistant.store.entries()
    dim = 384
    found = assistant.store.query([dim ** -0.5] * dim, max(len(entries), 1))
    json.dump({
        "vectors": entries,
        "nearest": sorted(h.id for h in found),
        "chunks": [[c.id, c.source, c.start, c.end, c.text] for c in assistant.docstore.chunks()],
        "pending": assistant.docstore.pending(),
        "hashes": assistant.docstore.hashes(),
    }, open(out, "w"))


@pytest.fixture(scope="module")
def forkserver():
    """Children started from a forkserver re-run the parent's __main__ from its file; after an
    AppTest that is app.py, so it is replaced by a module with no file while these tests run."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    yield context
    sys.modules["__main__"] = main


def paragraphs() -> list[str]:
    """Real English text in paragraphs: Debian's licence texts."""
    out = []
    for path in sorted(LICENCES.iterdir()):
        if path.is_file() and not path.is_symlink():
            out += [" ".join(p.split()) for p in path.read_text(encoding="utf-8", errors="replace").split("\n\n") if len(p.split()) > 12]
    if len(out) < 60:
        pytest.skip("needs the licence texts of /usr/share/common-licenses")
    return out


class Corpus:
    """A folder of a few dozen small documents that the test edits between rounds."""

    def __init__(self, seeds: Path, rng: random.Random):
        self.seeds, self.rng = seeds, rng
        self.pool = paragraphs()
        self.next = 0
        seeds.mkdir(parents=True)
        for i in range(24):
            self.write(f"doc{i:02d}.txt")

    def text(self) -> str:
        parts = self.pool[self.next:self.next + 2]
        self.next = (self.next + 2) % (len(self.pool) - 2)
        return "\n\n".join(parts) + "\n"

    def write(self, name: str) -> None:
        (self.seeds / name).write_text(self.text(), encoding="utf-8")

    def names(self) -> list[str]:
        return sorted(p.name for p in self.seeds.iterdir())

    def edit(self) -> int:
        """Change three documents, add two, delete two; returns how many need embedding."""
        names = self.names()
        for name in self.rng.sample(names, 3):
            self.write(name)
        for _ in range(2):
            self.write(f"new{self.rng.randrange(10**6):06d}.txt")
        for name in self.rng.sample(names, 2):
            (self.seeds / name).unlink()
        return 5


def clean_build(root: Path, env: dict[str, str]) -> set[tuple]:
    """The chunks a clean build of the folder holds, computed from the files themselves."""
    settings = Settings(root=root, **{k.removeprefix("ASSISTANT_").lower(): v for k, v in env.items()})
    files, _ = scan(settings.seeds_path, root, int(settings.index.max_file_mb * 1e6))
    chunker = Chunker(settings.index.chunk_size, settings.index.chunk_overlap)
    return {(c.id, c.source, c.start, c.end, c.text) for f in unique_contents(files)[0] for c in chunker.split(extract(f))}


class Runner:
    def __init__(self, context, root: Path):
        self.context, self.root, self.runs = context, root, 0

    def start(self, args: list[str], env: dict[str, str]):
        self.runs += 1
        out = self.root / f"run{self.runs:02d}.log"
        process = self.context.Process(target=run_cli, args=(args, str(self.root), str(out), env))
        process.start()
        return process, out

    def run(self, args: list[str], env: dict[str, str], timeout: float = 300) -> str:
        process, out = self.start(args, env)
        process.join(timeout)
        text = out.read_text()
        assert process.exitcode == 0, text
        return text

    def contents(self, env: dict[str, str]) -> dict:
        out = self.root / "dump.json"
        process = self.context.Process(target=dump_index, args=(str(self.root), str(out), env))
        process.start()
        process.join(300)
        assert process.exitcode == 0
        return json.loads(out.read_text())


def assert_clean(dump: dict, expected: set[tuple]) -> None:
    vectors = [tuple(v) for v in dump["vectors"]]
    chunks = {tuple(c) for c in dump["chunks"]}
    assert dump["pending"] == []
    assert len(vectors) == len(set(vectors)), "duplicate vectors"
    assert set(vectors) == chunks, "vector store and document store disagree"
    assert dump["nearest"] == sorted(v[0] for v in vectors), "the vector index misses ids its records hold"
    assert chunks == expected, f"{len(chunks - expected)} chunks not in a clean build, {len(expected - chunks)} missing"
    assert set(dump["hashes"]) == {c[1] for c in expected}


@pytest.mark.slow
def test_kill_at_random_moments_then_index_equals_a_clean_build(tmp_path, forkserver):
    kill_rounds(tmp_path, forkserver, {})


@pytest.mark.slow
def test_kill_at_random_moments_through_a_chroma_server(tmp_path, forkserver):
    """The same rounds with the whole index on a real `chroma run`: the journal is a record on
    the server, and the vectors and documents there end as a clean build holds them."""
    with chroma_server(tmp_path / "chroma-data") as url:
        kill_rounds(tmp_path, forkserver, {"ASSISTANT_CHROMA_URL": url})


def kill_rounds(tmp_path: Path, forkserver, base: dict[str, str]) -> None:
    rng = random.Random(20261126)
    corpus = Corpus(tmp_path / "seeds", rng)
    runner = Runner(forkserver, tmp_path)
    env = dict(base)

    started = time.perf_counter()
    runner.run(["index"], env)  # calibration: an uninterrupted build, then a run with nothing to do
    full = time.perf_counter() - started
    started = time.perf_counter()
    runner.run(["index"], env)
    idle = time.perf_counter() - started
    assert_clean(runner.contents(env), clean_build(tmp_path, env))

    plan = ["edit", "fresh", "edit", "rebuild", "edit", "chunk-size", "edit", "fresh", "rebuild", "edit"]
    landed = repaired = 0
    scale = 1.0  # shrinks when a run beats its kill: the machine got faster than at calibration
    for kind in plan:
        args = ["index", "--rebuild"] if kind == "rebuild" else ["index"]
        work = full
        if kind == "edit":
            work = idle + (full - idle) * corpus.edit() / len(corpus.names())
        elif kind == "fresh":
            shutil.rmtree(tmp_path / "index")
        elif kind == "chunk-size":
            env = {**base, "ASSISTANT_CHUNK_SIZE": "300"} if env == base else dict(base)
        process, _ = runner.start(args, env)
        time.sleep(rng.uniform(0.1, 0.9) * work * scale)
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
            landed += 1
        else:
            scale *= 0.6
        process.join(300)
        recovery = runner.run(["index"], env)
        repaired += "note: rebuilt the index" in recovery
        assert_clean(runner.contents(env), clean_build(tmp_path, env))

    runner.run(["index", "--rebuild"], env)  # a clean build by the assistant itself agrees too
    assert_clean(runner.contents(env), clean_build(tmp_path, env))
    print(f"\n{landed} of {len(plan)} runs killed mid-run, each followed by a clean index "
          f"({repaired} recoveries rebuilt a mismatched vector store); full build {full:.1f} s, idle run {idle:.1f} s")
    assert landed >= len(plan) // 2


@pytest.mark.slow
def test_two_index_runs_at_once_are_serialised(tmp_path, forkserver):
    """Two runs started while the index is locked both say they wait, then take turns: one
    builds, the other finds nothing left to do. The test holds the lock until both wait, so a
    fast first run cannot finish before the second starts."""
    corpus = Corpus(tmp_path / "seeds", random.Random(7))
    runner = Runner(forkserver, tmp_path)
    with index_lock(tmp_path / "index"):
        runs = [runner.start(["index"], {}) for _ in range(2)]
        deadline = time.monotonic() + 120
        while not all(out.exists() and WAITING in out.read_text() for _, out in runs):
            assert all(p.is_alive() for p, _ in runs) and time.monotonic() < deadline, [o.read_text() for _, o in runs if o.exists()]
            time.sleep(0.05)
    for process, _ in runs:
        process.join(300)
    texts = [out.read_text() for _, out in runs]
    assert all(process.exitcode == 0 for process, _ in runs), texts
    n = len(corpus.names())
    assert sum(f"added {n}, replaced 0" in t for t in texts) == 1, texts
    assert sum(f"added 0, replaced 0, removed 0, kept {n}" in t for t in texts) == 1, texts  # the second did not redo the work
    assert_clean(runner.contents({}), clean_build(tmp_path, {}))
