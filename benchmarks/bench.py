"""``assistant bench``: speed and memory of the pipeline on corpora of 1×, 100× and 1000× the seeds.

The larger corpora are real English text found offline on the machine, never copies of the
seeds: the Debian copyright files (``/usr/share/doc/*/copyright``), the descriptions in the
installed Python packages' ``*.dist-info/METADATA`` and the other text docs Debian packages
install (``/usr/share/doc/*/README`` and the like), taken in turn in sorted order, each paragraph
at most once, until the corpus reaches its size. The seeds stay in every corpus, so
the seed questions keep their answers. What one run measured goes to
``benchmarks/results/<UTC time>.json``; see benchmarks/README.md for the figures and targets.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from itertools import zip_longest
from pathlib import Path

from assistant.settings import Settings

DEBIAN_DOCS = Path("/usr/share/doc")
DOC_SUFFIXES = {"", ".txt", ".md", ".markdown", ".rst", ".debian"}  # README, NEWS, README.Debian, ...
MIN_PARAGRAPH_CHARS = 40
MIN_WORD_SHARE = 0.6  # paragraphs mostly of plain words: prose, not badges, tables or hex dumps
_PLAIN_WORD = re.compile(r"[(\"'“‘]?[A-Za-z][a-z'’-]*[.,;:!?)\"'”’]*")
PROCESS_TIMEOUT_S = 900
# A question asking for a name: its first answer also loads the entity model, the slowest first question.
COLD_QUESTION = "Who did Trump name as his special envoy for the war?"
WARMUP_QUESTIONS = ["What is this document about?", "Who wrote it?"]
# Questions a reader of the added documents might ask; they join the seed questions at every size.
GENERIC_QUESTIONS = [
    "Who holds the copyright to this software?",
    "Is the software provided with any warranty?",
    "Under which licence may the files be redistributed?",
    "What conditions apply to modified versions?",
    "How do I install the package?",
]

# The targets: (figure, comparison, limit).
TARGETS = {
    "ingest_ratio": (">=", 0.85),
    "backend_ingest_ratio": (">=", 0.85),
    "query_median_ms_1x": ("<=", 30.0),
    "query_p95_ms_1x": ("<=", 60.0),
    "query_p95_ms_1000x": ("<=", 150.0),
    "reindex_unchanged_s_1000x": ("<=", 1.0),
    "cold_start_s_1x": ("<=", 6.0),
    "cold_start_s_1000x": ("<=", 6.0),
    "ask_peak_rss_mb_1x": ("<=", 1500.0),
    "ask_peak_rss_mb_1000x": ("<=", 1500.0),
}

Log = Callable[[str], None]


# --- corpora -----------------------------------------------------------------------------------

@dataclass
class CorpusInfo:
    factor: int
    root: Path
    bytes: int
    files: int
    added_files: int
    target_bytes: int

    @property
    def complete(self) -> bool:
        """False when the machine ran out of text before the target size."""
        return self.bytes >= self.target_bytes


def text_sources() -> list[Path]:
    """Candidate files in a fixed order: Debian copyright files, Python package METADATA and other
    Debian package docs (README, NEWS, *.txt, *.md, ...), one of each in turn."""
    copyrights = sorted(DEBIAN_DOCS.glob("*/copyright"))
    folders = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    packages = sorted(p for folder in folders for p in Path(folder).glob("*.dist-info/METADATA"))
    docs = sorted(p for p in DEBIAN_DOCS.glob("*/*") if p.name != "copyright" and p.suffix.lower() in DOC_SUFFIXES and p.is_file())
    return [p for group in zip_longest(copyrights, packages, docs) for p in group if p is not None]


def _key(paragraph: str) -> str:
    return " ".join(paragraph.split()).lower()


def paragraphs(path: Path) -> list[str]:
    """The prose paragraphs of a file; unreadable or non-UTF-8 files have none."""
    try:
        data = path.read_bytes()
        text = data.decode("utf-8") if b"\x00" not in data else ""
    except (OSError, UnicodeDecodeError):
        return []
    if path.name == "METADATA":
        text = text.split("\n\n", 1)[1] if "\n\n" in text else ""  # drop the email-style header
    out = []
    # Blank lines end a paragraph; so does a line of " ." (Debian copyright files' blank line).
    for paragraph in re.split(r"\n[ \t]*\.?[ \t]*\n", text.replace("\r\n", "\n")):
        paragraph = paragraph.strip("\n")
        words = paragraph.split()
        plain = sum(bool(_PLAIN_WORD.fullmatch(w)) for w in words)
        if len(" ".join(words)) >= MIN_PARAGRAPH_CHARS and plain >= MIN_WORD_SHARE * len(words):
            out.append(paragraph)
    return out


def _label(path: Path) -> str:
    owner = path.parent.name.removesuffix(".dist-info")
    kind = "pypi" if path.name == "METADATA" else "debian"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{kind}-{owner}-{path.name}")


def build_corpus(root: Path, seeds: Path, factor: int, sources: list[Path] | None = None) -> CorpusInfo:
    """``root/seeds``: the seeds plus added documents, up to ``factor`` × the seeds' size
    (the last paragraph reaches it).

    Deterministic for a given machine: the same sources in the same order give the same files,
    and a smaller corpus is a prefix of a larger one. ``root/manifest.tsv`` records each added
    file's origin (outside ``seeds/``, so it is not indexed).
    """
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(seeds, root / "seeds")
    seed_files = [p for p in sorted((root / "seeds").rglob("*")) if p.is_file()]
    seed_bytes = sum(p.stat().st_size for p in seed_files)
    seen = {_key(p) for f in seed_files for p in paragraphs(f)}
    target, total, written, manifest = factor * seed_bytes, seed_bytes, 0, []
    added = root / "seeds" / "added"
    for path in text_sources() if sources is None else sources:
        if total >= target:
            break
        kept = []
        for paragraph in paragraphs(path):
            if total >= target:
                break  # capped: the paragraph that reached the size is the last one
            if _key(paragraph) not in seen:
                seen.add(_key(paragraph))
                kept.append(paragraph)
                total += len(paragraph.encode("utf-8")) + 2  # written with a blank line after it
        if not kept:
            continue
        written += 1
        name = f"{written:04d}_{_label(path)}.txt"
        added.mkdir(exist_ok=True)
        (added / name).write_text("\n\n".join(kept) + "\n\n", encoding="utf-8")
        manifest.append(f"seeds/added/{name}\t{path}")
    (root / "manifest.tsv").write_text("".join(line + "\n" for line in manifest), encoding="utf-8")
    files = [p for p in (root / "seeds").rglob("*") if p.is_file()]
    return CorpusInfo(factor, root, sum(p.stat().st_size for p in files), len(files), written, target)


# --- measuring -----------------------------------------------------------------------------------

@dataclass
class ProcessRun:
    """One command in a new process: wall time to its first line of output and to its exit."""

    seconds: float
    first_output_s: float | None
    peak_rss_mb: float  # megabytes (10^6 bytes)
    returncode: int
    stdout: str
    stderr: str


def run_process(args: list[str], env: dict[str, str], cwd: Path, timeout: float = PROCESS_TIMEOUT_S) -> ProcessRun:
    """Run a command, timing it and following its peak RSS."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, env=env, cwd=cwd, text=True)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        watcher = PeakWatcher(proc.pid)
        assert proc.stdout is not None  # stdout=PIPE
        try:
            first = proc.stdout.readline()
            first_s = time.perf_counter() - started if first else None
            rest = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
        finally:
            killer.cancel()
            watcher.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        err.seek(0)
        peak_kb = watcher.peak_kb or usage.ru_maxrss  # without /proc: rusage, which may count this process too
        return ProcessRun(seconds, first_s, peak_kb * 1024 / 1e6, proc.returncode, first + rest, err.read())


