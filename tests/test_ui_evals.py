"""The app's evals view through Streamlit's AppTest: open the latest report, run the suite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st
from conftest import PROJECT
from streamlit.testing.v1 import AppTest

from assistant_app.text import escape

APP = str(PROJECT / "app.py")


def _evals_view(monkeypatch, project: Path, evals_dir: Path) -> AppTest:
    monkeypatch.setenv("ASSISTANT_ROOT", str(project))
    monkeypatch.setenv("ASSISTANT_EVALS_DIR", str(evals_dir))
    at = AppTest.from_file(APP, default_timeout=300).run()
    assert not at.exception
    at.sidebar.radio(key="view").set_value("Evals").run()
    assert not at.exception
    return at


@pytest.mark.slow
def test_evals_view_runs_the_suite_and_reopens_the_report(assistant, project, tmp_path, monkeypatch):
    st.cache_resource.clear()  # the app caches its Assistant per process; build one that sees this evals folder
    evals_dir = tmp_path / "evals"
    evals_dir.mkdir()
    for name in ("seed_article.yaml", "thresholds.toml"):
        shutil.copy(PROJECT / "evals" / name, evals_dir / name)

    at = _evals_view(monkeypatch, project, evals_dir)
    assert "No eval report" in at.info[0].value
    assert not at.table

    at.button(key="run_evals").click().run()
    assert not at.exception
    folders = list((evals_dir / "reports").iterdir())
    assert len(folders) == 1 and (folders[0] / "chart.png").is_file()
    metrics, *failed = at.table
    shown = metrics.value
    assert list(shown["metric"])[:2] == [escape("fact_accuracy"), escape("quote_validity")]
    assert shown.loc[shown["metric"] == escape("quote_validity"), "value"].iloc[0].startswith(escape("100.0% ("))
    # the threshold cell is escaped markdown: ">= 100%" as written, not a block quote
    assert shown.loc[shown["metric"] == escape("quote_validity"), "threshold"].iloc[0] == escape(">= 100%")
    assert len(at.get("image")) == 1
    header = next(h.value for h in at.subheader if h.value.startswith("Failed cases"))
    n_failed = int(header.split("(")[1].split()[0])
    assert n_failed == (len(failed[0].value) if failed else 0)

    reopened = _evals_view(monkeypatch, project, evals_dir)  # a new session opens the latest report without running
    assert not reopened.info and escape(str(folders[0])) in reopened.main.caption[0].value
    assert reopened.table[0].value.equals(metrics.value)
