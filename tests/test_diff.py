"""The policy diff: facts aligned by meaning, stored idempotently per version pair."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from _factories import IvigSpec, build_version

from pipeline.diff import (
    CHANGE_TYPES,
    DoseFact,
    IndicationFact,
    PolicyChange,
    PolicySnapshot,
    diff_between,
    diff_snapshots,
    diff_version,
    rediff_lcd,
    same_criterion,
    snapshot,
    snapshot_of,
    write_changes,
)
from pipeline.warehouse import connect, load_version, versions_of

GVHD = "chronic graft versus host disease"


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A fresh temp-file warehouse."""
    connection = connect(tmp_path / "lcd.duckdb")
    yield connection
    connection.close()


def _snap(**spec: object) -> PolicySnapshot:
    """The snapshot of a factory version."""
    return snapshot_of(*build_version(**spec))


def _diff(before: dict, after: dict) -> list[PolicyChange]:
    """Changes between two factory versions described by spec overrides."""
    return diff_snapshots(_snap(**before), _snap(version="36", **after))


def _types(changes: list[PolicyChange]) -> list[str]:
    return [change.change_type for change in changes]


def _load(con: duckdb.DuckDBPyConnection, **spec: object) -> int:
    return load_version(con, *build_version(**spec))


def _stored(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        "select from_version_key, to_version_key, change_type, subject, before, after "
        "from policy_changes order by change_key"
    ).fetchall()


def test_identical_versions_have_no_changes():
    assert _diff({}, {}) == []


def test_reflowed_reordered_and_typo_fixed_version_has_no_changes():
    # Offsets, sentence order, list order and sentence wording all differ; the facts do not.
    before, after = _snap(reflowed=True), _snap(version="36")
    assert before.indications[0].sentence != after.indications[0].sentence
    assert before.indications[0].char_start != after.indications[0].char_start
    assert [c.text for c in before.criteria] != [c.text for c in after.criteria]
    assert diff_snapshots(before, after) == []
    assert diff_snapshots(after, before) == []


def test_added_indication():
    changes = _diff({}, {"extra_indications": ("scleromyxedema",)})
    assert changes == [
        PolicyChange(
            "indication_added", "scleromyxedema", None, "covered", None,
            "IVIG is covered for scleromyxedema.", "scleromyxedema", "coverage_indications",
        )
    ]


def test_removed_indication():
    changes = _diff({}, {"include_sps": False})
    assert _types(changes) == ["indication_removed"]
    assert (changes[0].subject, changes[0].before, changes[0].after) == ("stiff-person syndrome", "covered", None)
    assert changes[0].before_sentence == "IVIG is covered for stiff-person syndrome."


def test_coverage_changed_for_the_same_indication():
    changes = _diff({}, {"gvhd_coverage": "not_covered"})
    assert _types(changes) == ["coverage_changed"]
    change = changes[0]
    assert (change.subject, change.before, change.after, change.indication) == (GVHD, "covered", "not_covered", GVHD)
    assert "is covered for chronic graft" in change.before_sentence
    assert "is not covered for chronic graft" in change.after_sentence


def test_l35891_dose_range_widened_to_2_g_per_kg():
    changes = _diff({}, {"dose_high": 2.0})
    assert _types(changes) == ["dose_changed"]
    change = changes[0]
    assert (change.subject, change.before, change.after) == ("IVIG dose", "0.4–1.5 g/kg monthly", "0.4–2 g/kg monthly")
    assert change.indication == GVHD
    assert change.before_sentence.endswith("0.4–1.5 g/kg monthly.")
    assert change.after_sentence.endswith("0.4–2 g/kg monthly.")


def test_igg_threshold_raised_from_400_to_500():
    changes = _diff({}, {"igg_value": 500.0})
    assert [(c.change_type, c.subject, c.before, c.after) for c in changes] == [
        ("threshold_changed", "IgG", "IgG < 400 mg/dL", "IgG < 500 mg/dL")
    ]
    assert "< 500 mg/dL" in changes[0].after_sentence


def test_threshold_comparator_change_is_a_threshold_change():
    changes = _diff({}, {"igg_comparator": "<="})
    assert [(c.change_type, c.before, c.after) for c in changes] == [
        ("threshold_changed", "IgG < 400 mg/dL", "IgG <= 400 mg/dL")
    ]


def test_criteria_added_and_removed_per_indication():
    after_criteria = ("laboratory proven hypogammaglobulinemia", "at least 100 days post transplant", "IgG trough documented")
    changes = _diff({}, {"criteria": after_criteria})
    assert [(c.change_type, c.subject, c.before, c.after) for c in changes] == [
        ("criterion_removed", GVHD, "at least one acute infection requiring hospitalization", None),
        ("criterion_added", GVHD, None, "IgG trough documented"),
    ]


def test_criterion_typo_fix_is_not_a_change():
    fixed = ("laboratory proven hypogammaglobulinemia", "at least one acute infection requiring hospitalisation",
             "at least 100 days post-transplant")
    typo = ("laboratory proven hypogamaglobulinemia", *fixed[1:])
    assert _diff({"criteria": typo}, {"criteria": fixed}) == []


