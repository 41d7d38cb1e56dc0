"""bench/scale_corpus.py: synthetic LCDs from raw_docs with varied numbers, read back by the real ingest."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import re
import sys
from pathlib import Path

import pytest

from pipeline.ingest import ReadError, discover, read_document

REPO = Path(__file__).resolve().parents[1]


def _load_scale_corpus():
    """bench/ is not a package: load bench/scale_corpus.py by path (registered, as dataclasses need)."""
    spec = importlib.util.spec_from_file_location("scale_corpus", REPO / "bench" / "scale_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["scale_corpus"] = module
    spec.loader.exec_module(module)
    return module


sc = _load_scale_corpus()

# Identifying numbers the corpus must never touch: dates, years, ids/codes, statute and manual numbering, URLs.
PROTECTED = re.compile(
    r"https?://\S+|\d{1,2}/\d{1,2}/\d{4}|\b(?:19|20)\d{2}\b|\b\d{5}\b|\b[A-Z]\d{2}\.\d+|\b[LA]\d{5}\b"
    r"|§\s*\d+(?:\.\d+)*|\d+(?:\(\w{1,5}\))+|\b\d+(?:\.\d+){2,}\b|\b100-\d{2}\b"
)


def _digits_masked(text: str) -> str:
    """`text` with every digit run replaced by "#": equal for two texts that differ only in numbers."""
    return re.sub(r"\d+", "#", text)


def _documents(root: Path) -> list[Path]:
    """The corpus documents, as the pipeline finds them."""
    return discover([root])


@pytest.fixture(scope="module")
def templates():
    """The raw_docs templates the corpus cycles over."""
    return sc.load_templates()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A 30-LCD corpus with PDFs and revisions."""
    out = tmp_path_factory.mktemp("corpus") / "c30"
    return out, sc.build_corpus(30, out, seed=0, pdf_share=0.1, revised_share=0.3)


@pytest.fixture(scope="module")
def two_rounds(tmp_path_factory, templates):
    """Two full cycles over the templates, no PDFs: member k and k + len(templates) share a template."""
    out = tmp_path_factory.mktemp("corpus") / "rounds"
    sc.build_corpus(2 * len(templates), out, seed=3, pdf_share=0.0, revised_share=0.0)
    return out


def test_scale_corpus_ids_distinct_and_all_read_back(corpus):
    out, info = corpus
    paths = _documents(out)
    assert len(paths) == info.n_files == info.n_versions  # the .scale-corpus.json marker is no document
    ids = set()
    for path in paths:
        try:
            document = read_document(path, root=out)
        except ReadError as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{path}: {exc}")
        assert (document.lcd_id, document.version) == (path.parent.name, path.stem)
        assert sc.SYNTHETIC_ID.fullmatch(document.lcd_id)
        if document.meta.lcd_id is not None:  # the document's own header/record agrees with the path
            assert document.meta.lcd_id == document.lcd_id
        ids.add(document.lcd_id)
    assert len(ids) == info.n_lcds == 30


def test_scale_corpus_every_file_has_distinct_sha256(corpus):
    out, _ = corpus
    digests = [hashlib.sha256(path.read_bytes()).hexdigest() for path in _documents(out)]
    assert len(set(digests)) == len(digests)


def test_scale_corpus_info_counts_what_was_written(corpus):
    out, info = corpus
    paths = _documents(out)
    assert info.bytes == sum(path.stat().st_size for path in paths)
    assert info.pdf_files == sum(path.suffix == ".pdf" for path in paths)
    assert len({path.parent for path in paths if path.suffix == ".pdf"}) == 3  # pdf_share 0.1 of 30 LCDs
    assert info.n_files == 30 + 9  # revised_share 0.3 of 30
    assert info.words > 0 and info.seconds >= 0


def test_scale_corpus_is_deterministic_for_a_seed_and_differs_for_another(tmp_path):
    digests = [
        (sc.build_corpus(12, tmp_path / name, seed=seed, pdf_share=0.1), sc.corpus_digest(tmp_path / name))[1]
        for name, seed in (("a", 7), ("b", 7), ("c", 8))
    ]
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]


def test_scale_corpus_txt_copies_vary_numbers_but_not_dates_or_codes(two_rounds, templates):
    index = next(i for i, t in enumerate(templates) if t.fmt == "txt" and len(t.slots) >= 20)
    template = templates[index]
    original = (sc.TEMPLATE_ROOT / template.lcd_id / f"{template.version}.txt").read_text(encoding="utf-8")
    copies = []
    for k in (index, index + len(templates)):
        lcd_id = sc.synthetic_id(template.kind, k)
        text = (two_rounds / lcd_id / f"{template.version}.txt").read_text(encoding="utf-8")
        own_id = original.replace(template.lcd_id, lcd_id)
        assert _digits_masked(text) == _digits_masked(own_id)  # only numbers differ
        assert PROTECTED.findall(text) == PROTECTED.findall(own_id)  # dates, years, codes, sections, URLs kept
        copies.append(text)
    numbers = [re.findall(r"\d+(?:\.\d+)?", text) for text in copies]
    changed = sum(a != b for a, b in zip(numbers[0], numbers[1]))
    assert changed >= len(template.slots) // 3


