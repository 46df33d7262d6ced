"""Eval reports: the terminal table, report.md, the chart, and report folders on disk.

Rendering lives apart from the scoring in :mod:`assistant.evaluation`: the chart needs matplotlib,
from the ``ui`` extra, and is left out (the rest is written) when it is not installed.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from .evaluation import CaseResult, Report, Thresholds, check


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _expected(result: CaseResult) -> str:
    return "; ".join(" | ".join(f) for f in result.expect) if result.answerable else "(abstain)"


def metric_rows(report: Report, thresholds: Thresholds | None = None) -> list[dict]:
    rows = []
    for name, metric in report.metrics.items():
        row = {"metric": name, "value": metric.shown()}
        if thresholds is not None:
            row["threshold"] = thresholds.limit(name)
        rows.append(row)
    return rows


def failed_rows(report: Report) -> list[dict]:
    return [
        {
            "id": r.id,
            "question": r.question,
            "expected": _expected(r),
            "got": "(abstained)" if r.abstained else _short(r.answer),
            "why": r.why(),
        }
        for r in report.failed
    ]


def format_table(report: Report, thresholds: Thresholds | None = None) -> str:
    """The report for a terminal: metrics, then each failed case with what was expected and got."""
    failures = set(m.split(":")[0] for m in check(report, thresholds)) if thresholds else set()
    lines = [f"{len(report.results)} cases ({', '.join(report.case_files)}), generator {report.settings['generator']}, top_k {report.settings['top_k']}", ""]
    lines.append(f"{'metric':<24}{'value':>22}  {'threshold':<12}")
    lines.append("-" * 62)
    for row in metric_rows(report, thresholds):
        flag = "  FAIL" if row["metric"] in failures else ""
        lines.append(f"{row['metric']:<24}{row['value']:>22}  {row.get('threshold', ''):<12}{flag}")
    failed = report.failed
    lines.append("")
    lines.append(f"failed cases: {len(failed)} of {len(report.results)}")
    for r in failed:
        lines.append(f"\n  [{r.id}] {r.question}")
        if r.history:
            lines.append(f"    after:    {' / '.join(r.history)}")
        lines.append(f"    expected: {_expected(r)}")
        lines.append(f"    got:      {'(abstained) ' if r.abstained else ''}{_short(r.answer)}")
        lines.append(f"    why:      {r.why()}")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_markdown(report: Report, thresholds: Thresholds | None = None) -> str:
    lines = [f"# Grounding eval, {report.created}", ""]
    lines.append(f"{len(report.results)} cases from {', '.join(report.case_files)}; settings: " + ", ".join(f"{k}={v}" for k, v in report.settings.items()))
    lines += ["", "![metrics](chart.png)"] if chart_available() else []
    lines += ["", "| metric | value | threshold | meaning |", "|---|---|---|---|"]
    for name, metric in report.metrics.items():
        lines.append(f"| {name} | {metric.shown()} | {thresholds.limit(name) if thresholds else ''} | {metric.description} |")
    if thresholds:
        problems = check(report, thresholds)
        lines += ["", "**Check: " + ("passed**" if not problems else "failed**: " + "; ".join(problems))]
    lines += ["", f"## Failed cases ({len(report.failed)})", "", "| id | question | expected | got | why |", "|---|---|---|---|---|"]
    for row in failed_rows(report):
        lines.append("| " + " | ".join(_md(row[k]) for k in ("id", "question", "expected", "got", "why")) + " |")
    lines += ["", "## All cases", "", "| id | tags | passed | facts in answer / quotes / passages | latency |", "|---|---|---|---|---|"]
    for r in report.results:
        where = "—" if not r.answerable else " / ".join("yes" if not m else "no" for m in (r.missing_in_answer, r.missing_in_quotes, r.missing_in_passages))
        lines.append(f"| {r.id} | {', '.join(r.tags)} | {'yes' if r.passed else 'NO'} | {where} | {r.latency_ms:.0f} ms |")
    return "\n".join(lines) + "\n"


def chart_available() -> bool:
    """Whether matplotlib (the ``ui`` extra) is installed to draw the chart."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def draw_chart(report: Report, path: Path, thresholds: Thresholds | None = None) -> None:
    """Rates as bars with their thresholds marked, and latency beside them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = [m for m in report.metrics.values() if m.unit == "rate"]
    times = [m for m in report.metrics.values() if m.unit == "ms"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [3, 1]})
    names = [m.name.replace("_", " ") for m in rates]
    values = [100 * (m.value or 0) for m in rates]
    failing = {p.split(":")[0] for p in check(report, thresholds)} if thresholds else set()
    bars = left.barh(names, values, color=["#dd8452" if m.name in failing else "#4c72b0" for m in rates])
    left.set_xlim(0, 105)
    left.invert_yaxis()
    left.set_xlabel("percent")
    for bar, metric in zip(bars, rates):
        left.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, metric.shown().split(" ")[0], va="center", fontsize=8)
        for table in ((thresholds.minimum, thresholds.maximum) if thresholds else ()):
            if metric.name in table:
                y = bar.get_y()
                left.plot([100 * table[metric.name]] * 2, [y, y + bar.get_height()], color="#c44e52", linewidth=2)
    left.set_title("grounding (red line: threshold, orange: outside it)")
    right.bar([m.name.replace("latency_", "").replace("_ms", "") for m in times], [m.value or 0 for m in times],
              color=["#dd8452" if m.name in failing else "#55a868" for m in times])
    if thresholds:
        for i, m in enumerate(times):
            if m.name in thresholds.maximum:
                right.plot([i - 0.4, i + 0.4], [thresholds.maximum[m.name]] * 2, color="#c44e52", linewidth=2)
    right.set_ylabel("ms per question")
    right.set_title("latency")
    fig.suptitle(f"{len(report.results)} cases, {report.created}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(report: Report, reports_dir: Path, thresholds: Thresholds | None = None) -> Path:
    """report.json, report.md and (with matplotlib) chart.png in a new timestamped folder under ``reports_dir``."""
    stamp = datetime.fromisoformat(report.created).strftime("%Y%m%dT%H%M%SZ")
    folder = reports_dir / stamp
    n = 1
    while folder.exists():
        n += 1
        folder = reports_dir / f"{stamp}-{n}"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    (folder / "report.md").write_text(format_markdown(report, thresholds), encoding="utf-8")
    if chart_available():
        draw_chart(report, folder / "chart.png", thresholds)
    return folder


def latest_report(reports_dir: Path) -> Path | None:
    """The newest report folder (folder names are UTC timestamps, so they sort by time)."""
    if not reports_dir.is_dir():
        return None
    folders = sorted(p for p in reports_dir.iterdir() if (p / "report.json").is_file())
    return folders[-1] if folders else None


def read_report(folder: Path) -> Report:
    return Report.from_dict(json.loads((folder / "report.json").read_text(encoding="utf-8")))
