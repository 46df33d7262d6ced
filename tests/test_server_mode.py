"""Server mode: the index's vectors in a real `chroma run` server on loopback, shared by app instances."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant import Assistant, Settings
from assistant.docstore import BrokenIndex
from conftest import extracted_text

CHROMA = Path(sys.executable).parent / "chroma"  # installed with chromadb, next to this interpreter
STARTUP_DEADLINE_S = 60


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_heartbeat(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"chroma run exited with {server.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"chroma run did not answer within {STARTUP_DEADLINE_S} s:\n{log.read_text(errors='replace')[-2000:]}")


@pytest.fixture
def chroma_url(tmp_path):
    """A real Chroma server on 127.0.0.1 with its data in a temporary folder; stopped afterwards."""
    if not CHROMA.is_file():
        pytest.fail(f"{CHROMA} is missing: chromadb installs it")
    port = _free_port()
    log = tmp_path / "chroma.log"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(tmp_path / "chroma-data"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_heartbeat(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


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