def test_scale_corpus_json_copies_vary_numbers_inside_escaped_html(two_rounds, templates):
    index = next(i for i, t in enumerate(templates) if t.fmt == "json" and len(t.slots) >= 20)
    template = templates[index]
    original = json.loads((sc.TEMPLATE_ROOT / template.lcd_id / f"{template.version}.json").read_text(encoding="utf-8"))
    records = []
    for k in (index, index + len(templates)):
        lcd_id = sc.synthetic_id(template.kind, k)
        record = json.loads((two_rounds / lcd_id / f"{template.version}.json").read_text(encoding="utf-8"))
        assert record["document_display_id"] == lcd_id and record["document_id"] == int(lcd_id[1:])
        for key, value in original.items():
            if key in ("document_id", "document_display_id"):
                continue
            if isinstance(value, str):
                assert _digits_masked(record[key]) == _digits_masked(value), key  # markup and escaping intact
                assert PROTECTED.findall(record[key]) == PROTECTED.findall(value), key
            else:
                assert record[key] == value, key
        for key in ("rev_eff_date", "orig_det_eff_date", "cms_cov_policy", "bibliography"):
            assert record.get(key) == original.get(key)  # dates and citation sections untouched
        records.append(record)
    assert records[0]["indication"] != records[1]["indication"] != original["indication"]


def test_scale_corpus_revised_versions_differ_from_first_only_in_numbers(tmp_path):
    out = tmp_path / "revised"
    info = sc.build_corpus(24, out, seed=1, pdf_share=0.0, revised_share=0.5)
    assert info.n_files == 36
    folders = [folder for folder in sorted(out.iterdir()) if folder.is_dir() and len(list(folder.iterdir())) == 2]
    assert len(folders) == 12
    for folder in folders:
        first, second = sorted(folder.iterdir(), key=lambda path: int(path.stem))
        assert int(second.stem) == int(first.stem) + 1
        old, new = first.read_text(encoding="utf-8"), second.read_text(encoding="utf-8")
        assert old != new and _digits_masked(old) == _digits_masked(new)
        assert PROTECTED.findall(old) == PROTECTED.findall(new)
        assert read_document(second, root=out).version == second.stem
        old_numbers, new_numbers = re.findall(r"\d+(?:\.\d+)?", old), re.findall(r"\d+(?:\.\d+)?", new)
        changed = sum(a != b for a, b in zip(old_numbers, new_numbers))
        assert 1 <= changed <= 8  # the version field/header plus one to three ranges of numbers


def test_scale_corpus_pdf_files_are_readable_with_pages(corpus):
    out, info = corpus
    pdfs = [path for path in _documents(out) if path.suffix == ".pdf"]
    assert pdfs
    pages = 0
    for path in pdfs:
        document = read_document(path, root=out)
        assert document.source_format == "pdf" and document.pages and document.pages >= 1
        assert len(document.text.split()) > 100
        pages += document.pages
    assert pages == info.pdf_pages


def test_scale_corpus_refuses_a_non_empty_foreign_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("not a corpus", encoding="utf-8")
    with pytest.raises(FileExistsError):
        sc.build_corpus(3, tmp_path)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "not a corpus"


def test_scale_corpus_replaces_a_previous_corpus(tmp_path):
    out = tmp_path / "c"
    sc.build_corpus(5, out, revised_share=0.0, pdf_share=0.0)
    info = sc.build_corpus(3, out, revised_share=0.0, pdf_share=0.0)
    assert len(_documents(out)) == info.n_files == 3
    (out / "L900000" / "stray.md").write_text("x", encoding="utf-8")  # no longer only corpus files
    with pytest.raises(FileExistsError):
        sc.build_corpus(3, out)


def test_find_slots_leaves_dates_codes_sections_and_urls_alone():
    text = ("Effective 01/21/2020 (see 2019 review), CPT 93306 and ICD-10 Z01.818, §50.4.1, section 1862(a)(1)(A), "
            "Pub. 100-02, https://www.cms.gov/x/12.html: it must 1) be necessary. IgG < 400 mg/dL for 6 to 12 months^3")
    assert [slot.written for slot in sc.find_slots(text)] == ["400", "6", "12"]
    with_header = f"LCD ID: L12345\nLCD Version: 20\n\n{text}"
    assert [slot.written for slot in sc.find_slots(with_header, is_txt=True)] == ["400", "6", "12"]


def test_find_slots_reads_twice_escaped_html_and_skips_markup_and_entities():
    value = ("&lt;p&gt;Dose of 2 g&amp;#47;kg over&amp;nbsp;5 days&lt;sup&gt;4&lt;&sol;sup&gt;&lt;&sol;p&gt;"
             "&lt;li&gt;1. at least 30% improvement&lt;&sol;li&gt;&lt;span style=&quot;font-size: 10.5pt&quot;&gt;")
    slots = sc.find_slots(value)
    assert [slot.written for slot in slots] == ["2", "5", "30"]
    assert [value[slot.start:slot.end] for slot in slots] == ["2", "5", "30"]
    assert slots[2].percent


def test_vary_keeps_the_format_and_bounds():
    rng = random.Random(0)
    for _ in range(200):
        factor = rng.uniform(*sc.FACTOR_RANGE)
        integer, decimal, grouped = (sc.vary(written, factor, False, rng) for written in ("400", "0.4", "2,500"))
        assert re.fullmatch(r"\d+", integer) and integer != "400"
        assert re.fullmatch(r"\d\.\d", decimal) and decimal != "0.4" and float(decimal) > 0
        assert re.fullmatch(r"\d,\d{3}", grouped) and grouped != "2,500"
        assert float(sc.vary("95", factor, True, rng)) <= 100 and sc.vary("100", factor, True, rng) != "100"


def test_vary_run_keeps_a_percent_range_rising_and_at_most_100():
    slots = sc.find_slots("a reduction of 90-99% in attacks")
    assert [slot.written for slot in slots] == ["90", "99"] and slots[1].follows
    for seed in range(200):
        values = [slot.written for slot in slots]
        sc.vary_run(values, slots, [0, 1], random.Random(seed))
        low, high = map(float, values)
        assert low < high <= 100 and values != ["90", "99"]
