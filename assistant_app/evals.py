"""The app's evals view: run the grounding eval suite, or open the latest report.

Kept out of app.py so the chat shell stays thin; it uses the app's one cached Assistant, so the
suite runs without loading the models again.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from assistant import evaluation, reports
from assistant.pipeline import Assistant

from .text import escape


def _thresholds(evals_dir: Path) -> evaluation.Thresholds | None:
    path = evals_dir / "thresholds.toml"
    return evaluation.Thresholds.load(path) if path.is_file() else None


def render_evals(assistant: Assistant) -> None:
    st.header("Grounding evals")
    evals_dir = assistant.settings.evals_path
    reports_dir = evals_dir / "reports"
    try:
        thresholds = _thresholds(evals_dir)
    except evaluation.CaseError as exc:
        st.error(escape(str(exc)))
        return
    if st.button("Run the eval suite", key="run_evals"):
        try:
            cases = evaluation.load_cases([evals_dir])
        except evaluation.CaseError as exc:
            st.error(escape(str(exc)))
            return
        bar = st.progress(0.0, text=f"0/{len(cases)} cases")
        report = evaluation.run(assistant, cases, progress=lambda done, total: bar.progress(done / total, text=f"{done}/{total} cases"))
        bar.empty()
        folder = reports.write_report(report, reports_dir, thresholds)
    else:
        latest = reports.latest_report(reports_dir)
        if latest is None:
            st.info(f"No eval report in {escape(str(reports_dir))} yet: run the suite here, or `assistant eval` in a terminal.")
            return
        folder, report = latest, reports.read_report(latest)
    show_report(report, folder, thresholds)


def show_report(report: evaluation.Report, folder: Path, thresholds: evaluation.Thresholds | None) -> None:
    st.caption(escape(f"{len(report.results)} cases · {report.created} · generator {report.settings.get('generator')} · {folder}"))
    if thresholds is not None:
        problems = evaluation.check(report, thresholds)
        if problems:
            st.error(escape("Outside thresholds: " + "; ".join(problems)))
        else:
            st.success("Every metric is within its threshold.")
    # st.table renders cells as markdown: ">= 90%" would be a block quote, so every cell is escaped
    st.table([{key: escape(str(value)) for key, value in row.items()} for row in reports.metric_rows(report, thresholds)])
    chart = folder / "chart.png"
    if chart.is_file():
        st.image(str(chart))
    failed = reports.failed_rows(report)
    st.subheader(f"Failed cases ({len(failed)} of {len(report.results)})")
    if failed:
        st.table([{key: escape(str(value)) for key, value in row.items()} for row in failed])
    else:
        st.write("None.")