def test_criterion_number_or_negation_change_is_a_change():
    assert not same_criterion("patients 20 years of age or older", "patients 18 years of age or older")
    assert not same_criterion("recommended for autologous transplants", "not recommended for autologous transplants")
    changes = _diff({}, {"criteria": (*IvigSpec().criteria[:2], "at least 90 days post transplant")})
    assert _types(changes) == ["criterion_removed", "criterion_added"]


def test_evidence_only_facts_are_ignored():
    # The evidence section summarises literature: a new trial dose or condition is not a policy change.
    assert _diff({}, {"evidence_dose": 1.0, "evidence_indication": "Alzheimer disease"}) == []


def test_indication_named_twice_in_a_version_is_one():
    before = _snap()
    repeated = replace(before.indications[0], char_start=999, sentence="Again: GVHD is covered.")
    after = replace(before, indications=(*before.indications, repeated))
    assert diff_snapshots(before, after) == []


def test_unclear_mention_does_not_override_a_definite_coverage():
    before = _snap()
    unclear = replace(before.indications[0], coverage="unclear", char_start=0)
    after = replace(before, indications=(unclear, *before.indications))
    assert diff_snapshots(before, after) == []


def test_conflicting_mentions_report_both_coverages():
    before = _snap()
    said = f"{before.indications[0].name} is not covered when it recurs."
    conflicting = replace(before.indications[0], coverage="not_covered", char_start=999, sentence=said)
    (name, text), *rest = before.policy_text
    after = replace(before, indications=(*before.indications, conflicting), policy_text=((name, f"{text}\n{said}"), *rest))
    changes = diff_snapshots(before, after)
    assert [(c.change_type, c.before, c.after) for c in changes] == [
        ("coverage_changed", "covered", "covered, not_covered")
    ]


def _dose(low: float, high: float, unit: str = "g/kg", section: str = "policy") -> DoseFact:
    return DoseFact(GVHD, "IVIG", low, high, unit, "monthly", None, section, "coverage_indications", "d", f"s {high}")


def test_dose_multiset_pairs_only_what_changed():
    before = PolicySnapshot("L1", "1", None, doses=(_dose(1, 2), _dose(0.4, 1.5)))
    after = PolicySnapshot("L1", "2", None, doses=(_dose(0.4, 2), _dose(1, 2)))
    changes = diff_snapshots(before, after)
    assert [(c.change_type, c.before, c.after) for c in changes] == [
        ("dose_changed", "0.4–1.5 g/kg monthly", "0.4–2 g/kg monthly")
    ]


def test_dose_stated_twice_then_once_is_not_a_change():
    before = PolicySnapshot("L1", "1", None, doses=(_dose(0.4, 1.5), _dose(0.4, 1.5)))
    after = PolicySnapshot("L1", "2", None, doses=(_dose(0.4, 1.5),))
    assert diff_snapshots(before, after) == []


def test_dose_in_a_new_unit_is_removed_and_added():
    before = PolicySnapshot("L1", "1", None, doses=(_dose(400, 1500, "mg/kg"),))
    after = PolicySnapshot("L1", "2", None, doses=(_dose(0.4, 1.5),))
    assert sorted(_types(diff_snapshots(before, after))) == ["dose_added", "dose_removed"]


def test_policy_wide_facts_and_indications_from_other_sections_are_ignored():
    other = IndicationFact("Kawasaki disease", "kawasaki disease", "covered", "other", "revision_history", "s", 5)
    before = PolicySnapshot("L1", "1", None)
    after = PolicySnapshot("L1", "2", None, indications=(other,), doses=(_dose(1, 2, section="evidence"),))
    assert diff_snapshots(before, after) == []


def test_every_change_type_is_one_of_the_design_values():
    changes = _diff(
        {"include_sps": True},
        {"include_sps": False, "extra_indications": ("SLE",), "gvhd_coverage": "not_covered", "dose_high": 2.0,
         "igg_value": 500.0, "criteria": ("new criterion",)},
    )
    assert set(_types(changes)) <= set(CHANGE_TYPES)
    assert set(_types(changes)) == {
        "indication_added", "indication_removed", "coverage_changed", "dose_changed", "threshold_changed",
        "criterion_added", "criterion_removed",
    }


def test_snapshot_from_the_warehouse_equals_the_snapshot_of_the_document(con):
    doc, extraction = build_version(extra_indications=("scleromyxedema",))
    key = load_version(con, doc, extraction)
    assert snapshot(con, key) == snapshot_of(doc, extraction, version_key=key)


