"""The Streamlit app through Streamlit's own AppTest."""

import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from assistant import Assistant, Settings
from assistant_app.text import escape

APP = str(Path(__file__).resolve().parent.parent / "app.py")
FESTIVAL = b"# Harbour notes\n\nThe Zorblat harbour festival opens every year on the first Sunday of June.\n"


MARKUP = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "[click](javascript:alert(3))",
    "![pixel](http://127.0.0.1/pixel.png) <http://127.0.0.1/auto>",
    "**bold** __strong__ *it* _it_ `code` ~~gone~~",
    "# heading\n> quoted\n- item\n1. item\n    indented code",
    "a | b\n---|---\nc | d",
    "&lt;script&gt; &amp; &#60;b&#62;",
    "[ref]\n\n[ref]: javascript:alert(4)",
    "back\\slash \\*still text\\* line\nbreak",
]


@pytest.mark.parametrize("text", MARKUP)
def test_escaped_text_renders_as_itself(text):
    """A CommonMark renderer (with GFM tables and strikethrough) makes nothing of escaped text but
    paragraphs and line breaks, and shows every character (whitespace is collapsed, as browsers do)."""
    html = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(escape(text))
    soup = BeautifulSoup(html, "html.parser")
    assert {tag.name for tag in soup.find_all(True)} <= {"p", "br"}, html
    assert soup.get_text().split() == text.split()


def shown_text(elements) -> str:
    """What the reader sees: the markdown of the elements with the escaping backslashes removed."""
    return " ".join(e.value for e in elements).replace("\\", "")


def test_chat_answers_with_quote_and_status(assistant, project, monkeypatch):
    monkeypatch.setenv("ASSISTANT_ROOT", str(project))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    documents, chunks = assistant.docstore.counts()
    assert [m.value for m in at.sidebar.metric][:2] == [str(documents), str(chunks)]
    at.chat_input[0].set_value("How large was the military aid package the U.S. approved on Monday?").run()
    assert not at.exception
    shown = shown_text(at.markdown)
    assert "725 million" in shown
    assert "seeds/000_74b09fb6327d5bb6.txt" in shown
    assert len(at.expander) >= 1
    markdown = [m.value for m in at.markdown]
    assert f"**{escape('$725 million')}**" in markdown  # the short answer leads
    in_quote = next(m for m in markdown if m.startswith("> ") and "approved" in m)
    assert f"**{escape('$725 million')}**" in in_quote  # and is highlighted inside its quote
    assert sum(m.count("approved an additional military aid package") for m in markdown if not m.startswith("…")) == 1  # shown once


def test_a_refusal_shows_the_closest_passage_to_check_it_by(assistant, project, monkeypatch):
    monkeypatch.setenv("ASSISTANT_ROOT", str(project))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.chat_input[0].set_value("Which company manufactures the missiles Kyiv may now use?").run()
    assert not at.exception
    assert "do not answer" in shown_text(at.markdown)
    closest = [e for e in at.expander if e.label.startswith("Closest passages")]
    assert len(closest) == 1
    assert "long-range missiles" in shown_text(closest[0].markdown)


