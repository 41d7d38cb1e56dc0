"""Category numbers: stages, classes, grades and categories after a label word ("stage III or greater",
"NYHA class II-IV", "Category 1 or 2A", "CAD-RADS 1, CAD-RADS 2, or CAD-RADS 3"), as `Category` mentions
(`find_categories`; models/ANNOTATION.md 12.5, 12.18).

`find_quantities` drops a number a label word names ("Stage 3 or 4 disease" is no quantity there: the
number identifies); this module reads the same numbers as the unitless limits the policy states with them.
The lexicon is `data/categories.json`, validated once at import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.extract.numbers.lexicons import _SP
from pipeline.extract.numbers.quantities import Quantity
from pipeline.extract.units import DATA_DIR, check, form_pattern, match_unit, read_lexicon, string_list

CATEGORIES_PATH = DATA_DIR / "categories.json"


@dataclass(frozen=True)
class CategoryLexicon:
    """The compiled category words."""

    head_re: re.Pattern[str]  # a label or scale word (searched, or matched where a repeated label may stand)
    roman: dict[str, int]
    open_top_re: re.Pattern[str]
    open_bottom_re: re.Pattern[str]
    not_before_re: re.Pattern[str]


def _forms_alt(words: list[str]) -> str:
    """An alternation of written forms, longest first ("CAD RADS" also matches "CAD-RADS")."""
    return "|".join(form_pattern(w) for w in sorted(words, key=len, reverse=True))


def load_categories(path: Path = CATEGORIES_PATH) -> CategoryLexicon:
    """Validate and compile a category lexicon; a malformed file raises LexiconError naming the entry."""
    data = read_lexicon(path)
    labels = string_list(data.get("labels"), path, "labels")
    scales = string_list(data.get("scales"), path, "scales")
    roman = data.get("roman_numerals")
    check(isinstance(roman, dict) and bool(roman), path, "roman_numerals", "must map a numeral to its value")
    for numeral, value in roman.items():
        check(re.fullmatch(r"[IVXLC]+", numeral) is not None and isinstance(value, int) and not isinstance(value, bool) and value > 0,
              path, f"roman_numerals[{numeral!r}]", "must map an upper-case Roman numeral to a positive integer")
    open_top = string_list(data.get("open_top"), path, "open_top")
    open_bottom = string_list(data.get("open_bottom"), path, "open_bottom")
    not_before = string_list(data.get("not_before"), path, "not_before")
    # a scale name may carry its own label ("NYHA class III"); labels are case-blind, scale names as written
    head = rf"(?<![A-Za-z0-9\-])(?P<head>(?:{_forms_alt(scales)})(?:{_SP}+(?i:{_forms_alt(labels)}))?|(?i:{_forms_alt(labels)}))(?![A-Za-z])"
    return CategoryLexicon(
        head_re=re.compile(head),
        roman=dict(roman),
        open_top_re=re.compile(rf"{_SP}*,?{_SP}*(?:{_forms_alt(open_top)})(?![A-Za-z])", re.IGNORECASE),
        open_bottom_re=re.compile(rf"{_SP}*,?{_SP}*(?:{_forms_alt(open_bottom)})(?![A-Za-z])", re.IGNORECASE),
        not_before_re=re.compile(rf"[ \t]*(?:[A-Za-z\-]+[ \t]+)?(?:{_forms_alt(not_before)})(?![A-Za-z])", re.IGNORECASE),
    )


CATEGORIES = load_categories()
_ROMAN_ALT = "|".join(sorted(CATEGORIES.roman, key=len, reverse=True))
# the number, a letter sub-grade glued to it ("2A", "IIIB", "IIa"), nothing alphanumeric after
_VALUE_RE = re.compile(rf"(?P<roman>{_ROMAN_ALT})(?P<rl>[A-Ca-c])?(?![A-Za-z0-9])|(?P<digit>\d{{1,2}})(?P<dl>[A-Ca-c](?![A-Za-z0-9]))?(?![A-Za-z0-9]|[.,]\d)")
_AFTER_HEAD_RE = re.compile(rf"{_SP}*(?:[-=]{_SP}*)?")
_ASIDE_RE = re.compile(rf"{_SP}*\([^()\n]{{1,60}}\)")
_CONNECTOR_RE = re.compile(rf"{_SP}*,{_SP}*(?:(?:and/or|or|and){_SP}+)?|{_SP}+(?:and/or|or|and|to|through){_SP}+|{_SP}*[-–/]{_SP}*", re.IGNORECASE)
# "or ambulatory IV", "or non-ambulatory class IV": one qualifying word before a later value
_MODIFIER_RE = re.compile(rf"[a-z][a-z\-]{{2,20}}{_SP}+")
# "CAD-RADS 1 | 1-24% | Minimal ...": a category alone in a table cell labels the row of a definition table
_ROW_LABEL_RE = re.compile(rf"{_SP}*\|")


@dataclass(frozen=True)
class Category:
    """A category number as a unitless limit; `quantity.start` is the label's start."""

    quantity: Quantity
    label: str  # the label as written ("NYHA class", "Stage", "CAD-RADS")


