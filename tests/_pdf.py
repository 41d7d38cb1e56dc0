"""Typesetting plain text as a printed-LCD PDF with fpdf2, for tests that read PDFs back."""

from __future__ import annotations

from fpdf import FPDF

# fpdf2's core fonts are latin-1 only: the PDF and the reference .txt both get these replacements.
LATIN1_SAFE = str.maketrans({"–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "≥": ">=", "≤": "<=", "•": "-"})
RUNNING_HEADER = "Local Coverage Determination - printed copy"


class _PrintedLcd(FPDF):
    """A Letter page with a running header and a "Page N of M" footer, like a printed MCD page."""

    def header(self) -> None:
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, RUNNING_HEADER, new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")


def latin1_safe(text: str) -> str:
    """`text` with the typographic characters fpdf2's core fonts cannot encode replaced."""
    return text.translate(LATIN1_SAFE)


def text_to_pdf(text: str) -> bytes:
    """Typeset plain text: one multi_cell per line, leading spaces as indentation, a gap after paragraphs."""
    pdf = _PrintedLcd(format="Letter")
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for raw in text.split("\n"):
        if not raw.strip():
            pdf.ln(4.5)
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        pdf.set_x(pdf.l_margin + indent * 2)
        pdf.multi_cell(0, 4.5, raw.strip(), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2.5)
    return bytes(pdf.output())
