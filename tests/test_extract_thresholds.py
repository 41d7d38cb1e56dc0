"""Thresholds and units as unseen LCDs write them: units named, shared and inferred, look-backs and lifetime
counts, background sentences and list logic, measure names (models/ANNOTATION.md 5, 12.6-12.10)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.extract import extract
from pipeline.extract import facts as F
from pipeline.extract.lexicon import load_lexicon
from pipeline.extract.numbers import LexiconError, find_quantities
from pipeline.extract.units import DATA_DIR, conventional_unit, load_measure_units
from pipeline.ingest import read_document
from pipeline.ingest.markup import render_html

HEADING = "Coverage Indications, Limitations, and/or Medical Necessity"


def units_of(text: str) -> list[tuple]:
    return [(q.comparator, q.low, q.high, q.unit) for q in find_quantities(text)]


def threshold(text: str) -> tuple:
    """(comparator, value, unit, measure) of the one numeric mention of a policy sentence, read as the extractor does."""
    (q,) = find_quantities(text)
    lexicon = load_lexicon()
    q = replace(q, comparator=F.refine_comparator(text, q, None))
    measure = F.measure_for(text, q, 0, lexicon)
    return q.comparator, q.low, F.threshold_unit(text, q, measure, lexicon), measure


@pytest.fixture(scope="module")
def policy_thresholds(tmp_path_factory):
    """The thresholds the whole extractor finds in a made-up policy section, by sentence."""
    sentences = [
        "The disease affects one case in a million people and up to two thirds of cases resolve spontaneously.",
        "The prevalence is estimated at 50,000 to one, with an onset by 1 to 3 weeks.",
        "Patients must meet 4 or more of the following criteria.",
        "Bariatric surgery is covered for patients with a BMI >40.",
    ]
    root = tmp_path_factory.mktemp("docs")
    path = root / "L99999" / "1.txt"
    path.parent.mkdir()
    path.write_text("Test Policy (L99999)\n\n" + HEADING + "\n\n" + "\n\n".join(sentences) + "\n", encoding="utf-8")
    document = read_document(path, root=root)
    extraction = extract(document)
    return {s: [(t.comparator, t.value, t.unit) for t in extraction.thresholds if t.sentence.strip() == s] for s in sentences}


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("QRS duration > 120 ms", "ms"),  # L39080
        ("sEPO ≤ 500 mU/mL", "mU/mL"),
        ("tube voltage of no more than 120 kV", "kV"),
        ("while the beneficiary is on greater than 4 LPM", "L/min"),  # L33797
        ("Maximum urinary flow rate (Qmax) of ≤15 mL/s", "mL/s"),  # L38682
        ("CD4 count less than 800/mm3", "/mm3"),
        ("CD4 count less than 800mm3", "/mm3"),
        ("attenuation <30 Hounsfield units", "HU"),  # L39913
        ("Unrepaired hiatal hernia >3 cm", "cm"),
    ],
)
def test_units_lcds_write_are_named(text, unit):
    assert units_of(text)[0][3] == unit


def test_reference_superscript_after_a_unit_is_dropped_but_an_area_exponent_kept():
    assert render_html("<p>nodules greater than 4 cm<sup>5</sup> in size</p>").blocks[0].text == "nodules greater than 4 cm in size"
    assert render_html("<p>BMI of 40 kg/m<sup>2</sup></p>").blocks[0].text == "BMI of 40 kg/m2"
    assert units_of("nodules greater than 4 cm in size") == [(">", 4.0, None, "cm")]


def test_unit_written_once_is_the_unit_of_both_bounds():
    assert units_of("Hb >12 and <13 g/dL") == [(">", 12.0, None, "g/dL"), ("<", 13.0, None, "g/dL")]
    # two inclusive bounds of one limit read as the range they state (L36839)
    assert units_of("AHI or RDI greater than or equal to 5 and less than or equal to 14 events per hour") == [
        ("between", 5.0, 14.0, "events/hour")
    ]
    assert units_of("2 times or higher than the upper limit") == [(">=", 2.0, None, "times")]  # "than" opens no bound here


def test_a_restatement_of_the_first_bound_does_not_break_the_pair():
    assert units_of("A TENS trial lasts a minimum of one month (30 days), but not to exceed two months.") == [
        ("between", 1.0, 2.0, "months")
    ]


def test_a_bare_number_joined_to_a_bound_in_the_same_unit_shares_its_comparator():
    text = "A successful trial is at least a 50% reduction of target pain, or 50% reduction of analgesic medications."
    assert units_of(text) == [(">=", 50.0, None, "%"), (">=", 50.0, None, "%")]  # L34328
    assert units_of("at least 3 months of therapy or 6 weeks of home exercise")[1][0] is None  # another unit: no sharing
    assert units_of("less than 50% of patients, not 30% of cases")[1][0] is None  # no "or"/"and"


def test_measure_without_a_written_unit_takes_its_conventional_unit():
    assert threshold("Bariatric surgery is covered for patients with a BMI >40.")[2] == "kg/m2"  # L38033 / L39780
    assert threshold("Hemoglobin less than 10 is required.")[2] == "g/dL"
    assert threshold("Ejection fraction of 35 or less is required.")[2] == "%"
    assert conventional_unit("hemoglobin A1c") == "%"  # the longest name decides, not "hemoglobin"
    # scores and scales stay unitless, and a grade counts nothing (L34648, L40232)
    assert threshold("Osteoporosis is defined as a T-score -2.5 or less.")[2] is None
    assert threshold("A score of ≥2 indicating definite osteoarthritis is required.")[2:] == (None, "score")
    assert threshold("at least one acute infection requiring hospitalization")[2] == "count"  # IVIG gold


def test_measure_units_table_rejects_a_unit_the_extractor_never_writes(tmp_path):
    path = tmp_path / "measure_units.json"
    shutil.copy(DATA_DIR / "measure_units.json", path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["measures"][0]["unit"] = "kg/m^2"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LexiconError, match=r"measures\[0\]: 'kg/m\^2' is not a normal form"):
        load_measure_units(path)


def test_look_backs_windows_and_lifetime_counts():
    assert threshold("The service is covered if it was not performed within the past 6 months.")[:3] == ("<=", 6.0, "months")
    assert threshold("Prior CTA showed non-obstructing stenosis in the past twelve months.")[:3] == ("<=", 12.0, "months")  # L38613
    assert threshold("The repeat injection is covered at least 14 days after the first injection.") == (
        ">=", 14.0, "days", "time since first injection"
    )
    assert threshold("A repeat test after 12 weeks of supplementation is covered.")[:3] == (">", 12.0, "weeks")  # L39391
    assert threshold("Pachymetry will be covered once per lifetime.")[:3] == ("<=", 1.0, "times")  # L33999
    assert threshold("It is reasonable and necessary ONCE in a lifetime.")[:3] == ("<=", 1.0, "times")  # L38682
    assert threshold("No more than 2 levels in one region are covered.") == ("<=", 2.0, "levels", "levels in one region")
    assert threshold("The supplier may dispense only a single course of drugs at one time.")[:3] == ("<=", 1.0, "count")  # L33827


def test_list_logic_is_not_a_threshold(policy_thresholds):
    assert F.is_list_logic("4 or more of the following criteria", find_quantities("4 or more of the following criteria")[0])
    assert policy_thresholds["Patients must meet 4 or more of the following criteria."] == []


def test_background_numbers_in_a_policy_section_are_not_thresholds(policy_thresholds):
    lexicon = load_lexicon()
    assert F.in_background("Nd:YAG capsulotomy has been reported as high as 30% to 50%.", lexicon)  # L33946
    assert not F.in_background("Outpatient care is covered for up to 3 cases per year.", lexicon)
    assert policy_thresholds["The disease affects one case in a million people and up to two thirds of cases resolve spontaneously."] == []
    assert policy_thresholds["The prevalence is estimated at 50,000 to one, with an onset by 1 to 3 weeks."] == []
    assert policy_thresholds["Bariatric surgery is covered for patients with a BMI >40."] == [(">", 40.0, "kg/m2")]


@pytest.mark.parametrize(
    ("text", "measure"),
    [
        ("Diagnostic criteria include fever greater than 38 degrees.", "fever"),
        ("Coverage continues despite CPAP usage of at least 4 hours per night.", "CPAP usage"),
        ("The tube voltage must not exceed 120 kV.", "tube voltage"),
        ("It is recommended that no more than 4 be given.", ""),
        ("A repeat test after 12 weeks of supplementation is covered.", "repeat test"),
        ("It is reasonable and necessary ONCE in a lifetime.", "in a lifetime"),
    ],
)
def test_measure_names_the_measured_quantity_never_a_verb(text, measure):
    assert threshold(text)[3] == measure


def test_second_bound_of_a_pair_limits_the_measure_of_the_first():
    text = "Treatment is indicated when Hb >12 and <13 g/dL."
    assert [F.measure_for(text, q, 0, load_lexicon()) for q in find_quantities(text)] == ["Hb", "Hb"]


def test_number_written_as_a_word_or_digits_is_one_value():
    assert threshold("No more than two sessions are covered.")[:3] == threshold("No more than 2 sessions are covered.")[:3]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Abdominal aortic aneurysms may be followed with abdominal ultrasound every 6 months.", ("=", 6.0, None)),  # L35755
        ("A magnesium check every two to three weeks is appropriate.", ("between", 2.0, 3.0)),  # L36702
        ("Surveillance colonoscopy every one or two years is covered.", ("between", 1.0, 2.0)),  # L34005
        ("Patients are eligible for continued screening at 24-month intervals.", ("=", 24.0, None)),
        ("The level should be checked on a six-month basis.", ("=", 6.0, None)),
    ],
)
def test_how_often_a_service_recurs_is_an_interval_threshold(text, expected):
    (q,) = find_quantities(text)
    assert F.interval_of(text, q) == expected
    assert F.interval_measure(text, q, 0).startswith("interval")


def test_around_the_clock_is_no_interval():
    text = "The receiving station must be staffed on a 24-hour basis."
    (q,) = find_quantities(text)
    assert F.interval_of(text, q) is None


def test_how_often_a_drug_is_given_is_no_interval_threshold(tmp_path):
    path = tmp_path / "L99997" / "1.txt"
    path.parent.mkdir()
    sentences = ["Maintenance IVIG cycles every six to eight weeks are generally required.", "IVIG 2 g/kg every 4 weeks is given.",
                 "Follow-up imaging every 6 months is covered."]
    path.write_text("Test Policy (L99997)\n\n" + HEADING + "\n\n" + "\n\n".join(sentences) + "\n", encoding="utf-8")
    extraction = extract(read_document(path, root=tmp_path))
    assert [(t.comparator, t.value, t.unit) for t in extraction.thresholds] == [("=", 6.0, "months")]


@pytest.mark.parametrize(
    ("text", "measure"),
    [
        ("- 1. One trabecular aqueous stent device per eye which is approved for glaucoma.", "trabecular aqueous stent device per eye"),  # L38299
        ("Two prostheses, one per side, are allowed.", "per side"),  # L33317
        ("- A. One baseline study is considered medically necessary prior to chemotherapy.", "baseline study"),  # L33457
        ("This coverage allows for a single dose (1.5x 10^11 vector genomes) per eligible eye.", "dose per eligible eye"),
        ("- 3. Lens placement can be performed with a single MIGS procedure.", "MIGS procedure"),  # L37244
        ("Medicare allows 1 additional repeat testing within a rolling 12-month period.",
         "additional repeat testing within a rolling 12-month period"),  # L39391
        ("- 2. One subconjunctival space stent or trabecular aqueous stent device is approved.",
         "subconjunctival space stent or trabecular aqueous stent device"),
    ],
)
def test_a_count_of_one_without_comparator_caps_the_service(text, measure):
    assert [(q.comparator, q.low, q.unit, m) for q, m in F.find_caps(text)] == [("<=", 1.0, "count", measure)]


@pytest.mark.parametrize("text", ["One of the following is required.", "One or more per day.", "at one time per day",
                                  "It is performed with one of the following devices."])
def test_one_as_pronoun_or_list_logic_is_no_cap(text):
    assert F.find_caps(text) == []


def test_a_maximum_dose_and_a_rate_per_minute_are_doses():
    text = "Dobutamine is administered IV, starting at 0.5-1.0 mcg/kg/min. The maximum dose is 40 mcg/kg/min."
    rate, maximum = (replace(q, comparator=F.refine_comparator(text, q, None)) for q in find_quantities(text))
    assert F.is_dose(rate, text, 0) and F.split_per_time(rate.unit) == ("mcg/kg", "per minute")
    assert maximum.comparator == "<=" and F.is_dose(maximum, text, text.index("The maximum"))
    limit = "Doses above 100 mg are not covered."
    (q,) = find_quantities(limit)
    assert not F.is_dose(q, limit, 0)


@pytest.mark.parametrize("unit", ["mcg/kg/day", "mg/m2/week", "units/kg/day", "mg/kg", "0.5 mL"])
def test_a_drug_amount_per_unit_of_time_is_a_dose_unit(unit):
    assert F.is_dose_unit(unit.split()[-1])


@pytest.mark.parametrize("unit", ["mL/min", "mL/hr", "events/hour", "ng/mL"])
def test_a_rate_or_a_concentration_is_no_dose_unit(unit):
    assert not F.is_dose_unit(unit)


def test_an_amount_is_a_dose_in_a_dosing_sentence_only():
    lexicon = load_lexicon()
    assert F.in_dose_context("Give rituximab 1,000 mg intravenously on days 1 and 15.", lexicon)
    assert F.in_dose_context("IVIG 400 mg once.", lexicon)  # a drug marker
    assert F.in_dose_context("Testosterone cypionate 50-400 mg every 2 to 4 weeks.", lexicon)  # a dosing interval
    assert F.in_dose_context("Aflibercept 8 mg (0.07 mL of 114.3 mg/mL solution).", lexicon)  # a drug's INN ending
    assert not F.in_dose_context("The concept allows 300 mL of contrast.", lexicon)  # too short for a drug name
    assert not F.in_dose_context("Up to 300 mL of contrast may be used.", lexicon)
    assert not F.in_dose_context("The study was performed in persistent cases.", lexicon)  # "per..." words are not "per"


def test_a_threshold_in_a_criteria_list_belongs_to_the_indication_its_lead_in_names(tmp_path):
    path = tmp_path / "L99996" / "1.txt"
    path.parent.mkdir()
    body = ("Bariatric surgery is covered for patients with morbid obesity when all of the following criteria are met:\n"
            "- BMI of 40 or greater; and\n- documented failure of dieting.\nGastric pacing is not covered.")
    path.write_text(f"Test Policy (L99996)\n\n{HEADING}\n\n{body}\n", encoding="utf-8")
    extraction = extract(read_document(path, root=tmp_path))
    names = {i.local_id: i.name for i in extraction.indications}
    assert [(t.measure, t.value, names.get(t.indication_id)) for t in extraction.thresholds] == [("BMI", 40.0, "morbid obesity")]


def test_a_comparator_before_a_range_bounds_its_near_end_but_windows_and_doses_stay_ranges():
    assert units_of("recirculation percentage greater than 10-15%;") == [(">", 10.0, None, "%")]  # L34062
    assert units_of("within 4-6 weeks") == [("between", 4.0, 6.0, "weeks")]
    assert units_of("up to 2-3 mg") == [("between", 2.0, 3.0, "mg")]


def test_an_average_between_comparator_and_number_and_a_duration_over_a_period():
    assert threshold("The AHI is reduced to less than or equal to an average of ten (10) events per hour.")[:3] == ("<=", 10.0, "events/hour")  # L33797
    assert threshold("Left-sided colitis of over 15 years duration.")[:3] == (">", 15.0, "years")  # L34005


def test_a_volume_range_in_a_sentence_about_no_drug_is_a_threshold(tmp_path):
    path = tmp_path / "L99995" / "1.txt"
    path.parent.mkdir()
    path.write_text(f"Test Policy (L99995)\n\n{HEADING}\n\nThe procedure is covered for a prostate volume of 30-150ml.\n", encoding="utf-8")
    extraction = extract(read_document(path, root=tmp_path))
    assert [(t.comparator, t.value, t.value_high, t.unit) for t in extraction.thresholds] == [("between", 30.0, 150.0, "mL")]  # L38682
    assert extraction.doses == ()


def test_an_abbreviated_measure_keeps_its_written_name_and_an_age_of_an_event_is_a_time_since():
    assert threshold("- Systemic hypotension (systolic blood pressure (BP) below 100 mm Hg.)")[3] == "systolic blood pressure (BP)"  # L33457
    assert threshold("- AMI less than 48 hours old") == ("<", 48.0, "hours", "time since AMI")


def test_a_cap_never_replaces_a_dose_on_the_same_number(tmp_path):
    path = tmp_path / "L99994" / "1.txt"
    path.parent.mkdir()
    path.write_text(f"IVIG Policy (L99994)\n\n{HEADING}\n\nThe IVIG dose is 1 gram per kg per month.\n", encoding="utf-8")
    extraction = extract(read_document(path, root=tmp_path))
    assert [(d.amount_low, d.unit) for d in extraction.doses] == [(1.0, "g/kg")]
    assert extraction.thresholds == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- The patient has a best-corrected visual acuity of 20/50 or worse at distance or near.", (">=", 50.0)),  # L33946
        ("For patients with a best-corrected visual acuity of 20/40 or better, capsulotomy is not covered.", ("<=", 40.0)),
        ("Vision worse than 20/40 in the better eye.", (">", 40.0)),
        ("Visual acuity 20/200 was recorded.", None),
    ],
)
def test_a_snellen_acuity_limits_its_denominator(text, expected):
    found = [(q.comparator, q.low) for q, measure in F.find_snellen(text) if "Snellen" in measure]
    assert found == ([expected] if expected else [])


def test_a_time_filled_with_something_per_period_is_a_rate():
    assert threshold("- patients whose clinical acuity requires less than 24 hours of supervised care per day;")[:3] == ("<", 24.0, "hours/day")  # L34570
    assert threshold("The trial lasts at least 3 months of therapy.")[:3] == (">=", 3.0, "months")


def test_a_bare_number_counts_the_service_noun_named_before_it():
    assert threshold("Injections beyond three to the same tendon sheath are not covered.")[:3] == (">", 3.0, "count")  # L34218
    assert threshold("A KL score of at least 2 is required.")[2] is None  # a grade, not a count


def test_once_every_period_caps_a_service_as_an_interval_of_at_least_the_period():
    text = "Medicare may cover a BMM for a beneficiary once every 2 years."  # L39268
    (q,) = [q for q in find_quantities(text) if q.unit == "years"]
    assert F.interval_of(text, q) == (">=", 2.0, None)


def test_units_of_a_supply_code_are_counted_but_drug_units_are_units():
    text = "The usual maximum is one unit of A4595 per month."  # L33802
    (q,) = find_quantities(text)
    assert F.threshold_unit(text, q, "A4595", load_lexicon()) == "count"
    assert threshold("Doses above 100 units of onabotulinumtoxinA are not covered.")[:3] == (">", 100.0, "units")


def test_an_intake_with_its_substance_between_amount_and_period_is_a_rate():
    text = "- c. Continued active alcoholism (>80gm ethanol/day)"  # L34544
    (q,) = find_quantities(text)
    assert F.threshold_unit(text, q, "alcoholism", load_lexicon()) == "g/day"
    text = "Serum glucose > 200 mg glucose/dL is required."  # a concentration's denominator is no period
    (q,) = find_quantities(text)
    assert F.threshold_unit(text, q, "glucose", load_lexicon()) == "mg"


def test_a_duration_after_for_is_a_schedule_unless_its_bounds_state_a_window():
    (bare,) = find_quantities("Therapy is given for 6-12 weeks.")
    assert F.is_schedule("Therapy is given for 6-12 weeks.", bare)
    text = "The unit is used for at least 1 month but not more than 2 months."
    (window,) = find_quantities(text)
    assert (window.comparator, window.low, window.high) == ("between", 1.0, 2.0)
    assert not F.is_schedule(text, window)


def test_an_amount_per_administration_and_up_to_an_amount_are_doses():
    per_session, = find_quantities("Botox 200 Units per treatment session")
    assert F.is_dose_unit(per_session.unit) and F.split_per_time(per_session.unit) == ("units", "per session")
    text = "Up to 360 Units may be injected."
    (up_to,) = find_quantities(text)
    assert F.is_dose(up_to, text)
    text = "Doses above 100 Units are not reasonable and necessary."
    (above,) = find_quantities(text)
    assert not F.is_dose(above, text)  # a denial of more is a threshold
