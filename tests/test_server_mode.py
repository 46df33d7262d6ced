"""Server mode: the index's vectors in a real `chroma run` server on loopback, shared by app instances."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import extracted_text, free_port, running_server

from assistant import Assistant, Settings
from assistant.errors import BrokenIndex

CHROMA = Path(sys.executable).parent / "chroma"  # installed with chromadb, next to this interpreter
STARTUP_SECONDS = 60

pytestmark = pytest.mark.slow  # a real `chroma run` server per module



@pytest.fixture
def chroma_url(tmp_path):
    """A real Chroma server on 127.0.0.1 with its data in a temporary folder; stopped afterwards."""
    assert CHROMA.is_file(), f"{CHROMA} is missing: chromadb installs it"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [str(CHROMA), "run", "--path", str(tmp_path / "chroma-data"), "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with running_server("chroma", args, f"{url}/api/v2/heartbeat", tmp_path / "chroma.log", STARTUP_SECONDS, env=env):
        yield url


def test_instances_share_an_index_on_a_chroma_server(fresh_project, embedder, chroma_url):
    settings = Settings(root=fresh_project, chroma_url=chroma_url)
    first = Assistant(settings, embedder=embedder)
    report = first.index()
    assert report.added == ["seeds/000_74b09fb6327d5bb6.txt"]
    assert not (settings.index_path / "chroma").exists()  # the vectors live on the server, not on disk here

    answer = first.ask("What share of Ukraine's territory do Russian forces control?")
    quote = next(q for q in answer.quotes if "20 percent" in q.text)
    assert extracted_text(fresh_project, quote.source)[quote.start:quote.end] == quote.text

    # A second app instance (same index folder, same server) sees the same index without rebuilding it.
    second = Assistant(Settings(root=fresh_project, chroma_url=chroma_url), embedder=embedder)
    assert second.status().chunks == first.status().chunks == second.store.count() > 0
    again = second.index()
    assert not again.changed and again.kept == ["seeds/000_74b09fb6327d5bb6.txt"]
    assert "Keith Kellogg" in second.ask("Who did Trump appoint as special envoy?").answer

    # What one instance indexes, the other answers from at its next question.
    (fresh_project / "seeds" / "gulls.md").write_text("The lighthouse keeper counted 412 gulls on Tuesday.", encoding="utf-8")
    assert first.index().added == ["seeds/gulls.md"]
    assert "412 gulls" in second.ask("How many gulls did the lighthouse keeper count?").answer

    # An instance with an index folder of its own refuses to take the shared collection over.
    other = Assistant(Settings(root=fresh_project, chroma_url=chroma_url, index_dir=fresh_project / "other-index"), embedder=embedder)
    with pytest.raises(BrokenIndex, match="another index folder"):
        other.ask("Who did Trump appoint as special envoy?")
    assert first.store.count() == first.status().chunks
