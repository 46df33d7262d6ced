"""Loading: exact text for .txt/.md, visible text only for HTML, PDF text layers, bad files skipped."""

from pathlib import Path

from assistant.chunking import Chunker
from assistant.loaders import load_documents
from assistant.segmenting import sentences as split_sentences
from assistant.types import Document


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with a real text layer, written by hand so the test needs no PDF tool."""
    return pdf_pages([[text]])


def pdf_pages(pages: list[list[str]]) -> bytes:
    """A PDF with one page per list, each line of it printed 14 points below the last."""
    fonts = 3 + 2 * len(pages)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for lines in pages:
        page, contents = len(objects) + 1, len(objects) + 2
        kids.append(b"%d 0 R" % page)
        shown = b" ".join(b"(%s) Tj 0 -14 Td" % line.replace("(", "\\(").replace(")", "\\)").encode("latin-1") for line in lines)
        stream = b"BT /F1 11 Tf 72 740 Td " + shown + b" ET"
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >> >>" % (contents, fonts))
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(pages))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_formats_and_bad_files(tmp_path: Path):
    seeds = tmp_path / "seeds"
    (seeds / "sub").mkdir(parents=True)
    (seeds / "a.txt").write_text("Plain “text”, kept exactly.\n", encoding="utf-8")
    (seeds / "sub" / "b.md").write_text("# Title\n\nSome *markdown*.", encoding="utf-8")
    (seeds / "c.html").write_text(
        "<html><head><title>t</title><script>alert(1)</script></head>"
        "<body><h1>Heading</h1><p>Visible <b>words</b>.</p><style>p{}</style></body></html>",
        encoding="utf-8",
    )
    (seeds / "d.pdf").write_bytes(minimal_pdf("The PDF says hello"))
    (seeds / "bad.txt").write_bytes(b"caf\xe9 in latin-1")
    (seeds / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (seeds / "ignored.png").write_bytes(b"\x89PNG")

    documents, problems = load_documents(seeds, tmp_path)
    texts = {d.source: d.text for d in documents}

    assert texts["seeds/a.txt"] == "Plain “text”, kept exactly.\n"
    assert texts["seeds/sub/b.md"] == "# Title\n\nSome *markdown*."
    assert "Visible" in texts["seeds/c.html"] and "words" in texts["seeds/c.html"]
    assert "alert" not in texts["seeds/c.html"] and "<" not in texts["seeds/c.html"]
    assert "The PDF says hello" in texts["seeds/d.pdf"]
    assert {p.source for p in problems} == {"seeds/bad.txt", "seeds/blob.txt", "seeds/ignored.png"}
    assert all(p.reason for p in problems)
    assert "seeds/ignored.png" not in texts  # a format nobody reads is reported, never passed over in silence
    assert next(p.reason for p in problems if p.source == "seeds/ignored.png").startswith(".png files are not read (readable: ")


def test_chunks_and_sentences_are_exact_spans():
    text = open(Path(__file__).parent.parent / "seeds" / "000_74b09fb6327d5bb6.txt", encoding="utf-8").read()
    document = Document("seeds/x.txt", text, "0" * 64)
    sentences = split_sentences(document)
    chunks = Chunker(400, 80).split(document, sentences)
    assert len(chunks) > 3
    assert all(text[c.start:c.end] == c.text for c in chunks)
    assert max(len(c.text) for c in chunks) <= 400
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())

    assert all(text[s.start:s.end] == s.text for s in sentences)
    # "U.S." does not end a sentence; the aid sentence stays whole.
    assert any(s.text == "On Monday, the U.S. approved an additional military aid package worth $725 million to Kyiv." for s in sentences)
