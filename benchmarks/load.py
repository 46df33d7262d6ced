"""Load through one Chroma server: concurrent clients asking through app instances on two roots
that share nothing but the server, every answer checked against the one asked alone.

    .venv/bin/python -m benchmarks.load                      # 8 clients x 50 questions, 2 instances
    .venv/bin/python -m benchmarks.load --clients 4 --questions 10 --seeds-only   # a quick look

A `chroma run` on a loopback port (or ``--chroma-url``); root A holds the documents (the seeds and
the real-document corpus of ``evals/corpus/docs``) and indexes them with ``assistant index``;
root B has no documents folder and an empty index folder, as a second host has. Each instance is
its own process with one :class:`assistant.Assistant` shared by its clients' threads, as the
Streamlit app shares one between its sessions. The reference answers come from instance B asking
every question once, one at a time, before the load. Prints p50/p95 per question under load and
alone, throughput, errors and mismatches; writes ``benchmarks/results/load-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from assistant.settings import Settings

from .bench import WARMUP_QUESTIONS, cli_command, process_env

CHECKOUT = Path(__file__).resolve().parent.parent
CORPUS_DOCS = CHECKOUT / "evals" / "corpus" / "docs"
CASE_FILES = [CHECKOUT / "evals" / "seed_article.yaml", CHECKOUT / "evals" / "corpus" / "cases" / "tuning_a.yaml"]
STARTUP_S = 60
INSTANCE_TIMEOUT_S = 1800


@contextmanager
def chroma_server(data: Path) -> Iterator[str]:
    """``chroma run`` on a free loopback port with its data in ``data``; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    chroma = Path(sys.executable).parent / "chroma"
    log = (data.parent / "chroma.log").open("w")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {proc.returncode}; see {data.parent / 'chroma.log'}")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not answer within {STARTUP_S} s") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def question_pool(seeds_only: bool) -> list[str]:
    """Distinct questions asked without chat history: the seed cases, and the corpus cases when
    the corpus documents are indexed."""
    from assistant.evaluation import load_cases

    cases = load_cases(CASE_FILES[:1] if seeds_only else CASE_FILES)
    return list(dict.fromkeys(c.question for c in cases if not c.history))


def comparable(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "latency_ms"}


# --- one instance: a process whose client threads share one Assistant ---------------------------

def serve(plan_path: Path, out_path: Path) -> None:
    """Load the index, say ``ready``, wait for a line on stdin, then let every client of the plan
    ask its questions in its own thread; one JSON line per question to ``out_path``."""
    from assistant import Assistant

    plan: list[list[str]] = json.loads(plan_path.read_text(encoding="utf-8"))
    assistant = Assistant(Settings())
    for question in WARMUP_QUESTIONS:  # models and index loaded outside the timings
        assistant.ask(question)
    print("ready", flush=True)
    sys.stdin.readline()

    def client(number: int) -> list[dict]:
        rows = []
        for question in plan[number]:
            started = time.perf_counter()
            answer, error = None, None
            try:
                answer = assistant.ask(question).to_dict()
            except Exception as exc:  # counted and reported: the load must show every failure
                error = f"{type(exc).__name__}: {exc}"
            rows.append({"client": number, "question": question, "ms": (time.perf_counter() - started) * 1000, "answer": answer, "error": error})
        return rows

    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        rows = [row for rows in pool.map(client, range(len(plan))) for row in rows]
    out_path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


@dataclass
class Instance:
    name: str
    root: Path
    plan: list[list[str]]


def run_instances(instances: list[Instance], settings: Settings, folder: Path) -> tuple[dict[str, list[dict]], float]:
    """Start every instance, wait until all have loaded, release them at once; their rows and the
    wall time from release to the last one done."""
    procs = []
    for instance in instances:
        plan_path, out_path = folder / f"{instance.name}.plan.json", folder / f"{instance.name}.out.jsonl"
        plan_path.write_text(json.dumps(instance.plan), encoding="utf-8")
        env = process_env(settings.replace(root=instance.root))
        args = [sys.executable, "-m", "benchmarks.load", "--serve", str(plan_path), str(out_path)]
        err = (folder / f"{instance.name}.log").open("w")
        procs.append((instance, out_path, err, subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                                                env=env, cwd=instance.root, text=True)))
    try:
        for instance, _, _, proc in procs:
            assert proc.stdout is not None and proc.stdin is not None  # both PIPE
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"instance {instance.name} did not start; see {folder / f'{instance.name}.log'}")
        started = time.perf_counter()
        for _, _, _, proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        rows = {}
        for instance, out_path, _, proc in procs:
            if proc.wait(timeout=INSTANCE_TIMEOUT_S) != 0:
                raise RuntimeError(f"instance {instance.name} exited with {proc.returncode}; see {folder / f'{instance.name}.log'}")
            rows[instance.name] = [json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines()]
        return rows, time.perf_counter() - started
    finally:
        for _, _, err, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            err.close()


# --- the run -------------------------------------------------------------------------------------

