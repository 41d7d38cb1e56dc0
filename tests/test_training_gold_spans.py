"""Span annotations derived from the hand-made gold (pipeline.training.gold_spans): which written forms become
INDICATION spans, where THRESHOLD/DOSE spans sit inside the gold quotes, and the committed files."""

from __future__ import annotations

import json

from pipeline.extract.numbers import find_quantities
from pipeline.ingest import read_document
from pipeline.quality.evaluation import latest_file
from pipeline.quality.scoring import load_gold
from pipeline.training.corpus import load_file, validate_record
from pipeline.training.gold_spans import derive_records, indication_spans, main, number_spans, quantity_span, roman_value, without_overlaps, written_value_span
from tests.conftest import RAW_DOCS, REPO

ANNOTATIONS = REPO / "models" / "annotations"


def _gold(indications=(), optional=(), thresholds=(), doses=()) -> dict:
    """A gold reference in the shape `load_gold` returns, with only the fields the derivation reads."""
    return {
        "indications": [{"name": n, "aliases": list(a), "coverage": c} for n, a, c in indications],
        "optional_indications": [{"name": n, "aliases": list(a)} for n, a in optional],
        "thresholds": list(thresholds),
        "doses": list(doses),
    }


def _marked(text: str, spans) -> list[tuple[str, str | None]]:
    return [(text[s:e], cov) for s, e, _, cov in spans]


def test_gold_spans_mark_every_written_form_with_the_gold_coverage():
    text = "Cervical dystonia (spasmodic torticollis) is covered.\n- CERVICAL DYSTONIA with pain\n- Chronic migraine is not covered."
    gold = _gold([("Cervical dystonia", ["spasmodic torticollis"], "covered"), ("Chronic migraine", [], "not_covered")])
    assert _marked(text, indication_spans(text, gold)) == [
        ("Cervical dystonia", "covered"),
        ("spasmodic torticollis", "covered"),
        ("CERVICAL DYSTONIA", "covered"),
        ("Chronic migraine", "not_covered"),
    ]


def test_gold_spans_fold_accents_and_apostrophes_like_the_scorer():
    text = "Sjögren’s syndrome may be treated."
    assert _marked(text, indication_spans(text, _gold([("Sjogren's syndrome", [], "covered")]))) == [("Sjögren’s syndrome", "covered")]


def test_gold_spans_abbreviation_forms_match_only_in_capitals():
    text = "AIR is rare; air travel is not a condition."
    spans = indication_spans(text, _gold([("Autoimmune retinopathy", ["AIR"], "covered")]))
    assert _marked(text, spans) == [("AIR", "covered")]


def test_gold_spans_leave_the_bracketed_abbreviation_after_the_name_out():
    text = "Autoimmune retinopathy (AIR) is rare. AIR responds to IVIG."
    spans = indication_spans(text, _gold([("Autoimmune retinopathy", ["AIR"], "covered")]))
    assert _marked(text, spans) == [("Autoimmune retinopathy", "covered"), ("AIR", "covered")]
    assert spans[1][0] == text.rindex("AIR")


def test_gold_spans_keep_a_bracketed_synonym_after_the_name():
    text = "Thromboangiitis obliterans (Buerger's disease) and metastatic colorectal cancer (mCRC)"
    gold = _gold([("Thromboangiitis obliterans", ["Buerger's disease"], "covered"), ("Metastatic colorectal cancer", ["mCRC"], "covered")])
    assert [t for t, _ in _marked(text, indication_spans(text, gold))] == ["Thromboangiitis obliterans", "Buerger's disease", "metastatic colorectal cancer"]


def test_gold_spans_joined_alias_gives_way_to_one_span_per_listed_condition():
    text = "- ovarian cancer/fallopian tube cancer/primary peritoneal cancer"
    gold = _gold(
        [
            ("Ovarian cancer", ["ovarian cancer/fallopian tube cancer/primary peritoneal cancer"], "covered"),
            ("Fallopian tube cancer", [], "covered"),
            ("Primary peritoneal cancer", [], "covered"),
        ]
    )
    assert [t for t, _ in _marked(text, indication_spans(text, gold))] == ["ovarian cancer", "fallopian tube cancer", "primary peritoneal cancer"]


def test_gold_spans_joined_form_of_one_entry_stays_one_span():
    # "dental infection" is its own entry, but nothing else inside names the first entry: one span, as written.
    text = "- Active urinary tract or dental infection"
    gold = _gold([("Active urinary tract infection", ["active urinary tract or dental infection"], "not_covered"), ("Active dental infection", ["dental infection"], "not_covered")])
    assert _marked(text, indication_spans(text, gold)) == [("Active urinary tract or dental infection", "not_covered")]


