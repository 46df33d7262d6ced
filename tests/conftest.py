"""Shared fixtures: one real index of the seeds per session, and no network beyond loopback."""

from __future__ import annotations

import shutil
import socket
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
