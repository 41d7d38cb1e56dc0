"""The diff aligns by meaning and is tolerant of wording: folded keys, fuzzy one-to-one indication
alignment, facts aligned within aligned indications, the text safety net, parent links."""

from __future__ import annotations

import duckdb
import pytest
from _factories import build_version

from pipeline.diff import CriterionFact, DoseFact, IndicationFact, PolicySnapshot, ThresholdFact, diff_snapshots, fold
from pipeline.diff.align import assign, name_forms, name_score, sentence_edit
from pipeline.diff.textual import text_changes
from pipeline.warehouse import connect, load_version

SECTION = "coverage_indications"


def _ind(name: str, coverage: str = "covered", normalized: str | None = None, at: int = 0) -> IndicationFact:
    return IndicationFact(name, normalized or name.lower(), coverage, "policy", SECTION, f"- {name}", at)


def _thr(indication: str | None, measure: str, value: float, unit: str | None = "mg/dL", comparator: str = "<", sentence: str | None = None) -> ThresholdFact:
    text = f"{measure} {comparator} {value:g} {unit or ''}".strip()
    return ThresholdFact(indication, measure, comparator, value, None, unit, "inclusion", "policy", SECTION, text, sentence or text)


def _snap(version: str, indications=(), thresholds=(), doses=(), text: str = "") -> PolicySnapshot:
    return PolicySnapshot("L1", version, None, tuple(indications), tuple(doses), tuple(thresholds), (), ((SECTION, text),) if text else ())


def test_fold_turns_accents_into_base_letters_and_straightens_typography():
    assert fold("Guillain-Barré syndrome") == "guillain barre syndrome"
    assert fold("Guillain-Barre’ Syndrome") == "guillain barre syndrome"
    assert fold("“Sjögren’s”  disease – primary") == "sjogrens disease primary"


def test_accented_and_corrected_name_is_the_same_indication_with_its_facts():
    igg = "IgG levels"
    before = _snap("1", [_ind("Guillain-Barre’ syndrome", normalized="guillain barr syndrome")], [_thr("guillain barr syndrome", igg, 400)])
    after = _snap("2", [_ind("Guillain-Barré syndrome", normalized="guillain barre syndrome")], [_thr("guillain barre syndrome", igg, 400)])
    assert diff_snapshots(before, after) == []


def test_misspelt_drug_name_in_indication_aligns_by_similarity():
    before = _snap("1", [_ind("Azathiprime toxicity"), _ind("Multiple sclerosis")])
    after = _snap("2", [_ind("Azathioprine toxicity"), _ind("Multiple sclerosis")])
    assert diff_snapshots(before, after) == []


def test_abbreviation_in_parentheses_is_an_alias():
    before = _snap("1", [_ind("Chronic inflammatory demyelinating polyneuropathy (CIDP)")])
    after = _snap("2", [_ind("CIDP")])
    assert diff_snapshots(before, after) == []


@pytest.mark.parametrize(
    "old, new",
    [
        ("Non-small cell lung cancer", "Small cell lung cancer"),
        ("Type 1 diabetes mellitus", "Type 2 diabetes mellitus"),
        ("Minimal change disease", "Glucocorticoid-resistant minimal change disease"),
        ("Acute pancreatitis", "Chronic pancreatitis"),
        ("Pemphigus vulgaris", "Pemphigus foliaceus"),
    ],
)
def test_names_that_differ_by_a_qualifier_or_number_are_different_indications(old, new):
    changes = diff_snapshots(_snap("1", [_ind(old)]), _snap("2", [_ind(new)]))
    assert sorted(c.change_type for c in changes) == ["indication_added", "indication_removed"]


def test_assignment_is_one_to_one_and_prefers_the_better_pair():
    before = [name_forms("Myasthenia gravis"), name_forms("Myasthenic crisis")]
    after = [name_forms("Myasthenia gravis (MG)")]
    assert assign(before, after, name_score, 90) == [(0, 0)]