@dataclass
class LoadResult:
    created: str
    clients: int
    questions_per_client: int
    instances: int
    documents: int
    chunks_indexed: str
    index_s: float
    asked: int
    answered: int
    errors: int
    mismatches: int
    p50_ms: float
    p95_ms: float
    alone_p50_ms: float
    alone_p95_ms: float
    questions_per_s: float
    alone_questions_per_s: float
    per_instance: dict
    examples: list


def p95(values: list[float]) -> float:
    from assistant.evaluation import percentile

    return percentile(values, 95) or 0.0  # the eval's nearest rank; there is always a value


def run(clients: int = 8, questions: int = 50, instances: int = 2, seeds_only: bool = False, folder: Path | None = None,
        chroma_url: str | None = None) -> LoadResult:
    folder = folder or Path(tempfile.mkdtemp(prefix="assistant-load-"))
    roots = [folder / chr(ord("a") + i) for i in range(instances)]
    for root in roots:
        root.mkdir(parents=True, exist_ok=True)
    seeds = roots[0] / "seeds"
    shutil.copytree(CHECKOUT / "seeds", seeds, dirs_exist_ok=True)
    if not seeds_only:
        shutil.copytree(CORPUS_DOCS, seeds / "corpus", dirs_exist_ok=True)
    pool = question_pool(seeds_only)
    rng = random.Random(14)
    plans = [rng.sample(pool, min(questions, len(pool))) for _ in range(clients)]

    with nullcontext(chroma_url) if chroma_url else chroma_server(folder / "chroma") as url:
        settings = Settings().replace(seeds_dir=Path("seeds"), index_dir=Path("index"), chroma_url=url, generator="extractive")
        started = time.perf_counter()
        indexed = subprocess.run(cli_command("index", "--rebuild"), env=process_env(settings.replace(root=roots[0])), cwd=roots[0],
                                 capture_output=True, text=True, timeout=INSTANCE_TIMEOUT_S)
        index_s = time.perf_counter() - started
        if indexed.returncode != 0:
            raise RuntimeError(f"assistant index failed: {indexed.stderr.strip()}")
        asked = sorted({q for plan in plans for q in plan})
        alone_rows, alone_s = run_instances([Instance("alone", roots[-1], [asked])], settings, folder)
        failed = [row for row in alone_rows["alone"] if row["error"]]
        if failed:
            raise RuntimeError(f"{len(failed)} questions failed asked alone, e.g. {failed[0]['question']!r}: {failed[0]['error']}")
        reference = {row["question"]: comparable(row["answer"]) for row in alone_rows["alone"]}
        load = [Instance(f"instance-{root.name}", root, plans[i::instances]) for i, root in enumerate(roots)]
        load_rows, load_s = run_instances(load, settings, folder)

    rows = [row for name in load_rows for row in load_rows[name]]
    errors = [row for row in rows if row["error"]]
    mismatches = [row for row in rows if not row["error"] and comparable(row["answer"]) != reference[row["question"]]]
    times = [row["ms"] for row in rows]
    alone_times = [row["ms"] for row in alone_rows["alone"]]
    return LoadResult(
        created=datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
        clients=clients, questions_per_client=len(plans[0]), instances=instances,
        documents=sum(1 for p in seeds.rglob("*") if p.is_file()),
        chunks_indexed=indexed.stdout.strip().splitlines()[-1] if indexed.stdout.strip() else "",
        index_s=round(index_s, 1), asked=len(rows), answered=sum(1 for row in rows if row["answer"] and not row["answer"]["abstained"]),
        errors=len(errors), mismatches=len(mismatches),
        p50_ms=round(statistics.median(times), 1), p95_ms=round(p95(times), 1),
        alone_p50_ms=round(statistics.median(alone_times), 1), alone_p95_ms=round(p95(alone_times), 1),
        questions_per_s=round(len(rows) / load_s, 1), alone_questions_per_s=round(len(alone_times) / alone_s, 1),
        per_instance={name: {"asked": len(r), "p50_ms": round(statistics.median([x["ms"] for x in r]), 1),
                             "p95_ms": round(p95([x["ms"] for x in r]), 1)} for name, r in load_rows.items()},
        examples=[{"question": row["question"], "error": row["error"]} for row in errors[:3]]
        + [{"question": row["question"], "got": row["answer"], "alone": reference[row["question"]]} for row in mismatches[:3]],
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--questions", type=int, default=50, help="questions per client")
    ap.add_argument("--instances", type=int, default=2)
    ap.add_argument("--seeds-only", action="store_true", help="index the seeds alone and ask the seed questions")
    ap.add_argument("--chroma-url", help="a running server to use instead of starting one")
    ap.add_argument("--workdir", type=Path, help="keep the roots, plans, answers and logs here")
    ap.add_argument("--serve", nargs=2, type=Path, metavar=("PLAN", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(*args.serve)
        return 0
    result = run(args.clients, args.questions, args.instances, args.seeds_only, args.workdir, args.chroma_url)
    for key, value in asdict(result).items():
        print(f"{key:>24}  {json.dumps(value) if isinstance(value, dict | list) else value}")
    out = CHECKOUT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"load-{result.created}.json").write_text(json.dumps(asdict(result), indent=1), encoding="utf-8")
    return 1 if result.errors or result.mismatches or not result.answered else 0  # all refusals: retrieval is broken


if __name__ == "__main__":
    sys.exit(main())
