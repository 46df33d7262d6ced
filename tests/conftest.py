"""Shared fixtures: one real index of the seeds per session, an environment of the suite's own,
and no network beyond loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.loaders import extract, scan

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT / "seeds"
_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")
_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else str(address)
    if self.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(_LOOPBACK):
        raise ConnectionRefusedError(f"tests may not reach the network ({host})")
    return _real_connect(self, address)


# The suite's own cache: under the system's temporary folder, never the user's ~/.cache, and kept
# between runs, so the model's 90 MB ONNX export (about 10 s) is made once per machine.
CACHE = Path(tempfile.gettempdir()) / "grounded-assistant-tests" / "cache"


@pytest.fixture(scope="session", autouse=True)
def own_environment():
    """No ``ASSISTANT_*`` variable from the developer's shell reaches a test, and derived files
    go to the suite's own cache. Subprocesses the tests start inherit the same environment."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("ASSISTANT_")]:
            patch.delenv(name)
        CACHE.mkdir(parents=True, exist_ok=True)
        patch.setenv("XDG_CACHE_HOME", str(CACHE))
        yield


def pytest_collection_modifyitems(items):
    """Real servers and the browser are slow by nature: they run in the full suite, not the fast lane."""
    for item in items:
        if item.get_closest_marker("browser") or item.get_closest_marker("llm_server"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def no_network():
    """The suite must pass offline: any connection beyond loopback fails loudly."""
    socket.socket.connect = _loopback_only
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(scope="session")
def embedder(own_environment):
    from assistant.registry import make_embedder

    return make_embedder(Settings())  # the default backend, as the CLI and the app use it


@pytest.fixture(scope="session")
def fake_embedder():
    """A deterministic stand-in for wiring tests, where what is answered does not matter."""
    from fakes import HashEmbedder

    return HashEmbedder()


def make_project(root: Path, seeds: Path = SEEDS) -> Path:
    """A project folder with a copy of the seeds, so tests can change documents freely."""
    shutil.copytree(seeds, root / "seeds")
    return root


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Path:
    return make_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="session")
def settings(project) -> Settings:
    return Settings(root=project)


@pytest.fixture(scope="session")
def assistant(settings, embedder) -> Assistant:
    built = Assistant(settings, embedder=embedder)
    built.index()
    return built


@pytest.fixture
def fresh_project(tmp_path) -> Path:
    return make_project(tmp_path)


def free_port() -> int:
    """A loopback port nobody listens on, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(name: str, command: list[str], ready_url: str, log_path: Path, startup_seconds: float, **popen):
    """A server subprocess, yielded once ``ready_url`` answers 200 and stopped afterwards.

    Fails the test with the end of the server's log if it exits or does not answer in time.
    """
    with log_path.open("w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **popen)
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} did not answer within {startup_seconds} s: {log_path.read_text()[-2000:]}")
                time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def chroma_server(data: Path, startup_seconds: float = 60):
    """A real `chroma run` on a free loopback port with its data in ``data``; yields its URL."""
    chroma = Path(sys.executable).parent / "chroma"  # installed with chromadb, next to this interpreter
    assert chroma.is_file(), f"{chroma} is missing: chromadb installs it"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with running_server("chroma", args, f"{url}/api/v2/heartbeat", data.parent / f"{data.name}.log", startup_seconds, env=env):
        yield url


def extracted_text(root: Path, source: str) -> str:
    """The text offsets refer to, re-extracted from the file itself (not from the index)."""
    files, _ = scan(root / "seeds", root, 10**9)
    return extract(next(f for f in files if f.source == source)).text


def index_contents(assistant) -> set[tuple[str, str, int, int, str]]:
    """The chunks an index holds, after checking that its two stores agree: the vector store has
    exactly the document store's chunks (same ids, spans and texts), none twice, no orphans, and
    every chunk is an exact span of its document's stored text."""
    entries = assistant.store.entries()
    chunks = {(c.id, c.source, c.start, c.end, c.text) for c in assistant.docstore.chunks()}
    assert len(entries) == len(set(entries)) == assistant.store.count(), "duplicate vectors"
    assert set(entries) == chunks, "vector store and document store disagree"
    assert assistant.docstore.counts()[1] == len(chunks) and not assistant.docstore.pending()
    texts = assistant.docstore.texts()
    assert {c[1] for c in chunks} <= set(texts), "chunks of a document that is not stored"
    assert all(texts[source][start:end] == text for _, source, start, end, text in chunks)
    return chunks
