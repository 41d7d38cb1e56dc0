"""Property tests (hypothesis) of the number, comparator and unit parsers (pipeline.extract.numbers).

Two kinds: arbitrary text never raises and every Quantity points inside the text; and LCD-like phrases
rendered from a (comparator, value, unit) triple parse back to the same triple.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.extract.numbers import COMPARATORS, find_quantities, normalize_unit, parse_number

FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PHRASES = settings(max_examples=800, deadline=None)

# Characters LCD text is made of, weighted toward the ones the parsers branch on.
LCD_ALPHABET = st.sampled_from(
    list("0123456789") * 3
    + list(" .,-/()%<>=½¼:;\n\t")
    + ["–", "−", "≥", "≤", "µ", "\u00a0", "\u2009", "x", "mg", "kg", "g", "mL", "dL", "IU", "units", "per", "day", "week"]
    + ["at least", "no more than", "greater than", "less than", "or equal to", "between", "and", "to", "one", "twenty", "half"]
)
lcd_text = st.lists(LCD_ALPHABET, max_size=40).map("".join)
any_text = st.text(max_size=200)


def _check_quantities(text: str) -> None:
    for q in find_quantities(text):
        assert 0 <= q.start <= q.number_start <= q.number_end <= q.end <= len(text), q
        assert q.comparator is None or q.comparator in COMPARATORS, q
        assert isinstance(q.low, float | int) and not math.isnan(q.low), q
        assert q.high is None or not math.isnan(q.high), q


@FUZZ
@given(st.one_of(any_text, lcd_text))
def test_find_quantities_never_raises_and_points_inside_the_text(text):
    _check_quantities(text)


@FUZZ
@given(st.one_of(any_text, lcd_text))
def test_parse_number_never_raises(text):
    value = parse_number(text)
    assert value is None or isinstance(value, float | int)


@FUZZ
@given(st.one_of(any_text, lcd_text))
def test_normalize_unit_never_raises(text):
    unit = normalize_unit(text)
    assert unit is None or (isinstance(unit, str) and unit)


# --- round trips ----------------------------------------------------------------------------------

# comparator as written -> canonical comparator (a sample of the shipped lexicon, symbol and word forms)
COMPARATOR_FORMS = {
    "": None,
    "≥ ": ">=",
    ">= ": ">=",
    "at least ": ">=",
    "greater than or equal to ": ">=",
    "a minimum of ": ">=",
    "≤ ": "<=",
    "<= ": "<=",
    "no more than ": "<=",
    "not to exceed ": "<=",
    "up to ": "<=",
    "> ": ">",
    "greater than ": ">",
    "< ": "<",
    "less than ": "<",
}
# unit as written -> normalised unit
UNIT_FORMS = {
    "mg": "mg",
    "mg/kg": "mg/kg",
    "g/kg": "g/kg",
    "mcg": "mcg",
    "mL": "mL",
    "mg/dL": "mg/dL",
    "%": "%",
    "days": "days",
    "weeks": "weeks",
    "months": "months",
    "units": "units",
}
CONTEXT_BEFORE = st.sampled_from(["", "The patient received ", "- ", "Dose: ", "1. Covered when the level is "])
CONTEXT_AFTER = st.sampled_from(["", ".", " of therapy.", "; and", ", or"])


def _render(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}" if value >= 1000 else f"{value:.{decimals}f}"


@PHRASES
@given(
    whole=st.integers(min_value=1, max_value=99_999),
    decimals=st.sampled_from([0, 0, 1, 2]),
    fraction=st.integers(min_value=0, max_value=99),
    comparator=st.sampled_from(sorted(COMPARATOR_FORMS)),
    unit=st.sampled_from(sorted(UNIT_FORMS)),
    before=CONTEXT_BEFORE,
    after=CONTEXT_AFTER,
)
def test_rendered_phrase_parses_back_to_its_value_comparator_and_unit(whole, decimals, fraction, comparator, unit, before, after):
    value = round(whole + fraction / 100, decimals)
    written = _render(value, decimals)
    space = "" if unit == "%" else " "
    text = f"{before}{comparator}{written}{space}{unit}{after}"
    quantities = find_quantities(text)
    assert len(quantities) == 1, (text, quantities)
    q = quantities[0]
    assert (q.low, q.high, q.comparator, q.unit) == (value, None, COMPARATOR_FORMS[comparator], UNIT_FORMS[unit]), text
    assert text[q.number_start : q.number_end] == written
    assert parse_number(written) == value


@PHRASES
@given(
    low=st.integers(min_value=1, max_value=500),
    span=st.integers(min_value=1, max_value=500),
    dash=st.sampled_from(["-", "–", " to ", " - "]),
    unit=st.sampled_from(["mg", "mg/kg", "g/kg", "mL", "units"]),
)
def test_rendered_range_parses_back_to_both_ends(low, span, dash, unit):
    text = f"Give {low}{dash}{low + span} {unit} daily."
    quantities = find_quantities(text)
    assert len(quantities) == 1, (text, quantities)
    q = quantities[0]
    assert (q.low, q.high, q.unit) == (low, low + span, UNIT_FORMS[unit]), text


@PHRASES
@given(st.integers(min_value=0, max_value=10**12))
def test_digits_with_thousands_separators_round_trip(value):
    assert parse_number(f"{value:,}") == value
    assert parse_number(str(value)) == value


def test_digits_glued_to_a_non_ascii_letter_do_not_crash():
    # found by the fuzzing above: "0À" raised AttributeError (an ASCII-only word regex after str.isalpha())
    assert find_quantities("0À") == []
    assert [(q.low, q.unit) for q in find_quantities("take 15 éclairs daily")] == [(15, None)]
    assert find_quantities("code 0232Ä") == []
