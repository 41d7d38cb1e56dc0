"""Pins for the rule lookups that precompile their patterns and pre-test substrings (trigger phrases,
heading votes, known measures, abbreviation long forms): what each one matches must not change."""

from __future__ import annotations

import pytest

from pipeline.extract import facts, indications
from pipeline.extract.lexicon import load_lexicon


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


def test_trigger_mentions_keeps_longest_trigger_and_every_occurrence(lexicon):
    text = (
        "Coverage is reasonable and necessary in patients with chronic inflammatory demyelinating polyneuropathy "
        "and in patients with multifocal motor neuropathy."
    )
    assert indications.trigger_mentions(text, 100, lexicon) == [
        ("patients with chronic inflammatory demyelinating polyneuropathy", 140, 203),
        ("multifocal motor neuropathy", 225, 252),
    ]


def test_trigger_mentions_reads_comma_lists_and_ignores_case(lexicon):
    # the list stops at "pemphigus": on its own it reads as no condition (no condition head or suffix)
    found = indications.trigger_mentions("PATIENTS WITH myasthenia gravis, dermatomyositis, or pemphigus.", 0, lexicon)
    assert found == [("myasthenia gravis", 14, 31), ("dermatomyositis", 33, 48)]


def test_trigger_mentions_needs_a_whole_word_trigger(lexicon):
    # "outpatients with" contains the trigger's text but not the trigger: the substring pre-test only skips.
    assert indications.trigger_mentions("Outpatients with anemia.", 0, lexicon) == []


@pytest.mark.parametrize(
    "heading, vote",
    [
        ("Covered Indications", 1.0),
        ("Limitations of Coverage", -1.0),
        ("Indications and Limitations", 0.0),
        ("Contraindications", -1.0),  # "indications" is inside the word, not a word of its own
    ],
)
def test_heading_vote_reads_whole_words(lexicon, heading, vote):
    assert indications.heading_vote(heading, lexicon) == vote


def test_known_measure_before_takes_plurals_and_qualifiers(lexicon):
    assert facts._known_measure_before("the patient's hemoglobin A1c levels", lexicon) == "hemoglobin A1c"
    assert facts._known_measure_before("two consecutive serum creatinines", lexicon) == "consecutive serum creatinines"
    assert facts._known_measure_before("nothing measured here", lexicon) is None


def test_abbreviation_of_a_long_form_is_the_first_defined():
    by_key = indications._abbreviations_by_key(
        {
            "CIDP": "Chronic Inflammatory Demyelinating Polyneuropathy",
            "CIDPx": "chronic inflammatory demyelinating polyneuropathy",  # same canonical long form, defined later
            "MMN": "multifocal motor neuropathy",
        }
    )
    assert by_key == {"chronic inflammatory demyelinating polyneuropathy": "CIDP", "multifocal motor neuropathy": "MMN"}


def test_list_introduction_ending_in_except_gives_its_items_the_opposite_coverage(lexicon):
    from pipeline.extract.indications import list_intro_vote

    assert list_intro_vote("Abortions are not covered Medicare procedures except:", lexicon, cue_vote=-1.0) > 0
    assert list_intro_vote("The service is covered for all beneficiaries with the following exceptions:", lexicon, cue_vote=1.0) < 0
    assert list_intro_vote("Abortions are not covered Medicare procedures:", lexicon, cue_vote=-1.0) < 0
    assert list_intro_vote("Exceptions are not covered in the following situations:", lexicon, cue_vote=-1.0) < 0
