"""Plain-text reader: normalised text, sections, metadata and bad input, on the shipped .txt files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.ingest import ReadError, read_document

RAW = Path(__file__).resolve().parents[1] / "raw_docs"
IVIG = RAW / "IVIG-OFFLABEL" / "2.txt"


def _section_of(doc, needle: str):
    """The section holding the first occurrence of `needle`."""
    offset = doc.text.index(needle)
    return doc.section_at(offset)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_ivig_ngs_abstract_opens_the_policy_section():
    doc = read_document(IVIG, RAW)
    abstract = [s for s in doc.sections if s.heading == "NGS Abstract:"]
    assert len(abstract) == 1 and abstract[0].kind == "policy" and abstract[0].name == "abstract"
    assert _section_of(doc, "NGS has approved IVIG for the following off label uses:").kind == "policy"
    assert _section_of(doc, "- Stiff-person syndrome may be treated with IVIG").kind == "policy"


def test_ivig_section_sequence_and_kinds():
    doc = read_document(IVIG, RAW)
    assert [(s.name, s.kind, s.heading) for s in doc.sections] == [
        ("preamble", "other", ""),
        ("background", "evidence", "Background for this Policy"),
        ("summary_of_evidence", "evidence", "Summary Of Evidence"),
        ("analysis_of_evidence", "evidence", "Analysis of Evidence"),
        ("abstract", "policy", "NGS Abstract:"),
    ]


def test_ivig_condition_subheadings_stay_inside_evidence_sections():
    doc = read_document(IVIG, RAW)
    for condition in ("\nScleromyxedema\n", "\nChronic Graft versus Host Disease (GVHD)\n", "\nAutoimmune retinopathy\n"):
        section = _section_of(doc, condition)
        assert section.kind == "evidence", condition
    assert not any(s.heading == "Scleromyxedema" for s in doc.sections)


def test_ivig_sections_are_contiguous_and_start_at_their_heading_line():
    doc = read_document(IVIG, RAW)
    assert doc.sections[0].start == 0 and doc.sections[-1].end == len(doc.text)
    for before, after in zip(doc.sections, doc.sections[1:]):
        assert before.end == after.start
    for section in doc.sections[1:]:
        assert doc.text[section.start :].split("\n", 1)[0] == section.heading


def test_ivig_title_is_the_first_line_and_identity_comes_from_the_path():
    doc = read_document(IVIG, RAW)
    assert doc.meta.title == "CMS Off-Label Use of Intravenous Immune Globulin (IVIG) Form"
    assert (doc.lcd_id, doc.version, doc.source_format) == ("IVIG-OFFLABEL", "2", "txt")
    assert doc.meta.lcd_id is None


def test_ivig_list_items_stay_one_per_line_and_empty_bullets_vanish():
    lines = read_document(IVIG, RAW).text.split("\n")
    assert "- Laboratory proven hypogammaglobulinemia with IgG levels <400 mg/dl." in lines
    assert "- At least 100 days post transplant." in lines
    assert "- Maintenance Dose - 0.4 to 1.5 g/kg in single or divided doses monthly." in lines
    assert "-" not in lines and "- " not in lines


def test_ivig_unicode_is_kept_but_quotes_are_straightened():
    # pipeline/ingest/normalize.py: curly quotes and apostrophes become ' and "; other typographic
    # characters (the en and em dashes here) are kept.
    text = read_document(IVIG, RAW).text
    assert "days –7 and –2 pre-transplantation" in text
    assert "Intravenous immunoglobulin (Investigational approach) — There are" in text
    assert "Clarkson's Disease" in text and 'concluded that "Treatment guidelines' in text
    assert not set("\u2018\u2019\u201c\u201d") & set(text)


def test_l38841_header_lines_are_metadata_in_the_preamble():
    doc = read_document(RAW / "L38841" / "20.txt", RAW)
    assert doc.meta.lcd_id == "L38841" and doc.meta.version == "20"
    assert doc.meta.title == "Facet Joint Interventions for Pain Management"
    assert doc.meta.contractor == "WPS Insurance Corporation (MAC - Part A, MAC - Part B)"
    assert doc.meta.document_type == "LCD"
    preamble = doc.sections[0]
    assert preamble.name == "preamble" and doc.text[preamble.start : preamble.end].startswith("LCD ID: L38841\n")


def test_l38841_marked_headings_lose_their_equals_signs():
    doc = read_document(RAW / "L38841" / "20.txt", RAW)
    assert "===" not in doc.text
    assert [(s.name, s.kind) for s in doc.sections] == [
        ("preamble", "other"),
        ("cms_national_coverage_policy", "other"),
        ("coverage_indications", "policy"),
        ("limitations", "policy"),
        ("background", "evidence"),
    ]
    # "Definitions" inside the policy text is a minor heading: it does not turn policy into "other".
    assert _section_of(doc, "\nDefinitions\n").name == "limitations"


def test_l40187_lettered_and_roman_items_nest_by_indentation():
    lines = read_document(RAW / "L40187" / "3.txt", RAW).text.split("\n")
    assert any(line.startswith("- 6. The test has satisfactorily completed a Technical Assessment") for line in lines)
    assert any(line.startswith("  - a. Clinical validity (CV) of any novel analytes") for line in lines)
    assert any(line.startswith("    - i. If the test relies on an algorithm") for line in lines)
    assert any(line.startswith("    - ii. The test must demonstrate equivalent") for line in lines)


def test_l40244_background_inside_coverage_text_is_evidence_until_coverage():
    doc = read_document(RAW / "L40244" / "4.txt", RAW)
    assert [(s.name, s.kind, s.heading) for s in doc.sections][2:] == [
        ("coverage_indications", "policy", "Coverage Indications, Limitations, and/or Medical Necessity"),
        ("background", "evidence", "Background"),
        ("coverage_criteria", "policy", "Coverage"),
        ("limitations", "policy", "Limitations:"),
    ]
    assert _section_of(doc, "The prevalence of cardiac arrythmias").kind == "evidence"
    assert _section_of(doc, "- 1. Temporary (not implanted), AND").kind == "policy"


def test_a56781_article_tab_columns_become_cells():
    doc = read_document(RAW / "A56781" / "34.txt", RAW)
    assert "\nA18.84 | Tuberculosis of heart\n" in doc.text
    assert doc.meta.document_type == "Article" and doc.meta.lcd_id == "A56781"
    assert doc.meta.contractor is None  # "Contractor: unknown" is no contractor
    assert doc.sections[1].name == "icd10_codes_supporting" and doc.sections[1].kind == "other"


def test_normalisation_of_bom_crlf_nbsp_zero_width_and_blank_runs(tmp_path):
    raw = "\ufeffTitle line  \r\n\r\n\r\n\r\nFirst\u00a0\u00a0para\u200bgraph\t \r\nSecond   paragraph.\r\n\r\n"
    doc = read_document(_write(tmp_path, "x.txt", raw.encode("utf-8")))
    assert doc.text == "Title line\n\nFirst paragraph\nSecond paragraph.\n"


def test_bullet_glyphs_become_items_and_ordinals_are_kept(tmp_path):
    raw = "Coverage\n• Alpha\n  ◦ Nested under alpha\n▪ Beta\n* Gamma\no Delta\n1. One\na) Sub a\n(2) Two\n-2.5 is a number\n"
    lines = read_document(_write(tmp_path, "x.txt", raw.encode("utf-8"))).text.split("\n")
    assert lines == [
        "Coverage",
        "- Alpha",
        "  - Nested under alpha",
        "- Beta",
        "- Gamma",
        "- Delta",
        "- 1. One",
        "- a) Sub a",
        "- (2) Two",
        "-2.5 is a number",
        "",
    ]


def test_numbered_lexicon_heading_is_a_heading_not_a_list_item(tmp_path):
    raw = "Intro text.\nB. Summary of Evidence\nSome evidence.\n1. Indications:\nCovered when X.\n"
    doc = read_document(_write(tmp_path, "x.txt", raw.encode("utf-8")))
    assert [(s.name, s.heading) for s in doc.sections] == [
        ("preamble", ""),
        ("summary_of_evidence", "B. Summary of Evidence"),
        ("indications", "1. Indications:"),
    ]


def test_a_sentence_mentioning_a_heading_is_not_a_heading(tmp_path):
    raw = "Policy notes\nThe Summary of Evidence below supports coverage.\nSummary of Evidence is weak\n"
    doc = read_document(_write(tmp_path, "x.txt", raw.encode("utf-8")))
    assert [s.name for s in doc.sections] == ["body"]
    assert doc.sections[0].kind == "policy" and doc.sections[0].end == len(doc.text)


def test_hard_wrapped_paragraphs_and_list_items_are_rejoined(tmp_path):
    raw = (
        "Indications\n"
        "IVIG is covered for patients with an inadequate response to first-\n"
        "line treatment, whose IgG is below\n"
        "400 mg/dl on two occasions and who meet the criteria of\n"
        "NGS listed below; the\n"
        "criteria:\n"
        "- Pure red cell aplasia related to human parvovirus B19 infection -\n"
        "  IVIG therapy is considered medically necessary.\n"
        "  - Diagnosis confirmed by anti-glutamic acid decarboxylase\n"
        "    (GAD) antibody testing; and\n"
        "- Stiff-person syndrome when diazepam\n"
        "fails.\n"
    )
    lines = read_document(_write(tmp_path, "x.txt", raw.encode("utf-8"))).text.split("\n")
    assert lines == [
        "Indications",
        "IVIG is covered for patients with an inadequate response to first-line treatment, whose IgG is below"
        " 400 mg/dl on two occasions and who meet the criteria of NGS listed below; the criteria:",
        "- Pure red cell aplasia related to human parvovirus B19 infection - IVIG therapy is considered medically necessary.",
        "  - Diagnosis confirmed by anti-glutamic acid decarboxylase (GAD) antibody testing; and",
        "- Stiff-person syndrome when diazepam fails.",
        "",
    ]


def test_lines_that_may_start_a_new_paragraph_are_not_rejoined(tmp_path):
    raw = (
        "Scleromyxedema\n"  # a sub-heading, then its paragraph
        "Data on the efficacy of IVIG are limited\n"
        "The mechanism is unclear.\n"  # a finished sentence
        "see the summary below\n"
        "Indications\n"  # a lexicon heading never continues nor is continued
        "covered when criteria are met\n"
        "- Alpha item without a period\n"
        "- beta item\n"
        "o gamma item\n"
        "A18.84\tTuberculosis of heart\n"  # a tab-separated table row
        "of the first column\n"
        "\n"
        "after a blank line\n"
    )
    lines = read_document(_write(tmp_path, "x.txt", raw.encode("utf-8"))).text.split("\n")
    assert lines == [
        "Scleromyxedema",
        "Data on the efficacy of IVIG are limited",
        "The mechanism is unclear.",
        "see the summary below",
        "Indications",
        "covered when criteria are met",
        "- Alpha item without a period",
        "- beta item",
        "- gamma item",
        "A18.84 | Tuberculosis of heart",
        "of the first column",
        "",
        "after a blank line",
        "",
    ]


def test_reading_twice_gives_identical_documents():
    assert read_document(IVIG, RAW) == read_document(IVIG, RAW)


@pytest.mark.parametrize(
    ("data", "error_type", "message"),
    [
        (b"", "empty", "empty file"),
        (b"  \n\t\r\n", "empty", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary", "binary content (NUL byte at offset 8)"),
        (bytes(range(1, 32)) * 8, "binary", "binary content"),
        ("Indications: café".encode("latin-1"), "decode", "not UTF-8 text (byte 0xe9 at offset 16)"),
    ],
    ids=["empty", "whitespace", "png", "control-chars", "latin-1"],
)
def test_bad_txt_input_raises_read_error(tmp_path, data, error_type, message):
    with pytest.raises(ReadError) as caught:
        read_document(_write(tmp_path, "bad.txt", data))
    assert caught.value.error_type == error_type
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_unsupported_extension_is_read_error(tmp_path):
    with pytest.raises(ReadError) as caught:
        read_document(_write(tmp_path, "policy.docx", b"PK\x03\x04"))
    assert (caught.value.error_type, str(caught.value)) == ("unsupported", "unsupported extension .docx")


def test_missing_file_is_io_read_error(tmp_path):
    with pytest.raises(ReadError) as caught:
        read_document(tmp_path / "L1" / "1.txt")
    assert caught.value.error_type == "io" and "No such file" in str(caught.value)
