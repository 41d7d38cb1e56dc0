"""Stages, classes, grades and categories as unitless thresholds (models/ANNOTATION.md 12.5, 12.18)."""

from __future__ import annotations

import json

import pytest

from pipeline.extract import extract
from pipeline.extract.numbers import LexiconError, find_quantities
from pipeline.extract.numbers.categories import CATEGORIES_PATH, find_categories, load_categories
from pipeline.ingest import read_document

HEADING = "Coverage Indications, Limitations, and/or Medical Necessity"


def categories(text: str) -> list[tuple]:
    return [(c.quantity.comparator, c.quantity.low, c.quantity.high) for c in find_categories(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Chronic kidney disease (CKD) stage III or greater", (">=", 3.0, None)),  # L39391
        ("ER+, lymph node-negative, stage I or II breast cancer", ("between", 1.0, 2.0)),  # L36380
        ("advanced (Stage IIIB/IV) non-small cell lung cancer", ("between", 3.0, 4.0)),  # L37870
        ("NYHA class III or ambulatory IV HF", ("between", 3.0, 4.0)),  # L39080
        ("with NYHA I, II or III class", ("between", 1.0, 3.0)),
        ("non-ambulatory NYHA IV HF symptoms", ("=", 4.0, None)),
        ("listed Category 1 or 2A in NCCN", ("between", 1.0, 2.0)),  # L37205
        ("Micromedex DrugDex as Class I, Class IIa, or Class IIb", ("between", 1.0, 2.0)),
        ("CAD-RADS 1, CAD-RADS 2, or CAD-RADS 3", ("between", 1.0, 3.0)),  # L39913
        ("a stage 3 (full thickness tissue loss) or stage 4 (deep tissue destruction) pressure ulcer", ("between", 3.0, 4.0)),
    ],
)
def test_category_numbers_are_read_as_their_limit(text, expected):
    assert categories(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "Category III CPT codes are not covered",
        "FDA cleared Class II devices",
        "results from phase III trials",
        "high-grade stenosis",
        "CAD-RADS 2 | 25-49% | Mild non-obstructive CAD",  # a definition table's row label
    ],
)
def test_labels_of_other_things_are_not_categories(text):
    assert categories(text) == []


def test_a_category_is_no_quantity_and_a_later_value_of_another_style_ends_it():
    assert find_quantities("Type 2 diabetes and Stage 3 or 4 disease") == []
    assert categories("grade 2 and I think") == [("=", 2.0, None)]
    assert categories("stage 3 or 4 weeks later") == [("=", 3.0, None)]


def test_policy_category_becomes_a_unitless_threshold(tmp_path):
    path = tmp_path / "L99998" / "1.txt"
    path.parent.mkdir()
    text = "Dialysis is covered for patients with chronic kidney disease stage III or greater."
    path.write_text(f"Test Policy (L99998)\n\n{HEADING}\n\n{text}\n", encoding="utf-8")
    extraction = extract(read_document(path, root=tmp_path))
    found = [(t.comparator, t.value, t.unit, t.measure) for t in extraction.thresholds]
    assert found == [(">=", 3.0, None, "kidney disease stage")]


def test_a_malformed_category_lexicon_names_the_entry(tmp_path):
    data = json.loads(CATEGORIES_PATH.read_text(encoding="utf-8"))
    data["roman_numerals"]["iv"] = 4
    path = tmp_path / "categories.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LexiconError, match=r"roman_numerals\['iv'\]"):
        load_categories(path)
