"""Compare PDF text extractors on real PDFs: speed, and words recovered against poppler's pdftotext.

Run from the project root: .venv/bin/python benchmarks/readers/pdf_compare.py [PDF ...]
(default: the PDFs of evals/corpus/docs). Needs pdfplumber (pip install pdfplumber, which brings
pdfminer.six) and Debian's poppler-utils for the reference text. Prints one row per extractor:
seconds per page, and the share of the reference's words (multiset) each one finds ("recall") and
of its own words the reference has ("precision"): words run together or split apart lower both.
"""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

logging.disable(logging.WARNING)
_WORD = re.compile(r"\w+")


def pypdf_plain(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages]


def pypdf_layout(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text(extraction_mode="layout") or "" for p in PdfReader(io.BytesIO(data)).pages]


def pdfplumber_text(data: bytes) -> list[str]:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [p.extract_text() or "" for p in pdf.pages]


def pdfminer_boxes(data: bytes) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextBox

    return ["\n\n".join(b.get_text() for b in page if isinstance(b, LTTextBox)) for page in extract_pages(io.BytesIO(data), laparams=LAParams())]


def assistant_reader(data: bytes) -> list[str]:
    from assistant.readers.pdf import read_pdf

    return [read_pdf(data).text]


EXTRACTORS = {
    "pypdf plain": pypdf_plain, "pypdf layout": pypdf_layout, "pdfplumber": pdfplumber_text,
    "pdfminer.six boxes": pdfminer_boxes, "assistant (pypdf plain + unwrapping)": assistant_reader,
}


def words(text: str) -> Counter:
    return Counter(w.lower() for w in _WORD.findall(text))


def main(paths: list[Path]) -> None:
    totals = {name: [0.0, 0, 0, 0, 0] for name in EXTRACTORS}  # seconds, pages, common, reference, own
    for path in paths:
        data = path.read_bytes()
        reference = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
        ref_words = words(reference)
        pages = reference.count("\f") or 1
        print(f"{path.name}: {pages} pages, {sum(ref_words.values())} reference words")
        for name, extract in EXTRACTORS.items():
            started = time.perf_counter()
            text = "\n".join(extract(data))
            seconds = time.perf_counter() - started
            own = words(text)
            common = sum((own & ref_words).values())
            row = totals[name]
            row[0] += seconds
            row[1] += pages
            row[2] += common
            row[3] += sum(ref_words.values())
            row[4] += sum(own.values())
            recall, precision = common / max(sum(ref_words.values()), 1), common / max(sum(own.values()), 1)
            print(f"  {name:38s} {1000 * seconds / pages:6.1f} ms/page  recall {recall:.3f}  precision {precision:.3f}")
    print("\n| extractor | ms per page | word recall | word precision |\n|---|---|---|---|")
    for name, (seconds, pages, common, reference, own) in totals.items():
        print(f"| {name} | {1000 * seconds / pages:.1f} | {common / reference:.3f} | {common / own:.3f} |")


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or sorted(Path("evals/corpus/docs").glob("*.pdf")))
