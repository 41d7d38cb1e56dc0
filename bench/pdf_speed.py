"""PDF reader speed: pages/s of pdfplumber, pypdfium2 and the default reader mode on a 50-page LCD-like PDF.

Not a test: run `make bench-pdf` (or `.venv/bin/python bench/pdf_speed.py [--pages N] [--repeat N]`).
The PDF is typeset with fpdf2 from the shipped LCD texts (raw_docs), printed-LCD style (running header,
"Page N of M" footer, wrapped paragraphs and nested lists), with a ruled dose table every few pages.
Each measurement runs in a fresh subprocess so its peak RSS (ru_maxrss, C allocations of pdfium
included) is its own; wall and CPU time are each the best of --repeat runs (CPU time is the steadier
figure on a busy machine: every variant is single-threaded).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.paths import RAW_DOCS  # the shipped documents of the checkout

LATIN1_SAFE = str.maketrans({"–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "≥": ">=", "≤": "<=", "•": "-"})
DOSE_TABLE = (
    ("Indication", "Dose", "Frequency"),
    ("Chronic inflammatory demyelinating polyneuropathy", "2 g/kg divided over 2-5 days", "induction"),
    ("Chronic inflammatory demyelinating polyneuropathy", "1 g/kg", "every 3 weeks"),
    ("Multifocal motor neuropathy", "0.4-2 g/kg", "every 2-6 weeks"),
    ("Immune thrombocytopenia", "1 g/kg", "daily for 1-2 days"),
    ("Stiff person syndrome", "2 g/kg divided over 2-5 days", "monthly"),
)
MEASURES = {
    "pdfplumber (reader, mode=layout)": ("reader", "layout"),
    "pypdfium2 (reader, mode=fast)": ("reader", "fast"),
    "default reader (mode=auto)": ("reader", None),
    "pdfplumber extract_text only": ("raw", "pdfplumber"),
    "pypdfium2 get_text_range only": ("raw", "pypdfium2"),
}


def corpus_texts() -> list[str]:
    """The shipped LCDs as plain text (txt as written, other formats as the reader normalises them)."""
    from pipeline.ingest import read_document

    texts = []
    for path in sorted(RAW_DOCS.glob("*/*")):
        if path.suffix == ".txt":
            texts.append(path.read_text(encoding="utf-8"))
        elif path.suffix == ".json":
            texts.append(read_document(path, RAW_DOCS).text)
    return [text.translate(LATIN1_SAFE).encode("latin-1", "replace").decode("latin-1") for text in texts]


def build_pdf(pages: int) -> bytes:
    """An LCD-like PDF of exactly `pages` pages (text from the corpus, a ruled dose table every 8 pages)."""
    from fpdf import FPDF

    class PrintedLcd(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, "Local Coverage Determination - printed copy", new_x="LMARGIN", new_y="NEXT")
            self.ln(4)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = PrintedLcd(format="Letter")
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    next_table = 2
    lines = [line for text in corpus_texts() for line in text.split("\n")]
    for raw in lines * 4:
        if pdf.page_no() >= pages and pdf.get_y() > pdf.h - 45:
            break
        if pdf.page_no() >= next_table and pdf.page_no() < pages:
            next_table += 8
            pdf.ln(3)
            with pdf.table(col_widths=(90, 50, 35), first_row_as_headings=True) as table:
                for row in DOSE_TABLE:
                    table.row(row)
            pdf.ln(3)
        if not raw.strip():
            pdf.ln(4.5)
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        pdf.set_x(pdf.l_margin + indent * 2)
        pdf.multi_cell(0, 4.5, raw.strip(), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2.5)
    return bytes(pdf.output())


def run_once(kind: str, variant: str | None, data: bytes) -> int:
    """One read of the PDF; returns the number of output lines (so the work cannot be skipped)."""
    if kind == "reader":
        from pipeline.ingest.pdf import read_pdf

        return len(read_pdf(data, variant).blocks)
    if variant == "pdfplumber":
        import io

        import pdfplumber

        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return sum(len(page.extract_text_lines(return_chars=False)) for page in pdf.pages)
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        count = 0
        for page in document:
            textpage = page.get_textpage()
            count += textpage.get_text_range().count("\n")
            textpage.close()
            page.close()
        return count
    finally:
        document.close()


def child(label: str, path: str, repeat: int) -> None:
    """Measure one variant in this (fresh) process and print the result as JSON."""
    kind, variant = MEASURES[label]
    data = Path(path).read_bytes()
    import pdfplumber  # noqa: F401  (imports are not part of the measurement)
    import pypdfium2  # noqa: F401

    import pipeline.ingest.pdf  # noqa: F401

    base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    best = best_cpu = float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        run_once(kind, variant, data)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": best, "cpu_seconds": best_cpu, "base_kib": base_kib, "peak_kib": peak_kib}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("LABEL", "PDF"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.repeat)
        return
    import pypdfium2

    data = build_pdf(args.pages)
    pages = len(pypdfium2.PdfDocument(data))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lcd-bench.pdf"
        path.write_bytes(data)
        print(f"{pages}-page LCD-like PDF ({len(data) / 1024:.0f} KiB, ruled tables every 8 pages); best of {args.repeat} runs")
        print(f"{'variant':36} {'seconds':>8} {'pages/s':>8} {'CPU pages/s':>12} {'peak RSS':>9} {'RSS growth':>11}")
        for label in MEASURES:
            out = subprocess.run(
                [sys.executable, __file__, "--child", label, str(path), "--repeat", str(args.repeat)],
                check=True, capture_output=True, text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            peak, growth = result["peak_kib"] / 1024, (result["peak_kib"] - result["base_kib"]) / 1024
            rates = f"{pages / result['seconds']:8.1f} {pages / result['cpu_seconds']:12.1f}"
            print(f"{label:36} {result['seconds']:8.2f} {rates} {peak:6.0f} MB {growth:8.0f} MB")


if __name__ == "__main__":
    main()
