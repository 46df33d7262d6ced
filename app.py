"""Streamlit chat over the documents: `streamlit run app.py`.

A thin shell over :class:`assistant.Assistant`; document text is always escaped, so nothing a
document contains is interpreted as markup or runs in the reader's browser.
"""

from __future__ import annotations

import streamlit as st

from assistant import Assistant, Settings
from assistant.chat import Turn
from assistant.errors import BrokenIndex, GeneratorError, IndexUnavailable, QuestionError
from assistant.types import lead
from assistant_app.stream import show_notes, stream_answer
from assistant_app.text import broken_index, escape
from assistant_app.uploads import render_uploads

CONTEXT_CHARS = 300


@st.cache_resource(show_spinner="Loading the model and the index…")
def get_assistant() -> Assistant:
    assistant = Assistant(Settings())
    assistant.text("")  # load models and build the index if missing, once per server
    return assistant


def cited(quote: dict, span: dict | None = None) -> str:
    """A quote as a block quote naming its source, page, section and offsets; the short answer,
    when it stands in this quote, highlighted."""
    where = [escape(quote["source"])]
    if quote.get("page") is not None:
        where.append(f"p. {quote['page']}")
    if quote.get("section"):
        where.append(f"§ {escape(quote['section'])}")
    text = escape(quote["text"])
    if span is not None:
        at, end = span["start"] - quote["start"], span["end"] - quote["start"]
        text = f"{escape(quote['text'][:at])}**{escape(quote['text'][at:end])}**{escape(quote['text'][end:])}"
    return f"> {text}\n\n— {', '.join(where)} \\[{quote['start']}:{quote['end']}\\]"


def render_answer(answer: dict, assistant: Assistant) -> None:
    span = answer.get("answer_span")
    shown = lead(answer["answer"], [q["text"] for q in answer["quotes"]], span["text"] if span else None)
    if shown:
        st.markdown(f"**{escape(shown)}**" if span else escape(shown))
    if answer.get("reason"):
        st.caption(escape(answer["reason"]))
    for i, quote in enumerate(answer["quotes"], 1):
        st.markdown(cited(quote, span if span and span["quote"] == i - 1 else None))
        text = assistant.text(quote["source"]) or ""
        before = text[max(0, quote["start"] - CONTEXT_CHARS):quote["start"]]
        after = text[quote["end"]:quote["end"] + CONTEXT_CHARS]
        with st.expander(f"Quote {i} in its passage"):
            st.markdown(f"…{escape(before)}**{escape(quote['text'])}**{escape(after)}…")
        if answer.get("evidence") and answer["evidence"][i - 1]:
            with st.expander(f"Why quote {i}"):
                st.json(answer["evidence"][i - 1])
    if answer.get("closest"):
        with st.expander("Closest passages: not enough to answer"):
            for quote in answer["closest"]:
                st.markdown(cited(quote))
    if not answer["abstained"]:
        st.caption(f"{answer['generator']} · {answer['latency_ms']:.0f} ms")
    show_notes(answer, escape)


def sidebar(assistant: Assistant) -> None:
    """Index status, a rebuild button and the upload form; the status is filled in last so
    it already counts what a rebuild or an upload in this run changed."""
    with st.sidebar:
        st.header("Index")
        status_box = st.container()
        if st.button("Rebuild index"):
            with st.spinner("Re-embedding every document…"):
                report = assistant.index(rebuild=True)
            st.success(escape(report.summary()))
            for problem in report.problems:
                st.warning(escape(str(problem)))
        st.header("Add documents")
        render_uploads(assistant)
    status = assistant.status()
    built = status.built_at.astimezone().strftime("%Y-%m-%d %H:%M") if status.built_at else "never"
    status_box.metric("Documents", status.documents)
    status_box.metric("Chunks", status.chunks)
    status_box.caption(escape(f"Built {built} · {status.location}"))
    if status.indexing:
        status_box.info("Another process is indexing; the counts change when it finishes.")
    elif status.problem:  # another process was killed while indexing, or lost the vector store
        status_box.warning(escape(f"{status.problem[0].upper()}{status.problem[1:]}: answers may miss documents. Press “Rebuild index”."))


def main() -> None:
    st.set_page_config(page_title="Document chat", page_icon="📄")
    st.title("Ask your documents")
    try:  # what a user can fix is one message wherever it comes from: loading, the sidebar, the history
        assistant = get_assistant()
        view = st.sidebar.radio("View", ["Chat", "Evals"], key="view", horizontal=True)
        sidebar(assistant)
        if view == "Evals":
            from assistant_app.evals import render_evals

            render_evals(assistant)
            return
        chat(assistant)
    except BrokenIndex as exc:
        st.error(broken_index(exc))
    except (GeneratorError, IndexUnavailable) as exc:
        st.error(escape(str(exc)))


def chat(assistant: Assistant) -> None:
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
            if assistant.settings.answerer.generator == "extractive":
                answer = assistant.ask(question, history=history).to_dict()
            else:
                answer = stream_answer(assistant, question, history, escape)
        except (QuestionError, GeneratorError, IndexUnavailable) as exc:
            st.warning(escape(str(exc)))  # this question only: the conversation stays
            return
        render_answer(answer, assistant)
    messages.append({"role": "user", "content": question})
    messages.append({"role": "assistant", "answer": answer})


main()