def _value_at(text: str, pos: int, roman: bool | None) -> tuple[int, int, bool] | None:
    """(value, end, is_roman) of a category number at `pos`, of the same kind as the first one if given."""
    m = _VALUE_RE.match(text, pos)
    if m is None or (roman is not None and (m.group("roman") is not None) != roman):
        return None
    if m.group("roman") is not None:
        return CATEGORIES.roman[m.group("roman")], m.end(), True
    if match_unit(text, m.end()) is not None:
        return None  # "stage 3 or 4 weeks later": a quantity, not a category
    return int(m.group("digit")), m.end(), False


def _next_value(text: str, pos: int, roman: bool) -> tuple[int, int] | None:
    """The next value of a list of categories after `pos` ("or IV", ", Class IIa", "/IV", "and RADS-5")."""
    conn = _CONNECTOR_RE.match(text, pos)
    if conn is None:
        return None
    at = conn.end()
    head = CATEGORIES.head_re.match(text, at)
    if head is not None:
        at = _AFTER_HEAD_RE.match(text, head.end()).end()
    found = _value_at(text, at, roman)
    if found is None and head is None:
        modifier = _MODIFIER_RE.match(text, at)
        if modifier is not None:
            at = modifier.end()
            head = CATEGORIES.head_re.match(text, at)
            if head is not None:
                at = _AFTER_HEAD_RE.match(text, head.end()).end()
            found = _value_at(text, at, roman)
    if found is None:
        return None
    return found[0], found[1]


def find_categories(text: str) -> list[Category]:
    """Every category number of `text` after a label word, left to right, non-overlapping."""
    out: list[Category] = []
    floor = 0
    for head in CATEGORIES.head_re.finditer(text):
        if head.start() < floor:
            continue
        first = _value_at(text, _AFTER_HEAD_RE.match(text, head.end()).end(), None)
        if first is None:
            continue
        values, end, roman = [first[0]], first[1], first[2]
        while True:
            aside = _ASIDE_RE.match(text, end)
            nxt = _next_value(text, aside.end() if aside else end, roman)
            if nxt is None:
                break
            values.append(nxt[0])
            end = nxt[1]
        if CATEGORIES.not_before_re.match(text, end) or _ROW_LABEL_RE.match(text, end):
            floor = end
            continue  # "Category III codes", "Class II devices": what is classified is not the patient
        comparator, low, high = ("=", values[0], None) if len(set(values)) == 1 else ("between", min(values), max(values))
        top = CATEGORIES.open_top_re.match(text, end)
        bottom = None if top else CATEGORIES.open_bottom_re.match(text, end)
        if top:
            comparator, low, high, end = ">=", min(values), None, top.end()
        elif bottom:
            comparator, low, high, end = "<=", max(values), None, bottom.end()
        number_start = _AFTER_HEAD_RE.match(text, head.end()).end()
        q = Quantity(head.start(), end, float(low), None if high is None else float(high), comparator, None, "", number_start, end)
        out.append(Category(q, head.group("head")))
        floor = end
    return out
