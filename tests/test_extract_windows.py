"""Time windows, look-backs, counts and frequency limits as the genre writes them (models/ANNOTATION.md 4, 12.6,
12.7; issue 13, error kind 6): each phrasing of the table is one sentence of a made-up policy section, read by the
whole rule extractor, with the threshold the guideline asks for."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.extract import extract
from pipeline.extract import facts as F
from pipeline.extract.nlp import build_nlp
from pipeline.extract.numbers import LexiconError, find_quantities
from pipeline.ingest import read_document

HEADING = "Coverage Indications, Limitations, and/or Medical Necessity"

# (sentence, (comparator, value, value_high, unit)); a count of times is unit "count" or "times" (the scorer's COUNT)
GENRE = [
    # look-backs (12.6): within / in the past / preceding -> time since the event <= N
    ("The test is covered when performed within the past 6 months.", ("<=", 6, None, "months")),
    ("Imaging must be performed within 30 days prior to the procedure.", ("<=", 30, None, "days")),
    ("The patient has been hospitalized in the previous 6 months.", ("<=", 6, None, "months")),
    ("The patient has been hospitalized during the prior 12 months.", ("<=", 12, None, "months")),
    ("The patient had an exacerbation in the preceding twelve months.", ("<=", 12, None, "months")),
    ("The patient had two exacerbations within the preceding 12 months.", ("<=", 12, None, "months")),
    ("The study must be repeated within 1 year.", ("<=", 1, None, "years")),
    ("The patient had a fall over the past 6 months.", ("<=", 6, None, "months")),
    ("The patient had two visits in the 12 months preceding the procedure.", ("<=", 12, None, "months")),
    # time since an event (12.6)
    ("A second injection is covered at least 14 days after the first injection.", (">=", 14, None, "days")),
    ("Repeat testing is covered no sooner than 90 days after the prior test.", (">=", 90, None, "days")),
    ("A repeat series initiated prior to 6 months after completion of the previous course is not covered.", ("<", 6, None, "months")),
    ("Follow-up in one year after surgery for treatment of colorectal cancer.", ("=", 1, None, "years")),
    ("The exam is covered when 11 full months have passed following the month of the last exam.", (">=", 11, None, "months")),
    ("Reassessment is required after 3 months of therapy.", (">", 3, None, "months")),
    # a look-back whose event must be absent: time since it > N (models/ANNOTATION.md 4, 12.6)
    ("Elastography is covered when it has not been performed within the prior 12 months.", (">", 12, None, "months")),
    ("The study is covered if it has not been performed within the past two years.", (">", 2, None, "years")),
    ("Repeat testing is covered if no test has been done in the preceding 12 months.", (">", 12, None, "months")),
    ("Testing is not performed more than once within a 12-month period nor within 12 months following a liver biopsy.",
     ("<=", 1, None, "times")),
    ("The patient must use the device an average of 4 hours per 24 hour period.", ("=", 4, None, "hours")),
    ("Patients must be re-evaluated between the 31st and 91st day after initiating therapy.", ("between", 31, 91, "days")),
    # durations (4): for at least / a minimum of / consecutive / a N-month trial
    ("Symptoms must persist for at least 3 consecutive months.", (">=", 3, None, "months")),
    ("The patient must have failed conservative therapy for a minimum of 6 weeks.", (">=", 6, None, "weeks")),
    ("Treatment is covered for no longer than 12 weeks.", ("<=", 12, None, "weeks")),
    ("The patient has failed a 3-month trial of conservative therapy.", (">=", 3, None, "months")),
    ("The patient has completed a 6-week course of physical therapy.", (">=", 6, None, "weeks")),
    ("The patient has a 6-month history of pain.", (">=", 6, None, "months")),
    ("Pain must have been present for at least three months.", (">=", 3, None, "months")),
    ("Therapy has been tried for six (6) weeks without relief.", (">=", 6, None, "weeks")),
    ("The patient has pain that has persisted for 3 months.", (">=", 3, None, "months")),
    ("The patient has had a six-week trial of conservative management.", (">=", 6, None, "weeks")),
    # L38841 (dev): a history of that many is at least that many
    ("The patient has had 2 medically reasonable and necessary diagnostic facet joint procedures.", (">=", 2, None, "count")),
    # ordinal days (models/ANNOTATION.md 9): the re-evaluation window of DME LCDs
    ("Re-evaluation must occur no sooner than the 31st day but no later than the 91st day after initiating therapy.",
     ("between", 31, 91, "days")),
    ("If the re-evaluation does not occur until after the 91st day, coverage resumes at the re-evaluation.", (">", 91, None, "days")),
    ("Cardiac event detection is a 30-day service.", ("=", 30, None, "days")),
    # L40244 / L36702 (train): the cycle a service keeps, "on a N-<period> basis"
    ("The receiving station must be staffed on a 24-hour basis with an EKG technician.", ("=", 24, None, "hours")),
    ("If the hypocalcemia persists, the level should be checked on a six-month basis.", ("=", 6, None, "months")),
    # intervals (12.6): every N, no more often than every N
    ("Follow-up imaging is covered every 6 months.", ("=", 6, None, "months")),
    ("The test is covered no more frequently than every 6 months.", (">=", 6, None, "months")),
    ("The test is covered not more often than once every 2 years.", (">=", 2, None, "years")),
    # frequency limits and caps (12.6, 12.7)
    ("No more than three sessions are covered per rolling 12 months.", ("<=", 3, None, "sessions")),
    ("The procedure is covered once per lifetime.", ("<=", 1, None, "times")),
    ("This contractor will cover zoledronic acid once per year for these patients.", ("<=", 1, None, "count")),
    ("The test is covered four times per year.", ("<=", 4, None, "count")),
    ("Therapy is covered three times a week.", ("<=", 3, None, "times")),
    ("Therapy is covered twice weekly.", ("<=", 2, None, "times")),
    ("Cyst aspiration may be repeated once per individual cyst.", ("<=", 1, None, "times")),
    ("The test is covered twice in any 12-month period.", ("<=", 2, None, "times")),
    ("The service is covered three times within a rolling year.", ("<=", 3, None, "times")),
    ("The service may only be reported once during that period.", ("<=", 1, None, "count")),
    ("The codes should be used once to describe central venous angioplasty.", ("<=", 1, None, "count")),
    ("Testing more than once every 12 months is not covered.", (">", 1, None, "times")),
    ("Medicare will cover no more than 2 levels in one region.", ("<=", 2, None, "levels")),
    ("A maximum of 4 sessions will be covered.", ("<=", 4, None, "sessions")),
    # a count of services per period is the count, its period goes to the measure (12.6), not a rate like events/hour
    ("Coverage is limited to up to 6 treatments per year.", ("<=", 6, None, "treatments")),
    ("If more than 3 sessions per week are furnished, they are not covered.", (">", 3, None, "sessions")),
    ("Services are limited to 2 per day.", ("<=", 2, None, "count")),
    # the share of nights held to the same bound as the hours of use
    ("The device must be used at least 4 hours per night on 70% of nights.", (">=", 70, None, "%")),
    ("Testing is limited to 1 per 12 months.", ("<=", 1, None, "count")),
    # usual maximum quantity tables (models/ANNOTATION.md 9): a bare count per period
    ("A7030 | Full face mask used with positive airway pressure device, each | 1 per 3 months", ("<=", 1, None, "count")),
    ("A7038 | Filter, disposable, used with positive airway pressure device | 2 per 1 month", ("<=", 2, None, "count")),
    ("Limit of 1 per calendar year.", ("<=", 1, None, "count")),
    ("The patient has had two or more hospitalizations in the preceding 12 months.", (">=", 2, None, "count")),
    ("The patient has had at least two prior treatment failures.", (">=", 2, None, "count")),  # "prior" + a noun counts
    # an age range whose age words stand inside it takes the unit of age
    ("Screening is covered for patients between the ages of 50 and 75.", ("between", 50, 75, "years")),
]

# sentences whose numbers limit nothing: list logic, background, a schedule, a reference back, a clause "once"
NOT_A_LIMIT = [
    "Patients must meet 4 or more of the following criteria.",
    "Patients must have at least two of the following.",
    "The disease has an onset by 1 to 3 weeks and affects one case in a million people.",
    "IVIG is administered at 2 g/kg once per month.",
    "Patients taking metformin twice daily are eligible.",
    "Coverage resumes after the first 30-day course of conservative treatment.",
    "The recorder may be discontinued once the arrhythmia has been documented.",
    "The risk is three times the risk of the general population.",
    "IVIG is given for 5 days.",
    "The guideline is in its 5th edition.",
    "Up to two thirds of patients improve without treatment.",
]


@pytest.fixture(scope="module")
def thresholds_by_sentence(tmp_path_factory):
    """The thresholds the rule extractor finds in a made-up policy section holding every sentence above."""
    sentences = [s for s, _ in GENRE] + NOT_A_LIMIT
    root = tmp_path_factory.mktemp("docs")
    path = root / "L99998" / "1.txt"
    path.parent.mkdir()
    path.write_text("Test Policy (L99998)\n\n" + HEADING + "\n\n" + "\n\n".join(sentences) + "\n", encoding="utf-8")
    extraction = extract(read_document(path, root=root), nlp=build_nlp(), coverage_model=None)
    found: dict[str, list[tuple]] = {s: [] for s in sentences}
    for t in extraction.thresholds:
        if t.sentence.strip() in found:
            found[t.sentence.strip()].append((t.comparator, t.value, t.value_high, t.unit))
    return found


def _count_as_one(fact: tuple) -> tuple:
    """A count noun ("times", "sessions") is the unit "count" to the scorer (models/ANNOTATION.md 5)."""
    comparator, value, high, unit = fact
    return comparator, value, high, "count" if unit in F.COUNT_UNITS else unit


@pytest.mark.parametrize(("sentence", "expected"), GENRE, ids=[s[:50] for s, _ in GENRE])
def test_genre_window_or_count_is_read_as_its_threshold(thresholds_by_sentence, sentence, expected):
    assert _count_as_one(expected) in [_count_as_one(t) for t in thresholds_by_sentence[sentence]]


@pytest.mark.parametrize("sentence", NOT_A_LIMIT, ids=[s[:50] for s in NOT_A_LIMIT])
def test_numbers_that_limit_nothing_are_no_threshold(thresholds_by_sentence, sentence):
    assert thresholds_by_sentence[sentence] == []


def test_unit_adjectives_keep_the_time_unit():
    assert [(q.comparator, q.low, q.unit) for q in find_quantities("at least 3 consecutive months")] == [(">=", 3.0, "months")]
    assert [(q.low, q.unit) for q in find_quantities("within 30 calendar days")] == [(30.0, "days")]


def test_look_back_openers_read_as_at_most():
    for text in ("in the previous 6 months", "during the prior 12 months", "within the preceding 12 months"):
        (q,) = find_quantities(text)
        assert q.comparator == "<=", text


def test_frequency_limit_needs_a_period_or_scope_after_the_count():
    (once_a_year,) = find_quantities("covered once per year")
    (three_times,) = find_quantities("three times the upper limit")
    assert F.is_frequency_limit("covered once per year", once_a_year)
    assert not F.is_frequency_limit("three times the upper limit", three_times)


def test_once_after_a_billing_verb_is_a_cap_but_not_before_a_clause():
    assert [(q.comparator, q.low) for q, _ in F.find_once_caps("The code is billed once, regardless of the number of lesions.")] == [("<=", 1.0)]
    assert F.find_once_caps("The recorder is used once the arrhythmia is documented.") == []


def test_window_lexicon_rejects_an_upper_case_word(tmp_path: Path):
    path = tmp_path / "windows.json"
    shutil.copy(F.WINDOWS_PATH, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["length_nouns"].append("Trial")
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LexiconError, match="length_nouns"):
        F.load_windows(path)


def test_ordinal_day_reads_as_that_many_days_and_other_ordinals_as_nothing():
    assert [(q.comparator, q.low, q.unit) for q in find_quantities("no sooner than the 60th day")] == [(">=", 60.0, "days")]
    assert find_quantities("the 5th edition of the manual") == []


def test_two_bounds_each_with_its_unit_join_into_one_range():
    assert [(q.comparator, q.low, q.high, q.unit) for q in find_quantities("at least 5 mg and at most 9 mg")] == [("between", 5.0, 9.0, "mg")]


def test_period_count_names_the_table_row_and_its_period():
    ((q, measure),) = F.find_period_counts("A7030 | Full face mask, each | 1 per 3 months")
    assert (q.comparator, q.low, q.unit, measure) == ("<=", 1.0, "count", "A7030 per 3 months")
    assert F.find_period_counts("5 mg per 3 months and 30 events per hour") == []
    assert F.find_period_counts("covered once per lifetime") == []




def test_liver_biopsy_window_after_nor_is_time_since_more_than_the_window(thresholds_by_sentence):
    sentence = "Testing is not performed more than once within a 12-month period nor within 12 months following a liver biopsy."
    assert (">", 12.0, None, "months") in [t for t in thresholds_by_sentence[sentence] if t[1] == 12.0]

