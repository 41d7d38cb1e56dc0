"""The same expectations hold whichever reader the document comes through: Coverage API JSON vs. an MCD
HTML page of the same record, plain text vs. a printed PDF of it."""

from __future__ import annotations

import html
import json

import pytest

from pipeline.quality.scoring import match_expectation
from pipeline.extract import extract
from pipeline.ingest import read_document
from tests._pdf import latin1_safe, text_to_pdf
from tests.conftest import RAW_DOCS, REPO
from tests.test_extract_corpus import EXPECTATIONS, KNOWN_GAPS

MET = [e for e in EXPECTATIONS if e["id"] not in KNOWN_GAPS]


def _mcd_page(record: dict) -> str:
    """An MCD-like LCD page built from a Coverage API record: its fields' HTML (escaped twice in the
    record) under the page's section headings, with the page chrome a reader must ignore."""
    sections = [("CMS National Coverage Policy", "cms_cov_policy"), ("Coverage Indications, Limitations, and/or Medical Necessity", "indication")]
    body = "".join(f"<h2>{title}</h2>\n{html.unescape(record[field])}\n" for title, field in sections if record.get(field))
    return (
        "<!DOCTYPE html><html><head><title>LCD</title><script>var tracking = 'a < b';</script>"
        "<style>h2 { color: navy; }</style></head><body>\n"
        f"<h1>{html.escape(record['title'])}</h1>\n"
        f"<p>LCD ID: {record['document_display_id']}</p>\n<p>Contractor: {html.escape(record['contractor_name_type'])}</p>\n"
        f"{body}</body></html>"
    )


@pytest.mark.parametrize("lcd_id", ["L34648", "L38213", "L34528"])
def test_expectations_hold_through_the_html_reader(lcd_id, tmp_path):
    source = next((RAW_DOCS / lcd_id).glob("*.json"))
    page = tmp_path / lcd_id / f"{source.stem}.html"
    page.parent.mkdir()
    page.write_text(_mcd_page(json.loads(source.read_text())), encoding="utf-8")
    document = read_document(page, root=tmp_path)
    assert document.source_format == "html" and document.lcd_id == lcd_id
    extraction = extract(document)
    expectations = [e for e in MET if e["doc"] == f"raw_docs/{lcd_id}/{source.name}"]
    assert len(expectations) >= 5
    missed = [e["id"] for e in expectations if not match_expectation(extraction, e)]
    assert not missed


@pytest.mark.parametrize("expectation", [e for e in MET if e.get("also_pdf")], ids=lambda e: e["id"])
def test_expectations_hold_through_the_pdf_reader(expectation, tmp_path):
    source = REPO / expectation["doc"]
    text = latin1_safe(source.read_text(encoding="utf-8"))
    pdf = tmp_path / source.parent.name / f"{source.stem}.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(text_to_pdf(text))
    document = read_document(pdf, root=tmp_path)
    assert document.source_format == "pdf"
    assert match_expectation(extract(document), expectation), expectation["quote"]
