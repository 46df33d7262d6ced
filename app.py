"""Streamlit chat over the documents: `streamlit run app.py`.

A thin shell over :class:`assistant.Assistant`; document text is always escaped, so nothing a
document contains is interpreted as markup or runs in the reader's browser.
"""

from __future__ import annotations

import re

import streamlit as st

from assistant import Assistant, Settings
from assistant.chat import Turn
from assistant.docstore import BrokenIndex
from assistant.llm import GeneratorError
from assistant.pipeline import QuestionError
from assistant.ui_stream import show_notes, stream_answer

CONTEXT_CHARS = 300
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=&\"'])")


def escape(text: str) -> str:
    """Text shown literally by st.markdown: every markdown/HTML character is backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


@st.cache_resource(show_spinner="Loading the model and the index…")
def get_assistant() -> Assistant:
    assistant = Assistant(Settings())
    assistant.text("")  # load models and build the index if missing, once per server
    return assistant


def render_answer(answer: dict, assistant: Assistant) -> None:
    st.markdown(escape(answer["answer"]))
    for i, quote in enumerate(answer["quotes"], 1):
        st.markdown(f"> {escape(quote['text'])}\n\n— `{quote['source']}` \\[{quote['start']}:{quote['end']}\\]")
        text = assistant.text(quote["source"]) or ""
        before = text[max(0, quote["start"] - CONTEXT_CHARS):quote["start"]]
        after = text[quote["end"]:quote["end"] + CONTEXT_CHARS]
        with st.expander(f"Quote {i} in its passage"):
            st.markdown(f"…{escape(before)}**{escape(quote['text'])}**{escape(after)}…")
    if not answer["abstained"]:
        st.caption(f"{answer['generator']} · {answer['latency_ms']:.0f} ms")
    show_notes(answer, escape)


def sidebar(assistant: Assistant) -> None:
    with st.sidebar:
        st.header("Index")
        status = assistant.status()
        built = status.built_at.astimezone().strftime("%Y-%m-%d %H:%M") if status.built_at else "never"
        st.metric("Documents", status.documents)
        st.metric("Chunks", status.chunks)
        st.caption(f"Built {built} · {status.location}")
        if st.button("Rebuild index"):
            with st.spinner("Re-embedding every document…"):
                report = assistant.index(rebuild=True)
            st.success(report.summary())
            for problem in report.problems:
                st.warning(str(problem))


def main() -> None:
    st.set_page_config(page_title="Document chat", page_icon="📄")
    st.title("Ask your documents")
    try:
        assistant = get_assistant()
    except BrokenIndex as exc:
        st.error(f"{exc}. Run `assistant index --rebuild` to rebuild it.")
        st.stop()
    except GeneratorError as exc:
        st.error(escape(str(exc)))
        st.stop()
    sidebar(assistant)
    if st.sidebar.radio("View", ["Chat", "Evals"], key="view") == "Evals":
        from assistant.ui_evals import render_evals

        render_evals(assistant)
        return

    messages = st.session_state.setdefault("messages", [])
    for message in messages:
        with st.chat_message(message["role"]):
            if message["role"] == "user":
                st.markdown(escape(message["content"]))
            else:
                render_answer(message["answer"], assistant)

    question = st.chat_input("Ask a question about the documents")
    if not question:
        return
    with st.chat_message("user"):
        st.markdown(escape(question))
    history = [Turn(m["content"], messages[i + 1]["answer"]["answer"]) for i, m in enumerate(messages[:-1]) if m["role"] == "user"]
    with st.chat_message("assistant"):
        try:
            if assistant.settings.generator == "extractive":
                answer = assistant.ask(question, history=history).to_dict()
            else:
                answer = stream_answer(assistant, question, history, escape)
        except (QuestionError, GeneratorError) as exc:
            st.warning(str(exc))
            return
        render_answer(answer, assistant)
    messages.append({"role": "user", "content": question})
    messages.append({"role": "assistant", "answer": answer})


main()
