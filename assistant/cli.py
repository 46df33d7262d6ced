"""The ``assistant`` command: a thin click shell over :class:`assistant.Assistant`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .loaders import one_line
from .settings import Settings


def _settings(ctx: click.Context) -> Settings:
    overrides = {k: v for k, v in ctx.find_root().params.items() if v is not None}
    try:
        return Settings(**overrides)
    except Exception as exc:  # pydantic's validation message is the useful part
        raise click.ClickException(f"invalid settings: {exc}") from exc


def _assistant(ctx: click.Context):
    from .errors import GeneratorError
    from .pipeline import Assistant

    try:
        return Assistant(_settings(ctx))
    except GeneratorError as exc:
        raise click.ClickException(str(exc)) from exc


def _run(fn, *args, **kwargs):
    """Turn the errors a user can fix into one-line messages instead of tracebacks."""
    from .errors import BrokenIndex, GeneratorError, IndexUnavailable, QuestionError

    try:
        return fn(*args, **kwargs)
    except BrokenIndex as exc:
        raise click.ClickException(rebuild_hint(exc)) from exc
    except (QuestionError, GeneratorError, IndexUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc


def rebuild_hint(problem) -> str:
    return f"{problem}. Run `assistant index --rebuild` to rebuild it."


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--seeds-dir", type=click.Path(path_type=str), help="Documents folder (ASSISTANT_SEEDS_DIR).")
@click.option("--index-dir", type=click.Path(path_type=str), help="Index folder (ASSISTANT_INDEX_DIR).")
@click.option("--chroma-url", help="Use a Chroma server, e.g. http://127.0.0.1:8000 (ASSISTANT_CHROMA_URL).")
@click.option("-k", "--top-k", type=int, help="Passages retrieved per question (ASSISTANT_TOP_K).")
@click.option("--abstain-threshold", type=float, help="Support below which answers abstain (ASSISTANT_ABSTAIN_THRESHOLD).")
@click.option("--chunk-size", type=int, help="Chunk length in characters (ASSISTANT_CHUNK_SIZE).")
@click.option("--chunk-overlap", type=int, help="Chunk overlap in characters (ASSISTANT_CHUNK_OVERLAP).")
@click.option("--generator", help="Answer generator: extractive, ollama, openai, llamacpp (ASSISTANT_GENERATOR).")
@click.option("--llm-model", help="Model name for the ollama/openai generators (ASSISTANT_LLM_MODEL).")
@click.option("--llm-base-url", help="LLM server URL, e.g. http://127.0.0.1:8000/v1 (ASSISTANT_LLM_BASE_URL).")
@click.option("--llm-fallback", type=click.Choice(["extractive", "abstain"]),
              help="When LLM quotes fail verification or the server fails (ASSISTANT_LLM_FALLBACK).")
@click.option("--llm-reads", type=click.Choice(["uncertain", "always"]),
              help="Ask the LLM only when the extractive answer would refuse or lacks what is asked, or always (ASSISTANT_LLM_READS).")
@click.option("--llm-quotes", type=click.Choice(["sentences", "passages"]),
              help="The LLM reads numbered sentences and cites numbers, or passages it quotes (ASSISTANT_LLM_QUOTES).")
def cli(**_options):
    """Ask questions about the documents in seeds/ and get answers quoted verbatim from them.

    \b
    Examples:
      assistant ask "What share of Ukraine's territory do Russian forces control?"
      assistant ask --json "How large was the U.S. aid package?"
      echo "Who is Keith Kellogg?" | assistant ask --json
      assistant index            # add, replace and remove only what changed
      assistant chat
    """


@cli.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON. Without QUESTION, read JSONL questions from stdin.")
@click.pass_context
def ask(ctx, question, as_json):
    """Answer QUESTION from the documents, with the passages it relies on.

    With --json and no QUESTION, each line of standard input is a question (plain text, or
    {"question": ..., "history": [...]}) and each answer is printed as one JSON line; models load once.
    """
    assistant = _assistant(ctx)
    if question is None:
        if not as_json:
            raise click.UsageError("give a QUESTION, or use --json to read questions from standard input")
        _answer_lines(assistant, getattr(sys.stdin, "buffer", sys.stdin))
        return
    answer = _run(assistant.ask, question)
    if answer.notice and not as_json:
        click.echo(f"note: {answer.notice}", err=True)
    if as_json:
        click.echo(_json_line(answer.to_dict()))
    else:
        click.echo(format_answer(answer))


def _answer_lines(assistant, lines) -> None:
    """One JSON line per question line; a bad line gets an error line and the rest go on."""
    from .errors import BrokenIndex, GeneratorError, IndexUnavailable, QuestionError

    for number, raw in enumerate(lines, 1):
        try:
            line = (raw.decode("utf-8") if isinstance(raw, bytes) else raw).strip()
        except UnicodeDecodeError as exc:
            click.echo(_json_line({"line": number, "error": f"line {number} is not valid UTF-8 (byte {exc.start})"}))
            continue
        if not line:
            continue
        question, history = line, None
        if line.startswith("{"):
            try:
                request = json.loads(line)
                question, history = request.get("question", ""), request.get("history")
            except (json.JSONDecodeError, AttributeError) as exc:
                click.echo(_json_line({"question": line, "error": f"invalid JSON line: {exc}"}))
                continue
        try:
            if history is not None and not isinstance(history, list):
                raise ValueError("history must be a list of earlier questions")
            result = assistant.ask(question, history=history).to_dict()
        except (QuestionError, GeneratorError, ValueError) as exc:
            result = {"question": question, "error": str(exc)}
        except BrokenIndex as exc:
            raise click.ClickException(rebuild_hint(exc)) from exc
        except IndexUnavailable as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(_json_line(result))
        sys.stdout.flush()


def _json_line(result: dict) -> str:
    text = json.dumps(result, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from undecodable input cannot be printed raw: escape them
        text = json.dumps(result)
    return text


def _cited(marker: str, quote, span=None) -> str:
    text = quote.text
    if span is not None:  # the short answer, marked where it stands in its quote
        at, end = span.start - quote.start, span.end - quote.start
        text = f"{text[:at]}⟦{text[at:end]}⟧{text[end:]}"
    return f"\n  {marker} “{text}”\n      — {quote.citation()}"


def format_answer(answer) -> str:
    lines = [answer.lead] if answer.lead else []
    if answer.abstained and answer.reason:
        lines.append(f"({answer.reason})")
    span = answer.answer_span
    lines += [_cited(f"[{i}]", quote, span if span and span.quote == i - 1 else None) for i, quote in enumerate(answer.quotes, 1)]
    if answer.closest:
        lines.append("\nClosest passages (not enough to answer):")
    lines += [_cited("-", quote) for quote in answer.closest]
    dropped = f", {answer.dropped_quotes} unverifiable quotes dropped" if answer.dropped_quotes else ""
    lines.append(f"\n({answer.latency_ms:.0f} ms, {answer.generator}{dropped})")
    return "\n".join(lines).lstrip("\n")


@cli.command()
@click.option("--rebuild", is_flag=True, help="Drop the index and embed everything again.")
@click.pass_context
def index(ctx, rebuild):
    """Index the documents folder: only added, changed and deleted files are processed."""
    assistant = _assistant(ctx)
    bar = None

    def progress(done, total):
        nonlocal bar
        if bar is None and total >= 64:
            bar = click.progressbar(length=total, label="embedding chunks", file=sys.stderr)
            bar.__enter__()
        if bar is not None:
            bar.update(done - bar.pos)

    def waiting():
        click.echo("another `assistant index` is running on this index; waiting for it to finish…", err=True)

    try:
        report = _run(assistant.index, rebuild=rebuild, progress=progress, on_wait=waiting)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if report.repaired:
        click.echo(f"note: rebuilt the index: {report.repaired}", err=True)
    for problem in report.problems:
        click.echo(f"warning: {problem}", err=True)
    for label, sources in (("added", report.added), ("replaced", report.replaced), ("removed", report.removed)):
        for source in sources:
            click.echo(f"{label}: {one_line(source)}")
    click.echo(report.summary())


@cli.command()
@click.pass_context
def status(ctx):
    """Show what the index holds and when it was built."""
    st = _run(_assistant(ctx).status)
    built = st.built_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if st.built_at else "never"
    click.echo(f"{st.documents} documents, {st.chunks} chunks, built {built} ({st.location})")
    if st.indexing:
        click.echo("note: another process is indexing; these counts change when it finishes", err=True)
    if st.problem:
        raise click.ClickException(rebuild_hint(st.problem))


@cli.command()
@click.pass_context
def chat(ctx):
    """Chat in the terminal; follow-up questions see the earlier turns. Ctrl-D or 'exit' quits."""
    from .chat import ChatSession

    session = ChatSession(_assistant(ctx))
    while True:
        try:
            question = click.prompt("you", prompt_suffix="> ")
        except (EOFError, click.Abort):
            click.echo()
            return
        if question.strip().lower() in {"exit", "quit", ":q"}:
            return
        try:
            answer = _run(session.ask, question)
            if answer.notice:
                click.echo(f"note: {answer.notice}", err=True)
            click.echo(format_answer(answer) + "\n")
        except click.ClickException as exc:
            click.echo(f"error: {exc.message}", err=True)


@cli.command("eval")
@click.option("--cases", "case_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Case file or folder of *.yaml files (repeatable). Default: the evals folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of the table.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to put the timestamped report folder in. Default: evals/reports.")
@click.option("--check", is_flag=True, help="Exit non-zero when a metric is outside evals/thresholds.toml.")
@click.option("--thresholds", "thresholds_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Thresholds file. Default: thresholds.toml in the evals folder.")
@click.option("--suite", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="An eval suite folder with its own documents (docs/), cases (cases/*.yaml) and thresholds.toml, "
                   "e.g. evals/corpus; indexed into its own folder under the index folder.")
@click.pass_context
def eval_(ctx, case_paths, as_json, out, check, thresholds_path, suite):
    """Run the grounding eval cases and report facts, quotes, retrieval, abstention and latency.

    \b
    Writes report.json, report.md and chart.png (with the ui extra) to evals/reports/<UTC time>/ (a suite: its own reports/).
    Examples:
      assistant eval
      assistant eval --check          # fails, naming each metric below its threshold
      assistant eval --cases evals/seed_article.yaml --json
      assistant eval --suite evals/corpus --check   # the real-document corpus
    """
    from . import evaluation, reports
    from .errors import needs_extra

    settings = _settings(ctx)
    home = settings.evals_path
    if suite is not None:
        if not (suite / "docs").is_dir():
            raise click.ClickException(f"{suite} is not an eval suite: it has no docs/ folder")
        settings = settings.replace(**{"seeds_dir": suite.resolve() / "docs", "index_dir": settings.index_path / "suites" / suite.resolve().name})
        home = suite / "cases"
    try:
        cases = evaluation.load_cases(list(case_paths) or [home])
        default = (suite if suite is not None else settings.evals_path) / "thresholds.toml"
        path = thresholds_path or (default if default.is_file() else None)
        thresholds = evaluation.Thresholds.load(path) if path else None
    except evaluation.CaseError as exc:
        raise click.ClickException(str(exc)) from exc
    if check and thresholds is None:
        raise click.ClickException(f"--check needs a thresholds file; {default} does not exist")
    from .pipeline import Assistant

    with click.progressbar(length=len(cases), label="asking", file=sys.stderr) as bar:
        report = _run(evaluation.run, Assistant(settings), cases, progress=lambda done, _total: bar.update(done - bar.pos))
    folder = reports.write_report(report, out or (suite if suite is not None else settings.evals_path) / "reports", thresholds)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        click.echo(reports.format_table(report, thresholds))
    click.echo(f"report written to {folder}", err=True)
    if not reports.chart_available():
        click.echo(f"no chart.png: {needs_extra('drawing it (matplotlib)', 'ui')}", err=True)
    if check:
        failures = evaluation.check(report, thresholds)
        for failure in failures:
            click.echo(f"eval check failed: {failure}", err=True)
        if failures:
            ctx.exit(1)
        click.echo("eval check passed", err=True)


@cli.command()
@click.option("--sizes", default="1,100,1000", show_default=True, help="Corpus sizes, as multiples of the seeds' size.")
@click.option("--ingest-size", type=int, default=100, show_default=True, help="Corpus size whose full index build is compared with raw encode.")
@click.option("--repeat", type=click.IntRange(1, 20), default=3, show_default=True, help="Runs of each new-process figure (the median is reported).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Build the corpora and their indexes here and keep them. Default: a temporary folder, removed afterwards.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder for the JSON result. Default: benchmarks/results.")
@click.pass_context
def bench(ctx, sizes, ingest_size, repeat, workdir, out):
    """Measure ingest, re-index, query latency, cold start and memory; print a table, write JSON.

    \b
    Corpora of 1x, 100x and 1000x the seeds are built from real text on this machine (Debian
    copyright files, installed packages' descriptions); the seeds stay in each. About 5 minutes
    on 2 idle cores. See benchmarks/README.md.
    Examples:
      assistant bench
      assistant bench --sizes 1,10 --ingest-size 10 --repeat 1     # a quick look
    """
    import shutil
    import tempfile

    from benchmarks import bench as bench_

    try:
        factors = sorted({int(s) for s in sizes.split(",") if s.strip()})
    except ValueError as exc:
        raise click.BadParameter(f"comma-separated whole numbers expected, got {sizes!r}", param_hint="--sizes") from exc
    if not factors or min(factors) < 1 or ingest_size < 1:
        raise click.BadParameter("sizes must be 1 or more", param_hint="--sizes")
    settings = _settings(ctx)
    folder = workdir or Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    command = "assistant " + " ".join(sys.argv[1:]) if sys.argv[1:] else "assistant bench"
    try:
        result = _run(bench_.run, settings, factors, ingest_size, folder, repeat=repeat, command=command,
                      log=lambda msg: click.echo(f"bench: {msg}", err=True))
    finally:
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)
    click.echo(bench_.format_table(result))
    path = bench_.write_result(result, out or settings.root / "benchmarks" / "results")
    click.echo(f"results written to {path}", err=True)


def main() -> None:  # console-script entry point
    cli()


if __name__ == "__main__":
    main()