def test_diff_version_writes_changes_against_the_previous_version(con):
    v35 = _load(con, version="35", effective_date=date(2024, 3, 1))
    v36 = _load(con, version="36", effective_date=date(2024, 6, 1), dose_high=2.0, igg_value=500.0)
    assert diff_version(con, v35) == []
    changes = diff_version(con, v36)
    assert _types(changes) == ["dose_changed", "threshold_changed"]
    assert _stored(con) == [
        (v35, v36, "dose_changed", "IVIG dose", "0.4–1.5 g/kg monthly", "0.4–2 g/kg monthly"),
        (v35, v36, "threshold_changed", "IgG", "IgG < 400 mg/dL", "IgG < 500 mg/dL"),
    ]
    sentences = con.execute("select before_sentence, after_sentence, indication, section from policy_changes").fetchall()
    assert sentences[0][0].endswith("1.5 g/kg monthly.") and sentences[0][1].endswith("2 g/kg monthly.")
    assert sentences[0][2:] == (GVHD, "coverage_indications")


def test_diff_version_is_idempotent(con):
    _load(con, version="35")
    v36 = _load(con, version="36", gvhd_coverage="not_covered")
    diff_version(con, v36)
    first = _stored(con)
    diff_version(con, v36)
    assert _stored(con) == first
    assert len(first) == 1


def test_version_loaded_out_of_order_rediffs_its_neighbours(con):
    v1 = _load(con, version="1", effective_date=None, dose_high=1.0)
    v3 = _load(con, version="3", effective_date=None, dose_high=2.0)
    diff_version(con, v3)
    assert [(row[0], row[1]) for row in _stored(con)] == [(v1, v3)]
    v2 = _load(con, version="2", effective_date=None, dose_high=1.5)
    diff_version(con, v2)
    pairs = {(row[0], row[1], row[4], row[5]) for row in _stored(con)}
    assert pairs == {
        (v1, v2, "0.4–1 g/kg monthly", "0.4–1.5 g/kg monthly"),
        (v2, v3, "0.4–1.5 g/kg monthly", "0.4–2 g/kg monthly"),
    }


def test_rediff_lcd_rebuilds_every_consecutive_pair(con):
    keys = [_load(con, version=str(n), effective_date=None, igg_value=100.0 * n) for n in (1, 2, 3)]
    assert rediff_lcd(con, "L35891") == 2
    assert rediff_lcd(con, "L35891") == 2
    assert sorted((row[0], row[1]) for row in _stored(con)) == [(keys[0], keys[1]), (keys[1], keys[2])]


def test_diff_between_arbitrary_versions_does_not_write(con):
    keys = [_load(con, version=str(n), effective_date=None, igg_value=100.0 * n) for n in (1, 2, 3)]
    changes = diff_between(con, keys[0], keys[2])
    assert [(c.before, c.after) for c in changes] == [("IgG < 100 mg/dL", "IgG < 300 mg/dL")]
    assert _stored(con) == []


def test_write_changes_replaces_the_rows_of_the_same_pair(con):
    v1, v2 = _load(con, version="1"), _load(con, version="2")
    one = PolicyChange("indication_added", "SLE", None, "covered")
    two = PolicyChange("indication_removed", "SPS", "covered", None)
    assert write_changes(con, "L35891", v1, v2, [one, two], detected_at=datetime(2024, 1, 1)) == 2
    assert write_changes(con, "L35891", v1, v2, [two]) == 1
    assert [row[2:4] for row in _stored(con)] == [("indication_removed", "SPS")]


def test_write_changes_rejects_unknown_change_type_and_keeps_old_rows(con):
    v1, v2 = _load(con, version="1"), _load(con, version="2")
    write_changes(con, "L35891", v1, v2, [PolicyChange("indication_added", "SLE", None, "covered")])
    with pytest.raises(duckdb.ConstraintException):
        write_changes(con, "L35891", v1, v2, [PolicyChange("dose_increased", "IVIG dose", "1", "2")])
    assert [row[2] for row in _stored(con)] == ["indication_added"]


def test_hostile_lcd_id_diffs_and_stores_changes(con):
    hostile = "L9'); delete from policy_changes; --"
    _load(con, lcd_id=hostile, version="1")
    v2 = _load(con, lcd_id=hostile, version="2", igg_value=500.0)
    assert _types(diff_version(con, v2)) == ["threshold_changed"]
    assert con.execute("select distinct lcd_id from policy_changes").fetchall() == [(hostile,)]
    assert [v.version for v in versions_of(con, hostile)] == ["1", "2"]


def test_bulk_diff_of_many_versions_stores_what_one_at_a_time_stores(tmp_path):
    from pipeline.diff.store import diff_versions

    versions = [dict(version=str(v), salt=f"s{v}", igg_value=value, effective_date=date(2024, v - 30, 1)) for v, value in ((34, 400.0), (35, 500.0), (36, 450.0))]
    stored = []
    for bulk in (False, True):
        con = connect(tmp_path / f"{bulk}.duckdb")
        # Two LCDs, three versions each, loaded out of order so that a version also re-diffs its successor.
        keys = [_load(con, lcd_id=lcd, **{**spec, "salt": spec["salt"] + lcd}) for lcd in ("L35891", "L11111") for spec in (versions[0], versions[2], versions[1])]
        if bulk:
            count = diff_versions(con, keys)
        else:
            count = sum(len(diff_version(con, key)) for key in keys)
        stored.append((count, _stored(con)))
        con.close()
    assert stored[0] == stored[1]
    assert stored[0][1], "the fixture versions differ in policy"