def test_changed_value_within_an_aligned_indication_is_one_threshold_change():
    before = _snap("1", [_ind("Chronic GVHD")], [_thr("chronic gvhd", "IgG", 400)])
    after = _snap("2", [_ind("Chronic GVHD")], [_thr("chronic gvhd", "IgG", 500)])
    changes = diff_snapshots(before, after)
    assert [(c.change_type, c.before, c.after) for c in changes] == [("threshold_changed", "IgG < 400 mg/dL", "IgG < 500 mg/dL")]


def test_reworded_measure_with_the_same_value_is_no_change():
    before = _snap("1", [_ind("Chronic GVHD")], [_thr("chronic gvhd", "IgG levels", 400)])
    after = _snap("2", [_ind("Chronic GVHD")], [_thr("chronic gvhd", "serum IgG levels", 400)])
    assert diff_snapshots(before, after) == []


def test_fact_moved_to_another_indication_by_reordered_items_is_no_change():
    sentence = "- 6. Recent MI (30 days or less)"
    before = _snap("1", [_ind("Unstable angina"), _ind("Heart failure")], [_thr("unstable angina", "Recent MI", 30, "days", "<=", sentence)])
    after = _snap("2", [_ind("Unstable angina"), _ind("Heart failure")], [_thr("heart failure", "Recent MI", 30, "days", "<=", sentence.replace("6.", "5."))])
    assert diff_snapshots(before, after) == []


def test_facts_of_a_removed_indication_point_to_its_change():
    before = _snap("1", [_ind("Chronic GVHD"), _ind("Kawasaki disease")], [_thr("kawasaki disease", "fever", 5, "days", ">=")])
    after = _snap("2", [_ind("Chronic GVHD")])
    changes = diff_snapshots(before, after)
    assert [(c.change_type, c.parent) for c in changes] == [("indication_removed", None), ("threshold_removed", 0)]


def test_text_safety_net_reports_a_number_change_that_no_fact_explains():
    before = "Coverage is limited to patients with a BMI below 40.\n- Symptomatic disease"
    after = "Coverage is limited to patients with a BMI below 35.\n- Symptomatic disease"
    changes = diff_snapshots(_snap("1", text=before), _snap("2", text=after))
    assert [(c.change_type, c.before, c.after) for c in changes] == [
        ("text_changed", "Coverage is limited to patients with a BMI below 40.", "Coverage is limited to patients with a BMI below 35.")
    ]


def test_text_safety_net_reports_an_added_negation():
    changes = text_changes([(SECTION, "Home infusion is covered for these patients.")], [(SECTION, "Home infusion is not covered for these patients.")], [])
    assert [c.change_type for c in changes] == ["text_changed"]


def test_text_safety_net_reports_a_flipped_comparison_sign():
    changes = text_changes([(SECTION, "Covered when the IgG level is < 400 mg/dL.")], [(SECTION, "Covered when the IgG level is > 400 mg/dL.")], [])
    assert [c.change_type for c in changes] == ["text_changed"]


@pytest.mark.parametrize(
    "after",
    [
        "Coverage is limited to patients with a BMI below forty.\n- Symptomatic  disease",  # number as a word, doubled space
        "- Symptomatic disease\nCoverage is limited to patients with a BMI below 40.",  # reordered
        "Coverage is limited to pateints with a “BMI” below 40.\n- Symptomatic disease",  # typo, quotes
        "Coverage is limited to patients\nwith a BMI below 40.\n- Symptomatic disease",  # line break added
        "COVERAGE is limited to patients with a BMI below 40!\n- Symptomatic disease",  # case, punctuation
    ],
)
def test_text_safety_net_ignores_editorial_edits(after):
    before = "Coverage is limited to patients with a BMI below 40.\n- Symptomatic disease"
    assert text_changes([(SECTION, before)], [(SECTION, after)], []) == []


def test_text_change_explained_by_a_fact_change_is_not_reported_twice():
    sentence_before, sentence_after = "IgG levels < 400 mg/dL are required.", "IgG levels < 500 mg/dL are required."
    before = _snap("1", [_ind("Chronic GVHD")], [_thr("chronic gvhd", "IgG", 400, sentence=sentence_before)], text=sentence_before)
    after = _snap("2", [_ind("Chronic GVHD")], [_thr("chronic gvhd", "IgG", 500, sentence=sentence_after)], text=sentence_after)
    assert [c.change_type for c in diff_snapshots(before, after)] == ["threshold_changed"]


