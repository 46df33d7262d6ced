"""The Streamlit app through Streamlit's own AppTest."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_chat_answers_with_quote_and_status(assistant, project, monkeypatch):
    monkeypatch.setenv("ASSISTANT_ROOT", str(project))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    documents, chunks = assistant.docstore.counts()
    assert [m.value for m in at.sidebar.metric][:2] == [str(documents), str(chunks)]
    at.chat_input[0].set_value("How large was the military aid package the U.S. approved on Monday?").run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "725 million" in shown.replace("\\", "")
    assert "seeds/000_74b09fb6327d5bb6.txt" in shown
    assert len(at.expander) >= 1
