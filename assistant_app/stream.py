"""Streamlit pieces for LLM answers: stream the text as it is written, then say what was dropped.

Kept out of app.py so the shell stays thin. Model text is escaped like document text: a reply
may repeat a passage's markup, and nothing in it should render as a link, image or HTML.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from assistant.types import Answer


def stream_answer(assistant, question: str, history, escape: Callable[[str], str]) -> dict:
    """Show the answer text as the model writes it; return the verified answer as a dict.

    The streamed text is cleared at the end: the caller renders the verified answer in its
    place, which may differ (an answer whose quotes were all dropped falls back or abstains).
    """
    final: list[Answer] = []

    def pieces():
        for item in assistant.ask_stream(question, history=history):
            if isinstance(item, str):
                yield escape(item)
            else:
                final.append(item)

    placeholder = st.empty()
    with placeholder.container():
        st.write_stream(pieces())
    placeholder.empty()
    return final[-1].to_dict()


def show_notes(answer: dict, escape: Callable[[str], str]) -> None:
    """A fallback notice and the count of model quotes that were not found in the documents."""
    if answer.get("notice"):
        st.info(escape(answer["notice"]))
    dropped = answer.get("dropped_quotes", 0)
    if dropped:
        plural = dropped != 1
        st.caption(f"{dropped} quote{'s' if plural else ''} from the model could not be found in the documents and {'are' if plural else 'is'} not shown.")
