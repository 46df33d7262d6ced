"""Embedding backends side by side: encode throughput, and every eval figure on every case set.

    .venv/bin/python -m benchmarks.embedding_compare                    # onnx against onnx-int8
    .venv/bin/python -m benchmarks.embedding_compare --backends onnx,torch --sets evals/seed_article.yaml

Throughput: the chunks of the seeds and of the real-document corpus (what indexing embeds),
through each backend's ``embed_documents`` in one process, twice each in mirrored order
(a, b, b, a) so a change in the machine's load weighs on both. Eval figures: ``assistant eval
--json`` of each case set in a new process per backend, each backend with an index folder of
its own (``index/compare-<backend>``, kept for the next run), extractive answers. Prints one
table; writes ``benchmarks/results/embeddings-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from assistant.settings import Settings

from .bench import cli_command, process_env

CHECKOUT = Path(__file__).resolve().parent.parent
CORPUS = CHECKOUT / "evals" / "corpus"
METRICS = ["fact_accuracy", "short_answer_accuracy", "retrieval_recall", "abstention_recall", "false_abstention_rate", "quote_validity"]
EVAL_TIMEOUT_S = 3600


def case_sets() -> list[Path]:
    """Every case set: the seed gate, the seed tuning and blind sets, the corpus sets."""
    return [CHECKOUT / "evals" / "seed_article.yaml", *sorted((CHECKOUT / "evals" / "tuning").glob("*.yaml")),
            *sorted((CORPUS / "cases").glob("*.yaml")), *sorted((CORPUS / "holdout").glob("*.yaml"))]


def chunk_texts(settings: Settings) -> list[str]:
    from assistant.chunking import Chunker
    from assistant.loaders import load_documents

    chunker = Chunker(settings.index.chunk_size, settings.index.chunk_overlap)
    texts = []
    for folder in (settings.seeds_path, CORPUS / "docs"):
        documents, _ = load_documents(folder, folder.parent, int(settings.index.max_file_mb * 1e6))
        texts += [c.indexed_text for d in documents for c in chunker.split(d)]
    return texts


def throughput(backends: list[str], settings: Settings) -> dict[str, float]:
    """Chunks per second of each backend's ``embed_documents``, over two mirrored runs."""
    from assistant.registry import make_embedder

    texts = chunk_texts(settings)
    embedders = {b: make_embedder(settings.replace(embedding_backend=b)) for b in backends}
    for embedder in embedders.values():
        embedder.embed_documents(texts[:8])  # loaded (and exported or quantised) outside the timings
    seconds = dict.fromkeys(backends, 0.0)
    for backend in [*backends, *reversed(backends)]:
        started = time.perf_counter()
        embedders[backend].embed_documents(texts)
        seconds[backend] += time.perf_counter() - started
    return {b: 2 * len(texts) / seconds[b] for b in backends} | {"chunks": len(texts)}


def eval_figures(backend: str, cases: Path, settings: Settings) -> dict[str, float | None]:
    """The metrics of one case set under one backend, from ``assistant eval --json``."""
    run_settings = settings.replace(embedding_backend=backend, index_dir=settings.index_dir / f"compare-{backend}", generator="extractive",
                                    chroma_url=None)  # an index folder of its own per backend: embedded
    suite = ["--suite", str(CORPUS)] if CORPUS in cases.parents else []
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(cli_command("eval", *suite, "--cases", str(cases), "--json", "--out", out), env=process_env(run_settings),
                              cwd=settings.root, capture_output=True, text=True, timeout=EVAL_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"assistant eval of {cases.name} with {backend} failed: {done.stderr.strip()[-500:]}")
    report = json.loads(done.stdout)
    return {m: (report["metrics"].get(m) or {}).get("value") for m in METRICS} | {"cases": len(report["results"])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="onnx,onnx-int8", help="comma-separated embedding backends")
    ap.add_argument("--sets", nargs="*", type=Path, help="case files (default: every case set)")
    args = ap.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    settings = Settings()
    result: dict = {"created": datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"), "backends": backends}
    result["chunks_per_s"] = throughput(backends, settings)
    print("chunks/s  " + "  ".join(f"{b} {result['chunks_per_s'][b]:.1f}" for b in backends) + f"  ({result['chunks_per_s']['chunks']} chunks)", flush=True)
    result["sets"] = {}
    for cases in [p.resolve() for p in args.sets] if args.sets else case_sets():
        figures = {b: eval_figures(b, cases, settings) for b in backends}
        result["sets"][str(cases.relative_to(CHECKOUT))] = figures
        cells = "  ".join(f"{m} " + "/".join("-" if figures[b][m] is None else f"{100 * figures[b][m]:.1f}" for b in backends) for m in METRICS[:5])
        print(f"{cases.name}: {cells}", flush=True)
    out = CHECKOUT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"embeddings-{result['created']}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