class PeakWatcher:
    """A child's peak RSS, read from ``/proc/<pid>/status`` (VmHWM) while it runs.

    Not from ``wait4``'s rusage: a child started by vfork/exec inherits the parent's high-water
    mark, so every child of a big benchmark process would report the benchmark's own size.
    VmHWM only grows, so the last reading before the child exits is its peak; a peak reached within
    the last ``interval`` before exiting can be missed (the processes benchmarked run for seconds).
    """

    def __init__(self, pid: int, interval: float = 0.02):
        self.peak_kb = 0
        self._path = Path(f"/proc/{pid}/status")
        self._done = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            try:
                for line in self._path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except (OSError, ValueError):
                pass  # not started yet, exited, or no /proc here
            self._done.wait(self._interval)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def cli_command(*args: str) -> list[str]:
    """``assistant ARGS`` run by this interpreter."""
    return [sys.executable, "-m", "assistant.cli", *args]


def corpus_settings(base: Settings, root: Path, factor: int) -> Settings:
    """The base settings pointed at a corpus: its own seeds and index, extractive answers; on a
    Chroma server when the base settings name one (a collection per corpus), else embedded."""
    server = {"collection": f"bench-{factor}x"} if base.index.chroma_url else {}
    return base.replace(**{"root": root, "seeds_dir": Path("seeds"), "index_dir": Path("index"), "generator": "extractive", **server})