def test_dose_with_respelled_drug_and_same_amount_is_no_change():
    def dose(drug: str) -> DoseFact:
        return DoseFact("chronic gvhd", drug, 0.4, 0.4, "g/kg", "monthly", None, "policy", SECTION, "0.4 g/kg", "0.4 g/kg monthly")

    before = _snap("1", [_ind("Chronic GVHD")], doses=[dose("oncobotulinumtoxinA")])
    after = _snap("2", [_ind("Chronic GVHD")], doses=[dose("onabotulinumtoxinA")])
    assert diff_snapshots(before, after) == []


def test_warehouse_before_text_changed_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.duckdb"
    con = connect(path)
    key = load_version(con, *build_version())
    con.close()
    # A warehouse from the release before text_changed: the old policy_changes definition, with one row.
    raw = duckdb.connect(str(path))
    for (view,) in raw.execute("select view_name from duckdb_views() where not internal").fetchall():
        raw.execute(f'drop view "{view}"')
    raw.execute("drop table policy_changes")
    raw.execute(
        """
        create table policy_changes (
            change_key integer primary key default nextval('policy_changes_seq'), lcd_id varchar not null,
            from_version_key integer references lcd_versions (version_key),
            to_version_key integer not null references lcd_versions (version_key),
            change_type varchar not null check (change_type in ('indication_added', 'indication_removed')),
            subject varchar not null, before varchar, after varchar, detected_at timestamp not null,
            before_sentence varchar, after_sentence varchar, indication varchar, section varchar
        )
        """
    )
    raw.execute("insert into policy_changes values (7, 'L1', null, ?, 'indication_added', 'X', null, 'covered', now(), null, null, 'x', 's')", [key])
    raw.close()
    con = connect(path)
    try:
        assert con.execute("select change_key, change_type, parent_change_key from policy_changes").fetchall() == [(7, "indication_added", None)]
        con.execute("insert into policy_changes (lcd_id, to_version_key, change_type, subject, detected_at) values ('L1', ?, 'text_changed', 's', now())", [key])
        assert con.execute("select change_type from change_log order by change_type").fetchall() == [("indication_added",), ("text_changed",)]
    finally:
        con.close()


def test_long_descriptive_name_whose_number_changed_is_the_same_indication():
    old = "Severe depression (defined by a score of 20 or more on Patient Health Questionnaire 9)"
    changes = diff_snapshots(_snap("1", [_ind(old)]), _snap("2", [_ind(old.replace("20", "25"))]))
    assert changes == []  # the number itself is the threshold's (or the text safety net's) to report


def _said(name: str, sentence: str, coverage: str = "covered") -> IndicationFact:
    return IndicationFact(name, fold(name), coverage, "policy", SECTION, sentence, 0)


def test_sentence_edit_tells_typos_numbers_and_negation_from_other_words():
    assert sentence_edit("Stage 3 pressure ulcers of full thickness.", "Stage 3 pressure ulcers of full thicnkess.") == frozenset()
    assert sentence_edit("METS < 4 on testing", "METS < 5 on testing") == {"number"}
    assert sentence_edit("The bed is covered for wounds.", "The bed is not covered for wounds.") == {"negation"}
    assert sentence_edit("Breast cancer is covered.", "Metastatic breast cancer is covered.") is None
    assert sentence_edit("Active disease is covered.", "Inactive disease is covered.") is None


def test_sentence_edit_within_a_line_skips_whole_sentences_around_it_only():
    assert sentence_edit("X is covered.", "Intro here. X is covered. More: yes", within=True) == frozenset()
    assert sentence_edit("- Seasonal allergic rhinitis", "Patients with seasonal allergic rhinitis are eligible.", within=True) is None


def test_indication_whose_name_the_extractor_cut_elsewhere_in_the_same_sentence_is_the_same():
    before = _snap("1", [_said("Stage 3 (full thickness tissue", "- Stage 3 (full thickness tissue loss) pressure ulcers")],
                   [_thr("stage 3 full thickness tissue", "ulcer area", 4, "cm")])
    after = _snap("2", [_said("Stage 3 (full thicnkess", "- Stage 3 (full thicnkess tissue loss) pressure ulcers")],
                  [_thr("stage 3 full thicnkess", "ulcer area", 4, "cm")])
    assert diff_snapshots(before, after) == []


