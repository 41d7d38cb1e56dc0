"""Document identity, discovery, hashing, dates and the section lexicon."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from pipeline.ingest import discover, read_document, resolve_identity, sha256_file
from pipeline.ingest.meta import clean_contractor, parse_date
from pipeline.ingest.sections import LexiconError, build_lexicon, lexicon, match_heading
from pipeline.datamodel import DocumentMeta

RAW = Path(__file__).resolve().parents[1] / "raw_docs"


def test_identity_from_the_path_convention():
    doc = read_document(RAW / "L38841" / "20.txt", RAW)
    assert (doc.lcd_id, doc.version) == ("L38841", "20")


def test_path_wins_over_metadata_for_id_and_version_but_not_for_title(tmp_path):
    target = tmp_path / "L99999" / "3.txt"
    target.parent.mkdir()
    shutil.copy(RAW / "L38841" / "20.txt", target)
    doc = read_document(target, tmp_path)
    assert (doc.lcd_id, doc.version) == ("L99999", "3")
    assert doc.meta.lcd_id == "L38841" and doc.meta.title == "Facet Joint Interventions for Pain Management"


def test_loose_file_takes_id_and_version_from_its_metadata(tmp_path):
    target = tmp_path / "facet joints.txt"
    shutil.copy(RAW / "L38841" / "20.txt", target)
    doc = read_document(target, tmp_path)
    assert (doc.lcd_id, doc.version) == ("L38841", "20")


def test_loose_file_without_metadata_uses_stem_and_version_1(tmp_path):
    target = tmp_path / "ivig_off_label.txt"
    shutil.copy(RAW / "IVIG-OFFLABEL" / "2.txt", target)
    assert (read_document(target, tmp_path).lcd_id, read_document(target).version) == ("ivig_off_label", "1")


def test_convention_is_recognised_without_a_root_by_its_shape():
    assert resolve_identity(Path("somewhere/L35891/35.txt"), None, DocumentMeta()) == ("L35891", "35")
    assert resolve_identity(Path("x/NCD30.3.3/1.json"), None, DocumentMeta()) == ("NCD30.3.3", "1")
    # A lower-case folder or a non-numeric stem is not the convention: fall back to metadata.
    meta = DocumentMeta(lcd_id="L38841", version="20")
    assert resolve_identity(Path("corpus/lcd_text/L38841_v20_partial.txt"), None, meta) == ("L38841", "20")


def test_discover_walks_folders_sorted_and_skips_bookkeeping(tmp_path):
    for name in ("L2/1.txt", "L1/2.json", "L1/10.pdf", "L1/README.md", "SOURCES.tsv", ".hidden/L3/1.txt",
                 "L1/.draft.txt", "notes.docx", "L4/1.HTM"):  # fmt: skip
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in discover([tmp_path])]
    assert found == ["L1/10.pdf", "L1/2.json", "L2/1.txt", "L4/1.HTM"]


def test_discover_keeps_explicit_files_and_deduplicates(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    missing, unsupported = tmp_path / "gone.txt", tmp_path / "b.docx"
    unsupported.write_text("x")
    assert discover([tmp_path / "a.txt", tmp_path, missing, unsupported]) == sorted(
        [tmp_path / "a.txt", unsupported, missing], key=lambda p: p.as_posix()
    )


def test_discover_finds_every_shipped_document():
    found = discover([RAW])
    shipped = sorted(path for path in RAW.rglob("*") if path.is_file() and path != RAW / "README.md")
    assert sorted(found) == shipped and all(p.suffix in (".txt", ".json") for p in found)
    assert RAW / "README.md" not in found


def test_sha256_file_is_the_document_hash():
    path = RAW / "L34648" / "31.json"
    assert read_document(path, RAW).source_sha256 == sha256_file(path)
    assert len(sha256_file(path)) == 64


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10/25/2025", date(2025, 10, 25)),
        ("2024-03-01 00:00:00", date(2024, 3, 1)),
        ("2024-03-01", date(2024, 3, 1)),
        ("For services performed on or after 10/01/2015", date(2015, 10, 1)),
        ("N/A", None),
        ("13/45/2020", None),
        (None, None),
    ],
)
def test_parse_date_accepts_us_and_iso_forms(value, expected):
    assert parse_date(value) == expected


def test_contractor_name_type_becomes_one_line_and_several_are_joined():
    assert clean_contractor("Palmetto GBA\r\n(MAC - Part A, MAC - Part B)") == "Palmetto GBA (MAC - Part A, MAC - Part B)"
    assert clean_contractor("CGS Administrators, LLC\r\n(DME MAC)\r\n\r\nNoridian Healthcare Solutions, LLC\r\n(DME MAC)") == (
        "CGS Administrators, LLC (DME MAC); Noridian Healthcare Solutions, LLC (DME MAC)"
    )


@pytest.mark.parametrize(
    ("line", "name", "kind"),
    [
        ("=== Summary of Evidence ===", "summary_of_evidence", "evidence"),
        ("Summary Of Evidence", "summary_of_evidence", "evidence"),
        ("Analysis of Evidence (Rationale for Determination)", "analysis_of_evidence", "evidence"),
        ("NGS Abstract:", "abstract", "policy"),
        ("Palmetto GBA Abstract", "abstract", "policy"),
        ("Coverage Statement", "coverage_policy", "policy"),
        ("C. Nationally Non-Covered Indications", "nationally_non_covered_indications", "policy"),
        ("Coverage Indications, Limitations and/or Medical Necessity", "coverage_indications", "policy"),
        ("History/Background and/or General Information", "background", "evidence"),
        ("General Indications and Principles", "indications", "policy"),  # L37779: policy again after a Background
        ("ICD-10-CM Codes that Support Medical Necessity", "icd10_codes_supporting", "other"),
        ("Bibliography", "bibliography", "other"),
    ],
)
def test_lexicon_matches_whole_heading_lines(line, name, kind):
    match = match_heading(line)
    assert match is not None and (match.name, match.kind) == (name, kind)


@pytest.mark.parametrize(
    "line",
    ["Scleromyxedema", "The Summary of Evidence shows benefit.", "- Limitations", "Limitations apply to all patients"],
)
def test_lexicon_ignores_lines_that_are_not_headings(line):
    assert match_heading(line) is None


def test_shipped_lexicon_displays_are_their_own_headings():
    lex = lexicon()
    for name, display in lex.display.items():
        assert match_heading(display).name == name


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"name": "x", "kind": "policyish", "display": "X", "variants": ["X"]}], "kind"),
        ([{"name": "x", "kind": "policy", "display": "X", "variants": []}], "variants"),
        ([{"name": "x", "kind": "policy", "display": "X", "variants": ["X"]},
          {"name": "y", "kind": "other", "display": "Y", "variants": ["x"]}], "claimed"),  # fmt: skip
        ([{"name": "x", "kind": "policy", "display": "X", "variants": ["X"], "patterns": ["("]}], "bad pattern"),
        ([{"name": "Bad Name", "kind": "policy", "display": "X", "variants": ["X"]}], "bad name"),
        ([{"name": "x", "kind": "policy", "display": "X", "variants": ["X"], "typo": 1}], "unknown keys"),
    ],
)
def test_lexicon_validation_rejects_bad_entries(entries, message):
    with pytest.raises(LexiconError, match=message):
        build_lexicon({"headings": entries})