def process_env(settings: Settings) -> dict[str, str]:
    """Environment for a CLI subprocess that sees the same settings and the same code as this process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    for name, value in settings.flat().items():
        if value is not None:
            env[f"ASSISTANT_{name.upper()}"] = str(value)
    code = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (code, env.get("PYTHONPATH")) if p)
    return env


def encode_seconds(encode: Callable[[list[str]], object], texts: list[str]) -> float:
    """Seconds of one encode call over ``texts``, after a small warm-up call."""
    encode(texts[:8])
    started = time.perf_counter()
    encode(texts)
    return time.perf_counter() - started


def bench_questions(settings: Settings) -> list[str]:
    """The seed eval questions (those asked without chat history) and a few generic ones."""
    from assistant.evaluation import load_cases

    cases = load_cases([settings.evals_path]) if settings.evals_path.is_dir() else []
    return [c.question for c in cases if not c.history] + GENERIC_QUESTIONS


def query_latencies(assistant, questions: list[str]) -> list[float]:
    """Milliseconds per ``ask``, warm: models and index loaded, each measured question asked once.

    The embedder's and the entity recogniser's caches are emptied first: a question asked at an
    earlier size must not be answered from its cached vectors or entities.
    """
    assistant.text("")  # load the models and the index outside the timings
    assistant.embedder.clear_caches()
    assistant.generator.clear_caches()
    for question in WARMUP_QUESTIONS:
        assistant.ask(question)
    times = []
    for question in questions:
        started = time.perf_counter()
        assistant.ask(question)
        times.append((time.perf_counter() - started) * 1000)
    return times


# --- the run -----------------------------------------------------------------------------------

@dataclass
class BenchResult:
    created: str
    command: str
    machine: dict
    settings: dict
    corpora: list[dict] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    detail: dict[str, list[float]] = field(default_factory=dict)  # single runs behind some figures (JSON only)
    notes: list[str] = field(default_factory=list)
    cold_question: str = COLD_QUESTION  # asked by the cold-start runs (changed in session 9)

    def to_dict(self) -> dict:
        return {**asdict(self), "targets": {k: {"op": op, "limit": v} for k, (op, v) in TARGETS.items()}}


def _median(values: list[float]) -> float:
    return statistics.median(values)


def run(
    base: Settings,
    sizes: list[int],
    ingest_size: int,
    workdir: Path,
    repeat: int = 3,
    command: str = "assistant bench",
    log: Log = lambda _msg: None,
) -> BenchResult:
    """Build the corpora, index them and measure; ``log`` hears what is being done."""
    from assistant.evaluation import percentile
    from assistant.pipeline import Assistant

    sizes = sorted(set(sizes) | {ingest_size})
    largest = sizes[-1]
    result = BenchResult(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        command=command,
        machine={"cpus": os.cpu_count(), "load_before": list(os.getloadavg()), "python": platform.python_version(), "platform": platform.platform()},
        settings={k: str(v) for k, v in base.flat().items() if k not in {"root", "llm_api_key"}},
    )
    figures = result.figures

    log("building corpora")
    corpora = {n: build_corpus(workdir / f"{n}x", base.seeds_path, n) for n in sizes}
    for info in corpora.values():
        if not info.complete:
            result.notes.append(f"{info.factor}x corpus is {info.bytes} bytes, short of {info.target_bytes}: not enough text on this machine")

    log("loading the embedding model")
    started = time.perf_counter()
    first = Assistant(corpus_settings(base, corpora[sizes[0]].root, sizes[0]))
    embedder = first.embedder
    embedder.embed_documents(["warm-up"])
    figures["model_load_s"] = time.perf_counter() - started

    assistants = {}
    for n in [ingest_size, *(n for n in sizes if n != ingest_size)]:
        assistant = Assistant(corpus_settings(base, corpora[n].root, n), embedder=embedder)
        log(f"indexing the {n}x corpus ({corpora[n].bytes / 1e6:.2f} MB)")
        if n == ingest_size:
            seconds, chunks_embedded = measure_ingest(assistant, result, log)
        else:
            seconds, chunks_embedded = full_build(assistant)
        figures[f"build_s_{n}x"] = seconds
        figures[f"build_chunks_per_s_{n}x"] = chunks_embedded / seconds
        chunks = assistant.docstore.counts()[1]
        result.corpora.append({"factor": n, "bytes": corpora[n].bytes, "files": corpora[n].files, "added_files": corpora[n].added_files, "chunks": chunks})
        assistants[n] = assistant
    result.corpora.sort(key=lambda c: c["factor"])

    questions = bench_questions(base)
    for n in sizes:
        log(f"asking {len(questions)} questions at {n}x")
        times = query_latencies(assistants[n], questions)
        figures[f"query_median_ms_{n}x"] = _median(times)
        figures[f"query_p95_ms_{n}x"] = percentile(times, 95) or 0.0  # None only for no questions, and there are always some

    log(f"re-indexing the {largest}x corpus")
    big = assistants[largest]
    started = time.perf_counter()
    report = big.index()
    figures[f"reindex_unchanged_s_{largest}x"] = time.perf_counter() - started
    if report.changed:
        result.notes.append(f"re-index of an unchanged corpus changed something: {report.summary()}")
    env = process_env(big.settings)
    cli_runs = [run_process(cli_command("index"), env, big.settings.root) for _ in range(repeat)]
    _check(cli_runs, "assistant index")
    figures[f"reindex_unchanged_cli_s_{largest}x"] = _median([r.seconds for r in cli_runs])
    edited = _edit_one(big.settings.seeds_path, corpora[largest].added_files)
    if edited is not None:
        path, original = edited
        started = time.perf_counter()
        report = big.index()
        figures[f"reindex_one_changed_s_{largest}x"] = time.perf_counter() - started
        if len(report.replaced) != 1:
            result.notes.append(f"one edited document gave: {report.summary()}")
        path.write_bytes(original)
        big.index()

    for n in sorted({sizes[0], largest}):
        log(f"cold start at {n}x ({repeat} runs)")
        env = process_env(assistants[n].settings)
        runs = [run_process(cli_command("ask", COLD_QUESTION), env, corpora[n].root) for _ in range(repeat)]
        _check(runs, "assistant ask")
        figures[f"cold_start_s_{n}x"] = _median([r.first_output_s or r.seconds for r in runs])
        figures[f"ask_peak_rss_mb_{n}x"] = max(r.peak_rss_mb for r in runs)

    log(f"assistant index --rebuild at {ingest_size}x in a new process")
    env = process_env(assistants[ingest_size].settings)
    run_ = run_process(cli_command("index", "--rebuild"), env, corpora[ingest_size].root)
    _check([run_], "assistant index --rebuild")
    figures[f"index_cli_s_{ingest_size}x"] = run_.seconds
    figures["index_peak_rss_mb"] = run_.peak_rss_mb

    runs = [run_process(cli_command("--help"), env, corpora[ingest_size].root) for _ in range(repeat)]
    _check(runs, "assistant --help")
    figures["help_s"] = _median([r.seconds for r in runs])
    result.machine["load_after"] = list(os.getloadavg())
    return result


def full_build(assistant) -> tuple[float, int]:
    """Seconds of a full index build, and the chunks it embedded."""
    started = time.perf_counter()
    report = assistant.index(rebuild=True)
    return time.perf_counter() - started, report.chunks_embedded


def measure_ingest(assistant, result: BenchResult, log: Log) -> tuple[float, int]:
    """A full build, and raw encodes of the same chunks in this process: by sentence-transformers
    (the issue's baseline) and by the pipeline's own embedder (what the pipeline adds on top).

    Each raw encode runs once before the build and once after, in mirrored order, and the figure
    is over both runs: a change in the machine's load during the measurement (other processes
    share it) then weighs on both sides alike rather than on one.
    """
    from assistant.chunking import Chunker
    from assistant.loaders import load_documents

    settings, embedder = assistant.settings, assistant.embedder
    documents, _ = load_documents(settings.seeds_path, settings.root, int(settings.index.max_file_mb * 1e6))
    chunker = Chunker(settings.index.chunk_size, settings.index.chunk_overlap)
    texts = [c.indexed_text for d in documents for c in chunker.split(d)]  # what the build will embed
    raw_model = raw_sentence_transformer(embedder)
    encoders = {
        "raw_encode": lambda t: raw_model.encode(
            t, batch_size=settings.embedding.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        ),
        "backend_encode": embedder.embed_documents,
    }
    runs: dict[str, list[float]] = {name: [] for name in encoders}
    log(f"raw encodes of its {len(texts)} chunks, then the build, then the raw encodes again")
    for name, encode in encoders.items():
        runs[name].append(encode_seconds(encode, texts))
    seconds, chunks_embedded = full_build(assistant)
    for name, encode in reversed(encoders.items()):
        runs[name].append(encode_seconds(encode, texts))
    if sorted(texts) != sorted(c.indexed_text for c in assistant.docstore.chunks()):
        result.notes.append("the raw encodes did not see the chunks the build embedded")
    figures = result.figures
    figures["ingest_chunks_per_s"] = chunks_embedded / seconds
    for name, times in runs.items():
        figures[f"{name}_chunks_per_s"] = len(texts) * len(times) / sum(times)
        result.detail[f"{name}_chunks_per_s_runs"] = [len(texts) / t for t in times]
    figures["ingest_ratio"] = figures["ingest_chunks_per_s"] / figures["raw_encode_chunks_per_s"]
    figures["backend_ingest_ratio"] = figures["ingest_chunks_per_s"] / figures["backend_encode_chunks_per_s"]
    return seconds, chunks_embedded


def raw_sentence_transformer(embedder):
    """The plain SentenceTransformer the ingest ratio compares against: the embedder's own model
    when it runs on torch, else the same model folder loaded afresh."""
    from assistant.embeddings import SentenceTransformerEmbedder

    if isinstance(embedder, SentenceTransformerEmbedder):
        return embedder.sentence_transformer
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    return SentenceTransformer(embedder.model_path, device="cpu", local_files_only=True)


def _edit_one(seeds: Path, added_files: int) -> tuple[Path, bytes] | None:
    """Append a sentence to the middle added document; returns it with its original bytes."""
    files = sorted((seeds / "added").glob("*.txt")) if added_files else []
    if not files:
        return None
    path = files[len(files) // 2]
    original = path.read_bytes()
    path.write_bytes(original + b"This sentence was appended by the benchmark to change one document.\n")
    return path, original


def _check(runs: list[ProcessRun], what: str) -> None:
    for run_ in runs:
        if run_.returncode != 0:
            raise RuntimeError(f"`{what}` failed (exit {run_.returncode}): {run_.stderr.strip()[-500:]}")


# --- output --------------------------------------------------------------------------------------

_UNITS = [("_ms", "ms", "{:.1f}"), ("_mb", "MB", "{:.0f}"), ("_per_s", "chunks/s", "{:.1f}"), ("_s", "s", "{:.2f}"), ("ratio", "", "{:.0%}")]


def _format(name: str, value: float) -> str:
    stem = re.sub(r"_\d+x$", "", name)
    for suffix, unit, fmt in _UNITS:
        if stem.endswith(suffix):
            return f"{fmt.format(value)} {unit}".strip()
    return f"{value:.3g}"


def format_table(result: BenchResult) -> str:
    """One row per figure: its value, the issue's target and whether it is met."""
    rows = [("figure", "value", "target", "")]
    for name, value in result.figures.items():
        target, status = "", ""
        if name in TARGETS:
            op, limit = TARGETS[name]
            target = f"{op} {_format(name, limit)}"
            status = "ok" if (value >= limit if op == ">=" else value <= limit) else "MISSED"
        rows.append((name, _format(name, value), target, status))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    corpora = ", ".join(f"{c['factor']}x = {c['bytes'] / 1e6:.2f} MB / {c['files']} files / {c['chunks']} chunks" for c in result.corpora)
    load = result.machine.get("load_before", [0])[0], result.machine.get("load_after", [0])[0]
    store = f"Chroma server {result.settings['chroma_url']}" if result.settings.get("chroma_url") not in (None, "None") else "embedded Chroma"
    lines += ["", f"corpora: {corpora}", f"store: {store}",
              f"machine: {result.machine['cpus']} CPUs, load average {load[0]:.2f} before, {load[1]:.2f} after"]
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def write_result(result: BenchResult, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
