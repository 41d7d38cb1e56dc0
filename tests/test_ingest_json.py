"""Coverage API / MCD record reader on the shipped real records and a synthetic API envelope."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from pipeline.ingest import ReadError, read_document

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / "raw_docs"
FIXTURES = REPO / "tests" / "fixtures" / "ingest"


def _lines(doc) -> list[str]:
    return doc.text.split("\n")


def _kind_at(doc, needle: str) -> str:
    return doc.section_at(doc.text.index(needle)).kind


def test_l34648_record_meta_and_header_lines():
    doc = read_document(RAW / "L34648" / "31.json", RAW)
    assert (doc.lcd_id, doc.version, doc.source_format) == ("L34648", "31", "json")
    assert doc.meta.title == "Bisphosphonate Drug Therapy" and doc.meta.document_type == "LCD"
    assert doc.meta.contractor == "WPS Insurance Corporation (MAC - Part A, MAC - Part B)"
    assert doc.text.startswith("LCD ID: L34648\nLCD Version: 31\nTitle: Bisphosphonate Drug Therapy\n")


def test_l34648_fields_become_sections_and_policy_subheadings_split():
    doc = read_document(RAW / "L34648" / "31.json", RAW)
    assert [(s.name, s.kind, s.heading) for s in doc.sections] == [
        ("preamble", "other", ""),
        ("cms_national_coverage_policy", "other", "CMS National Coverage Policy"),
        ("coverage_indications", "policy", "Coverage Indications, Limitations, and/or Medical Necessity"),
        ("background", "evidence", "History/Background/and/or General Information"),
        ("covered_indications", "policy", "Covered Indications"),
    ]
    # The WHO T-score definitions are background; the coverage list is policy.
    assert _kind_at(doc, "T-score less than or equal to -2.5") == "evidence"
    repeated = "T-scores equal to or worse than -2.5) at the lumbar spine"  # in the background, then in the policy list
    assert doc.section_at(doc.text.index(repeated)).kind == "evidence"
    assert doc.section_at(doc.text.rindex(repeated)).kind == "policy"


def test_l34648_reference_sups_do_not_glue_to_text():
    text = read_document(RAW / "L34648" / "31.json", RAW).text
    assert "<sup>" not in text and "</" not in text
    assert "as noted below.\n" in text and "as noted below.1" not in text
    assert "increased fracture risk.\n" in text and "risk.2,3" not in text
    assert "National Osteoporosis Foundation (NOF) recommend" in text  # "(NOF)<sup>1</sup> recommend"


def test_l34648_summary_table_rows_join_cells_with_pipes():
    lines = _lines(read_document(RAW / "L34648" / "31.json", RAW))
    assert "Drug | Ibandronate (Boniva)* | Pamidronate (Aredia)* | Zoledronic Acid (Reclast)*" in lines
    assert "Osteoporosis | X | X | X" in lines
    assert "Osteogenesis Imperfecta | | X |" in lines  # empty cells keep the columns aligned


def test_l34648_ordered_items_carry_their_numbers_and_nest():
    lines = _lines(read_document(RAW / "L34648" / "31.json", RAW))
    assert "- 1. Osteoporosis and Osteopenia" in lines
    assert "- 9. Discontinuation of Denosumab (Prolia/Xgeva) Therapy" in lines
    assert "  - Coverage: zoledronic acid" in lines


def test_l38213_double_escaped_comparators_and_sup_after_numbers():
    text = read_document(RAW / "L38213" / "11.json", RAW).text
    assert "Acute (< 6 weeks) or subacute (6-12 weeks)" in text
    assert "pain score ≥ 8) or is non-hospitalized" in text  # "&amp;ge; 8)<sup>4-7</sup>&nbsp;<strong>or"
    assert "(NRS or VAS ≥ 5)" in text
    assert "    - >25% vertebral body height reduction" in text.split("\n")


def test_l33800_accessory_quantity_table():
    doc = read_document(RAW / "L33800" / "43.json", RAW)
    lines = _lines(doc)
    assert "HCPCS Code | Usual Maximum Amount" in lines
    assert "A4604 | 1 per 3 months" in lines and "A7046 | 1 per 6 months" in lines
    assert _kind_at(doc, "A4604 | 1 per 3 months") == "policy"
    assert doc.meta.contractor == "CGS Administrators, LLC (DME MAC); Noridian Healthcare Solutions, LLC (DME MAC)"


def test_l33800_definitions_at_the_top_of_the_policy_field_keep_it_policy():
    doc = read_document(RAW / "L33800" / "43.json", RAW)
    assert [s.name for s in doc.sections] == ["preamble", "cms_national_coverage_policy", "coverage_indications"]


def test_l33612_plain_text_field_is_read_as_text():
    doc = read_document(RAW / "L33612" / "26.json", RAW)
    assert "\nCMS National Coverage Policy\nCMS Manual System, Pub. 100.03, Medicare National Coverage" in doc.text


def test_ncd_30_3_3_record():
    doc = read_document(RAW / "NCD30.3.3" / "1.json", RAW)
    assert (doc.lcd_id, doc.version) == ("NCD30.3.3", "1")
    assert doc.meta.lcd_id == "NCD30.3.3" and doc.meta.document_type == "NCD"
    assert doc.meta.effective_date == date(2020, 1, 21)
    assert "Up to 12 visits in 90 days are covered" in doc.text
    assert "  - Lasting 12 weeks or longer;" in _lines(doc)
    assert "- No more than 20 acupuncture treatments may be administered annually" in _lines(doc)
    assert [(s.name, s.kind) for s in doc.sections] == [
        ("preamble", "other"),
        ("item_service_description", "other"),
        ("indications_and_limitations", "policy"),
        ("nationally_covered_indications", "policy"),
        ("nationally_non_covered_indications", "policy"),
    ]
    assert "42 CFR §§ 410.26" in doc.text  # NCD html is escaped once: &#167; decodes to §


def test_loose_ncd_record_gets_its_id_from_the_record(tmp_path):
    target = tmp_path / "acupuncture.json"
    shutil.copy(RAW / "NCD30.3.3" / "1.json", target)
    doc = read_document(target, tmp_path)
    assert (doc.lcd_id, doc.version) == ("NCD30.3.3", "1")


def test_envelope_record_decodes_double_escaped_entities_exactly_once():
    text = read_document(FIXTURES / "envelope_lcd.json").text
    assert "Transfuse when Hb < 10 g/dL and pain score ≥ 8." in text
    assert "AT&T is not a tag: <b> stays literal." in text
    assert "Title XVIII of the Social Security Act, §1862(a)(1)(A)." in text
    assert "- Dose 0.4 g/kg daily for 5 days" in text.split("\n")


def test_envelope_record_meta_from_lcd_csv_style_fields():
    doc = read_document(FIXTURES / "envelope_lcd.json")
    assert (doc.lcd_id, doc.version) == ("L99998", "4")
    assert doc.meta.effective_date == date(2024, 3, 1)
    assert doc.meta.original_effective_date == date(2015, 10, 1)
    assert doc.meta.contractor == (
        "Palmetto GBA (MAC - Part A, MAC - Part B); Noridian Healthcare Solutions, LLC (MAC - Part A, MAC - Part B)"
    )


def test_envelope_record_sub_headings_only_split_the_policy_field():
    doc = read_document(FIXTURES / "envelope_lcd.json")
    assert [(s.name, s.kind) for s in doc.sections] == [
        ("preamble", "other"),
        ("cms_national_coverage_policy", "other"),
        ("coverage_indications", "policy"),
        ("covered_indications", "policy"),  # "Definitions" (other) inside the field opened nothing
        ("summary_of_evidence", "evidence"),  # its "Limitations" line stays evidence
        ("bibliography", "other"),
    ]
    assert _kind_at(doc, "AT&T is not a tag") == "policy"
    assert _kind_at(doc, "Small trials only.") == "evidence"


@pytest.mark.parametrize(
    ("content", "error_type", "message"),
    [
        ('{"title": "x",', "parse", "malformed JSON: Expecting property name enclosed in double quotes at line 1"),
        ('{"document_display_id": "L1", "title": "Empty", "indication": "  "}', "no_text", "JSON record has no policy text fields"),
        ('{"meta": {}, "data": [{}, {}]}', "parse", "JSON holds 2 records; expected exactly one per file"),
        ('"just a string"', "parse", "JSON record is a str, not an object"),
        ("", "empty", "empty file"),
    ],
    ids=["malformed", "field-less", "two-records", "not-an-object", "empty"],
)
def test_bad_json_raises_read_error(tmp_path, content, error_type, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReadError) as caught:
        read_document(path)
    assert caught.value.error_type == error_type and str(caught.value).startswith(message)


def test_one_element_array_is_accepted(tmp_path):
    record = json.loads((RAW / "NCD30.3" / "2.json").read_text(encoding="utf-8"))
    path = tmp_path / "array.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    assert read_document(path).lcd_id == "NCD30.3"