def test_quotes_show_their_page_and_section(tmp_path, monkeypatch, own_app_assistant):
    from test_loading import pdf_pages
    from test_readers import PAGES

    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "manual.pdf").write_bytes(pdf_pages(PAGES))
    monkeypatch.setenv("ASSISTANT_ROOT", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.chat_input[0].set_value("Which cable connects the sensor to the port?").run()
    assert not at.exception
    shown = shown_text(at.markdown)
    assert "blue cable" in shown and "— seeds/manual.pdf, p. 2, § 2. Installing [" in shown


@pytest.fixture
def own_app_assistant():
    """The app caches one Assistant per process: build one for this test's project, then forget it."""
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_sidebar_warns_about_a_half_written_index_and_rebuild_clears_it(fresh_project, monkeypatch, own_app_assistant, embedder):
    monkeypatch.setenv("ASSISTANT_ROOT", str(fresh_project))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and not at.sidebar.warning
    # Another process (`assistant index`) killed while writing a document leaves it pending.
    Assistant(Settings(root=fresh_project), embedder=embedder).docstore.mark_pending("seeds/000_74b09fb6327d5bb6.txt")
    at.run()
    assert [w.value for w in at.sidebar.warning] == [escape(
        "The last indexing run did not finish (1 document half-written): answers may miss documents. Press “Rebuild index”.")]
    at.sidebar.button[0].click().run()
    assert not at.exception and not at.sidebar.warning


def test_upload_limit_shown_is_the_lower_of_the_app_and_server_limits(fresh_project, monkeypatch, own_app_assistant):
    monkeypatch.setenv("ASSISTANT_ROOT", str(fresh_project))
    monkeypatch.setenv("ASSISTANT_UPLOAD_MAX_MB", "50")  # above the server's cap in .streamlit/config.toml (20)
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert "(up to 20 MB each)" in at.sidebar.get("file_uploader")[0].proto.label


def test_sidebar_tells_a_run_in_progress_from_a_killed_one(fresh_project, monkeypatch, own_app_assistant, embedder):
    monkeypatch.setenv("ASSISTANT_ROOT", str(fresh_project))
    at = AppTest.from_file(APP, default_timeout=120).run()
    Assistant(Settings(root=fresh_project), embedder=embedder).docstore.mark_pending("seeds/000_74b09fb6327d5bb6.txt")
    # An `assistant index` in another process, mid-run: it holds the index lock.
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(fresh_project / "index")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        at.run()
        assert not at.sidebar.warning
        assert [i.value for i in at.sidebar.info] == ["Another process is indexing; the counts change when it finishes."]
    finally:
        holder.kill()
        holder.wait()
    at.run()
    assert len(at.sidebar.warning) == 1  # the lock is free and the document still half-written: a killed run


HOLD_LOCK = """
import sys, time
from pathlib import Path
from assistant.indexing import index_lock
with index_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
"""


def upload(at: AppTest, *files: tuple[str, bytes, str], replace: bool = False) -> AppTest:
    at.file_uploader(key="upload_files").set_value(list(files))
    at.checkbox(key="upload_replace").set_value(replace)
    return at.button(key="upload_submit").click().run()


def test_upload_saves_indexes_and_answers_from_the_new_document(fresh_project, monkeypatch, own_app_assistant):
    monkeypatch.setenv("ASSISTANT_ROOT", str(fresh_project))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert at.sidebar.metric[0].value == "1"
    at.button(key="upload_submit").click().run()
    assert [i.value for i in at.sidebar.info] == ["Choose one or more files first."]

    upload(at, ("../../harbour notes.md", FESTIVAL, "text/markdown"), ("setup.exe", b"MZ\x90\x00", "application/octet-stream"))
    assert not at.exception
    saved = fresh_project / "seeds/uploads/harbour_notes.md"
    assert saved.read_bytes() == FESTIVAL
    assert sorted(p.name for p in fresh_project.rglob("*.md")) == ["harbour_notes.md"]  # nothing landed outside seeds/uploads
    assert [s.value for s in at.sidebar.success] == [escape("Saved seeds/uploads/harbour_notes.md")]
    assert [e.value for e in at.sidebar.error] == [escape("Refused setup.exe: .exe files are not accepted (allowed: .docx .htm .html .markdown .md .pdf .txt)")]
    assert "Index: added 1, replaced 0, removed 0, kept 1" in shown_text(at.sidebar.info)
    assert at.sidebar.metric[0].value == "2"  # the status already counts the upload

    at.chat_input[0].set_value("When does the Zorblat harbour festival open?").run()
    assert not at.exception
    shown = shown_text(at.main.markdown)
    assert "first Sunday of June" in shown and "seeds/uploads/harbour_notes.md" in shown
    assert "Saved seeds/uploads/harbour_notes.md" in shown_text(at.sidebar.success)  # the outcome stays after a question

    changed = FESTIVAL.replace(b"first Sunday", b"second Sunday")
    upload(at, ("harbour notes.md", changed, "text/markdown"))
    assert "a different document named harbour_notes.md is already there" in shown_text(at.sidebar.error)
    assert saved.read_bytes() == FESTIVAL and not at.sidebar.info  # refused: nothing written, nothing indexed

    upload(at, ("harbour notes.md", changed, "text/markdown"), replace=True)
    assert [s.value for s in at.sidebar.success] == [escape("Replaced seeds/uploads/harbour_notes.md")]
    assert "Index: added 0, replaced 1, removed 0, kept 1" in shown_text(at.sidebar.info)
    assert saved.read_bytes() == changed


def test_an_index_rebuilt_with_another_model_elsewhere_is_one_message_not_a_traceback(fresh_project, monkeypatch, own_app_assistant):
    """Another instance sharing the index rebuilt it with another embedding model: the next rerun
    (which redraws the conversation) says so instead of crashing in the history."""
    import time

    monkeypatch.setenv("ASSISTANT_ROOT", str(fresh_project))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.chat_input[0].set_value("How large was the military aid package the U.S. approved on Monday?").run()
    assert not at.exception and "725 million" in shown_text(at.markdown)
    other = Assistant(Settings(root=fresh_project))
    fingerprint = other.docstore.get_meta("fingerprint")
    other.docstore.set_meta("fingerprint", "another-model|" + fingerprint.split("|", 1)[1])
    other.docstore.set_meta("built_at", str(time.time()))
    at.run()
    assert not at.exception
    assert any(escape("built with another embedding model ('another-model'") in e.value for e in at.error), [e.value for e in at.error]