def test_indication_found_in_one_version_only_but_stated_in_both_is_no_change():
    old_text, new_text = "Patients with METS < 4 are eligible.", "Patients with METS < 5 are eligible."
    before = _snap("1", [], [_thr(None, "METS", 4, None, sentence=old_text)], text=old_text)
    after = _snap("2", [_said("METS", new_text)], [_thr("mets", "METS", 5, None, sentence=new_text)], text=new_text)
    changes = diff_snapshots(before, after)
    assert [(c.change_type, c.before, c.after) for c in changes] == [("threshold_changed", "METS < 4", "METS < 5")]


def test_indication_dropped_when_its_sentence_turned_negative_is_a_coverage_change():
    sentence = "Continued use of the bed is covered if necessary for wound management."
    before = _snap("1", [_said("wound management", sentence)], text=sentence)
    after = _snap("2", [], text=sentence.replace("is covered", "is not covered"))
    changes = diff_snapshots(before, after)
    assert [(c.change_type, c.before, c.after) for c in changes] == [("coverage_changed", "covered", "not_covered")]


def test_removed_list_item_is_removed_though_another_sentence_uses_its_words():
    before = _snap("1", [_said("Seasonal allergic rhinitis", "- Seasonal allergic rhinitis")],
                   text="- Seasonal allergic rhinitis\nPatients with seasonal allergic rhinitis are eligible.")
    after = _snap("2", [], text="Patients with seasonal allergic rhinitis are eligible.")
    assert [c.change_type for c in diff_snapshots(before, after)] == ["indication_removed"]


def test_criterion_the_extractor_attached_to_another_indication_is_no_change():
    def crit(indication: str) -> CriterionFact:
        return CriterionFact(fold(indication), indication, "requirement", "Performed by trained providers", "policy", SECTION)

    inds = [_ind("Knee osteoarthritis"), _ind("Hip osteoarthritis")]
    before = PolicySnapshot("L1", "1", None, tuple(inds), (), (), (crit("Knee osteoarthritis"),))
    after = PolicySnapshot("L1", "2", None, tuple(inds), (), (), (crit("Hip osteoarthritis"),))
    assert diff_snapshots(before, after) == []


def test_threshold_the_extractor_attached_elsewhere_with_a_new_value_is_one_change():
    sentence = "An IgG below 400 mg/dL is required."
    inds = [_ind("Myasthenia gravis"), _ind("CIDP")]
    before = _snap("1", inds, [_thr("myasthenia gravis", "IgG", 400, sentence=sentence)])
    after = _snap("2", inds, [_thr("cidp", "IgG", 500, sentence=sentence.replace("400", "500"))])
    assert [c.change_type for c in diff_snapshots(before, after)] == ["threshold_changed"]


def test_criterion_the_extractor_read_as_something_else_but_still_written_is_no_change():
    line = "Dyskinesia that limits daily activities despite medication"
    crit = CriterionFact(None, None, "requirement", line, "policy", SECTION)
    before = PolicySnapshot("L1", "1", None, (), (), (), (crit,), ((SECTION, f"- {line}\n- Tremor"),))
    after = PolicySnapshot("L1", "2", None, (), (), (), (), ((SECTION, f"- Tremor\n- {line}"),))
    gone = PolicySnapshot("L1", "2", None, (), (), (), (), ((SECTION, "- Tremor"),))
    assert diff_snapshots(before, after) == []
    assert [c.change_type for c in diff_snapshots(before, gone)] == ["criterion_removed"]


def test_comparison_signs_count_when_sentences_are_compared():
    assert sentence_edit("IgG < 400 mg/dL is required", "IgG > 400 mg/dL is required") is None
    assert sentence_edit("- 2. IgG ≤ 400 mg/dL", "IgG ≤ 400 mg/dL") == frozenset()


