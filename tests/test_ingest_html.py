"""HTML reader: an MCD-like page built from the real L33800 record, and a synthetic page for the markup rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.ingest import ReadError, read_document
from pipeline.ingest.markup import render_html, sup_replacement

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / "raw_docs"
FIXTURES = REPO / "tests" / "fixtures" / "ingest"
L33800_PAGE = FIXTURES / "L33800.html"
SYNTHETIC = FIXTURES / "synthetic_markup.html"


def _lines(path: Path) -> list[str]:
    return read_document(path).text.split("\n")


def test_l33800_page_drops_script_style_and_title():
    text = read_document(L33800_PAGE).text
    for leaked in ("dataLayer", "trackPageView", "font-family", "LCD - Respiratory Assist Devices (L33800)"):
        assert leaked not in text


def test_l33800_page_header_metadata():
    doc = read_document(L33800_PAGE)
    assert doc.source_format == "html" and (doc.lcd_id, doc.version) == ("L33800", "1")
    assert doc.meta.title == "Respiratory Assist Devices"
    assert doc.meta.contractor == "CGS Administrators, LLC (DME MAC); Noridian Healthcare Solutions, LLC (DME MAC)"


def test_l33800_page_sections_from_headings():
    doc = read_document(L33800_PAGE)
    assert [(s.name, s.kind) for s in doc.sections] == [
        ("preamble", "other"),
        ("cms_national_coverage_policy", "other"),
        ("coverage_indications", "policy"),
    ]
    # The bold "DEFINITIONS" at the top of the coverage text is a minor heading: still policy after it.
    assert doc.section_at(doc.text.index("HCPCS Code | Usual Maximum Amount")).kind == "policy"


def test_l33800_page_policy_text_equals_the_json_record_text():
    page = read_document(L33800_PAGE).text
    record = read_document(RAW / "L33800" / "43.json", RAW).text
    heading = "Coverage Indications, Limitations, and/or Medical Necessity\n"
    assert page[page.index(heading) :] == record[record.index(heading) :]


def test_underlined_comparators_become_inequality_signs():
    lines = _lines(SYNTHETIC)
    assert "Hemoglobin ≤ 10 g/dL and platelets ≥ 50,000/mcL." in lines
    assert "Not covered when IgG ≥ 400 mg/dL." in lines


def test_reference_sups_are_dropped_and_exponents_kept():
    lines = _lines(SYNTHETIC)
    assert "Give 2 units/kg once daily for 5 days." in lines  # not "daily20", not "days.3,4"
    assert "Treat for 6 weeks before re-evaluation." in lines
    assert "Body surface area above 1.9 m2; ANC below 1.5 x 10^9/L; the 1st infusion." in lines


def test_ordered_list_markers_nesting_and_empty_wrapper_items():
    lines = _lines(SYNTHETIC)
    start = lines.index("Covered criteria")
    assert lines[start + 1 : start + 6] == [
        "- a. first criterion",
        "- b. second criterion",
        "  - nested point",
        "    - deeper point",
        "- 3. third, numbered from start=3",
    ]


def test_br_tables_nbsp_and_zero_width():
    lines = _lines(SYNTHETIC)
    assert "Line one" in lines and "Line two with zero width" in lines
    assert "Code | Limit" in lines and "A1234 | 1 per month" in lines


def test_synthetic_page_label_value_metadata():
    doc = read_document(SYNTHETIC)
    assert (doc.meta.lcd_id, doc.meta.title) == ("L99999", "Synthetic Markup Test")
    assert doc.meta.effective_date == date(2024, 3, 1)
    assert doc.meta.original_effective_date == date(2015, 10, 1)
    assert [(s.name, s.kind) for s in doc.sections][1:] == [("coverage_indications", "policy"), ("limitations", "policy")]


@pytest.mark.parametrize(
    ("content", "before", "expected"),
    [
        ("20", "units/kg once daily", "\ue000"),
        ("2,3", "risk.", "\ue000"),
        ("1-3, 10,25,27", "uptake)", "\ue000"),
        ("[4]", "trials", "\ue000"),
        ("2", "kg/m", "2"),
        ("9", "1.5 x 10", "^9"),
        ("st", "1", "st"),
        ("®", "Sandostatin", "®"),
    ],
)
def test_sup_replacement_rule(content, before, expected):
    assert sup_replacement(content, before) == expected


def test_dropped_sup_between_words_leaves_a_space():
    blocks = render_html("<p>see trial<sup>4</sup>results and risk<sup>5</sup>.</p>").blocks
    assert [b.text for b in blocks] == ["see trial results and risk."]


def test_raw_unescaped_underlined_less_than():
    blocks = render_html("<p>IgG <u><</u> 400 mg/dL</p>").blocks
    assert [b.text for b in blocks] == ["IgG ≤ 400 mg/dL"]


def test_declared_windows_1252_page_is_decoded(tmp_path):
    # cp1252 bytes 0x92 (’) and 0x96 (–) decode to those characters (latin-1 would make them control
    # characters, dropped); the normalised text then straightens the apostrophe and keeps the dash.
    page = '<html><head><meta charset="windows-1252"></head><body><p>Patient\u2019s IgG \u2013 caf\u00e9</p></body></html>'
    path = tmp_path / "page.htm"
    path.write_bytes(page.encode("cp1252"))
    assert read_document(path).text == "Patient's IgG – café\n"


def test_html_without_text_is_a_read_error(tmp_path):
    path = tmp_path / "blank.html"
    path.write_text("<html><head><script>var x = 1;</script></head><body> </body></html>", encoding="utf-8")
    with pytest.raises(ReadError) as caught:
        read_document(path)
    assert (caught.value.error_type, str(caught.value)) == ("no_text", "HTML has no text content")
