"""Property tests (hypothesis) of every reader on arbitrary and mutated bytes.

Whatever the bytes, a reader either returns or raises ReadError (never anything else), and
`read_document` never reports an "internal" error (a reader bug). A successful read is a well-formed
Document: sections cover the text in order, without gaps, every offset inside the text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _pdf import latin1_safe, text_to_pdf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.ingest import ReadError, read_document
from pipeline.ingest.api_json import read_json
from pipeline.ingest.pdf import read_pdf
from pipeline.ingest.txt import read_txt
from pipeline.ingest.webpage import read_html
from pipeline.datamodel import Document

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / "raw_docs"
SEEDS = {
    ".txt": (RAW / "IVIG-OFFLABEL" / "2.txt").read_bytes(),
    ".json": (RAW / "L34648" / "31.json").read_bytes(),
    ".html": (REPO / "tests" / "fixtures" / "ingest" / "synthetic_markup.html").read_bytes(),
}
SEEDS[".pdf"] = text_to_pdf(latin1_safe(SEEDS[".txt"].decode("utf-8")[:3000]))
READERS = {".txt": read_txt, ".html": read_html, ".json": read_json, ".pdf": read_pdf}

TEXT_FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PDF_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_well_formed(doc: Document) -> None:
    assert doc.text.strip()
    assert doc.sections, "a document has at least one section"
    assert doc.sections[0].start == 0 and doc.sections[-1].end == len(doc.text)
    for section in doc.sections:
        assert 0 <= section.start < section.end <= len(doc.text), section
    for before, after in zip(doc.sections, doc.sections[1:]):
        assert before.end == after.start, (before, after)


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """`seed` truncated, with bytes flipped, and/or garbage inserted."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        action = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        if not data:
            break
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        if action == "truncate":
            del data[at:]
        elif action == "flip":
            data[at] ^= draw(st.integers(min_value=1, max_value=255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            del data[at : at + draw(st.integers(min_value=1, max_value=256))]
    return bytes(data)


def _inputs(extension: str):
    # markup-flavoured text reaches the readers' parsing branches more often than random bytes do
    pieces = st.sampled_from(list("<>/=\"'&;{}[]:,. \n\tabpli0123") + ["<p>", "</p>", "<li>", "<h2>", "<script>", "&lt;", "\\u00"])
    markup = st.lists(pieces, max_size=120).map("".join)
    return st.one_of(st.binary(max_size=2000), markup.map(lambda s: s.encode("utf-8")), mutated(SEEDS[extension]))


def _read_file(folder: Path, extension: str, data: bytes) -> Document | None:
    path = folder / "L1" / f"1{extension}"
    path.write_bytes(data)
    try:
        doc = read_document(path, folder)
    except ReadError as exc:
        assert exc.error_type != "internal", f"reader bug: {exc}"
        assert str(exc) and "\n" not in str(exc)
        return None
    assert_well_formed(doc)
    assert doc.lcd_id == "L1" and doc.version == "1"
    return doc


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "L1").mkdir()
    return root


@pytest.mark.parametrize("extension", [".txt", ".html", ".json"])
def test_text_readers_only_raise_read_error(extension):
    reader = READERS[extension]

    @TEXT_FUZZ
    @given(_inputs(extension))
    def check(data):
        try:
            reader(data)
        except ReadError:
            pass

    check()


@pytest.mark.parametrize("extension", [".txt", ".html", ".json"])
def test_read_document_on_fuzzed_files_gives_a_well_formed_document_or_a_read_error(folder, extension):
    @TEXT_FUZZ
    @given(_inputs(extension))
    def check(data):
        _read_file(folder, extension, data)

    check()


def test_read_document_on_fuzzed_pdfs_gives_a_well_formed_document_or_a_read_error(folder):
    @PDF_FUZZ
    @given(st.one_of(st.binary(max_size=2000), mutated(SEEDS[".pdf"]), st.binary(max_size=500).map(lambda b: b"%PDF-1.4\n" + b + b"\n%%EOF\n")))
    def check(data):
        _read_file(folder, ".pdf", data)

    check()


@pytest.mark.parametrize("extension", sorted(SEEDS))
def test_unmutated_seed_reads(folder, extension):
    assert _read_file(folder, extension, SEEDS[extension]) is not None
