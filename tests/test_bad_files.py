"""Bad files in the documents folder: each is reported in one line, every other document is
indexed, and the index stays consistent (both stores agree, no orphans)."""

import os
import random
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import extracted_text, index_contents
from test_loading import minimal_pdf

from assistant import Assistant, Settings, indexing, registry
from assistant.cli import cli

SEED = "seeds/000_74b09fb6327d5bb6.txt"
LICENCES = Path("/usr/share/common-licenses")


def licence_text(chars: int) -> str:
    """Real English text of about ``chars`` characters (Debian's licence texts, repeated)."""
    parts = [f.read_text(encoding="utf-8", errors="replace") for f in sorted(LICENCES.iterdir()) if f.is_file() and not f.is_symlink()]
    text = "\n\n".join(parts) or "The quick brown fox jumps over the lazy dog.\n" * 100
    return (text * (chars // len(text) + 1))[:chars]


def write_corpus(root: Path) -> tuple[dict[str, str], set[str]]:
    """The bad files (source -> expected reason) and the good ones (sources) beside the seed."""
    seeds = root / "seeds"
    (seeds / "sub").mkdir()
    bad = {}

    def put(name: str, data: bytes, reason: str | None) -> None:
        (seeds / name).write_bytes(data)
        if reason:
            bad[f"seeds/{name}"] = reason

    put("empty.txt", b"", "empty file")
    put("blank.md", b"  \n\n\t\n", "no text (only whitespace)")
    put("random.txt", random.Random(6).randbytes(4096), "binary content, not text")
    put("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary content, not text")
    put("cp1252.txt", "Café prices rose by 12 % in Zürich — résumé.".encode("cp1252"), "not valid UTF-8 (byte 3); another encoding? Save it as UTF-8")
    put("bad-utf16.txt", b"\xff\xfe\x41\x00\x42", "starts with a UTF-16 byte-order mark but is not valid UTF-16 (byte 4); save it as UTF-8")
    put("scan.pdf", minimal_pdf(""), "PDF has no text layer (a scanned image?); run OCR on it to index it")
    put("truncated.pdf", minimal_pdf("Half a PDF")[:120], "unreadable PDF")
    scripts = "".join(f"<script>document.title = 'script {i}'; fetch('/steal?{i}')</script>" for i in range(200))
    only_scripts = f"<html><head>{scripts}</head><body>{scripts}<style>p{{}}</style></body></html>"
    put("only-scripts.html", only_scripts.encode(), "no visible text (only markup or scripts)")
    put("headings.md", b"# Only\n\n## Headings here\n", "nothing to quote: the text is only headings")
    put("huge.txt", licence_text(200_000).encode(), "file is 0.2 MB, over the 0.1 MB limit (ASSISTANT_MAX_FILE_MB)")
    put("long.md", licence_text(60_000).encode(), "text is 60,000 characters long, over the 50,000 limit (ASSISTANT_MAX_TEXT_CHARS)")
    put("copy.txt", (seeds / "000_74b09fb6327d5bb6.txt").read_bytes(), f"same content as {SEED}; indexed once, under that name")

    os.symlink("self-loop.txt", seeds / "self-loop.txt")
    bad["seeds/self-loop.txt"] = "symbolic link loop; not followed"
    os.symlink("nowhere.txt", seeds / "dangling.txt")
    bad["seeds/dangling.txt"] = "broken symbolic link (its target does not exist)"
    os.symlink("..", seeds / "sub" / "up")
    bad["seeds/sub/up"] = "symbolic link loop (leads back to seeds); not followed"
    with open(os.path.join(os.fsencode(seeds), b"caf\xe9.txt"), "wb") as f:  # a Latin-1 file name
        f.write(b"A file whose name is not UTF-8.")
    bad["seeds/caf\\xe9.txt"] = "file name is not valid UTF-8; rename it"

    # Good files, among them some that look odd but are fine.
    good = {SEED}
    outside = root / "elsewhere"
    outside.mkdir()
    (outside / "linked.txt").write_text("The linked folder says the ferry leaves at 6:40 each morning.", encoding="utf-8")
    os.symlink(outside, seeds / "sub" / "linked")
    good.add("seeds/sub/linked/linked.txt")
    (seeds / "utf16.txt").write_bytes("The harbour master logged 317 ships in “late” autumn.\n".encode("utf-16"))
    (seeds / "bom.md").write_bytes("\ufeff# Notes\n\nThe archive opened in 1911.".encode("utf-8"))
    page = f"<html><head>{scripts}</head><body><h1>Orchard report</h1>{scripts}<p>The orchard grew 48 kinds of pear.</p>" \
           "<img src=x onerror=alert(1)><a href='javascript:alert(2)'>a link</a></body></html>"
    (seeds / "scripts.html").write_text(page, encoding="utf-8")
    (seeds / "two\nlines.txt").write_text("A file whose name holds a line break.", encoding="utf-8")
    good |= {"seeds/utf16.txt", "seeds/bom.md", "seeds/scripts.html", "seeds/two\nlines.txt"}
    return bad, good


def test_each_bad_file_is_reported_once_and_the_rest_indexed(fresh_project, embedder, monkeypatch):
    bad, good = write_corpus(fresh_project)
    monkeypatch.setattr(registry, "make_embedder", lambda settings: embedder)  # the CLI loads it once per test run
    env = {"ASSISTANT_ROOT": str(fresh_project), "ASSISTANT_MAX_FILE_MB": "0.1", "ASSISTANT_MAX_TEXT_CHARS": "50000"}
    result = CliRunner().invoke(cli, ["index"], env=env)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    reported = dict(re.fullmatch(r"warning: skipped (.+?): (.+)", line).groups() for line in warnings)
    assert len(warnings) == len(bad) == len(reported)
    for source, reason in bad.items():
        assert reported[source].startswith(reason), (source, reported[source])
    assert "added: seeds/two\\nlines.txt" in result.stdout  # a line break in a name cannot split a report line
    assert f"kept 0, skipped {len(bad)}" in result.stdout

    assistant = Assistant(Settings(root=fresh_project, max_file_mb=0.1, max_text_chars=50_000), embedder=embedder)
    assert set(assistant.docstore.hashes()) == good
    chunks = index_contents(assistant)
    assert {c[1] for c in chunks} == good
    texts = assistant.docstore.texts()
    assert texts["seeds/bom.md"] == "# Notes\n\nThe archive opened in 1911."  # the mark is not text
    assert "48 kinds of pear" in texts["seeds/scripts.html"]
    assert not any(word in texts["seeds/scripts.html"] for word in ("script", "fetch", "alert", "onerror", "javascript"))

    # Quotes of a UTF-16 file refer to its decoded text, as every extracted text does.
    answer = assistant.ask("How many ships did the harbour master log?")
    quote = next(q for q in answer.quotes if q.source == "seeds/utf16.txt")
    assert "317 ships" in quote.text
    assert extracted_text(fresh_project, "seeds/utf16.txt")[quote.start:quote.end] == quote.text

    again = assistant.index()  # nothing changed: nothing re-read into the index, the same reports
    assert not again.changed and sorted(again.kept) == sorted(good)
    assert {p.source for p in again.problems} == set(bad)


def test_a_copy_is_indexed_once_under_the_first_name(fresh_project, embedder):
    seeds = fresh_project / "seeds"
    assistant = Assistant(Settings(root=fresh_project), embedder=embedder)
    assistant.index()
    (seeds / "zz-copy.txt").write_bytes((seeds / "000_74b09fb6327d5bb6.txt").read_bytes())
    report = assistant.index()
    assert [str(p) for p in report.problems] == [f"skipped seeds/zz-copy.txt: same content as {SEED}; indexed once, under that name"]
    assert not report.changed
    (seeds / "000_74b09fb6327d5bb6.txt").unlink()  # the copy takes over when the original goes
    report = assistant.index()
    assert report.added == ["seeds/zz-copy.txt"] and report.removed == [SEED] and not report.problems
    assert {c[1] for c in index_contents(assistant)} == {"seeds/zz-copy.txt"}


def test_a_file_deleted_between_scan_and_extraction(fresh_project, embedder, monkeypatch):
    seeds = fresh_project / "seeds"
    (seeds / "kept.txt").write_text("The lighthouse keeper counted 412 gulls on Tuesday.", encoding="utf-8")
    (seeds / "changing.txt").write_text("The baker sold 90 loaves.", encoding="utf-8")
    assistant = Assistant(Settings(root=fresh_project), embedder=embedder)
    assistant.index()
    (seeds / "changing.txt").write_text("The baker sold 95 loaves.", encoding="utf-8")
    (seeds / "new.txt").write_text("The ferry leaves at 6:40.", encoding="utf-8")
    real_scan = indexing.scan

    def scan_then_delete(*args):
        found = real_scan(*args)
        (seeds / "changing.txt").unlink()  # a user deletes files while the run is under way
        (seeds / "new.txt").unlink()
        return found

    monkeypatch.setattr(indexing, "scan", scan_then_delete)
    report = assistant.index()
    gone = "file disappeared while indexing (deleted or moved)"
    assert {p.source: p.reason for p in report.problems} == {"seeds/changing.txt": gone, "seeds/new.txt": gone}
    assert report.removed == ["seeds/changing.txt"]  # its old text must not stay quotable
    assert set(assistant.docstore.hashes()) == {SEED, "seeds/kept.txt"}
    assert {c[1] for c in index_contents(assistant)} == {SEED, "seeds/kept.txt"}


@pytest.mark.slow
def test_a_20_mb_text_file_is_skipped_by_the_text_limit(fresh_project, embedder):
    (fresh_project / "seeds" / "dump.txt").write_text(licence_text(20_000_000), encoding="utf-8")
    assistant = Assistant(Settings(root=fresh_project), embedder=embedder)  # default limits
    started = time.perf_counter()
    report = assistant.index()
    seconds = time.perf_counter() - started
    print(f"\n20 MB text file: index run took {seconds:.1f} s ({report.summary()})")
    assert [str(p) for p in report.problems] == [
        "skipped seeds/dump.txt: text is 20,000,000 characters long, over the 5,000,000 limit (ASSISTANT_MAX_TEXT_CHARS)"
    ]
    assert report.added == [SEED]
    index_contents(assistant)


@pytest.mark.parametrize("data, text", [
    ("Grüße aus Köln".encode("utf-16-le").join([b"\xff\xfe", b""]), "Grüße aus Köln"),
    ("Grüße aus Köln".encode("utf-16-be").join([b"\xfe\xff", b""]), "Grüße aus Köln"),
    ("Grüße".encode("utf-32"), "Grüße"),
    (b"\xef\xbb\xbfplain", "plain"),
    ("exact \ufeff inside".encode("utf-8"), "exact \ufeff inside"),
])
def test_byte_order_marks_name_the_encoding(tmp_path, data, text):
    from assistant.loaders import SourceFile, extract

    path = tmp_path / "f.txt"
    path.write_bytes(data)
    assert extract(SourceFile("f.txt", path, "")).text == text
