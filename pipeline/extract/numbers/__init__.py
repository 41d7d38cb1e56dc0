"""Numeric mentions in LCD prose: values, ranges, comparators and units.

`find_quantities` returns every numeric mention of a text, left to right and non-overlapping, as a
`Quantity` whose offsets point into the text. It is pure and fast: all lexicons are JSON data files
(`data/number_words.json`, `data/comparators.json`, `data/units.json`) validated and compiled once at
import, and a 24 KB LCD takes a few milliseconds.

Precision matters more than recall here: a false quantity becomes a false threshold. So numbers that
identify rather than measure are not returned: citation markers glued to words ("et al54",
"studies62,63", "^3-9"), dates and years ("7/15/2021", "2014 to 2019"), statute and manual numbers
("1862(a)(1)(A)", "§80.1", "Chapter 15", "Pub. 100-02"), codes ("G25.82", "E2500-E2511", "93287"),
list markers ("1. The patient"), phone numbers and journal pages ("2018;28(1):87-99").

Decisions (see the tests for the phrases each one comes from):
- Ranges ("0.4 to 1.5 g/kg", "400-600 mg/kg", "between 15 and 65", "from 6 to 12 weeks", "every six
  to eight weeks") have comparator "between", low = the smaller value and high = the larger, whatever
  the written order ("-1.0 to -2.5" -> low -2.5, high -1.0). A dash between two numbers is a range,
  not a minus sign; a dash after a space before a number is a minus sign ("days -7 and -2").
- "over" + a time or count unit is how something is spread ("over 3 days", "over 39 sites"), not a
  threshold: comparator None and "over" stays out of the mention. "over 65", "over 50%" are ">".
  "within 30 days" is "<=".
- A parenthesised alternate rendering right after a quantity ("glucose < 54 mg/dL (3.0 mmol/L)",
  "one month (30 days)") is skipped: it restates the same limit and would make a duplicate fact.
- "mg/d" reads as mg/dL when a lab-value cue (IgG, level, serum, glucose ...) precedes the number
  ("IgG < 400 mg/d" is a truncated mg/dL in a real LCD) and as mg/day otherwise, its usual meaning.
- A word-written time denominator after a unit that already has one ("2 g/kg per month") is the
  dose's schedule and stays outside the mention; "mg/day", "g/kg/day", "18 hours per day" are units.
- "once", "twice", "thrice" are numbers (1, 2, 3) with unit "times". "once" counts only in a
  frequency phrase or after a comparator ("once every 2 years", "more than once"), never as the
  conjunction ("once the arrhythmia has been documented").
- An ordinal day, week, month or year is that many of them ("no sooner than the 60th day but no later than the
  91st day" -> between 60 and 91 days: two full inclusive bounds of one unit are one range); other ordinals stay out.
- "an average of N" is "=" ("an average of 4 hours per 24 hour period"; models/ANNOTATION.md 4 accepts = there).
- "one" and "a single" count only with a unit, a comparator or a confirming digit ("one (1) month",
  "at least one", "more than one"): otherwise they are pronouns ("one of the following").

The package, in import order (each module imports only the ones above it):
- `lexicons`: the number-words and comparator lexicons, validated and compiled once (`WORDS`, `CMP`).
- `patterns`: the regexes built from them.
- `values`: `parse_number`, the value of a number as written.
- `tokens`: the number tokens of a text, the identifier masks and the context checks around a token.
- `quantities`: `Quantity` and `find_quantities`.
- `categories`: `find_categories`, the stage / class / grade / category numbers `find_quantities` leaves out
  as labels ("stage III or greater", "NYHA class II-IV"), read as unitless limits (`data/categories.json`).
"""

from __future__ import annotations

from pipeline.datamodel import COMPARATORS
from pipeline.extract.numbers.lexicons import load_comparators, load_number_words
from pipeline.extract.numbers.quantities import Quantity, find_quantities
from pipeline.extract.numbers.values import parse_number
from pipeline.extract.units import LexiconError, normalize_unit, split_rate

__all__ = [
    "COMPARATORS",
    "LexiconError",
    "Quantity",
    "find_quantities",
    "load_comparators",
    "load_number_words",
    "normalize_unit",
    "parse_number",
    "split_rate",
]
