"""PDF reader modes: fast (PDFium text), layout (pdfplumber, tables as " | " rows), auto (fast unless a page has rules)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _pdf import latin1_safe, text_to_pdf
from fpdf import FPDF

import pipeline.ingest.pdf as pdf_reader
from pipeline.ingest import ReadError, read_document
from pipeline.ingest.pdf import extract_pages, pdf_mode, read_pdf

RAW = Path(__file__).resolve().parents[1] / "raw_docs"
TABLE_ROWS = (("HCPCS Code", "Usual Maximum Amount"), ("A4604", "1 per 3 months"), ("A7028", "2 per 1 month"))


def _blocks(data: bytes, mode: str) -> list[tuple[str, int | None]]:
    return [(block.text, block.level) for block in read_pdf(data, mode).blocks]


def _text_and_table_pdf() -> bytes:
    """Page 1 prose, page 2 a ruled table between two sentences, page 3 prose."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    pdf.multi_cell(0, 5, "Indications\nTENS is covered for chronic pain of at least 3 months.", new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.multi_cell(0, 5, "The following table represents the usual maximum amount of accessories:", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    with pdf.table(col_widths=(40, 60), first_row_as_headings=False) as table:
        for row in TABLE_ROWS:
            table.row(row)
    pdf.ln(3)
    pdf.multi_cell(0, 5, "Quantities above these amounts will be denied.", new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.multi_cell(0, 5, "Limitations\nTENS is not covered for acute post-operative pain after 30 days.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


@pytest.mark.parametrize("source", ["IVIG-OFFLABEL/2.txt", "L40187/3.txt", "L34648/31.json", "A56781/34.txt"])
def test_pdf_fast_auto_and_layout_modes_read_the_same_blocks(source):
    path = RAW / source
    text = path.read_text(encoding="utf-8") if path.suffix == ".txt" else read_document(path, RAW).text
    data = text_to_pdf(latin1_safe(text))
    layout = _blocks(data, "layout")
    assert len(layout) > 20
    assert _blocks(data, "fast") == layout
    assert _blocks(data, "auto") == layout


def test_a56781_tab_separated_codes_read_as_spaces_in_every_mode():
    data = text_to_pdf(latin1_safe((RAW / "A56781" / "34.txt").read_text(encoding="utf-8")))
    for mode in ("fast", "layout"):
        lines = [text for text, _ in _blocks(data, mode)]
        assert "A18.84 Tuberculosis of heart" in lines and not any("(cid:" in line for line in lines)


def test_pdf_auto_mode_sends_only_the_ruled_page_to_pdfplumber(monkeypatch):
    calls: list[list[int] | None] = []
    original = pdf_reader.layout_pages

    def spy(data, numbers=None):
        calls.append(numbers)
        return original(data, numbers)

    monkeypatch.setattr(pdf_reader, "layout_pages", spy)
    lines = [text for text, _ in _blocks(_text_and_table_pdf(), "auto")]
    assert calls == [[1]]
    assert lines == [
        "Indications",
        "TENS is covered for chronic pain of at least 3 months.",
        "The following table represents the usual maximum amount of accessories:",
        "HCPCS Code | Usual Maximum Amount",
        "A4604 | 1 per 3 months",
        "A7028 | 2 per 1 month",
        "Quantities above these amounts will be denied.",
        "Limitations",
        "TENS is not covered for acute post-operative pain after 30 days.",
    ]


def test_pdf_fast_mode_keeps_table_cells_as_plain_lines():
    lines = [text for text, _ in _blocks(_text_and_table_pdf(), "fast")]
    assert "HCPCS Code Usual Maximum Amount" in lines and "A4604 1 per 3 months" in lines
    assert not any("|" in line for line in lines)


def test_pdf_pages_without_rules_never_reach_pdfplumber(monkeypatch):
    monkeypatch.setattr(pdf_reader, "layout_pages", lambda *a, **k: pytest.fail("pdfplumber used on a text-only PDF"))
    data = text_to_pdf(latin1_safe((RAW / "IVIG-OFFLABEL" / "2.txt").read_text(encoding="utf-8")))
    assert len(extract_pages(data, "auto")) >= 3


def test_pdf_mode_comes_from_the_environment(monkeypatch, tmp_path):
    assert pdf_mode() == "auto"
    monkeypatch.setenv("LCD_PDF_MODE", "layout")
    assert pdf_mode() == "layout" and pdf_mode("fast") == "fast"
    monkeypatch.setenv("LCD_PDF_MODE", "fast")
    path = tmp_path / "table.pdf"
    path.write_bytes(_text_and_table_pdf())
    assert "A4604 1 per 3 months" in read_document(path).text.split("\n")
    with pytest.raises(ValueError, match="PDF mode must be one of auto, fast, layout"):
        pdf_mode("quick")


@pytest.mark.parametrize("mode", ["fast", "auto", "layout"])
def test_encrypted_pdf_is_an_encrypted_error_in_every_mode(mode):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, "Indications\nCovered when criteria are met.")
    pdf.set_encryption(owner_password="owner", user_password="secret")
    with pytest.raises(ReadError) as caught:
        read_pdf(bytes(pdf.output()), mode)
    assert (caught.value.error_type, str(caught.value)) == ("encrypted", "PDF is encrypted (password required)")


@pytest.mark.parametrize("mode", ["fast", "auto", "layout"])
def test_corrupt_pdf_is_a_parse_error_in_every_mode(mode):
    with pytest.raises(ReadError) as caught:
        read_pdf(b"%PDF-1.4\nthis is not a pdf body\n%%EOF\n", mode)
    assert caught.value.error_type == "parse" and str(caught.value).startswith("corrupt PDF")


@pytest.mark.parametrize("mode", ["fast", "auto"])
def test_pdf_without_text_is_a_no_text_error_in_fast_modes(mode):
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 80, 40)
    with pytest.raises(ReadError) as caught:
        read_pdf(bytes(pdf.output()), mode)
    assert (caught.value.error_type, str(caught.value)) == ("no_text", "PDF has no extractable text")
