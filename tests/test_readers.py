"""Reading by structure, per format: whole sentences, no page chrome, page and section known.

Each test writes a small file of its format and checks what a reader relies on: a sentence is
never cut at a wrapped line or an inline element, menus and running headers never reach the
index, and a quote knows its page (PDF) and section (every format).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_loading import pdf_pages

from assistant import Assistant, Settings, registry
from assistant.cli import cli
from assistant.loaders import SourceFile, extract
from assistant.segmenting import sentences


def read(tmp_path: Path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    document = extract(SourceFile(name, path, ""))
    return document, [s.text for s in sentences(document)]


def section_of(document, needle: str) -> tuple[str, ...]:
    return document.layout.section_at(document.text.index(needle))


# --- HTML ------------------------------------------------------------------------------------

PAGE = """<html><head><title>Guide</title><style>p {}</style></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/docs">Docs</a></li></ul></nav>
<div class="sidebar"><form><input placeholder="Search"></form></div>
<main>
  <h1>Asking questions<a class="headerlink" href="#a">¶</a></h1>
  <p>Call <code>ask()</code> with a <a href="#q">question</a>, then read the <em>quotes</em>. Each quote
     names its source.</p>
  <h2>Options</h2>
  <ul><li>Use <code>--json</code> for one JSON object.</li><li>Use <code>--rebuild</code> to start over.</li></ul>
  <pre>assistant ask "Who?"
assistant index</pre>
  <table><tr><th>Setting</th><th>Default</th></tr><tr><td>top_k</td><td>6</td></tr></table>
</main>
<footer>Copyright 2026. All rights reserved.</footer>
</body></html>"""


def test_html_inline_elements_stay_in_their_sentence(tmp_path):
    document, found = read(tmp_path, "guide.html", PAGE)
    assert "Call ask() with a question, then read the quotes." in found
    assert "Each quote names its source." in found
    assert "Use --json for one JSON object." in found  # a list item is its own block


def test_html_reads_only_the_main_content(tmp_path):
    document, _ = read(tmp_path, "guide.html", PAGE)
    for chrome in ("Home", "Docs", "Search", "Copyright", "p {}"):
        assert chrome not in document.text
    assert document.layout.title == "Guide"


def test_html_menu_without_a_main_element_is_not_indexed(tmp_path):
    page = """<body><div class="menu"><a href="/">Home</a> <a href="/about">About</a> <a href="/dl">Download</a></div>
    <h1>Datatypes</h1><p>Values have a <a href="#c">storage class</a>, not a column type.</p>
    <div class="footer">Page generated 2026. <a href="/c">Contact</a> <a href="/l">Licence</a></div></body>"""
    document, found = read(tmp_path, "page.html", page)
    assert "Home" not in document.text and "Download" not in document.text
    assert found[0] == "Values have a storage class, not a column type."


def test_html_code_tables_and_sections(tmp_path):
    document, found = read(tmp_path, "guide.html", PAGE)
    assert 'assistant ask "Who?"\nassistant index' in found  # <pre> is one unit, its lines kept
    assert "top_k | 6" in found  # a table row, cells separated
    assert section_of(document, "Call ask()") == ("Asking questions",)  # the permalink mark is not in the heading
    assert section_of(document, "top_k") == ("Asking questions", "Options")


# --- plain text and Markdown -------------------------------------------------------------------

WRAPPED = """2. Terms and Conditions
Each licensee is addressed as "you". You may copy and distribute
verbatim copies of the Program's source code as you receive it, in any
medium, provided that you conspicuously publish a notice.

  a) The work must carry prominent notices stating that you
     modified it.