def test_gold_spans_subtype_with_the_opposite_decision_keeps_its_longer_span():
    text = "Minimal change disease is covered; glucocorticoid-resistant minimal change disease is not."
    gold = _gold([("Minimal change disease", [], "covered"), ("Glucocorticoid-resistant minimal change disease", [], "not_covered")])
    assert _marked(text, indication_spans(text, gold)) == [
        ("Minimal change disease", "covered"),
        ("glucocorticoid-resistant minimal change disease", "not_covered"),
    ]


def test_gold_spans_optional_entry_blocks_the_required_form_inside_it():
    text = "Ulcers are covered, including diabetic lower extremity ulcers."
    gold = _gold([("Ulcers", [], "covered")], optional=[("Diabetic lower extremity ulcers", [])])
    assert _marked(text, indication_spans(text, gold)) == [("Ulcers", "covered")]


def test_gold_spans_name_inside_a_hyphenated_compound_is_not_a_mention():
    text = "The CARE-HF trial enrolled patients with HF."
    assert _marked(text, indication_spans(text, _gold([("Heart failure", ["HF"], "covered")]))) == [("HF", "covered")]


def test_gold_spans_never_run_a_name_across_a_line():
    text = "- Erosive\n- esophagitis is covered"
    assert indication_spans(text, _gold([("Erosive esophagitis", [], "covered")])) == []


def test_gold_threshold_span_is_the_mention_of_the_gold_value_inside_its_quote():
    text = "LVEF ≤ 35%, on GDMT for at least 3 months and with no reversible causes."
    fact = {"comparator": ">=", "value": 3.0, "value_high": None, "text": "on GDMT for at least 3 months"}
    spans, unplaced = number_spans(text, _gold(thresholds=[fact]))
    assert [text[s:e] for s, e, label, _ in spans if label == "THRESHOLD"] == ["at least 3 months"] and unplaced == 0


def test_gold_dose_range_span_matches_either_written_order():
    text = "T-scores from -1.0 to -2.5 and a dose of 0.4 to 1.5 g/kg"
    quantities = find_quantities(text)
    assert text[slice(*quantity_span(quantities, 0, len(text), -2.5, -1.0))] == "from -1.0 to -2.5"
    assert text[slice(*quantity_span(quantities, 0, len(text), 0.4, 1.5))] == "0.4 to 1.5 g/kg"


def test_gold_threshold_written_as_a_roman_category_is_placed_on_the_numerals():
    text = "worsening HF symptoms (NYHA class II-IV) with a decline"
    assert text[slice(*written_value_span(text, 0, len(text), 2.0, 4.0))] == "II-IV"
    assert [roman_value(t) for t in ("III", "IV", "IIIB", "IIa", "Class")] == [3, 4, 3, 2, None]


def test_gold_fact_whose_value_is_not_in_its_quote_is_counted_unplaced():
    text = "Testing is limited to one visit."
    spans, unplaced = number_spans(text, _gold(thresholds=[{"comparator": "<=", "value": 2.0, "text": "one visit"}]))
    assert spans == [] and unplaced == 1


def test_gold_spans_indication_wins_over_an_overlapping_number_span():
    indications = [(0, 24, "INDICATION", "covered")]
    numbers = [(19, 24, "THRESHOLD", None), (30, 35, "THRESHOLD", None)]
    assert without_overlaps(indications, numbers) == [(0, 24, "INDICATION", "covered"), (30, 35, "THRESHOLD", None)]


def test_l36575_contraindication_list_records_are_valid_gold_records():
    document = read_document(latest_file("L36575", RAW_DOCS), root=RAW_DOCS)
    records, stats = derive_records("L36575", document, load_gold(REPO / "models" / "gold" / "L36575.json"))
    for record in records:
        validate_record(record, "L36575")
        assert record["source"] == "gold" and record["checked"] is False
        assert document.text[record["offset"] : record["offset"] + len(record["text"])] == record["text"]
    item = next(r for r in records if r["text"] == "- Active urinary tract or dental infection")
    assert [(s["text"], s["coverage"]) for s in item["spans"]] == [("Active urinary tract or dental infection", "not_covered")]
    assert stats["spans"] == sum(len(r["spans"]) for r in records) > 20


def test_committed_gold_span_file_is_what_the_derivation_writes():
    document = read_document(latest_file("L35121", RAW_DOCS), root=RAW_DOCS)
    records, _ = derive_records("L35121", document, load_gold(REPO / "models" / "gold" / "L35121.json"))
    assert load_file(ANNOTATIONS / "dev" / "L35121.jsonl") == json.loads(json.dumps(records))


def test_gold_span_derivation_refuses_test_documents(capsys):
    assert main(["L39909"]) == 2
    assert "refused: L39909" in capsys.readouterr().err
