"""The benchmark's building blocks on a tiny corpus (speed itself is measured by `assistant bench`, not here)."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import PROJECT, SEEDS

from assistant import Settings
from benchmarks import bench

SEED = SEEDS / "000_74b09fb6327d5bb6.txt"


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "seeds").rglob("*")) if p.is_file()}


def test_corpus_is_real_text_deterministic_and_capped(tmp_path):
    first = bench.build_corpus(tmp_path / "a", SEEDS, 5)
    second = bench.build_corpus(tmp_path / "b", SEEDS, 5)
    assert _files(first.root) == _files(second.root)  # same machine, same corpus
    assert first.complete and first.added_files >= 1 and first.target_bytes == 5 * SEED.stat().st_size
    last_file = max((first.root / "seeds" / "added").iterdir())
    last_paragraph = bench.paragraphs(last_file)[-1]
    assert first.bytes - len(last_paragraph.encode("utf-8")) - 2 < first.target_bytes <= first.bytes  # capped at the size
    assert (first.root / "seeds" / SEED.name).read_bytes() == SEED.read_bytes()  # the seed stays, unchanged

    seed_paragraphs = {bench._key(p) for p in bench.paragraphs(SEED)}
    sources = set(map(str, bench.text_sources()))
    for line in (first.root / "manifest.tsv").read_text(encoding="utf-8").splitlines():
        name, origin = line.split("\t")
        assert origin in sources
        origin_text = " ".join(open(origin, encoding="utf-8").read().split())
        for paragraph in bench.paragraphs(first.root / name):
            assert bench._key(paragraph) not in seed_paragraphs
            assert " ".join(paragraph.split()) in origin_text  # verbatim from the file it names

    smaller = bench.build_corpus(tmp_path / "c", SEEDS, 2)
    assert smaller.bytes < first.bytes and smaller.added_files <= first.added_files


def test_paragraphs_keep_prose_and_drop_badges(tmp_path):
    doc = tmp_path / "copyright"
    doc.write_text(
        ".. image:: https://img.shields.io/pypi/v/x.svg\n   :target: https://pypi.org/x\n\n"
        "This package is free software; you can redistribute it under the same terms.\n\n"
        "short\n",
        encoding="utf-8",
    )
    assert bench.paragraphs(doc) == ["This package is free software; you can redistribute it under the same terms."]
    (tmp_path / "binary").write_bytes(b"\x00\x01 not text")
    assert bench.paragraphs(tmp_path / "binary") == []


@pytest.mark.slow
def test_process_figures_come_from_the_child(tmp_path):
    ballast = bytearray(400_000_000)  # this process is big; the child's figure must not be
    # The child holds its block for a while: the watcher polls every 20 ms, and a child that exits
    # right after allocating can end between two readings (CI once read 72 MB of the 80).
    child = "import time; block = bytearray(80_000_000); print('ready', flush=True); time.sleep(0.3); print('done')"
    run = bench.run_process([sys.executable, "-c", child], {}, tmp_path)
    assert run.returncode == 0 and run.stdout == "ready\ndone\n"
    assert run.first_output_s is not None and run.first_output_s <= run.seconds
    assert 80 <= run.peak_rss_mb < 200 < len(ballast) / 1e6  # the child's own peak, not this process's


def test_query_latencies_use_the_seed_questions(assistant):
    questions = bench.bench_questions(Settings(root=PROJECT))
    assert "What share of Ukraine's territory do Russian forces control?" not in bench.GENERIC_QUESTIONS
    assert len(questions) > len(bench.GENERIC_QUESTIONS) and set(bench.GENERIC_QUESTIONS) <= set(questions)
    times = bench.query_latencies(assistant, questions[:5])
    assert len(times) == 5


def test_table_marks_targets_and_json_round_trips(tmp_path):
    result = bench.BenchResult(created="now", command="assistant bench", machine={"cpus": 2, "load_before": [0.5], "load_after": [0.7]}, settings={})
    result.figures.update({"query_median_ms_1x": 12.0, "query_p95_ms_1x": 75.0, "ingest_ratio": 0.9, "help_s": 0.3})
    rows = {line.split()[0]: line for line in bench.format_table(result).splitlines() if line.strip()}
    assert rows["query_median_ms_1x"].endswith("ok") and rows["query_p95_ms_1x"].endswith("MISSED")
    assert "90%" in rows["ingest_ratio"] and ">= 85%" in rows["ingest_ratio"]
    saved = json.loads(bench.write_result(result, tmp_path).read_text(encoding="utf-8"))
    assert saved["figures"] == result.figures and saved["targets"]["query_p95_ms_1000x"] == {"op": "<=", "limit": 150.0}
