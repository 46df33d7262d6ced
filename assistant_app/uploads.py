"""The app's upload form: save documents through :mod:`assistant.uploads`, then index them.

Kept out of app.py so the chat shell stays thin. The outcome is kept in the session (already
escaped: file names come from the browser and may hold markup), so it stays visible after the
next question reruns the script.
"""

from __future__ import annotations

import streamlit as st

from assistant import uploads
from assistant.errors import BrokenIndex, IndexUnavailable
from assistant.pipeline import Assistant

from .text import broken_index, escape

OUTCOME_KEY = "upload_outcome"


def render_uploads(assistant: Assistant) -> None:
    settings = assistant.settings
    suffixes = " ".join(uploads.allowed_suffixes())
    limit = min(settings.app.upload_max_mb, st.get_option("server.maxUploadSize"))  # the server refuses more anyway
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader(
            f"Files: {escape(suffixes)} (up to {limit} MB each)",
            accept_multiple_files=True,
            max_upload_size=limit,
            key="upload_files",
        )
        replace = st.checkbox("Replace documents with the same name", key="upload_replace")
        submitted = st.form_submit_button("Upload and index", key="upload_submit")
    if submitted:
        st.session_state[OUTCOME_KEY] = _upload(assistant, files, replace) if files else [("info", "Choose one or more files first.")]
    for kind, text in st.session_state.get(OUTCOME_KEY, []):
        getattr(st, kind)(text)


def _upload(assistant: Assistant, files, replace: bool) -> list[tuple[str, str]]:
    """Save each file (or say why not), then index once if anything changed."""
    outcome: list[tuple[str, str]] = []
    changed = False
    for file in files:
        try:
            saved = uploads.save(file.name, file.getvalue(), assistant.settings, replace=replace)
        except uploads.UploadError as exc:
            outcome.append(("error", escape(f"Refused {file.name}: {exc}")))
            continue
        changed = changed or not saved.unchanged
        outcome.append(("success", escape(str(saved))))
    if not changed:
        return outcome
    bar = st.progress(0.0, text="Indexing…")
    try:
        report = assistant.index(
            progress=lambda done, total: bar.progress(done / max(total, 1), text=f"Indexing {done}/{total}"),
            on_wait=lambda: bar.progress(0.0, text="Waiting for another indexing run to finish…"),
        )
    except BrokenIndex as exc:
        outcome.append(("error", broken_index(exc)))
        return outcome
    except IndexUnavailable as exc:
        outcome.append(("error", escape(str(exc))))
        return outcome
    finally:
        bar.empty()
    outcome.append(("info", escape(f"Index: {report.summary()}")))
    outcome.extend(("warning", escape(str(problem))) for problem in report.problems)
    return outcome
