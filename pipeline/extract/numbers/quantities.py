"""Numeric mentions: each number token read with its unit, the comparator around it and a range it
starts, as a `Quantity` (`find_quantities`)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pipeline.extract.numbers.lexicons import CMP, _key
from pipeline.extract.numbers.patterns import (
    _COMPARATOR_END_CHARS,
    _CONCENTRATION_HINT,
    _CONN_RE,
    _LABEL_SET,
    _LABEL_THEN_NUMBER,
    _PAIR_JOIN_RE,
    _SHARED_COMPARATOR_GAP_RE,
    _ONCE_CONTEXT_RE,
    _ORDINAL_TIME_RE,
    _PAREN_CLOSE_RE,
    _PAREN_OPEN_RE,
    _PREV_WORD_REV,
    _STAT_PREFIX_REV,
    _THAN_NEXT_RE,
)
from pipeline.extract.numbers.tokens import (
    _Tok,
    _in_open_paren,
    _left_context,
    _left_glue,
    _mask_spans,
    _overlaps,
    _right_reject,
    _tokens,
)
from pipeline.extract.units import UNITS, UnitMatch, match_unit


@dataclass(frozen=True)
class Quantity:
    """A numeric mention: `text[start:end]` is the whole mention, comparator words and unit included."""

    start: int
    end: int
    low: float  # the value, or the low end of a range
    high: float | None  # the high end of a range, else None
    comparator: str | None  # "<" "<=" ">" ">=" "=" "between", or None for a bare value
    unit: str | None  # normalised unit, or None for a bare count
    unit_text: str  # the unit as written ("" if none)
    number_start: int  # offsets of the numeric part (a range: first number to last number)
    number_end: int


@dataclass
class _Before:
    start: int
    key: str
    stat: str | None  # "drop" | "bare" | None
    gap: str  # words between the phrase and the number ("the age of")
    prev_word: str  # the word before the phrase, lower-cased ("" if not needed)


def _before(text: str, pos: int) -> _Before | None:
    """The comparator phrase ending right before `pos` (the number, its sign included)."""
    j = pos - 1
    while j >= 0 and text[j] in " \t\u00a0\u2009\u202f":
        j -= 1
    if j < 0 or not (text[j].isalpha() or text[j] in _COMPARATOR_END_CHARS):
        return None
    window = text[max(0, pos - 100) : pos][::-1]
    m = CMP.before_rev.match(window)
    if m is None:
        return None
    start = pos - m.end("cmp")
    phrase = text[start : pos - m.start("cmp")]
    key = _key(phrase)
    rest = window[m.end("cmp") :]
    stat = None
    if not key.isalpha():  # "p < 0.05", "n = 23"
        prefix = _STAT_PREFIX_REV.match(rest)
        if prefix:
            stat = CMP.statistic_prefixes.get(prefix.group(1).lower())
    prev_word = ""
    if key in CMP.before and CMP.before[key].not_after_words:
        prev = _PREV_WORD_REV.match(rest)
        prev_word = prev.group(1)[::-1].lower() if prev else ""
    return _Before(start, key, stat, m.group("gap")[::-1].lower(), prev_word)


def _unit_at(text: str, tok: _Tok, pos: int) -> UnitMatch | None:
    if tok.kind == "mult":
        return None
    concentration = False
    if "d" in text[pos : pos + 12].lower() and _CONCENTRATION_HINT.search(text, pos, pos + 12):
        line_start = text.rfind("\n", max(0, tok.start - 60), tok.start) + 1
        concentration = UNITS.concentration_re.search(text, max(line_start, tok.start - 60), tok.start) is not None
    found = match_unit(text, pos, concentration=concentration)
    if found is not None and _LABEL_THEN_NUMBER.match(text, found.start) and found.text.lower() in _LABEL_SET:
        return None  # "one level 3 hypoglycemic event": "level" names what "3" identifies
    return found


def _mult_unit(text: str, tok: _Tok) -> tuple[str, str, int]:
    """"once" is 1 time; "once per encounter" is 1 time per encounter."""
    dens, pos, first = [], tok.end, None
    while len(dens) < 3:
        m = UNITS.den_re.match(text, pos)
        if m is None:
            break
        first = m.start("den") if first is None else first
        dens.append(UNITS.den(m.group("den")) if m.group("den") not in UNITS.ambiguous_dens else "day")
        pos = m.end()
    if not dens:
        return "times", "", tok.end
    start = text.rfind("per", tok.end, first)
    start = start if start >= 0 else tok.end
    return "times" + "".join("/" + d for d in dens), text[start:pos].strip(), pos


def _is_year(tok: _Tok) -> bool:
    return tok.kind == "digit" and not tok.signed and len(tok.digits) == 4 and tok.digits.isdigit() and 1900 <= int(tok.digits) <= 2099


def _is_code(tok: _Tok) -> bool:
    d = tok.digits
    return tok.kind == "digit" and d.isdigit() and (len(d) >= 5 or (len(d) >= 2 and d[0] == "0"))


@dataclass
class _Range:
    b: _Tok
    unit: UnitMatch | None
    unit_name: str | None
    end: int


def _range(text: str, toks: list[_Tok], i: int, a: _Tok, ua: UnitMatch | None, connectors: frozenset[str], masks) -> _Range | str | None:
    """The second half of a range starting at token `a`, "reject" for a range of years or codes."""
    if i + 1 >= len(toks) or a.kind == "mult":
        return None
    pos = ua.end if ua else a.end
    m = _CONN_RE.match(text, pos)
    if m is None:
        return None
    conn = (m.group("dash") or m.group("word")).lower()
    if m.group("dash"):
        conn = "-" if conn in "-‒" else conn
        if conn not in connectors and "-" not in connectors:
            return None
    elif conn not in connectors:
        return None
    b = toks[i + 1]
    if b.kind in ("mult", "reject"):
        return None
    if b.start == m.end():
        value_b = b.value
    elif b.signed and b.nstart == m.end() and b.start < m.end():
        value_b = -b.value  # the dash read as b's minus sign is the range dash: "400 –600"
        b = _Tok(b.nstart, b.nstart, b.core_end, b.end, value_b, b.kind, b.digits, False, b.needs_context, b.confirmed)
    else:
        return None
    if m.group("dash") and (a.kind == "word" or b.kind == "word" or (a.kind == "fraction" and not a.digits)):
        return None  # "two-4" is not how ranges are written; a dash after a word is a compound
    if _overlaps(masks, b.nstart, b.core_end):
        return None
    ub = _unit_at(text, b, b.end)
    if _right_reject(text, b, ub is not None):
        return None
    if ua is not None and ub is not None:
        if ua.unit == ub.unit or ub.unit.startswith(ua.unit + "/"):
            unit_name = ub.unit
        else:
            return None  # "72 hours to 1 week": two quantities
    else:
        unit_name = (ub or ua).unit if (ub or ua) else None
    if unit_name is None and any(_is_year(t) or _is_code(t) for t in (a, b)):
        return "reject"
    if m.group("dash") and unit_name is None and b.digits[:1] == "0" and len(b.digits.split(".")[0]) > 1:
        return "reject"  # "100-02": a publication number
    return _Range(b, ub, unit_name, max(b.end, ub.end if ub else 0))


def _introduces_next(text: str, toks: list[_Tok], i: int, pos: int) -> bool:
    """Whether only spaces and gap words stand between `pos` and the next number."""
    j = i + 1
    while j < len(toks) and toks[j].start < pos:
        j += 1
    return j < len(toks) and toks[j].start - pos <= 40 and CMP.gap_re.fullmatch(text, pos, toks[j].start) is not None


def _comparator_before(text: str, a: _Tok, floor: int) -> _Before | None | str:
    """The comparator phrase before `a`, "drop" for a statistic to drop ("p < 0.05"), else None."""
    before = _before(text, a.start)
    if before is None or before.start < floor:
        return None  # nothing, or words that belong to the previous mention
    if before.stat == "drop":
        return "drop"
    return None if before.stat == "bare" else before


# Ranges of these kinds keep both ends after a comparator: "within 4-6 weeks" is a window, "over two to four
# days per month" a schedule, "up to 2-3 mg" a dose.
_RANGE_KEPT_KINDS = ("time", "interval", "frequency", "rate", "count", "mass", "volume", "activity", "amount")


def _range_quantity(text: str, toks: list[_Tok], i: int, ua: UnitMatch | None, before: _Before | None, labelled: bool, masks) -> Quantity | str | None:
    """The range starting at token i ("0.4 to 1.5 g/kg", "between 15 and 65"), "reject" for a range
    of identifiers ("2014 to 2019"), or None when token i does not start a range."""
    a = toks[i]
    opener = before.key if before is not None and before.key in CMP.openers else None
    rng = _range(text, toks, i, a, ua, CMP.openers[opener] if opener else CMP.connectors, masks)
    if rng is None or rng == "reject":
        return rng
    if labelled and rng.unit_name is None:
        return None  # "criteria 1-7"
    if before is not None and opener is None and before.stat is None:
        phrase = CMP.before[before.key]
        unit = rng.unit or ua
        if phrase.comparator != "=" and (unit is None or unit.kind not in (*phrase.not_before_kinds, *_RANGE_KEPT_KINDS)) \
                and before.prev_word not in phrase.not_after_words:
            # "greater than 10-15%": an uncertain bound, the limit is the near end (the low end of "more than")
            value = min(a.value, rng.b.value) if phrase.comparator in (">", ">=") else max(a.value, rng.b.value)
            return Quantity(before.start, rng.end, value, None, phrase.comparator, rng.unit_name,
                            rng.unit.text if rng.unit else (ua.text if ua else ""), a.start, rng.b.end)
    return Quantity(
        start=before.start if opener else a.start,
        end=rng.end,
        low=min(a.value, rng.b.value),
        high=max(a.value, rng.b.value),
        comparator="between",
        unit=rng.unit_name,
        unit_text=rng.unit.text if rng.unit else (ua.text if ua else ""),
        number_start=a.start,
        number_end=rng.b.end,
    )


def _counts(text: str, a: _Tok, unit: str | None, comparator: str | None, after_cmp: str | None, labelled: bool) -> bool:
    """Whether a lone number is a quantity, given what was read around it."""
    if a.kind == "mult" and a.value == 1 and comparator is None and not _ONCE_CONTEXT_RE.match(text, a.end):
        return False  # "once the arrhythmia has been documented"
    if unit is not None or comparator is not None:
        if labelled and unit is None and after_cmp is None:
            return False  # "Type 2" is a label even when a phrase before it reads like a comparator
        return True
    if labelled or (a.needs_context and not a.confirmed):
        return False  # "Section 50"; "one of the following"
    if _is_year(a) or _is_code(a):
        return False  # "in 2019", "93287"
    if text[a.end : a.end + 1] == ")" and a.kind == "digit" and not _in_open_paren(text, a.start):
        return False  # "it must 1) be eligible ... 2) be reasonable"
    return True


def _single_quantity(text: str, toks: list[_Tok], i: int, ua: UnitMatch | None, plus_end: int | None, before: _Before | None, labelled: bool) -> tuple[Quantity | None, int]:
    """A single value with its unit and comparator, and the index of the first token after it."""
    a = toks[i]
    if a.kind == "mult":
        unit, unit_text, end = _mult_unit(text, a)
    else:
        unit = ua.unit if ua else None
        unit_text = ua.text if ua else ""
        end = ua.end if ua else (plus_end or a.end)
    after_cmp = CMP.glued_after.get("+") if plus_end is not None else None
    if after_cmp is None:
        m = CMP.after_re.match(text, end)
        if m is not None and not _introduces_next(text, toks, i, m.end()) and not _THAN_NEXT_RE.match(text, m.end()):  # "30% and over the age of 50"
            after_cmp = CMP.after[_key(m.group("after"))]
            end = m.end()
            if unit is None and a.kind != "mult":
                late = _unit_at(text, a, end)  # "two or more cycles"
                if late is not None:
                    unit, unit_text, end = late.unit, late.text, late.end
    comparator, start = None, a.start
    if before is not None and before.key not in CMP.openers:
        phrase = CMP.before[before.key]
        kind = "age" if any(w in CMP.age_words for w in before.gap.split()) else (ua.kind if ua else None)
        if (kind is None or kind not in phrase.not_before_kinds) and before.prev_word not in phrase.not_after_words:
            comparator, start = phrase.comparator, before.start
    comparator = comparator or after_cmp
    if not _counts(text, a, unit, comparator, after_cmp, labelled):
        return None, i + 1
    nxt = i + 1
    while nxt < len(toks) and toks[nxt].nstart < end:
        nxt += 1
    quantity = Quantity(start, end, a.value, None, comparator, unit, unit_text, a.start, a.end)
    return quantity, nxt


def _build(text: str, toks: list[_Tok], i: int, masks, floor: int = 0) -> tuple[Quantity | None, int]:
    """The mention starting at token i (not reaching back before `floor`), and the next token index."""
    a = toks[i]
    written_end = a.nstart + len(a.digits) if a.digits else a.core_end  # "1.5 x 10^11": the mask of "^11" is the exponent's
    if a.kind == "reject" or _overlaps(masks, a.nstart, written_end) or _left_glue(text, a) != "ok":
        return None, i + 1
    left = _left_context(text, a)
    if left in ("date", "citation"):
        return None, i + 1
    ua = _unit_at(text, a, a.end)
    plus_end = None
    if ua is None and text[a.end : a.end + 1] == "+" and not text[a.end + 1 : a.end + 2].isdigit() and "+" in CMP.glued_after:
        plus_end = a.end + 1  # "65+", "65+ years"
        ua = _unit_at(text, a, plus_end)
    if _right_reject(text, a, ua is not None or plus_end is not None):
        return None, i + 1
    before = _comparator_before(text, a, floor)
    if before == "drop":
        return None, i + 1
    if plus_end is None:
        rng = _range_quantity(text, toks, i, ua, before, left == "label", masks)
        if rng == "reject":
            return None, i + 2
        if rng is not None:
            return rng, i + 2
    return _single_quantity(text, toks, i, ua, plus_end, before, left == "label")


_LOWER_BOUNDS = (">", ">=")
_UPPER_BOUNDS = ("<", "<=")


def join_bounds(text: str, quantities: list[Quantity]) -> list[Quantity]:
    """Read a lower and an upper bound of one limit together: the unit written once at the end is both
    bounds' unit ("Hb >12 and <13 g/dL" -> > 12 g/dL, < 13 g/dL), and two inclusive bounds are one range
    ("≥ 5 and ≤ 14 events per hour" -> between 5 and 14 events/hour, as "between 5 and 14" reads), also when each
    bound writes the unit ("no sooner than the 60th day but no later than the 91st day" -> between 60 and 91 days)."""
    out: list[Quantity] = []
    for q in quantities:
        first = out[-1] if out else None
        same_unit = first is not None and first.unit is not None and first.unit == q.unit
        if (
            first is None
            or (first.unit is not None and not same_unit)
            or q.unit is None
            or first.comparator not in _LOWER_BOUNDS
            or q.comparator not in _UPPER_BOUNDS
            or first.low >= q.low
            or _PAIR_JOIN_RE.fullmatch(text, first.end, q.start) is None
        ):
            out.append(q)
        elif first.comparator == ">=" and q.comparator == "<=":
            out[-1] = Quantity(first.start, q.end, first.low, q.low, "between", q.unit, q.unit_text, first.number_start, q.number_end)
        elif same_unit:
            out.append(q)  # "> 5 mg and < 9 mg": two limits, each with its own unit already
        else:
            out[-1] = replace(first, unit=q.unit)
            out.append(q)
    return out


# Words in the gap that make the comparator the next number's own, or end what the first one limits.
_NOT_SHARED_WORDS = frozenset({"than", "least", "most", "no", "not", "up", "under", "over", "above", "below", "between", "from"})


def share_comparators(text: str, quantities: list[Quantity]) -> list[Quantity]:
    """A bare number after a bound in the same unit, joined by "or"/"and" over a few words, takes its comparator:
    "at least 50% reduction in pain or 50% reduction of analgesic medications" -> >= 50 % twice."""
    out: list[Quantity] = []
    for q in quantities:
        first = out[-1] if out else None
        if (
            first is not None and q.comparator is None and q.high is None and q.unit is not None and q.unit == first.unit
            and first.comparator in _LOWER_BOUNDS + _UPPER_BOUNDS
            and _SHARED_COMPARATOR_GAP_RE.fullmatch(text, first.end, q.start) is not None
            and not _NOT_SHARED_WORDS & set(text[first.end:q.start].lower().split())
        ):
            q = replace(q, comparator=first.comparator)
        out.append(q)
    return out


def _counts_what_follows(q: Quantity) -> bool:
    """"a single dose (1.5 x 10^11 vector genomes)": a count whose parenthesis states the amount of what it counts,
    not the same quantity in other units ("< 54 mg/dL (3.0 mmol/L)")."""
    try:
        return UNITS.head(q.unit_text)[1] == "count"
    except KeyError:
        return False


def find_quantities(text: str) -> list[Quantity]:
    """Every numeric mention in `text`, left to right and non-overlapping (see the module doc)."""
    if not text:
        return []
    if "th " in text or "st " in text or "nd " in text or "rd " in text:
        text = _ORDINAL_TIME_RE.sub(lambda m: m.group(1) + "  ", text)  # "the 91st day" reads "the 91   day"
    toks = _tokens(text)
    if not toks:
        return []
    masks = _mask_spans(text)
    out: list[Quantity] = []
    i, floor = 0, 0
    while i < len(toks):
        if toks[i].nstart < floor:
            i += 1
            continue
        q, i = _build(text, toks, i, masks, floor)
        if q is None:
            continue
        out.append(q)
        floor = q.end
        if q.unit is not None and i < len(toks):
            # A parenthesised restatement in other units right after: "< 54 mg/dL (3.0 mmol/L)".
            m = _PAREN_OPEN_RE.match(text, q.end)
            if m is not None and toks[i].start == m.end():
                alt, j = _build(text, toks, i, masks, floor)
                if (alt is not None and alt.unit is not None and alt.comparator is None and _PAREN_CLOSE_RE.match(text, alt.end)
                        and not _counts_what_follows(q)):
                    floor, i = alt.end, j
    return share_comparators(text, join_bounds(text, out))
