"""Tests of the scorer itself (pipeline.quality.scoring) on tiny hand-built extractions, plus format checks of the
reference data (models/gold/*.json, models/splits.json, pipeline/quality/expectations/corpus.json).

Nothing here runs the extractor."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from pipeline.quality.scoring import (
    GoldError,
    evaluate_documents,
    load_expectations,
    load_gold,
    match_expectation,
    name_similarity,
    normalize_name,
    score_extraction,
    validate_expectation,
    validate_gold,
)
from pipeline.datamodel import Dose, Extraction, Indication, Threshold
from pipeline.quality.evaluation import format_report, icd10_score

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIR = ROOT / "models" / "gold"
SPLITS = ROOT / "models" / "splits.json"
EXPECTATIONS = ROOT / "pipeline" / "quality" / "expectations" / "corpus.json"

TEXT = (
    "Stiff-person syndrome may be treated with IVIG. Induction Dose - 1.5g/kg in divided dose over 3 days. "
    "Patients 20 years of age or older. IgG levels <400 mg/dl. Systemic sclerosis is not covered."
)


# ---------------------------------------------------------------------------------------------- builders


def ind(local_id, name, coverage="covered", aliases=(), section="policy", normalized=None):
    return Indication(
        local_id=local_id, name=name, normalized_name=normalized or name.lower(), coverage=coverage,
        section=section, sentence="", char_start=0, char_end=0, confidence=1.0, aliases=tuple(aliases),
    )


def dose(low, high, unit, indication_id=None, section="policy", phase=None, drug="IVIG", text="", start=0, end=0):
    return Dose(
        indication_id=indication_id, drug=drug, amount_low=low, amount_high=high, unit=unit, frequency=None,
        phase=phase, section=section, text=text, char_start=start, char_end=end,
    )


def thr(value, comparator, unit, measure="m", indication_id=None, section="policy", polarity="inclusion",
        value_high=None, text="", start=0, end=0):
    return Threshold(
        indication_id=indication_id, measure=measure, comparator=comparator, value=value, value_high=value_high,
        unit=unit, polarity=polarity, section=section, text=text, char_start=start, char_end=end,
    )


def tiny_gold():
    return {
        "document": "corpus/tiny.txt",
        "indications": [
            {"name": "Stiff-person syndrome", "aliases": ["SPS", "stiff person syndrome"], "coverage": "covered"},
            {"name": "Secondary hypogammaglobulinemia", "aliases": [], "coverage": "unclear", "accept": ["not_covered"]},
            {"name": "Systemic sclerosis", "aliases": ["scleroderma"], "coverage": "not_covered"},
        ],
        "optional_indications": [{"name": "Dermatomyositis", "note": "on-label"}],
        "doses": [
            {"indication": "Stiff-person syndrome", "section": "policy", "phase": "induction", "low": 1.5, "high": 1.5,
             "unit": "g/kg", "text": "1.5g/kg in divided dose over 3 days"},
            {"indication": None, "section": "evidence", "phase": None, "low": 0.4, "high": 2, "unit": "g/kg",
             "text": "0.4 grams to 2 grams per kg"},
        ],
        "optional_doses": [{"indication": None, "section": "policy", "low": 1, "high": 1, "unit": "g/kg", "text": "x"}],
        "thresholds": [
            {"indication": "Stiff-person syndrome", "section": "policy", "measure": "age", "comparator": ">=",
             "value": 20, "unit": "years", "text": "20 years of age or older"},
            {"indication": None, "section": "policy", "measure": "IgG", "comparator": "<", "value": 400,
             "unit": "mg/dL", "polarity": "inclusion", "text": "IgG levels <400 mg/dl"},
            {"indication": None, "section": "policy", "measure": "use", "comparator": ">=",
             "comparator_any": ["="], "value": 4, "unit": "hours/day", "text": "an average of 4 hours"},
        ],
        "optional_thresholds": [
            {"indication": None, "section": "policy", "measure": "list logic", "comparator": ">=", "value": 1,
             "unit": "count", "text": "at least 1 of the following"},
        ],
    }


def perfect_extraction():
    return Extraction(
        indications=(
            ind(0, "Stiff-person syndrome"),
            ind(1, "Secondary hypogammaglobulinemia", "unclear"),
            ind(2, "Systemic sclerosis", "not_covered"),
        ),
        doses=(
            dose(1.5, 1.5, "g/kg", indication_id=0, phase="induction", text="1.5g/kg", start=TEXT.index("1.5g/kg"),
                 end=TEXT.index("1.5g/kg") + 7),
            dose(0.4, 2, "g/kg", section="evidence"),
        ),
        thresholds=(
            thr(20, ">=", "years", "age", indication_id=0),
            thr(400, "<", "mg/dL", "IgG"),
            thr(4, ">=", "hours/day", "use"),
        ),
    )


# ---------------------------------------------------------------------------------------------- load_gold


def test_all_gold_files_load():
    files = sorted(GOLD_DIR.glob("*.json"))
    assert files, "no gold files"
    for f in files:
        g = load_gold(f)
        assert g["indications"] or g["optional_indications"] or g["thresholds"], f  # a reference says something
        for t in g["thresholds"]:
            assert t["comparator"] in t["comparator_any"]


def test_ivig_gold_copy_is_unchanged_shape():
    g = load_gold(GOLD_DIR / "IVIG-OFFLABEL.json")
    assert g["document"] == "corpus/ivig_off_label.txt"
    assert len(g["doses"]) == 13 and len(g["thresholds"]) == 9
    # thresholds without an explicit polarity default to inclusion
    assert {t["polarity"] for t in g["thresholds"]} == {"inclusion", "exclusion"}


def test_every_test_document_has_gold_and_every_gold_file_a_split():
    splits = json.loads(SPLITS.read_text())
    names = {p.stem for p in GOLD_DIR.glob("*.json")}
    assert set(splits["test"]) <= names  # the held-out split is scored on all of its documents
    assert names <= set(splits["train"]) | set(splits["dev"]) | set(splits["test"])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda g: g.pop("thresholds"), "missing key 'thresholds'"),
        (lambda g: g["indications"][0].pop("coverage"), "indications[0]: missing key 'coverage'"),
        (lambda g: g["indications"][0].__setitem__("coverage", "yes"), "coverage 'yes'"),
        (lambda g: g["indications"][1].__setitem__("accept", ["maybe"]), "accept value 'maybe'"),
        (lambda g: g["doses"][0].pop("unit"), "doses[0]: missing key 'unit'"),
        (lambda g: g["doses"][0].__setitem__("low", "1.5"), "finite numbers"),
        (lambda g: g["doses"][0].__setitem__("low", 3), "low 3 > high 1.5"),
        (lambda g: g["doses"][0].__setitem__("phase", "loading"), "phase 'loading'"),
        (lambda g: g["thresholds"][0].__setitem__("comparator", "=>"), "comparator '=>'"),
        (lambda g: g["thresholds"][0].__setitem__("comparator", "between"), "needs a numeric 'value_high'"),
        (lambda g: g["thresholds"][0].__setitem__("polarity", "include"), "polarity 'include'"),
        (lambda g: g["thresholds"][0].__setitem__("section", "body"), "section 'body'"),
        (lambda g: g["thresholds"][0].pop("unit"), "missing key 'unit'"),
        (lambda g: g["thresholds"][0].__setitem__("indication", "Nothing"), "is not the name of a gold indication"),
        (lambda g: g["indications"].append(dict(g["indications"][0])), "duplicate indication name"),
    ],
)
def test_validate_gold_errors(mutate, message):
    g = tiny_gold()
    mutate(g)
    with pytest.raises(GoldError) as exc:
        validate_gold(g, source="tiny.json")
    assert message in str(exc.value)
    assert "tiny.json" in str(exc.value)


def test_load_gold_missing_file_and_bad_json(tmp_path):
    with pytest.raises(GoldError, match="no such gold file"):
        load_gold(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GoldError, match="invalid JSON"):
        load_gold(bad)


def test_validate_gold_normalises_between_order_and_defaults():
    g = tiny_gold()
    g["thresholds"].append({"indication": None, "section": "policy", "measure": "T-score", "comparator": "between",
                            "value": -1.0, "value_high": -2.5, "unit": None})
    out = validate_gold(g)
    t = out["thresholds"][-1]
    assert (t["value"], t["value_high"], t["polarity"]) == (-2.5, -1.0, "inclusion")
    assert out["indications"][0]["accept"] == [] and out["doses"][1]["phase"] is None


# ---------------------------------------------------------------------------------------------- names


def test_normalize_and_similarity():
    assert normalize_name("Sjögren’s  Syndrome!") == "sjogrens syndrome"
    assert name_similarity("Raynaud's syndrome", "raynauds syndrome") == 1.0
    assert name_similarity("chronic GVHD", "GVHD") == 0.8
    assert name_similarity("CD", "chronic CD flare") == 0.0  # contained side shorter than 4 characters
    assert name_similarity("Graft versus host disease", "chronic graft versus host disease") == 0.8
    assert name_similarity("pure red cell aplasia", "aplasia pure red cell") > 0.5  # token Jaccard 1.0
    assert name_similarity("chronic migraine", "episodic migraine prophylaxis") == 0.0


# ---------------------------------------------------------------------------------------------- scoring


def test_perfect_extraction_scores_one():
    r = score_extraction(perfect_extraction(), TEXT, tiny_gold())
    s = r["summary"]
    for key, value in s.items():
        assert value == 1.0, key
    assert r["indications"]["misses"] == [] and r["indications"]["false_positives"] == []
    assert r["doses"]["policy"]["gold"] == 1 and r["doses"]["all"]["gold"] == 2
    assert r["thresholds"]["policy"]["indication_link_accuracy"] == 1.0
    assert r["thresholds"]["policy"]["polarity_accuracy"] == 1.0


def test_score_accepts_a_loaded_gold_file_dict():
    g = load_gold(GOLD_DIR / "IVIG-OFFLABEL.json")
    r = score_extraction(Extraction(), "", g)
    assert r["summary"]["indication_recall"] == 0.0
    assert r["summary"]["indication_precision"] == 1.0  # nothing predicted, nothing wrong
    assert r["doses"]["policy"]["fn"] == 9 and r["doses"]["all"]["fn"] == 13
    assert len(r["thresholds"]["all"]["misses"]) == 9


def test_wrong_unit_is_a_miss():
    e = perfect_extraction()
    e = Extraction(
        indications=e.indications,
        doses=(dose(1.5, 1.5, "mg/kg", indication_id=0), e.doses[1]),
        thresholds=(thr(20, ">=", "months", "age"), *e.thresholds[1:]),
    )
    r = score_extraction(e, TEXT, tiny_gold())
    d, t = r["doses"]["policy"], r["thresholds"]["policy"]
    assert (d["tp"], d["fn"], d["fp"]) == (0, 1, 1)
    assert d["misses"][0]["unit"] == "g/kg" and d["false_positives"][0]["unit"] == "mg/kg"
    assert (t["tp"], t["fn"], t["fp"]) == (2, 1, 1)
    assert t["recall"] == pytest.approx(2 / 3) and t["precision"] == pytest.approx(2 / 3)


def test_unit_comparison_ignores_case_and_spaces_but_not_meaning():
    e = Extraction(thresholds=(thr(400, "<", "mg/dl", "IgG"),))
    r = score_extraction(e, TEXT, tiny_gold())
    assert r["thresholds"]["policy"]["tp"] == 1
    e = Extraction(thresholds=(thr(400, "<", "g/dL", "IgG"),))
    assert score_extraction(e, TEXT, tiny_gold())["thresholds"]["policy"]["tp"] == 0


def test_count_nouns_compare_equal_to_count_but_drug_units_do_not():
    g = tiny_gold()
    g["thresholds"] = [{"indication": None, "section": "policy", "measure": "visits in 90 days", "comparator": "<=",
                        "value": 12, "unit": "count", "text": "Up to 12 visits in 90 days"}]
    for unit, ok in (("visits", True), ("Sessions", True), ("count", True), ("units", False), ("IU", False),
                     (None, False)):
        e = Extraction(thresholds=(thr(12, "<=", unit),))
        assert score_extraction(e, "", g)["thresholds"]["policy"]["tp"] == int(ok), unit


def test_wrong_number_or_comparator_is_a_miss():
    e = Extraction(thresholds=(thr(20.5, ">=", "years"), thr(20, ">", "years"), thr(400, "<=", "mg/dL")))
    t = score_extraction(e, TEXT, tiny_gold())["thresholds"]["policy"]
    assert t["tp"] == 0 and t["fp"] == 3


def test_comparator_any_and_complement():
    # '=' is listed in comparator_any for the 4 hours/day threshold
    e = Extraction(thresholds=(thr(4, "=", "hours/day"),))
    assert score_extraction(e, TEXT, tiny_gold())["thresholds"]["policy"]["tp"] == 1
    # age < 20 exclusion is the same fact as age >= 20 inclusion
    e = Extraction(thresholds=(thr(20, "<", "years", polarity="exclusion"),))
    r = score_extraction(e, TEXT, tiny_gold())["thresholds"]["policy"]
    assert r["tp"] == 1 and r["polarity_accuracy"] == 1.0
    assert score_extraction(e, TEXT, tiny_gold(), allow_complement=False)["thresholds"]["policy"]["tp"] == 0
    # ... but not with the same polarity
    e = Extraction(thresholds=(thr(20, "<", "years", polarity="inclusion"),))
    assert score_extraction(e, TEXT, tiny_gold())["thresholds"]["policy"]["tp"] == 0


def test_between_is_order_insensitive():
    g = tiny_gold()
    g["thresholds"] = [{"indication": None, "section": "policy", "measure": "T-score", "comparator": "between",
                        "value": -2.5, "value_high": -1.0, "unit": None}]
    e = Extraction(thresholds=(thr(-1.0, "between", None, value_high=-2.5),))
    assert score_extraction(e, "", g)["thresholds"]["policy"]["tp"] == 1
    e = Extraction(thresholds=(thr(-1.0, "between", None, value_high=-3.0),))
    assert score_extraction(e, "", g)["thresholds"]["policy"]["tp"] == 0


def test_alias_matches_an_indication():
    e = Extraction(indications=(ind(0, "SPS"), ind(1, "scleroderma", "not_covered")))
    r = score_extraction(e, TEXT, tiny_gold())["indications"]
    assert r["tp"] == 2 and r["fp"] == 0 and r["misses"] == ["Secondary hypogammaglobulinemia"]
    assert r["recall"] == pytest.approx(2 / 3) and r["precision"] == 1.0
    # extracted aliases are used too
    e = Extraction(indications=(ind(0, "Moersch-Woltman", aliases=("stiff person syndrome",)),))
    assert score_extraction(e, TEXT, tiny_gold())["indications"]["tp"] == 1


def test_substring_and_jaccard_matches():
    e = Extraction(indications=(ind(0, "Stiff-person syndrome with GAD antibodies"),
                                ind(1, "hypogammaglobulinemia secondary", "unclear")))
    r = score_extraction(e, TEXT, tiny_gold())["indications"]
    assert r["tp"] == 2


def test_accept_list_counts_for_coverage():
    g = tiny_gold()
    e = Extraction(indications=(ind(0, "Secondary hypogammaglobulinemia", "not_covered"),))
    r = score_extraction(e, TEXT, g)["indications"]
    assert r["coverage_accuracy"] == 1.0
    e = Extraction(indications=(ind(0, "Secondary hypogammaglobulinemia", "covered"),))
    r = score_extraction(e, TEXT, g)["indications"]
    assert r["coverage_accuracy"] == 0.0
    assert r["coverage_errors"] == [{"gold": "Secondary hypogammaglobulinemia",
                                     "extracted": "Secondary hypogammaglobulinemia",
                                     "expected": "unclear", "got": "covered"}]


def test_wrong_coverage_still_counts_for_recall():
    e = Extraction(indications=(ind(0, "Systemic sclerosis", "covered"),))
    r = score_extraction(e, TEXT, tiny_gold())["indications"]
    assert r["tp"] == 1 and r["coverage_accuracy"] == 0.0


def test_two_surface_forms_of_one_indication_do_not_hurt_precision_but_count_once_for_recall():
    e = Extraction(indications=(ind(0, "Stiff-person syndrome"), ind(1, "SPS")))
    r = score_extraction(e, TEXT, tiny_gold())["indications"]
    assert r["tp"] == 1 and r["precision"] == 1.0 and r["recall"] == pytest.approx(1 / 3)


def test_optional_facts_are_ignored_not_false_positives():
    e = Extraction(
        indications=(ind(0, "Dermatomyositis"), ind(1, "Gout")),
        doses=(dose(1, 1, "g/kg"),),
        thresholds=(thr(1, ">=", "count"),),
    )
    r = score_extraction(e, TEXT, tiny_gold())
    assert r["indications"]["ignored"] == 1 and r["indications"]["fp"] == 1
    assert r["indications"]["false_positives"][0]["name"] == "Gout"
    assert r["doses"]["policy"]["ignored"] == 1 and r["doses"]["policy"]["fp"] == 0
    assert r["thresholds"]["policy"]["ignored"] == 1 and r["thresholds"]["policy"]["precision"] == 1.0


def test_section_scoping():
    # the evidence dose extracted as policy: wrong in the policy view, right in the all-sections view
    e = Extraction(doses=(dose(0.4, 2, "g/kg", section="policy"),))
    r = score_extraction(e, TEXT, tiny_gold())
    assert r["doses"]["policy"]["tp"] == 0 and r["doses"]["policy"]["fp"] == 1
    assert r["doses"]["all"]["tp"] == 1 and r["doses"]["all"]["fp"] == 0


def test_one_to_one_matching_of_repeated_facts():
    g = tiny_gold()
    g["thresholds"].append(dict(g["thresholds"][1], text="hypogammaglobulinemic (IgG < 400 mg/d)"))
    one = Extraction(thresholds=(thr(400, "<", "mg/dL"),))
    two = Extraction(thresholds=(thr(400, "<", "mg/dL"), thr(400, "<", "mg/dL")))
    three = Extraction(thresholds=(thr(400, "<", "mg/dL"),) * 3)
    assert score_extraction(one, TEXT, g)["thresholds"]["policy"]["tp"] == 1
    assert score_extraction(two, TEXT, g)["thresholds"]["policy"]["tp"] == 2
    r = score_extraction(three, TEXT, g)["thresholds"]["policy"]
    assert (r["tp"], r["fp"]) == (2, 1)


def test_span_overlap_decides_between_equal_candidates():
    g = tiny_gold()
    g["thresholds"] = [
        {"indication": "Stiff-person syndrome", "section": "policy", "measure": "age", "comparator": ">=",
         "value": 20, "unit": "years", "text": "20 years of age or older"},
    ]
    start = TEXT.index("20 years")
    far = thr(20, ">=", "years", start=0, end=5)
    near = thr(20, ">=", "years", start=start, end=start + 8)
    r = score_extraction(Extraction(thresholds=(far, near)), TEXT, g)["thresholds"]["policy"]
    assert r["tp"] == 1 and r["false_positives"][0]["char_start"] == 0


def test_indication_link_accuracy():
    e = Extraction(indications=(ind(0, "Systemic sclerosis", "not_covered"),),
                   thresholds=(thr(20, ">=", "years", indication_id=0),))
    r = score_extraction(e, TEXT, tiny_gold())["thresholds"]["policy"]
    assert r["tp"] == 1 and r["indication_link_accuracy"] == 0.0


# ---------------------------------------------------------------------------------------------- expectations


def exp(**kw):
    base = {"id": "x", "doc": "raw_docs/X/1.txt", "quote": "q", "why": "w"}
    base.update(kw)
    return validate_expectation(base)


def test_match_expectation_threshold():
    e = Extraction(thresholds=(thr(-2.5, "<=", None, "BMD T-score", text="T-score less than or equal to -2.5"),))
    assert match_expectation(e, exp(kind="threshold", measure_contains="t-score", comparator="<=", value=-2.5, unit=None))
    assert not match_expectation(e, exp(kind="threshold", measure_contains="t-score", comparator="<=", value=-2.5,
                                        unit="%"))
    assert not match_expectation(e, exp(kind="threshold", measure_contains="frax", comparator="<=", value=-2.5))
    assert match_expectation(e, exp(kind="threshold", measure_contains=["frax", "bmd"], comparator="<=", value=-2.5))
    assert not match_expectation(e, exp(kind="threshold", measure_contains="t-score", comparator="<", value=-2.5))
    assert match_expectation(e, exp(kind="threshold", measure_contains="t-score", comparator_any=["<", "<="],
                                    value=-2.5, section="policy", polarity="inclusion"))
    assert not match_expectation(e, exp(kind="threshold", measure_contains="t-score", comparator="<=", value=-2.5,
                                        section="evidence"))


def test_match_expectation_threshold_measure_found_in_text_and_between():
    e = Extraction(thresholds=(thr(-1.0, "between", None, "bone density", value_high=-2.5,
                                   text="T-scores from -1.0 to -2.5"),))
    assert match_expectation(e, exp(kind="threshold", measure_contains="t-score", comparator="between", value=-2.5,
                                    value_high=-1.0, unit=None))
    assert not match_expectation(e, exp(kind="threshold", measure_contains="t-score", comparator="between",
                                        value=-2.5, value_high=-1.5, unit=None))


def test_match_expectation_threshold_complement_needs_polarity():
    e = Extraction(thresholds=(thr(12, ">=", "months", "lead wire replacement interval", polarity="inclusion"),))
    want = dict(kind="threshold", measure_contains="lead wire", comparator="<", value=12, unit="months")
    assert not match_expectation(e, exp(**want))
    assert match_expectation(e, exp(**want, polarity="exclusion"))


def test_match_expectation_unit_any():
    e = Extraction(thresholds=(thr(4, "<=", "sessions", "diagnostic sessions per 12 months"),))
    assert match_expectation(e, exp(kind="threshold", measure_contains="session", comparator="<=", value=4,
                                    unit_any=["count", "sessions"]))
    # count nouns compare equal to "count"; drug units do not
    assert match_expectation(e, exp(kind="threshold", measure_contains="session", comparator="<=", value=4,
                                    unit="count"))
    assert not match_expectation(e, exp(kind="threshold", measure_contains="session", comparator="<=", value=4,
                                        unit="units"))


def test_match_expectation_dose():
    e = Extraction(doses=(dose(1000, 1200, "mg", drug="calcium", section="policy"),
                          dose(1.5, 1.5, "g/kg", phase="induction")))
    assert match_expectation(e, exp(kind="dose", low=1000, high=1200, unit="mg", section="policy",
                                    drug_contains=["calcium"]))
    assert not match_expectation(e, exp(kind="dose", low=1000, high=1200, unit="mg/kg"))
    assert not match_expectation(e, exp(kind="dose", low=1000, high=1200, unit="mg", drug_contains="vitamin d"))
    assert match_expectation(e, exp(kind="dose", low=1.5, high=1.5, unit="g/kg", phase="induction"))
    assert not match_expectation(e, exp(kind="dose", low=1.5, high=1.5, unit="g/kg", phase="maintenance"))


def test_match_expectation_indication():
    e = Extraction(indications=(ind(0, "Paget's disease of bone", aliases=("osteitis deformans",)),
                                ind(1, "Chronic low back pain", "not_covered")))
    assert match_expectation(e, exp(kind="indication", name_any=["paget's disease"], coverage="covered"))
    assert match_expectation(e, exp(kind="indication", name_any=["osteitis deformans"], coverage="covered"))
    assert not match_expectation(e, exp(kind="indication", name_any=["paget's disease"], coverage="not_covered"))
    assert match_expectation(e, exp(kind="indication", name_any=["clbp", "low back pain"],
                                    coverage_any=["not_covered", "unclear"]))
    assert not match_expectation(e, exp(kind="indication", name_any=["osteoporosis"], coverage="covered"))


def test_match_expectation_unknown_kind():
    with pytest.raises(GoldError):
        match_expectation(Extraction(), {"id": "x", "kind": "criterion"})
    with pytest.raises(GoldError):
        validate_expectation({"id": "x", "doc": "d", "kind": "threshold", "quote": "q", "why": "w",
                              "measure_contains": "Age", "comparator": ">=", "value": 1})


# ---------------------------------------------------------------------------------------------- aggregation


def test_evaluate_documents_micro_and_macro():
    g1, g2 = tiny_gold(), tiny_gold()
    half = Extraction(indications=(ind(0, "Stiff-person syndrome"),),
                      thresholds=(thr(20, ">=", "years"), thr(1, ">", "mmHg")))
    out = evaluate_documents([(perfect_extraction(), TEXT, g1), (half, TEXT, g2)])
    assert out["documents"] == 2
    m = out["micro"]
    assert m["indication_tp"] == 4 and m["indication_fn"] == 2
    assert m["indication_recall"] == pytest.approx(4 / 6)
    assert m["threshold_policy_tp"] == 4 and m["threshold_policy_fp"] == 1
    assert m["threshold_policy_precision"] == pytest.approx(4 / 5)
    assert out["macro"]["threshold_policy_precision"] == pytest.approx((1.0 + 0.5) / 2)
    assert out["macro"]["indication_recall"] == pytest.approx((1.0 + 1 / 3) / 2)
    assert out["macro"]["dose_policy_precision"] == 1.0  # the empty second document does not count
    assert [d["document"] for d in out["per_document"]] == ["corpus/tiny.txt"] * 2


def test_gold_is_not_mutated():
    g = tiny_gold()
    before = copy.deepcopy(g)
    score_extraction(perfect_extraction(), TEXT, g)
    assert g == before


# ---------------------------------------------------------------------------------------------- data files


def test_splits_are_disjoint():
    s = json.loads(SPLITS.read_text())
    parts = [set(s[k]) for k in ("train", "dev", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert s["about"]


def _decoded(path: Path) -> str:
    """The document text as the quotes were checked: JSON fields unescaped, tags stripped (LCD HTML is escaped
    twice: unescape, strip tags, unescape; NCD HTML once), whitespace collapsed."""
    import html
    import re

    raw = path.read_text(encoding="utf-8")
    if path.suffix != ".json":
        return " ".join(raw.split())
    record = json.loads(raw)
    ncd = path.parent.name.startswith("NCD")
    parts = []
    for value in record.values():
        if isinstance(value, str):
            t = re.sub(r"<[^>]+>", " ", html.unescape(value))
            parts.append(t if ncd else html.unescape(t))
    return " ".join(" ".join(parts).replace("\xa0", " ").split())


def test_expectation_quotes_occur_in_their_documents():
    missing = []
    for e in load_expectations(EXPECTATIONS):
        path = ROOT / e["doc"]
        if not path.exists():
            missing.append(e["doc"])
            continue
        # tags were stripped without a space in the reference check; _quote_in compares both ways of joining
        assert _quote_in(e["quote"], _decoded(path)), e["id"]
    if missing:
        pytest.skip(f"documents not in raw_docs/: {sorted(set(missing))}")


def test_gold_texts_occur_in_their_documents():
    checked = 0
    for f in sorted(GOLD_DIR.glob("*.json")):
        g = load_gold(f)
        name = Path(g["document"]).name
        candidates = sorted((ROOT / "raw_docs" / f.stem).glob("*"))
        texts = [_decoded(p) for p in candidates if p.suffix in (".txt", ".json")]
        facts = [x["text"] for k in ("doses", "thresholds", "optional_doses", "optional_thresholds") for x in g[k]]
        if not texts or not facts:
            continue
        # several versions may be filed (IVIG-OFFLABEL/1.txt is derived, 2.txt is the gold's source): use the best
        best = max(texts, key=lambda t: sum(_quote_in(q, t) for q in facts))
        for q in facts:
            assert _quote_in(q, best), f"{name}: {q!r}"
        checked += 1
    if not checked:
        pytest.skip("no gold document found under raw_docs/")


_STRAIGHT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _quote_in(quote: str, text: str) -> bool:
    # The reader straightens curly quotes (pipeline/ingest/normalize.py), and so do the quotes taken from it.
    quote, text = " ".join(quote.split()).translate(_STRAIGHT), text.translate(_STRAIGHT)
    return quote in text or quote.replace(" ", "") in text.replace(" ", "")


def test_expectations_file():
    exps = load_expectations(EXPECTATIONS)
    assert len(exps) >= 40
    splits = json.loads(SPLITS.read_text())
    allowed = set(splits["train"]) | set(splits["dev"])
    kinds, formats = set(), set()
    for e in exps:
        parts = e["doc"].split("/")
        assert parts[0] == "raw_docs" and len(parts) == 3, e["id"]
        assert parts[1] in allowed, f"{e['id']}: {parts[1]} is not a train/dev document"
        kinds.add(e["kind"])
        ext = parts[2].rsplit(".", 1)[1]
        formats.add(("ncd" if parts[1].startswith("NCD") else "lcd", ext))
        if e.get("also_pdf"):
            assert ext == "txt", e["id"]
    assert kinds == {"threshold", "dose", "indication"}
    assert {("lcd", "txt"), ("lcd", "json"), ("ncd", "json")} <= formats
    assert sum(1 for e in exps if e.get("also_pdf")) == 5


# ---------------------------------------------------------------------------------------------- ICD-10 of matches


def _icd10_case():
    """Dev L33797/L33436-like matches: one exact code, one inside the gold category, one where the gold has none,
    one uncoded though the gold has a code, one wrong."""
    gold = validate_gold({
        "document": "tiny", "doses": [], "thresholds": [],
        "indications": [
            {"name": "Retinal hemorrhage", "coverage": "covered", "icd10cm": ["H35.6"]},
            {"name": "Atrial fibrillation", "coverage": "covered", "icd10cm": ["I48"]},
            {"name": "Squamous cell carcinoma", "coverage": "covered", "icd10cm": []},
            {"name": "Laryngeal carcinoma", "coverage": "covered", "icd10cm": ["C32"]},
            {"name": "Chronic kidney disease stage III or greater", "coverage": "covered",
             "icd10cm": ["N18.3", "N18.4", "N18.5", "N18.6"]},
        ],
    })
    codes = [("H35.6",), ("I48.91",), ("C44.92",), (), ("N18",)]
    extraction = Extraction(indications=tuple(
        dataclasses.replace(ind(i, g["name"]), icd10_codes=c) for i, (g, c) in enumerate(zip(gold["indications"], codes))
    ))
    return extraction, gold


def test_icd10_score_counts_exact_within_and_gold_without_code():
    extraction, gold = _icd10_case()
    matches = score_extraction(extraction, "", gold)["indications"]["matches"]
    score = icd10_score([(extraction, gold, matches)])
    assert (score["matched"], score["with_code"]) == (5, 4)
    assert (score["exact"], score["within"], score["gold_none"], score["wrong"]) == (1, 1, 1, 1)
    assert score["right_of_coded"] == 0.5 and score["uncoded_with_gold_code"] == 1


def test_format_report_prints_the_icd10_figure_of_the_split():
    extraction, gold = _icd10_case()
    block = evaluate_documents([(extraction, "", gold)])
    block["icd10"] = icd10_score([(extraction, gold, block.pop("details")[0]["indications"]["matches"])])
    result = {"extractor": "x", "split": "dev", "dev_gold": block, "ivig_reference": block,
              "train_dev_expectations": {"passed": 0, "total": 0, "by_kind": {}}}
    line = next(l for l in format_report(result).splitlines() if l.startswith("ICD-10"))
    assert line.startswith("ICD-10 right of matched indications with a code: 0.50 (2/4: 1 exact, 1 inside")


def test_international_units_and_units_are_one_unit_but_counts_are_not_drug_units():
    from pipeline.quality.scoring import unit_key
    assert unit_key("IU") == unit_key("units") == unit_key("Units")
    assert unit_key("visits") == unit_key("count") != unit_key("units")