def test_threshold_read_with_another_value_from_an_unchanged_sentence_is_no_change():
    sentence = "Infusion lasting longer than sixty (60) minutes."
    before = _snap("1", [], [_thr(None, "infusion", 60, "minutes", ">", sentence)])
    after = _snap("2", [], [_thr(None, "infusion", 600, "minutes", ">", sentence)])
    changed = _snap("2", [], [_thr(None, "infusion", 75, "minutes", ">", sentence.replace("(60)", "(75)"))])
    assert diff_snapshots(before, after) == []
    assert [c.change_type for c in diff_snapshots(before, changed)] == ["threshold_changed"]


def test_indication_dropped_from_a_sentence_that_names_several_is_still_removed():
    old_text, new_text = "Myasthenia gravis, CIDP and Kawasaki disease are covered.", "Myasthenia gravis and Kawasaki disease are covered."
    names = ["Myasthenia gravis", "CIDP", "Kawasaki disease"]
    before = _snap("1", [_said(n, old_text) for n in names], text=old_text)
    after = _snap("2", [_said(n, new_text) for n in names if n != "CIDP"], text=new_text)
    assert [(c.change_type, c.subject) for c in diff_snapshots(before, after)] == [("indication_removed", "CIDP")]


def test_criterion_dropped_under_one_indication_but_kept_under_another_is_removed():
    line = "Documentation of a neurology consultation"
    inds = (_ind("Myasthenia gravis"), _ind("CIDP"))
    both = (CriterionFact("myasthenia gravis", "Myasthenia gravis", "requirement", line, "policy", SECTION),
            CriterionFact("cidp", "CIDP", "requirement", line, "policy", SECTION))
    before = PolicySnapshot("L1", "1", None, inds, (), (), both, ((SECTION, f"- Myasthenia gravis\n- {line}\n- CIDP\n- {line}"),))
    after = PolicySnapshot("L1", "2", None, inds, (), (), both[:1], ((SECTION, f"- Myasthenia gravis\n- {line}\n- CIDP"),))
    assert [(c.change_type, c.subject) for c in diff_snapshots(before, after)] == [("criterion_removed", "CIDP")]


def test_number_written_against_its_unit_is_a_number_not_a_spelling():
    assert sentence_edit("oliguria (<400ml/day) urine", "oliguria (<500ml/day) urine") == {"number"}


def test_coverage_read_differently_from_reordered_items_is_no_change_but_a_flipped_lead_in_is():
    lead = "The following are not covered:"
    old_text = f"{lead}\n- Dyskinesia\n- Tremor"
    before = _snap("1", [_ind("Dyskinesia", coverage="not_covered")], text=old_text)
    swapped = _snap("2", [_ind("Dyskinesia", coverage="covered")], text=f"{lead}\n- Tremor\n- Dyskinesia")
    assert diff_snapshots(before, swapped) == []
    flipped = _snap("2", [_ind("Dyskinesia", coverage="covered")], text="The following are covered:\n- Dyskinesia\n- Tremor")
    assert "coverage_changed" in [c.change_type for c in diff_snapshots(before, flipped)]


def test_items_swapped_with_the_line_after_one_of_them_are_no_change_but_an_item_moved_past_a_heading_is():
    # text after a <br> in an item is a plain line of its own: it moves with its item, it is not a lead-in
    lead = "The following are not covered:"
    old_text = f"{lead}\n- Tremor\nwhen it is medication-refractory\n- Dyskinesia"
    before = _snap("1", [_ind("Dyskinesia", coverage="not_covered")], text=old_text)
    swapped = _snap("2", [_ind("Dyskinesia", coverage="covered")], text=f"{lead}\n- Dyskinesia\n- Tremor\nwhen it is medication-refractory")
    assert diff_snapshots(before, swapped) == []
    # an item moved below a heading written without a colon changes the blocks: its coverage change stands
    listed = "The following are covered:\n- Tremor\n- Dyskinesia\nNot covered\n- Epilepsy"
    moved = "The following are covered:\n- Tremor\nNot covered\n- Dyskinesia\n- Epilepsy"
    covered = _snap("1", [_ind("Dyskinesia")], text=listed)
    denied = _snap("2", [_ind("Dyskinesia", coverage="not_covered")], text=moved)
    assert [c.change_type for c in diff_snapshots(covered, denied)] == ["coverage_changed"]
