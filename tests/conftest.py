"""Shared fixtures: one real index of the seeds per session, and no network beyond loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
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


@pytest.fixture(scope="session", autouse=True)
def no_network():
    """The suite must pass offline: any connection beyond loopback fails loudly."""
    socket.socket.connect = _loopback_only
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(scope="session")
def embedder():
    from assistant.embeddings import make_embedder

    return make_embedder(Settings())  # the default backend, as the CLI and the app use it


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


def extracted_text(root: Path, source: str) -> str:
    """The text offsets refer to, re-extracted from the file itself (not from the index)."""
    files, _ = scan(root / "seeds", root, 10**9)
    return extract(next(f for f in files if f.source == source)).text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(args: list[str], ready_url: str, startup_s: float, log: Path, env: dict | None = None):
    """A server process started with ``args``, ready once ``ready_url`` answers 200 (polled until
    ``startup_s``); stopped on exit. A server that exits or never answers fails the test with its log."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{args[0]} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{args[0]} did not answer within {startup_s} s:\n{log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.25)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
