"""The off-label IVIG LCD against its hand-made reference extraction (../shared/gold/ivig_off_label.json)."""

from __future__ import annotations

import pytest

from pipeline.quality.scoring import load_gold, score_extraction
from pipeline.extract import extract
from pipeline.ingest import read_document
from tests.conftest import RAW_DOCS


@pytest.fixture(scope="module")
def ivig_score(shared_dir):
    document = read_document(RAW_DOCS / "IVIG-OFFLABEL" / "2.txt", root=RAW_DOCS)
    assert (RAW_DOCS / "IVIG-OFFLABEL" / "2.txt").read_bytes() == (shared_dir / "corpus" / "ivig_off_label.txt").read_bytes()
    gold = load_gold(shared_dir / "gold" / "ivig_off_label.json")
    return score_extraction(extract(document), document.text, gold)


def test_ivig_indication_recall_by_name_or_alias(ivig_score):
    assert ivig_score["indications"]["recall"] >= 0.9, ivig_score["indications"]["misses"]


def test_ivig_coverage_is_right_for_matched_indications(ivig_score):
    assert ivig_score["indications"]["coverage_accuracy"] >= 0.9, ivig_score["indications"]["coverage_errors"]


def test_ivig_indication_precision(ivig_score):
    assert ivig_score["indications"]["precision"] >= 0.8, ivig_score["indications"]["false_positives"]


def test_ivig_policy_doses_match_numbers_and_units(ivig_score):
    doses = ivig_score["doses"]["policy"]
    assert doses["recall"] >= 0.9, doses["misses"]
    assert doses["precision"] >= 0.8, doses["false_positives"]


def test_ivig_policy_thresholds_match_numbers_units_and_comparators(ivig_score):
    thresholds = ivig_score["thresholds"]["policy"]
    assert thresholds["recall"] >= 0.9, thresholds["misses"]
    assert thresholds["precision"] >= 0.8, thresholds["false_positives"]


def test_ivig_doses_are_attached_to_their_indication(ivig_score):
    assert ivig_score["doses"]["policy"]["indication_link_accuracy"] >= 0.9


def test_ivig_hsct_age_limit_is_an_exclusion_below_20():
    document = read_document(RAW_DOCS / "IVIG-OFFLABEL" / "2.txt", root=RAW_DOCS)
    extraction = extract(document)
    names = {i.local_id: i.normalized_name for i in extraction.indications}
    ages = [t for t in extraction.thresholds if t.measure == "age" and t.section == "policy"]
    assert {(t.comparator, t.value, t.unit, t.polarity) for t in ages} == {(">=", 20, "years", "inclusion"), ("<", 20, "years", "exclusion")}
    assert all("stem cell" in names[t.indication_id] for t in ages)
    for t in ages:
        assert document.text[t.char_start : t.char_end] == t.text
        assert t.text in t.sentence