"""


def test_plain_text_wrapped_paragraph_is_one_sentence(tmp_path):
    document, found = read(tmp_path, "licence.txt", WRAPPED)
    assert document.text == WRAPPED  # the file's exact content: offsets are the file's
    assert ("You may copy and distribute\nverbatim copies of the Program's source code as you receive it, in any\n"
            "medium, provided that you conspicuously publish a notice.") in found
    assert "a) The work must carry prominent notices stating that you\n     modified it." in found
    assert "2. Terms and Conditions" not in " ".join(found)  # a numbered title is a heading, not a sentence
    assert section_of(document, "verbatim") == ("2. Terms and Conditions",)


def test_markdown_structure(tmp_path):
    text = "# Setup\n\nInstall it with pip and\nrun the tests.\n\n## Usage\n\n- First item.\n- Second item.\n\n```sh\nassistant ask \"Who?\"\n```\n"
    document, found = read(tmp_path, "readme.md", text)
    assert document.text == text
    assert found == ["Install it with pip and\nrun the tests.", "First item.", "Second item.", 'assistant ask "Who?"']
    assert section_of(document, "Second item") == ("Setup", "Usage")


# --- PDF -------------------------------------------------------------------------------------

PAGES = [
    ["Field Manual", "1. Introduction",
     "The device stores every reading in a journal file that the operator can read back at",
     "any time. Readings older than ninety days are removed automatically by the infor-",
     "mation service, which runs a well-", "known cleanup job.", "1"],
    ["Field Manual", "2. Installing",
     "Mount the sensor on a flat surface and connect the blue cable to the port marked",
     "A before switching the unit on for the first time.", "2"],
    ["Field Manual", "3. Information", "This page tells where information about the unit can be found.", "3"],
]


def test_pdf_pages_unwrapped_and_without_running_headers(tmp_path):
    document, found = read(tmp_path, "manual.pdf", pdf_pages(PAGES))
    assert "Field Manual" not in document.text  # a running header on every page
    assert not any(s.strip().isdigit() for s in found)  # page numbers
    assert ("Readings older than ninety days are removed automatically by the information service, "
            "which runs a well-known cleanup job.") in found  # lines joined; "infor-mation" joined, "well-known" kept
    assert "Mount the sensor on a flat surface and connect the blue cable to the port marked A before switching the unit on for the first time." in found
    mount = document.text.index("Mount")
    assert document.layout.page_at(mount) == 2 and document.layout.page_at(document.text.index("Readings")) == 1
    assert document.layout.section_at(mount) == ("2. Installing",)


# --- DOCX ------------------------------------------------------------------------------------

def docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Travel Policy", level=0)
    document.add_heading("Booking", level=1)
    document.add_paragraph("Book flights at least two weeks ahead. Economy class is the rule.")
    document.add_paragraph("Trains are preferred for trips under four hours.", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Trip", "Allowance"), ("Domestic", "45 euros a day")]):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    document.add_heading("Expenses", level=1)
    document.add_paragraph("Receipts are filed within thirty days.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_headings_lists_and_tables(tmp_path):
    document, found = read(tmp_path, "policy.docx", docx_bytes())
    assert found == [
        "Book flights at least two weeks ahead.", "Economy class is the rule.",
        "Trains are preferred for trips under four hours.", "Trip | Allowance", "Domestic | 45 euros a day",
        "Receipts are filed within thirty days.",
    ]
    assert section_of(document, "Trains") == ("Travel Policy", "Booking")
    assert section_of(document, "Receipts") == ("Travel Policy", "Expenses")


def test_a_damaged_docx_is_skipped_with_the_reason(tmp_path):
    from assistant.errors import LoadError

    with pytest.raises(LoadError, match="unreadable Word file"):
        read(tmp_path, "broken.docx", docx_bytes()[:300])


# --- end to end: quotes name their page and section ----------------------------------------------

def test_quotes_name_page_and_section(tmp_path, embedder, monkeypatch):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "manual.pdf").write_bytes(pdf_pages(PAGES))
    (seeds / "policy.docx").write_bytes(docx_bytes())
    (seeds / "slides.pptx").write_bytes(b"PK\x03\x04 not read")
    assistant = Assistant(Settings(root=tmp_path), embedder=embedder)
    report = assistant.index()
    assert "skipped seeds/slides.pptx: .pptx files are not read (readable: " in [str(p) for p in report.problems][0]

    answer = assistant.ask("Which cable connects the sensor to the port?")
    quote = answer.quotes[0]
    assert not answer.abstained and quote.source == "seeds/manual.pdf" and "blue cable" in quote.text
    assert (quote.page, quote.section) == (2, "2. Installing")
    assert quote.citation() == f"seeds/manual.pdf, p. 2, § 2. Installing [{quote.start}:{quote.end}]"

    monkeypatch.setattr(registry, "make_embedder", lambda settings: embedder)
    result = CliRunner().invoke(cli, ["ask", "--json", "How long do I have to file receipts?"], env={"ASSISTANT_ROOT": str(tmp_path)})
    quote = json.loads(result.stdout)["quotes"][0]
    assert quote["text"] == "Receipts are filed within thirty days."
    assert (quote["page"], quote["section"]) == (None, "Travel Policy › Expenses")
    result = CliRunner().invoke(cli, ["ask", "Which cable connects the sensor to the port?"], env={"ASSISTANT_ROOT": str(tmp_path)})
    assert "— seeds/manual.pdf, p. 2, § 2. Installing [" in result.stdout


def test_a_sentence_introducing_a_list_is_quoted_with_the_list(tmp_path, embedder):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "types.html").write_text(
        "<main><h1>Storage</h1><p>Every value stored in the Zorblat database has one of the following storage classes:</p>"
        "<ul><li><p><b>NULL</b>. The value is missing.</p></li><li><p><b>INTEGER</b>. A signed whole number.</p></li>"
        "<li><p><b>TEXT</b>. A string.</p></li></ul><p>Columns may hold any class.</p></main>", encoding="utf-8")
    assistant = Assistant(Settings(root=tmp_path), embedder=embedder)
    assistant.index()
    answer = assistant.ask("Which storage classes can a Zorblat value have?")
    assert [q.text for q in answer.quotes][:4] == [
        "Every value stored in the Zorblat database has one of the following storage classes:",
        "NULL. The value is missing.", "INTEGER. A signed whole number.", "TEXT. A string.",
    ]  # each item one whole quote
    assert all(q.section == "Storage" for q in answer.quotes)


def test_plain_text_edge_cases_found_in_review(tmp_path):
    steps = "Setup\n\n1. Connect the yellow cable to the WAN port.\n\n2. Press the reset button.\n"
    document, found = read(tmp_path, "steps.txt", steps)
    assert "Connect the yellow cable to the WAN port." in found  # a numbered step is a list item, not a heading
    assert section_of(document, "Connect") == ("Setup",)
    document, found = read(tmp_path, "cold.md", "---\ntitle: Backup guide\n---\n\n# Cold\n\n-5 degrees is the lowest setting.\n**Warning**: it freezes.\n")
    assert found == ["-5 degrees is the lowest setting.", "**Warning**: it freezes."]  # no list mark cut outside a list
    assert section_of(document, "-5 degrees") == ("Cold",)  # front matter is not a heading
    inventory = "\n".join(f"item {i} shelf {i % 7} count {i * 3}" for i in range(400)) + "\n"
    document, found = read(tmp_path, "inventory.txt", inventory)
    assert len(found) > 10 and max(map(len, found)) <= 1000  # no quote runs to pages
    assert all(document.text[document.text.index(s):].startswith(s) for s in found)
    paged = "First page text here.\n\x0cSecond page, after a form feed.\n\nA last paragraph.\n"
    document, found = read(tmp_path, "paged.txt", paged)
    assert "A last paragraph." in found and document.text == paged


def test_html_heading_keeps_a_hash_that_is_part_of_its_name(tmp_path):
    document, _ = read(tmp_path, "c.html", "<main><h2>C#<a class='headerlink' href='#c'>¶</a></h2><p>A language.</p></main>")
    assert section_of(document, "A language") == ("C#",)


def test_more_edge_cases_found_in_review(tmp_path):
    import docx

    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Outer"
    table.rows[0].cells[1].add_table(rows=1, cols=1).rows[0].cells[0].text = "Nested value 42"
    out = io.BytesIO()
    document.save(out)
    assert read(tmp_path, "nested.docx", out.getvalue())[1] == ["Outer | Nested value 42"]  # a nested table's text is kept
    assert read(tmp_path, "pre.html", "<main><pre>line one<br>line two</pre></main>")[1] == ["line one\nline two"]
    title_page = pdf_pages([["Annual Report", "2019", "The company grew by a third over the year, its best result since it was founded."]])
    assert "2019" in read(tmp_path, "report.pdf", title_page)[0].text  # a year on a one-page PDF is no page number
