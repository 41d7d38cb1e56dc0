"""A PDF of a document and the same text as .txt must yield the same facts (real reader + extractor).

The PDF is typeset in the test with fpdf2 (tests/_pdf.py). Its core fonts are latin-1 only, so the
typographic characters are mapped first and the comparison .txt is written from the SAME mapped text:
both inputs say exactly the same thing, and any difference in facts comes from reading the layout.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from _pdf import latin1_safe, text_to_pdf

from pipeline.diff import diff_snapshots, snapshot_of
from pipeline.extract import extract
from pipeline.ingest import read_document
from pipeline.datamodel import Document, Extraction

RAW = Path(__file__).resolve().parents[1] / "raw_docs"


@cache
def _printed_and_plain(source: str, workdir: Path) -> tuple[tuple[Document, Extraction], tuple[Document, Extraction]]:
    """(pdf, txt) documents with their extractions, both made from the latin-1-safe normalised-or-raw text."""
    path = RAW / source
    # A .txt source is used as written; any other format as its reader's normalised text.
    text = path.read_text(encoding="utf-8") if path.suffix == ".txt" else read_document(path, root=RAW).text
    text = latin1_safe(text)
    pdf = workdir / "pdf" / path.parent.name / f"{path.stem}.pdf"
    txt = workdir / "txt" / path.parent.name / f"{path.stem}.txt"
    for target in (pdf, txt):
        target.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(text_to_pdf(text))
    txt.write_text(text, encoding="utf-8")
    docs = read_document(pdf, root=pdf.parents[1]), read_document(txt, root=txt.parents[1])
    assert (docs[0].source_format, docs[1].source_format) == ("pdf", "txt")
    return tuple((doc, extract(doc)) for doc in docs)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pdf_facts")


def _indications(extraction: Extraction) -> set[tuple[str, str]]:
    return {(i.normalized_name, i.coverage) for i in extraction.indications}


def _policy_doses(extraction: Extraction) -> Counter:
    return Counter((d.amount_low, d.amount_high, d.unit) for d in extraction.doses if d.section == "policy")


def _policy_thresholds(extraction: Extraction) -> Counter:
    return Counter((t.comparator, t.value, t.unit, t.polarity) for t in extraction.thresholds if t.section == "policy")


SOURCES = [
    pytest.param("IVIG-OFFLABEL/2.txt", id="ivig"),
    pytest.param("L34648/31.json", id="l34648-json-record"),
]


@pytest.mark.parametrize("source", SOURCES)
def test_pdf_and_txt_of_the_same_text_name_the_same_indications_with_the_same_coverage(workdir, source):
    (_, from_pdf), (_, from_txt) = _printed_and_plain(source, workdir)
    assert _indications(from_txt), "the document must carry indications for this test to mean anything"
    assert _indications(from_pdf) == _indications(from_txt)


@pytest.mark.parametrize("source", SOURCES)
def test_pdf_and_txt_of_the_same_text_state_the_same_policy_doses(workdir, source):
    (_, from_pdf), (_, from_txt) = _printed_and_plain(source, workdir)
    assert _policy_doses(from_pdf) == _policy_doses(from_txt)


@pytest.mark.parametrize("source", SOURCES)
def test_pdf_and_txt_of_the_same_text_state_the_same_policy_thresholds(workdir, source):
    (_, from_pdf), (_, from_txt) = _printed_and_plain(source, workdir)
    assert _policy_thresholds(from_txt), "the document must carry policy thresholds for this test to mean anything"
    assert _policy_thresholds(from_pdf) == _policy_thresholds(from_txt)


@pytest.mark.parametrize("source", SOURCES)
def test_pdf_of_the_same_text_is_no_policy_change(workdir, source):
    (pdf_doc, from_pdf), (txt_doc, from_txt) = _printed_and_plain(source, workdir)
    changes = diff_snapshots(snapshot_of(txt_doc, from_txt), snapshot_of(pdf_doc, from_pdf))
    assert [f"{c.change_type} [{c.indication}] {c.subject}: {c.before!r} -> {c.after!r}" for c in changes] == []


def test_ivig_pdf_keeps_the_policy_doses_of_the_shipped_text(workdir):
    (_, from_pdf), _ = _printed_and_plain("IVIG-OFFLABEL/2.txt", workdir)
    doses = _policy_doses(from_pdf)
    assert doses[(0.4, 1.5, "g/kg")] == 1 and doses[(500.0, 500.0, "mg/kg")] == 1, doses
