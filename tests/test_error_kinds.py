"""Errors sorted by kind (pipeline.quality.error_kinds) and the scorer figures they read (quantities, ICD-10,
unit mismatches), on tiny hand-built extractions, gold dicts and texts. Nothing here runs the extractor."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pipeline.datamodel import Extraction
from pipeline.extract.lexicon import LexiconError
from pipeline.quality.error_kinds import KINDS, LEXICON_PATH, document_error_kinds, error_kinds, list_items, load_kind_lexicon
from pipeline.quality.evaluation import format_compare, format_report
from pipeline.quality.scoring import evaluate_documents, score_extraction
from tests.test_evaluate import dose, ind, thr


def gold(indications=(), thresholds=(), doses=(), **extra):
    return {"document": "tiny", "indications": list(indications), "doses": list(doses),
            "thresholds": list(thresholds), **extra}


def g_ind(name, coverage="covered", **extra):
    return {"name": name, "coverage": coverage, **extra}


def g_thr(value, comparator, unit, measure="m", text="", **extra):
    return {"indication": None, "section": "policy", "measure": measure, "comparator": comparator, "value": value,
            "unit": unit, "text": text, **extra}


def at(indication, text, phrase):
    """The indication placed on the first occurrence of `phrase` in `text`."""
    start = text.index(phrase)
    return replace(indication, char_start=start, char_end=start + len(phrase))


def kinds_of(extraction, text, gold_dict):
    return document_error_kinds(score_extraction(extraction, text, gold_dict), text)


def test_missed_not_covered_indication_is_an_exclusion_missed():
    g = gold([g_ind("Gout"), g_ind("Iodine allergy", "not_covered"), g_ind("Pregnancy", "not_covered")])
    k = kinds_of(Extraction(indications=(ind(0, "Gout"), ind(1, "Pregnancy", "not_covered"))), "", g)
    assert k["exclusions_missed"] == {"count": 1, "denominator": 2}


def test_member_of_a_sub_list_missed_while_its_family_item_is_extracted():
    text = ("Covered conditions:\n- Autoimmune blistering diseases:\n  - Pemphigus vulgaris\n  - Bullous pemphigoid\n"
            "- Kawasaki disease")
    g = gold([g_ind("Pemphigus vulgaris"), g_ind("Bullous pemphigoid"), g_ind("Kawasaki disease")])
    ex = Extraction(indications=(at(ind(0, "Autoimmune blistering diseases"), text, "Autoimmune blistering"),
                                 ind(1, "Pemphigus vulgaris"), ind(2, "Kawasaki disease")))
    k = kinds_of(ex, text, g)
    assert k["family_members_missed"] == {"count": 1, "denominator": 2}  # Kawasaki is no member of a family
    # without the family extracted, its members are not counted as sub-list misses
    k = kinds_of(Extraction(indications=(ind(1, "Pemphigus vulgaris"),)), text, g)
    assert k["family_members_missed"]["denominator"] == 0


def test_fragments_and_non_conditions_are_kind_3_and_a_real_condition_is_not():
    g = gold([g_ind("Gout")])
    ex = Extraction(indications=(ind(0, "Gout"), ind(1, "Perineural"), ind(2, "oxygen applied"), ind(3, "Cancers"),
                                 ind(4, "20 mg"), ind(5, "hypertrophic cardiomyopathy")))
    k = kinds_of(ex, "", g)
    assert k["fragments_as_indications"] == {"count": 4, "denominator": 5}


def test_false_positive_inside_a_criteria_item_or_a_threshold_sentence_is_kind_4():
    text = ("Coverage requires all of the following criteria:\n- Perineural invasion\n"
            "Patients with anemia and hemoglobin < 10 g/dL qualify.\nObesity is noted.")
    g = gold([g_ind("Gout")], [g_thr(10, "<", "g/dL", "hemoglobin", text="hemoglobin < 10 g/dL")])
    ex = Extraction(indications=(at(ind(0, "Perineural invasion"), text, "Perineural invasion"),
                                 at(ind(1, "anemia"), text, "anemia"), at(ind(2, "Obesity"), text, "Obesity")))
    k = kinds_of(ex, text, g)
    assert k["criteria_conditions_as_indications"] == {"count": 2, "denominator": 3}


def test_threshold_found_by_value_and_comparator_with_another_unit_is_a_unit_error():
    g = gold(thresholds=[g_thr(4, ">", "L/min", "oxygen flow"), g_thr(88, "<=", "%", "saturation")])
    ex = Extraction(thresholds=(thr(4, ">", "count", "LPM"), thr(88, "<=", "%", "saturation")))
    r = score_extraction(ex, "", g)
    pair = r["thresholds"]["policy"]["unit_mismatches"]
    assert [(p["gold"]["unit"], p["extracted"]["unit"]) for p in pair] == [("L/min", "count")]
    assert document_error_kinds(r, "")["units_lost_or_wrong"] == {"count": 1, "denominator": 2}


def test_missed_time_windows_and_counts_are_kind_6_and_ages_are_not_time_windows():
    g = gold(thresholds=[g_thr(12, "<=", "months", "time since last test"), g_thr(2, ">", "visits", "visits"),
                         g_thr(65, ">=", "years", "age"), g_thr(400, "<", "mg/dL", "IgG")])
    k = kinds_of(Extraction(thresholds=(thr(2, ">", "count", "visits"),)), "", g)
    assert k["time_and_count_missed"] == {"count": 1, "denominator": 2}


def test_descriptive_numbers_without_a_comparator_or_in_background_are_kind_7():
    text = ("Background\nThe disease affects 30 percent of adults.\nProgram\nPrevalence is greater than 5%.\n"
            "Policy\nPatients must have had at least 3 visits.")
    def placed(value, comparator, unit, phrase):
        start = text.index(phrase)
        return thr(value, comparator, unit, text=phrase, start=start, end=start + len(phrase))

    ex = Extraction(thresholds=(
        placed(30, "=", "%", "30 percent"),  # no comparator, under a background heading
        replace(placed(5, ">", "%", "greater than 5%"), sentence="Prevalence is greater than 5%."),  # background words
        placed(3, ">=", "count", "at least 3"),
    ))
    k = kinds_of(ex, text, gold())
    assert k["descriptive_numbers_as_thresholds"] == {"count": 2, "denominator": 3}


def test_matched_threshold_whose_measure_shares_no_word_with_the_gold_measure_is_kind_8():
    g = gold(thresholds=[g_thr(4, ">=", "hours/day", "hours of use per night"), g_thr(50, ">=", "years", "age")])
    ex = Extraction(thresholds=(thr(4, ">=", "hours/day", "hour use"), thr(50, ">=", "years", "men")))
    k = kinds_of(ex, "", g)
    assert k["measure_not_the_quantity"] == {"count": 1, "denominator": 2}


def test_matched_facts_linked_to_another_indication_are_wrong_attachments():
    g = gold([g_ind("Gout"), g_ind("Lupus")],
             thresholds=[g_thr(20, ">=", "years", "age", indication="Gout")],
             doses=[{"indication": "Lupus", "section": "policy", "low": 1, "high": 2, "unit": "g/kg"}])
    ex = Extraction(indications=(ind(0, "Gout"), ind(1, "Lupus")),
                    thresholds=(thr(20, ">=", "years", "age", indication_id=1),),
                    doses=(dose(1, 2, "g/kg", indication_id=1),))
    k = kinds_of(ex, "", g)
    assert k["wrong_attachment"] == {"count": 1, "denominator": 2}


def test_false_positive_that_is_a_strict_part_of_a_gold_name_is_truncated():
    g = gold([g_ind("Myasthenia gravis", aliases=["MG"])])
    ex = Extraction(indications=(ind(0, "Myasthenia gra"), ind(1, "Osteoporosis")))
    k = kinds_of(ex, "", g)
    assert k["truncated_names"] == {"count": 1, "denominator": 2}


def test_long_list_misses_count_only_gold_items_of_lists_of_ten_or_more():
    names = [f"Condition{c} syndrome" for c in "ABCDEFGHIJ"]
    text = "Covered:\n" + "\n".join(f"- {n}" for n in names) + "\nAlso:\n- Gout\n- Lupus"
    g = gold([g_ind(n) for n in names] + [g_ind("Gout"), g_ind("Lupus")])
    ex = Extraction(indications=tuple(ind(i, n) for i, n in enumerate(names[:7])))
    k = kinds_of(ex, text, g)
    assert k["long_list_items_missed"] == {"count": 3, "denominator": 10}


def test_glued_digit_units_and_markup_in_names_are_reader_residue_but_kg_m2_is_not():
    ex = Extraction(
        indications=(ind(0, "Crohn&amp;s disease"), ind(1, "Gout")),
        thresholds=(thr(5, ">=", "cm5", "lesion size"), thr(35, ">=", "kg/m2", "BMI"), thr(10, "<", "cmH2O", "p")),
    )
    k = kinds_of(ex, "", gold())
    assert k["reader_residue"] == {"count": 2, "denominator": 5}


def test_list_items_nest_indented_items_and_adopt_items_after_a_colon_item_in_flattened_lists():
    text = ("Criteria:\n- 1. Threat to self:\n- suicidal ideation\n- self-mutilation\n- 2. Psychosis\n"
            "- Disease families:\n  - Pemphigus")
    items = list_items(text)
    line = {text[i.start:i.end]: i for i in items}
    assert line["- suicidal ideation"].depth == 1 and line["- self-mutilation"].siblings == 2
    assert text[slice(*line["- suicidal ideation"].parent)] == "- 1. Threat to self:"
    assert line["- 2. Psychosis"].depth == 0 and line["- 2. Psychosis"].siblings == 3
    assert text[slice(*line["  - Pemphigus"].parent)] == "- Disease families:"
    assert line["  - Pemphigus"].ancestors == "- Disease families:\nCriteria:"


def test_error_kinds_sum_documents_in_the_issue_order():
    g = gold([g_ind("Pregnancy", "not_covered")])
    one = score_extraction(Extraction(), "", g)
    two = score_extraction(Extraction(indications=(ind(0, "Pregnancy", "not_covered"),)), "", g)
    totals = error_kinds([one, two], ["", ""])
    assert list(totals) == [key for key, _ in KINDS]
    assert totals["exclusions_missed"] == {"label": dict(KINDS)["exclusions_missed"], "count": 1,
                                           "denominator": 2, "rate": 0.5}
    assert totals["truncated_names"]["rate"] == 0.0  # nothing to count: no false positives


def test_quantity_f1_matches_value_and_unit_whatever_the_comparator_or_kind():
    g = gold(thresholds=[g_thr(20, ">=", "years", "age"), g_thr(1, "between", "g/kg", value_high=2)],
             optional_thresholds=[g_thr(9, "=", "count")])
    ex = Extraction(thresholds=(thr(20, "<", "years", "age", polarity="inclusion"), thr(9, "=", "count")),
                    doses=(dose(1, 2, "g/kg"), dose(5, 5, "mg")))
    q = score_extraction(ex, "", g)["quantities"]["policy"]
    assert (q["tp"], q["fp"], q["fn"], q["ignored"]) == (2, 1, 0, 1)
    assert q["f1"] == pytest.approx(0.8)


def test_icd10_right_when_an_extracted_code_lies_under_the_gold_code():
    g = gold([g_ind("Chronic migraine", icd10cm=["G43.7"]), g_ind("Gout", icd10cm=["M10"]), g_ind("Lupus")])
    ex = Extraction(indications=(replace(ind(0, "Chronic migraine"), icd10_codes=("G43.709",)),
                                 replace(ind(1, "Gout"), icd10_codes=("M1A.0",)), ind(2, "Lupus")))
    micro = evaluate_documents([(ex, "", g)])["micro"]
    assert (micro["icd10_correct"], micro["icd10_total"]) == (1, 2)


def _result(name, recall, excl):
    micro = {f"{b}_{m}": recall for b in ("indication", "threshold_policy", "dose_policy")
             for m in ("recall", "precision", "f1")}
    micro.update(coverage_accuracy=0.5, quantity_policy_f1=0.25, icd10_correct=1, icd10_total=4, icd10_accuracy=0.25)
    kinds = {key: {"label": label, "count": 0, "denominator": 0, "rate": 0.0} for key, label in KINDS}
    kinds["exclusions_missed"] = {"label": "excl", "count": excl, "denominator": 9, "rate": excl / 9}
    block = {"documents": 3, "micro": micro, "error_kinds": kinds}
    return {"extractor": name, "split": "dev", "dev_gold": block, "ivig_reference": block,
            "train_dev_expectations": {"passed": 1, "total": 2, "by_kind": {"dose": {"passed": 1, "total": 2}}}}


def test_format_compare_puts_the_rules_and_the_full_pipeline_side_by_side():
    table = format_compare({"rules alone": _result("r", 0.4, 7), "full pipeline": _result("f", 0.6, 2)})
    header, _, *rows = table.splitlines()
    assert "dev gold (3 documents)" in header and header.index("rules alone") < header.index("full pipeline")
    row = next(r for r in rows if r.startswith("indications"))
    assert row.index("0.40 / 0.40 / 0.40") < row.index("0.60 / 0.60 / 0.60")
    assert next(r for r in rows if "excl" in r).split()[-2:] == ["7/9", "2/9"]
    assert len(rows) == 7 + len(KINDS)  # five figures, two ICD-10 readings, one row per error kind


def test_format_report_lists_every_error_kind_with_its_count_and_denominator():
    report = format_report(_result("f", 0.6, 2))
    assert "errors by kind (dev gold):" in report and " 1 excl" in report and "2/9" in report


def test_kind_lexicon_rejects_upper_case_words(tmp_path):
    data = json.loads(LEXICON_PATH.read_text(encoding="utf-8"))
    data["condition_heads"].append("Tumor")
    bad = tmp_path / "error_kinds.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LexiconError, match="condition_heads"):
        load_kind_lexicon(bad)
