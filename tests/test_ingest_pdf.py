"""PDF reader on PDFs generated in the test (fpdf2) from shipped texts, plus damaged/encrypted PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest
from _pdf import RUNNING_HEADER, latin1_safe, text_to_pdf
from fpdf import FPDF

from pipeline.ingest import ReadError, read_document
from pipeline.ingest.pdf import glue

RAW = Path(__file__).resolve().parents[1] / "raw_docs"


def _pdf_and_txt(tmp_path: Path, source: Path) -> tuple[Path, Path]:
    text = latin1_safe(source.read_text(encoding="utf-8"))
    txt, pdf = tmp_path / "ref.txt", tmp_path / "printed.pdf"
    txt.write_text(text, encoding="utf-8")
    pdf.write_bytes(text_to_pdf(text))
    return pdf, txt


def _non_blank(text: str) -> list[str]:
    return [line for line in text.split("\n") if line]


@pytest.fixture(scope="module")
def ivig_pair(tmp_path_factory) -> tuple[Path, Path]:
    return _pdf_and_txt(tmp_path_factory.mktemp("ivig"), RAW / "IVIG-OFFLABEL" / "2.txt")


@pytest.mark.parametrize("source", ["IVIG-OFFLABEL/2.txt", "L40187/3.txt"])
def test_pdf_of_a_shipped_text_reads_back_to_the_same_lines_and_sections(tmp_path, source):
    pdf, txt = _pdf_and_txt(tmp_path, RAW / source)
    from_pdf, from_txt = read_document(pdf), read_document(txt)
    assert from_pdf.source_format == "pdf"
    # Blank lines are layout, not content: the PDF reader emits none.
    assert _non_blank(from_pdf.text) == _non_blank(from_txt.text)
    assert [(s.name, s.kind, s.heading) for s in from_pdf.sections] == [
        (s.name, s.kind, s.heading) for s in from_txt.sections
    ]
    assert from_pdf.meta == from_txt.meta


def test_pdf_wrapped_paragraphs_and_list_items_are_rejoined(ivig_pair):
    lines = read_document(ivig_pair[0]).text.split("\n")
    assert "- Laboratory proven hypogammaglobulinemia with IgG levels <400 mg/dl." in lines
    long_item = next(line for line in lines if line.startswith("- Hematopoetic Stem Cell Transplantation (HSCT) - IVIG"))
    assert long_item.endswith("independent of the source of stem cells.")


def test_pdf_running_header_and_page_numbers_are_dropped(ivig_pair):
    text = read_document(ivig_pair[0]).text
    assert RUNNING_HEADER not in text and "Page 1 of" not in text


def test_pdf_ruled_table_rows_are_joined_with_pipes(tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, "The following table represents the usual maximum amount of accessories:", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    with pdf.table(col_widths=(40, 60), first_row_as_headings=False) as table:
        for row in (("HCPCS Code", "Usual Maximum Amount"), ("A4604", "1 per 3 months"), ("A7028", "2 per 1 month")):
            table.row(row)
    pdf.ln(3)
    pdf.multi_cell(0, 5, "Quantities above these amounts will be denied.", new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "table.pdf"
    path.write_bytes(bytes(pdf.output()))
    assert read_document(path).text.split("\n") == [
        "The following table represents the usual maximum amount of accessories:",
        "HCPCS Code | Usual Maximum Amount",
        "A4604 | 1 per 3 months",
        "A7028 | 2 per 1 month",
        "Quantities above these amounts will be denied.",
        "",
    ]


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("the treat-", "ment is covered", "the treatment is covered"),
        ("Stiff-", "person syndrome", "Stiff- person syndrome"),
        ("(GVHD)-", "There is", "(GVHD)- There is"),
        ("when the", "patient", "when the patient"),
    ],
)
def test_line_break_hyphens_are_removed_only_between_lower_case_fragments(left, right, expected):
    assert glue(left, right) == expected


def test_truncated_pdf_is_a_parse_error(tmp_path, ivig_pair):
    data = ivig_pair[0].read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError) as caught:
        read_document(path)
    assert (caught.value.error_type, str(caught.value)) == ("parse", "truncated PDF (no %%EOF trailer)")


def test_corrupt_pdf_is_a_parse_error(tmp_path):
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not a pdf body\n%%EOF\n")
    with pytest.raises(ReadError) as caught:
        read_document(path)
    assert caught.value.error_type == "parse" and str(caught.value).startswith("corrupt PDF")


def test_not_a_pdf_is_a_parse_error(tmp_path):
    path = tmp_path / "fake.pdf"
    path.write_text("Indications\nThis is plain text with a .pdf name.\n", encoding="utf-8")
    with pytest.raises(ReadError) as caught:
        read_document(path)
    assert (caught.value.error_type, str(caught.value)) == ("parse", "not a PDF (no %PDF- header)")


def test_encrypted_pdf_is_an_encrypted_error(tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, "Indications\nCovered when criteria are met.")
    pdf.set_encryption(owner_password="owner", user_password="secret")
    path = tmp_path / "encrypted.pdf"
    path.write_bytes(bytes(pdf.output()))
    with pytest.raises(ReadError) as caught:
        read_document(path)
    assert (caught.value.error_type, str(caught.value)) == ("encrypted", "PDF is encrypted (password required)")


def test_pdf_without_text_is_a_no_text_error(tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 80, 40)  # a drawing, like a scanned page without a text layer
    path = tmp_path / "scan.pdf"
    path.write_bytes(bytes(pdf.output()))
    with pytest.raises(ReadError) as caught:
        read_document(path)
    assert (caught.value.error_type, str(caught.value)) == ("no_text", "PDF has no extractable text")
